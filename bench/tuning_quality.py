"""Tuning quality: does the gain adamtune reports over default settings hold on fresh seeds?

Each *unit* is one study run exactly as `adamtune tune` runs it (`optim.study.create_study`,
`app.local.run_to_end`, `app.local.best_candidates`, `app.local.validate`: the search, then the
product's own validation of its top 3 configs and the defaults on 5 fresh seeds, on a SQLite
file), followed by a bench-only *calibration* step: the config the product's verdict names (the
tuned config with the best validated mean) and the family's defaults retrained on 10 further
fresh seeds (`optim.seeds.validation_seeds(seed, round 1)`: independent of the search's and
the validation's seeds) with the same `optim.training.train`. From each unit:

    search estimate   (default - best) / default on the search's own single seed and split
    validated gain    the product's paired gain of that config over the defaults, 95 % CI
    calibration gain  the same on 10 further fresh seeds
    winner's curse    search estimate - calibration gain
    covered           whether the product's 95 % CI holds the calibration gain

Units differ in task, optimizer family, preset, sampler, pruner and study seed (independent:
every seed a study uses is derived through `numpy.random.SeedSequence`). One JSON per unit is
cached under `--workdir`, so a rerun resumes; `--report` rebuilds the tables from the cache.

    .venv/bin/python bench/tuning_quality.py --workdir /var/tmp/adamtune-quality \
        --plan core optimizers presets pruners samplers --seeds 3 [--report] [--json PATH]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import multiprocessing as mp
import statistics
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c  # noqa: E402

TASKS = ["logreg_breast_cancer", "mlp_digits", "quadratic_deep", "cnn_digits", "rosenbrock",
         "char_lstm"]  # fmt: skip
CHEAP = ["logreg_breast_cancer", "mlp_digits", "quadratic_deep"]
CALIBRATION_SEEDS = 10
WORKDIR = Path("/var/tmp/adamtune-tuning-quality")  # the unit cache: a rerun resumes from it
# Published DeepOBS-protocol figures for quadratic_deep (Schmidt, Schneider & Hennig 2021,
# "Descending through a Crowded Valley", raw results at github.com/SirRob1997/Crowded-Valley---
# Results): final test loss after 100 epochs, batch 128, seed 43
PUBLISHED = {
    "default Adam": 106.64,
    "tuned Adam (50 random-search trials over lr, betas; lr 0.01104, beta1 0.6675, "
    "beta2 0.8405)": 87.23,
}


@dataclass(frozen=True)
class Unit:
    """One study of the benchmark and what it varies."""

    task: str
    seed: int
    trials: int = 30
    optimizer: str = "adam"
    preset: str = "default"
    sampler: str = "tpe"
    pruner: str = "hyperband"
    top_k: int = 3  # configs the validation retrains beside the defaults
    validate_seeds: int = 5
    calibration_seeds: int = 10

    def key(self) -> str:
        return (f"{self.task}-{self.optimizer}-{self.preset}-{self.sampler}-{self.pruner}-"
                f"t{self.trials}-k{self.top_k}x{self.validate_seeds}-c{self.calibration_seeds}-"
                f"s{self.seed}")  # fmt: skip


# --- one unit -----------------------------------------------------------------------------------


def _init_worker() -> None:
    import optuna
    import torch

    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)


def run_unit(job: tuple[Unit, str]) -> dict[str, Any]:
    """Search, validate (the product's code), calibrate (10 further seeds); the unit's record."""
    from app import local
    from optim.attrs import BASELINE_ATTR, PARAMS_ATTR
    from optim.seeds import validation_seeds
    from optim.storage import make_storage
    from optim.study import StudyConfig, create_study
    from optim.validation import paired_gain

    unit, workdir = job
    work = Path(workdir)
    db = work / "db" / f"{unit.key()}.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    db.unlink(missing_ok=True)
    load_start = c.loadavg()[0]
    config = StudyConfig(task=unit.task, n_trials=unit.trials, sampler=unit.sampler,
                         pruner=unit.pruner, seed=unit.seed, optimizer=unit.optimizer,
                         preset=unit.preset, validate_top_k=unit.top_k,
                         validate_seeds=unit.validate_seeds)  # fmt: skip
    storage = make_storage(f"sqlite:///{db}", heartbeat_interval=local.HEARTBEAT_S,
                           grace_period=local.GRACE_S)  # fmt: skip
    name = unit.key()

    # the search, as `adamtune tune` runs it
    start = time.perf_counter()
    create_study(config, storage, name)
    runner = local.run_to_end(storage, name, quiet=True)
    search_s = time.perf_counter() - start
    trials = [
        {"number": t.number, "state": t.state.name, "value": t.value,
         "epochs": len(t.intermediate_values), "baseline": bool(t.user_attrs.get(BASELINE_ATTR)),
         "params": t.user_attrs.get(PARAMS_ATTR)}
        for t in runner.study.get_trials(deepcopy=False)
    ]  # fmt: skip
    done = [t for t in trials if t["state"] == "COMPLETE"]
    base = next((t["value"] for t in done if t["baseline"]), None)
    best = min((t["value"] for t in done), default=None)
    search_gain = (base - best) / abs(base) if base and best is not None else None

    # the product's validation: top 3 and the defaults on 5 fresh seeds
    start = time.perf_counter()
    found = local.validate(storage, f"{name} / validation 0", config,
                           local.best_candidates(runner.study, config, config.validate_top_k),
                           seeds=config.validate_seeds, parent=name, quiet=True)  # fmt: skip
    validate_s = time.perf_counter() - start
    default = next(r for r in found.configs if r.label == "default")
    tuned = [r for r in found.configs if r.label != "default" and r.interval is not None]
    top = min(tuned, key=lambda r: r.interval.mean) if tuned else None  # type: ignore[union-attr]

    # calibration: the verdict's config and the defaults on 10 further fresh seeds
    start = time.perf_counter()
    seeds = validation_seeds(unit.seed, 1, unit.calibration_seeds)
    family = config.family()
    epochs = config.resolved_epochs()
    cal_default = [
        _test_loss(work, unit.task, unit.optimizer, family.params(family.baseline), s, epochs)
        for s in seeds
    ]
    cal_top = ([_test_loss(work, unit.task, unit.optimizer, top.params, s, epochs) for s in seeds]
               if top else [])  # fmt: skip
    calibrate_s = time.perf_counter() - start
    cal_gain, cal_wins = paired_gain(cal_default, cal_top) if top else (None, 0)
    record = {
        "unit": asdict(unit),
        "key": unit.key(),
        "epochs": epochs,
        "search": {"trials": trials, "baseline_value": base, "best_value": best,
                   "estimate": search_gain, "seconds": search_s,
                   "epochs_trained": sum(t["epochs"] for t in trials),
                   "complete": len(done),
                   "pruned": sum(t["state"] == "PRUNED" for t in trials)},
        "validation": {"seeds": found.seeds, "verdict": found.verdict,
                       "recommended": found.recommended, "seconds": validate_s,
                       "configs": [asdict(r) for r in found.configs],
                       "default": default.values,
                       "top": None if top is None else {
                           "label": top.label, "params": top.params, "values": top.values,
                           "gain": asdict(top.gain) if top.gain else None, "wins": top.wins}},
        "calibration": {"seeds": seeds, "default": cal_default, "top": cal_top,
                        "gain": asdict(cal_gain) if cal_gain else None, "wins": cal_wins,
                        "seconds": calibrate_s},
        "loadavg": [load_start, c.loadavg()[0]],
    }  # fmt: skip
    storage.engine.dispose()
    db.unlink(missing_ok=True)
    return record


def _test_loss(work: Path, task: str, optimizer: str, params: dict[str, float], seed: int,
               epochs: int) -> float | None:  # fmt: skip
    """The held-out test loss of one training run (None: it diverged), cached on disk: the
    defaults on a seed are trained once however many units ask."""
    from optim.optimizers import FAMILIES
    from optim.params import OptimizerParams
    from optim.tasks import get_task
    from optim.training import DivergedError, train

    kind = optimizer if optimizer in ("adamw", "sgd_nesterov") else "adam"  # same code path
    full = {**FAMILIES[optimizer].params(FAMILIES[optimizer].baseline), **params}
    ident = json.dumps([task, kind, sorted(full.items()), seed, epochs])
    path = work / "runs" / f"{hashlib.sha1(ident.encode()).hexdigest()[:16]}.json"
    if path.exists():
        return json.loads(path.read_text())["test_loss"]  # type: ignore[no-any-return]
    try:
        history = train(get_task(task), OptimizerParams(**full), epochs=epochs, seed=seed,
                        optimizer=kind)  # fmt: skip
        value = history[-1].test_loss
    except DivergedError:
        value = None
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"ident": ident, "test_loss": value}))
    tmp.replace(path)
    return value


# --- the plan -----------------------------------------------------------------------------------


# The priority order within the compute budget (docs/BENCHMARKS.md section 7 says what ran):
# (part, tasks, study seeds). `adamtune compare` validates each family's winner alone
# (top 1), so the optimizer comparison does too; `adamtune tune` validates its top 3.
STAGES: list[tuple[str, list[str], range]] = [
    ("core", CHEAP, range(3)),
    ("optimizers", CHEAP, range(1)),
    ("presets", CHEAP[:2], range(1)),
    ("pruners", CHEAP[:2], range(1)),
    ("optimizers", CHEAP, range(1, 2)),
    ("presets", CHEAP[:2], range(1, 2)),
    ("pruners", CHEAP[:2], range(1, 2)),
    ("core", ["cnn_digits", "rosenbrock"], range(2)),
    ("presets", CHEAP[2:], range(2)),
    ("pruners", CHEAP[2:], range(2)),
    ("samplers", CHEAP[:2], range(2)),
]
PARTS = ("core", "optimizers", "presets", "pruners", "samplers")


def plan(args: argparse.Namespace) -> list[Unit]:
    """The units of `STAGES` (or of `--tasks` x `--seeds` for the `--plan` parts), in order."""
    stages = STAGES
    if args.plan:
        stages = [(part, args.tasks, range(args.seeds)) for part in args.plan]
    units: list[Unit] = []
    for part, tasks, seeds in stages:
        for seed in seeds:
            for task in tasks:
                if args.tasks and task not in args.tasks:
                    continue
                u = Unit(task=task, seed=seed, trials=args.trials)
                if part == "core":
                    units.append(u)
                    continue
                u = replace(u, calibration_seeds=0)  # compared on the product's validation
                if part == "optimizers":
                    units += [
                        replace(u, optimizer=o, top_k=1)
                        for o in ("adam", "adam_lr_only", "adamw", "sgd_nesterov")
                    ]
                elif part == "presets":
                    units.append(replace(u, preset="wide"))
                elif part == "pruners":
                    units += [replace(u, pruner=p) for p in ("none", "median")]
                elif part == "samplers":
                    units += [
                        replace(u, sampler=s, pruner="none")
                        for s in ("random", "qmc", "tpe", "cmaes", "gp")
                    ]
    seen: set[str] = set()
    return [u for u in units if not (u.key() in seen or seen.add(u.key()))]  # type: ignore[func-returns-value]


def execute(units: list[Unit], work: Path, processes: int, budget_s: float | None) -> None:
    """Run the units not cached yet, `processes` at a time, in plan order; stop starting new
    ones once `budget_s` has passed."""
    todo = [u for u in units if not (work / "units" / f"{u.key()}.json").exists()]
    print(f"# {len(units) - len(todo)} of {len(units)} units cached; {len(todo)} to run",
          file=sys.stderr)  # fmt: skip
    if not todo:
        return
    (work / "units").mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + budget_s if budget_s else math.inf
    with mp.get_context("spawn").Pool(processes, initializer=_init_worker,
                                      maxtasksperchild=None) as pool:  # fmt: skip
        pending = []
        queue = list(todo)
        while queue or pending:
            while queue and len(pending) < processes and time.monotonic() < deadline:
                u = queue.pop(0)
                pending.append((u, pool.apply_async(run_unit, ((u, str(work)),))))
            if not pending:
                break
            for u, result in list(pending):
                if result.ready():
                    pending.remove((u, result))
                    record = result.get()
                    path = work / "units" / f"{u.key()}.json"
                    path.write_text(json.dumps(record, indent=1, default=str))
                    s, v, k = (record["search"]["seconds"], record["validation"]["seconds"],
                               record["calibration"]["seconds"])  # fmt: skip
                    print(f"# {u.key()}: search {s:.0f} s, validation {v:.0f} s, calibration "
                          f"{k:.0f} s; {record['validation']['verdict']}", file=sys.stderr,
                          flush=True)  # fmt: skip
            time.sleep(0.5)


# --- the report ---------------------------------------------------------------------------------


def interval(values: list[float]) -> dict[str, float | int | None]:
    from optim.validation import Interval

    if not values:
        return {"mean": None, "low": None, "high": None, "n": 0}
    return asdict(Interval.of(values))


def fmt_ci(iv: dict[str, Any], pct: bool = True, digits: int = 4) -> str:
    """ "+12 % (95 % CI +3 to +21 %, n=3)", or "no significant difference" where the CI holds 0."""
    if not iv or iv.get("mean") is None:
        return "n/a"
    m, lo, hi, n = iv["mean"], iv["low"], iv["high"], iv["n"]
    if pct:
        if lo is None:
            return f"{m:+.1%} (n={n})"
        text = f"{m:+.1%} ({lo:+.1%} to {hi:+.1%}, n={n})"
        return text + (" — no significant difference" if lo <= 0 <= hi else "")
    if lo is None:
        return f"{m:.{digits}g} (n={n})"
    return f"{m:.{digits}g} ({lo:.{digits}g} to {hi:.{digits}g}, n={n})"


def picked_values(rec: dict[str, Any]) -> list[float | None]:
    """What a user following the product gets on the calibration seeds: the verdict's config
    when the validation recommends it, the defaults when it says keep them."""
    cal = rec["calibration"]
    top = rec["validation"]["top"]
    if top is None or rec["validation"]["recommended"] == "default":
        return list(cal["default"])
    return list(cal["top"])


def rel_gain(reference: list[float | None], other: list[float | None]) -> float | None:
    """The mean paired relative gain of `other` over `reference` ((ref - other) / |ref|)."""
    pairs = [(r, o) for r, o in zip(reference, other, strict=True) if r and o is not None]
    if not pairs:
        return None
    return statistics.fmean((r - o) / abs(r) for r, o in pairs)


def summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Across the units of one configuration: search estimate, validated and calibration gains
    (each the mean over study seeds with its 95 % CI over seeds), curse, coverage, cost."""

    def vals(get: Any) -> list[float]:
        out = []
        for r in records:
            try:
                v = get(r)
            except (TypeError, KeyError):
                v = None
            if v is not None:
                out.append(v)
        return out

    covered = [cov for r in records if (cov := coverage(r)) is not None]
    return {
        "n": len(records),
        "default_test": interval(
            vals(
                lambda r: statistics.fmean(v for v in r["calibration"]["default"] if v is not None)
            )
        ),
        "picked_test": interval(
            vals(lambda r: statistics.fmean(v for v in picked_values(r) if v is not None))
        ),
        "search_estimate": interval(vals(lambda r: r["search"]["estimate"])),
        "validated_gain": interval(vals(lambda r: r["validation"]["top"]["gain"]["mean"])),
        "calibration_gain": interval(vals(lambda r: r["calibration"]["gain"]["mean"])),
        "picked_gain": interval(
            vals(lambda r: rel_gain(r["calibration"]["default"], picked_values(r)))
        ),
        "curse": interval(
            vals(lambda r: r["search"]["estimate"] - r["calibration"]["gain"]["mean"])
        ),
        "curse_validated": interval(
            vals(lambda r: r["search"]["estimate"] - r["validation"]["top"]["gain"]["mean"])
        ),
        "covered": sum(covered),
        "covered_n": len(covered),
        "recommends_tuned": sum(r["validation"]["recommended"] != "default" for r in records),
        "epochs_trained": statistics.fmean(r["search"]["epochs_trained"] for r in records),
        "pruned_fraction": statistics.fmean(
            r["search"]["pruned"] / len(r["search"]["trials"]) for r in records
        ),
        "search_s": statistics.fmean(r["search"]["seconds"] for r in records),
        "unit_s": statistics.fmean(
            r["search"]["seconds"] + r["validation"]["seconds"] + r["calibration"]["seconds"]
            for r in records
        ),
        "verdicts": [r["validation"]["verdict"] for r in records],
    }


def coverage(rec: dict[str, Any]) -> bool | None:
    """Whether the product's 95 % CI of the gain holds the gain on the 10 calibration seeds."""
    top, cal = rec["validation"]["top"], rec["calibration"]["gain"]
    if not top or not top["gain"] or top["gain"]["low"] is None or not cal:
        return None
    return bool(top["gain"]["low"] <= cal["mean"] <= top["gain"]["high"])


def load(work: Path) -> dict[str, dict[str, Any]]:
    """Every unit cached under `work`, whichever plan ran it."""
    out = {}
    for path in sorted((work / "units").glob("*.json")):
        record = json.loads(path.read_text())
        out[record["key"]] = record
    return out


def group(records: dict[str, dict[str, Any]], **match: Any) -> list[dict[str, Any]]:
    return sorted((r for r in records.values()
                   if all(r["unit"][k] == v for k, v in match.items())),
                  key=lambda r: r["unit"]["seed"])  # fmt: skip


def report(args: argparse.Namespace, info: dict[str, Any]) -> str:
    records = load(args.workdir)
    tasks = [t for t in TASKS if any(r["unit"]["task"] == t for r in records.values())]
    out: dict[str, Any] = {"machine": info, "units": len(records), "tables": {}}
    lines = [c.header(f"Tuning quality: {len(records)} studies of {args.trials} trials "
                      f"(as `adamtune tune`: TPE + Hyperband, default preset, then validation of "
                      f"the top 3 on 5 fresh seeds), calibrated on {CALIBRATION_SEEDS} further "
                      "fresh seeds", info)]  # fmt: skip
    defaults = {"optimizer": "adam", "preset": "default", "sampler": "tpe", "pruner": "hyperband",
                "top_k": 3}  # fmt: skip

    # (a) default vs tuned Adam, per task, and (b) calibration
    rows, all_cov = [], [0, 0]
    for task in tasks:
        recs = group(records, task=task, **defaults)
        if not recs:
            continue
        s = summarise(recs)
        out["tables"][f"core/{task}"] = s
        all_cov[0] += s["covered"]
        all_cov[1] += s["covered_n"]
        rows.append([task, s["n"], f"{recs[0]['unit']['trials']} × {recs[0]['epochs']}",
                     fmt_ci(s["default_test"], pct=False), fmt_ci(s["picked_test"], pct=False),
                     fmt_ci(s["search_estimate"]), fmt_ci(s["validated_gain"]),
                     fmt_ci(s["calibration_gain"]), fmt_ci(s["curse"]),
                     f"{s['recommends_tuned']}/{s['n']}", f"{s['covered']}/{s['covered_n']}",
                     f"{s['pruned_fraction']:.0%}", f"{s['unit_s']:.0f}"])  # fmt: skip
    lines.append("\n### Default Adam against tuned Adam (adamtune's defaults)\n")
    lines.append(c.table(
        ["task", "study seeds", "trials × epochs", "default Adam test loss",
         "tuned (what the product recommends) test loss", "search estimate of the gain",
         "validated gain (product, 5 seeds)", "gain on 10 further seeds",
         "winner's curse (search − 10-seed gain)", "recommends a tuned config",
         "product CI covers 10-seed gain", "pruned", "s per study"], rows))  # fmt: skip
    out["calibration"] = {"covered": all_cov[0], "n": all_cov[1]}
    lines.append(f"\nCalibration over these studies: the product's 95 % CI held the gain on 10 "
                 f"further fresh seeds in {all_cov[0]} of {all_cov[1]}"
                 + (f" ({all_cov[0] / all_cov[1]:.0%})." if all_cov[1] else "."))  # fmt: skip

    # (c) optimizer families
    lines.append("\n### Optimizer families at the same budget (test loss on the 10 calibration "
                 "seeds, of the config each study's validation recommends)\n")  # fmt: skip
    rows = []
    for task in tasks:
        compare = {**defaults, "top_k": 1}  # as `adamtune compare`: each winner alone
        adam = {r["unit"]["seed"]: r for r in group(records, task=task, **compare)}
        for family in ("adam", "adam_lr_only", "adamw", "sgd_nesterov"):
            recs = group(records, task=task, **{**compare, "optimizer": family})
            recs = [r for r in recs if r["unit"]["seed"] in adam]
            if not recs:
                continue
            s = summarise(recs)
            vs_default = interval(
                [
                    g
                    for r in recs
                    if (
                        g := rel_gain(
                            adam[r["unit"]["seed"]]["calibration"]["default"], picked_values(r)
                        )
                    )
                    is not None
                ]
            )
            vs_tuned = interval(
                [
                    g
                    for r in recs
                    if (g := rel_gain(picked_values(adam[r["unit"]["seed"]]), picked_values(r)))
                    is not None
                ]
            )
            out["tables"][f"optimizers/{task}/{family}"] = {
                **s,
                "vs_default_adam": vs_default,
                "vs_tuned_adam": vs_tuned,
            }
            rows.append([task, family, s["n"], fmt_ci(s["picked_test"], pct=False),
                         fmt_ci(vs_default), "—" if family == "adam" else fmt_ci(vs_tuned),
                         fmt_ci(s["calibration_gain"]), f"{s['epochs_trained']:.0f}",
                         f"{s['search_s']:.0f}"])  # fmt: skip
    lines.append(c.table(
        ["task", "optimizer", "study seeds", "tuned test loss", "gain over default Adam",
         "gain over tuned Adam", "gain over its own defaults", "epochs in search",
         "search s"], rows))  # fmt: skip

    # (d) presets and pruners, (e) samplers: regret of the product's pick
    for title, field, choices, extra in (
        ("Presets (TPE + Hyperband)", "preset", ("default", "wide"), {}),
        ("Pruners (TPE, default preset)", "pruner",
         ("hyperband", "median", "successive_halving", "none"), {}),
        ("Samplers (no pruning, default preset)", "sampler",
         ("random", "qmc", "tpe", "cmaes", "gp"), {"pruner": "none"}),
    ):  # fmt: skip
        rows = []
        for task in tasks:
            per: dict[str, list[dict[str, Any]]] = {}
            for choice in choices:
                recs = group(records, task=task, **{**defaults, **extra, field: choice})
                if recs:
                    per[choice] = recs
            if len(per) < 2:
                continue
            # regret: the pick's calibrated test loss over the best pick of any choice, per seed
            common = set.intersection(*({r["unit"]["seed"] for r in v} for v in per.values()))
            best: dict[int, float] = {}
            for seed in common:
                best[seed] = min(
                    statistics.fmean(x for x in picked_values(r) if x is not None)
                    for v in per.values()
                    for r in v
                    if r["unit"]["seed"] == seed
                )
            for choice, recs in per.items():
                s = summarise(recs)
                regret = interval([
                    statistics.fmean(x for x in picked_values(r) if x is not None)
                    / best[r["unit"]["seed"]] - 1
                    for r in recs if r["unit"]["seed"] in common])  # fmt: skip
                out["tables"][f"{field}/{task}/{choice}"] = {**s, "regret": regret}
                rows.append([task, choice, s["n"], fmt_ci(s["picked_gain"]),
                             _regret(regret), f"{s['recommends_tuned']}/{s['n']}",
                             f"{s['epochs_trained']:.0f}", f"{s['pruned_fraction']:.0%}",
                             f"{s['search_s']:.0f}"])  # fmt: skip
        if rows:
            lines.append(f"\n### {title}: regret of the recommended config\n")
            lines.append(c.table(
                ["task", field, "study seeds", "gain of the pick over defaults (10 seeds)",
                 "regret: pick's test loss / best pick's − 1", "recommends tuned",
                 "epochs in search", "pruned", "search s"], rows))  # fmt: skip

    if "quadratic_deep" in tasks:
        recs = group(records, task="quadratic_deep", **defaults)
        if recs:
            s = out["tables"]["core/quadratic_deep"]
            lines.append("\n### quadratic_deep beside the published DeepOBS-protocol runs\n")
            lines.append(c.table(["", "adamtune (10 calibration seeds, mean over studies)",
                                  "published (seed 43)"], [
                ["default Adam", fmt_ci(s["default_test"], pct=False), "106.64"],
                ["tuned Adam", fmt_ci(s["picked_test"], pct=False), "87.23"]]))  # fmt: skip
    text = "\n".join(lines) + "\n"
    out["records"] = list(records.values())
    c.write_json(args.json, out)
    return text


def _regret(iv: dict[str, Any]) -> str:
    if iv.get("mean") is None:
        return "n/a"
    if iv["low"] is None:
        return f"{iv['mean']:.1%}"
    return f"{iv['mean']:.1%} ({iv['low']:.1%} to {iv['high']:.1%})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    c.add_common_args(parser, repeats=None)  # the study seeds are the repeats
    parser.add_argument("--plan", nargs="+", choices=PARTS,
                        help="these parts on --tasks x --seeds instead of STAGES")  # fmt: skip
    parser.add_argument("--tasks", nargs="+", help="only these tasks (default: all)")
    parser.add_argument("--seeds", type=int, default=3, help="study seeds, with --plan")
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--small", action="store_true",
                        help="a smoke test: 2 validation and 2 calibration seeds")  # fmt: skip
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--budget-min", type=float, help="start no unit after this many minutes")
    parser.add_argument("--report", action="store_true", help="only rebuild the report")
    parser.add_argument("--md", type=Path, help="write the report here too")
    args = parser.parse_args(argv)
    args.workdir = args.workdir or WORKDIR
    if args.plan and not args.tasks:
        args.tasks = TASKS
    units = plan(args)
    if args.small:
        units = [replace(u, validate_seeds=2, calibration_seeds=2) for u in units]
    info = c.machine({"processes": args.processes})
    if not args.report:
        budget = args.budget_min * 60 if args.budget_min else None
        execute(units, args.workdir, args.processes, budget)
    info["loadavg_end"] = c.loadavg()
    text = report(args, info)
    print(text)
    if args.md:
        args.md.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
