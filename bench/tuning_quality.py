"""Tuning quality: does the gain adamtune reports over default settings hold on fresh seeds?

Each *unit* is one study run exactly as `adamtune tune` runs it (`optim.study.create_study`,
`app.local.run_to_end`, `app.local.best_candidates`, `app.local.validate`: the search, then the
product's own validation of its top 3 configs and the defaults on 5 fresh seeds, on a SQLite
file), followed by a bench-only *calibration* step: the config the product's verdict names (the
tuned config with the best validated mean) and the family's defaults retrained on 10 further
fresh seeds (`optim.seeds.validation_seeds(seed, round 1)`: independent of the search's and
the validation's seeds) with the same `optim.training.train` (core units only; the others are
compared on the product's own validation, whose seeds every unit of a study seed shares, and
the optimizer units validate the winner alone, as `adamtune compare` does). From each unit:

    search estimate   (default - best) / default on the search's own single seed and split
    validated gain    the product's paired gain of that config over the defaults, 95 % CI
    calibration gain  the same on 10 further fresh seeds
    winner's curse    search estimate - calibration gain
    covered           whether the product's 95 % CI holds the calibration gain

Units differ in task, optimizer family, preset, sampler, pruner and study seed (independent:
every seed a study uses is derived through `numpy.random.SeedSequence`). One JSON per unit is
cached under `--workdir`, so a rerun resumes; `--report` rebuilds the tables from the cache.
Without `--plan` the units of `STAGES` run in that priority order (`--budget-min`: start no
new one after that long); `--plan` runs the named parts on `--tasks` x `--seeds` instead.

    .venv/bin/python bench/tuning_quality.py [--workdir DIR] [--budget-min 60] \
        [--plan core optimizers presets pruners samplers --tasks T.. --seeds 3] \
        [--report] [--json PATH] [--md PATH]
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
    retrain: bool = False  # train every trial of the search to the end, pruned ones included

    def key(self) -> str:
        return (f"{self.task}-{self.optimizer}-{self.preset}-{self.sampler}-{self.pruner}-"
                f"t{self.trials}-k{self.top_k}x{self.validate_seeds}-c{self.calibration_seeds}-"
                f"s{self.seed}{'-rt' if self.retrain else ''}")  # fmt: skip


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

    # what pruning cost: every trial of the search trained to the end on one fresh seed
    epochs = config.resolved_epochs()
    retrained = None
    if unit.retrain:
        start = time.perf_counter()
        seed = validation_seeds(unit.seed, 2, 1)[0]
        retrained = {
            "seed": seed,
            "trials": [
                {
                    "number": t["number"],
                    "state": t["state"],
                    "value": t["value"],
                    "test_loss": _test_loss(
                        work, unit.task, unit.optimizer, t["params"], seed, epochs
                    ),
                }
                for t in trials
                if t["params"] is not None and t["state"] in ("COMPLETE", "PRUNED")
            ],  # fmt: skip
            "seconds": time.perf_counter() - start,
        }

    # calibration: the verdict's config and the defaults on 10 further fresh seeds
    start = time.perf_counter()
    seeds = validation_seeds(unit.seed, 1, unit.calibration_seeds)
    family = config.family()
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
        "retrained": retrained,
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
                elif part == "pruners":  # hyperband too: its core units are not retrained
                    units += [
                        replace(u, pruner=p, retrain=True) for p in ("none", "median", "hyperband")
                    ]
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

ADAMTUNE_DEFAULTS = {
    "optimizer": "adam",
    "preset": "default",
    "sampler": "tpe",
    "pruner": "hyperband",
    "top_k": 3,
}


def interval(values: list[float]) -> dict[str, Any]:
    from optim.validation import Interval

    if not values:
        return {"mean": None, "low": None, "high": None, "n": 0}
    return asdict(Interval.of(values))


def fmt_ci(iv: dict[str, Any], pct: bool = True) -> str:
    """'+12.0% (+3.1% to +20.9%, n=3)', marked where the CI holds 0; plain numbers unless `pct`."""
    if not iv or iv.get("mean") is None:
        return "n/a"
    m, lo, hi, n = iv["mean"], iv["low"], iv["high"], iv["n"]
    f = (lambda v: f"{v:+.1%}") if pct else (lambda v: f"{v:.4g}")
    if lo is None:
        return f"{f(m)} (n={n})"
    text = f"{f(m)} ({f(lo)} to {f(hi)}, n={n})"
    return text + (", no significant difference" if pct and lo <= 0 <= hi else "")


def mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.fmean(present) if present else None


def validated(rec: dict[str, Any], label: str) -> list[float | None]:
    """A config's test losses on the product's validation seeds ('default', 'trial 12')."""
    config = next(c for c in rec["validation"]["configs"] if c["label"] == label)
    return list(config["values"])


def pick(rec: dict[str, Any]) -> list[float | None]:
    """What a user following the product gets, on its validation seeds: the recommended config
    (the defaults when the validation says keep them)."""
    return validated(rec, rec["validation"]["recommended"] or "default")


def pick_calibrated(rec: dict[str, Any]) -> list[float | None]:
    """The same on the 10 calibration seeds (core studies only)."""
    cal = rec["calibration"]
    if rec["validation"]["top"] is None or rec["validation"]["recommended"] == "default":
        return list(cal["default"])
    return list(cal["top"])


def gains(reference: list[float | None], other: list[float | None]) -> list[float]:
    """Paired relative gains of `other` over `reference`, (ref - other) / |ref|, seed by seed."""
    return [(r - o) / abs(r) for r, o in zip(reference, other, strict=True) if r and o is not None]


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


def group(records: dict[str, dict[str, Any]], **match: Any) -> dict[int, dict[str, Any]]:
    """The units matching `match`, by study seed (retrained units only when asked for: they
    repeat another unit's search)."""
    match = {"retrain": False, **match}
    found = [
        r
        for r in records.values()
        if all(r["unit"].get(k, False if k == "retrain" else None) == v for k, v in match.items())
    ]
    return {r["unit"]["seed"]: r for r in sorted(found, key=lambda r: r["unit"]["seed"])}


def cost(recs: list[dict[str, Any]]) -> list[str]:
    """Epochs trained in the search, share of trials pruned, search seconds (means)."""
    return [
        f"{statistics.fmean(r['search']['epochs_trained'] for r in recs):.0f}",
        f"{statistics.fmean(r['search']['pruned'] / len(r['search']['trials']) for r in recs):.0%}",
        f"{statistics.fmean(r['search']['seconds'] for r in recs):.0f}",
    ]


def core_table(records: dict[str, dict[str, Any]], tasks: list[str], out: dict[str, Any]) -> str:
    """(a) and (b): default against tuned Adam, the winner's curse, calibration."""
    rows, detail, covered = [], [], []
    for task in tasks:
        recs = list(group(records, task=task, **ADAMTUNE_DEFAULTS).values())
        recs = [r for r in recs if r["unit"]["calibration_seeds"]]
        if not recs:
            continue
        est = [r["search"]["estimate"] for r in recs if r["search"]["estimate"] is not None]
        val = [r["validation"]["top"]["gain"]["mean"] for r in recs if r["validation"]["top"]]
        cal = [r["calibration"]["gain"]["mean"] for r in recs if r["calibration"]["gain"]]
        curse = [
            r["search"]["estimate"] - r["calibration"]["gain"]["mean"]
            for r in recs
            if r["calibration"]["gain"] and r["search"]["estimate"] is not None
        ]
        picked = [
            g
            for r in recs
            if (g := mean(gains(r["calibration"]["default"], pick_calibrated(r)))) is not None
        ]
        cov = [x for r in recs if (x := coverage(r)) is not None]
        covered += cov
        s = {
            "n": len(recs),
            "search_estimate": interval(est),
            "validated_gain": interval(val),
            "calibration_gain": interval(cal),
            "curse": interval(curse),
            "picked_gain": interval(picked),
            "covered": sum(cov),
            "covered_n": len(cov),
            "default_test": interval(
                [m for r in recs if (m := mean(r["calibration"]["default"])) is not None]
            ),
            "picked_test": interval(
                [m for r in recs if (m := mean(pick_calibrated(r))) is not None]
            ),
        }
        out[f"core/{task}"] = s
        rows.append(
            [
                task,
                s["n"],
                f"{recs[0]['unit']['trials']} × {recs[0]['epochs']}",
                fmt_ci(s["default_test"], pct=False),
                fmt_ci(s["picked_test"], pct=False),
                fmt_ci(s["picked_gain"]),
                fmt_ci(s["search_estimate"]),
                fmt_ci(s["validated_gain"]),
                fmt_ci(s["calibration_gain"]),
                fmt_ci(s["curse"]),
                f"{s['covered']}/{s['covered_n']}",
                *cost(recs),
            ]
        )
        for r in recs:
            top, calg = r["validation"]["top"], r["calibration"]["gain"]
            detail.append(
                [
                    task,
                    r["unit"]["seed"],
                    "n/a" if r["search"]["estimate"] is None else f"{r['search']['estimate']:+.1%}",
                    r["validation"]["verdict"],
                    fmt_ci(calg) if calg else "n/a",
                    {True: "yes", False: "**no**", None: "n/a"}[coverage(r)],
                ]
                if top
                else [task, r["unit"]["seed"], "n/a", r["validation"]["verdict"], "n/a", "n/a"]
            )
    out["calibration"] = {"covered": sum(covered), "n": len(covered)}
    share = f" ({sum(covered) / len(covered):.0%})" if covered else ""
    return "\n".join(
        [
            "### (a) Default Adam against tuned Adam, as `adamtune tune` runs it\n",
            "Test losses are the means over the 10 calibration seeds (then the mean over studies, "
            "95 % CI over studies); gains are relative, (default − tuned) / default.\n",
            c.table(
                [
                    "task",
                    "study seeds",
                    "trials × epochs",
                    "default Adam, test loss",
                    "what the product recommends, test loss",
                    "gain of the recommendation",
                    "search estimate of the gain",
                    "validated gain (product, 5 seeds)",
                    "gain of the verdict's config on 10 further seeds",
                    "winner's curse (search estimate − 10-seed gain)",
                    "product CI holds the 10-seed gain",
                    "epochs in search",
                    "pruned",
                    "search s",
                ],
                rows,
            ),
            "\nPer study: the search estimate, the product's verdict (its validation of the top 3 "
            "on 5 fresh seeds) and the verdict config's gain on 10 further fresh seeds.\n",
            c.table(
                [
                    "task",
                    "study seed",
                    "search estimate",
                    "product verdict",
                    "10-seed gain (95 % CI)",
                    "CI holds it",
                ],
                detail,
            ),
            "\n### (b) Calibration\n\nThe product's 95 % CI of the gain held the gain measured on "
            f"10 further fresh seeds in **{sum(covered)} of {len(covered)}** studies{share} "
            f"(target: at least 90 %). {calibration_context(sum(covered), len(covered))}",
        ]
    )


def calibration_context(covered: int, n: int, seeds: int = 5, further: int = 10) -> str:
    """What an exact 95 % t-interval would score on this check, and the observed rate's own
    uncertainty: the 10-seed gain is an estimate too, so even an exactly calibrated interval on
    `seeds` seeds holds it less often than 95 % (normal errors: P(|T| <= t / sqrt(1 + seeds /
    further)), T Student's t with seeds - 1 degrees of freedom)."""
    from scipy import stats

    if not n:
        return ""
    t = stats.t.ppf(0.975, seeds - 1)
    ideal = 2 * stats.t.cdf(t / math.sqrt(1 + seeds / further), seeds - 1) - 1
    wilson = stats.binomtest(covered, n).proportion_ci(method="wilson")
    return (
        f"An exactly calibrated 95 % interval on {seeds} seeds would hold a {further}-seed gain "
        f"in {ideal:.1%} of studies (the {further}-seed gain has noise of its own), so the "
        f"target sits just under that ceiling; the observed rate's 95 % CI (Wilson) is "
        f"{wilson.low:.0%} to {wilson.high:.0%}."
    )


def optimizer_table(
    records: dict[str, dict[str, Any]], tasks: list[str], out: dict[str, Any]
) -> str:
    """(c) the families at the same budget, each winner validated on the same fresh seeds."""
    compare = {**ADAMTUNE_DEFAULTS, "top_k": 1}  # as `adamtune compare`: each winner alone
    rows = []
    for task in tasks:
        adam = group(records, task=task, **compare)
        for family in ("adam", "adam_lr_only", "adamw", "sgd_nesterov"):
            recs = [
                r
                for seed, r in group(records, task=task, **{**compare, "optimizer": family}).items()
                if seed in adam
            ]
            if not recs:
                continue
            seeds = [r["unit"]["seed"] for r in recs]
            test = [v for r in recs for v in pick(r) if v is not None]
            vs_default = [
                g
                for r, s in zip(recs, seeds, strict=True)
                for g in gains(validated(adam[s], "default"), pick(r))
            ]
            vs_tuned = [
                g for r, s in zip(recs, seeds, strict=True) for g in gains(pick(adam[s]), pick(r))
            ]
            own = [g for r in recs for g in gains(validated(r, "default"), pick(r))]
            s = {
                "studies": len(recs),
                "test": interval(test),
                "vs_default_adam": interval(vs_default),
                "vs_tuned_adam": interval(vs_tuned),
                "vs_own_defaults": interval(own),
                "verdicts": [r["validation"]["verdict"] for r in recs],
            }
            out[f"optimizers/{task}/{family}"] = s
            rows.append(
                [
                    task,
                    family,
                    len(recs),
                    fmt_ci(s["test"], pct=False),
                    fmt_ci(s["vs_default_adam"]),
                    "—" if family == "adam" else fmt_ci(s["vs_tuned_adam"]),
                    "; ".join(s["verdicts"]),
                    *cost(recs),
                ]
            )
    return "\n".join(
        [
            "### (c) Optimizer families at the same budget (as `adamtune compare`)\n",
            "Each family: TPE + Hyperband, default preset, 30 trials, its winner and its own "
            "defaults validated on the product's 5 fresh seeds, the same seeds for every family of "
            "a study seed (paired). Test loss: the recommended config's (its defaults where the "
            "validation says keep them), over all validation runs; gains are paired per seed and "
            "pooled over study seeds (n = seeds × 5).\n",
            c.table(
                [
                    "task",
                    "optimizer",
                    "study seeds",
                    "test loss of the recommendation",
                    "gain over default Adam",
                    "gain over tuned Adam",
                    "product verdict against its own defaults",
                    "epochs in search",
                    "pruned",
                    "search s",
                ],
                rows,
            ),
        ]
    )


def choice_table(
    records: dict[str, dict[str, Any]],
    tasks: list[str],
    out: dict[str, Any],
    field: str,
    choices: tuple[str, ...],
    base: dict[str, Any],
) -> str:
    """(d), (e): a preset, pruner or sampler against the current default choice, by the
    validated test loss of what the product recommends (regret), on the same fresh seeds."""
    rows = []
    for task in tasks:
        per = {ch: group(records, task=task, **{**base, field: ch}) for ch in choices}
        reference = per[choices[0]]
        if not reference or sum(1 for v in per.values() if v) < 2:
            continue
        # the study seeds every choice that ran has: each row averages the same studies
        common = set.intersection(*(set(v) for v in per.values() if v))
        per = {ch: {s: r for s, r in v.items() if s in common} for ch, v in per.items()}
        for ch, by_seed in per.items():
            if not by_seed:
                continue
            recs = list(by_seed.values())
            own = [g for r in recs for g in gains(validated(r, "default"), pick(r))]
            vs_ref = [g for s, r in by_seed.items() for g in gains(pick(reference[s]), pick(r))]
            best = []  # regret against the best choice of the same study seed
            for s, r in by_seed.items():
                means = [m for v in per.values() if s in v and (m := mean(pick(v[s]))) is not None]
                if (m := mean(pick(r))) is not None and means:
                    best.append(m / min(means) - 1)
            sm = {
                "studies": len(recs),
                "gain_over_defaults": interval(own),
                "vs_reference": interval(vs_ref),
                "regret": interval(best),
                "verdicts": [r["validation"]["verdict"] for r in recs],
            }
            out[f"{field}/{task}/{ch}"] = sm
            rows.append(
                [
                    task,
                    ch,
                    len(recs),
                    fmt_ci(sm["gain_over_defaults"]),
                    "—" if ch == choices[0] else fmt_ci(sm["vs_reference"]),
                    f"{statistics.fmean(best):.1%}" if best else "n/a",
                    f"{sum(r['validation']['recommended'] != 'default' for r in recs)}/{len(recs)}",
                    *cost(recs),
                ]
            )
    if not rows:
        return ""
    return "\n".join(
        [
            f"### {field.capitalize()}s: the validated test loss of the recommendation\n",
            c.table(
                [
                    "task",
                    field,
                    "study seeds",
                    "gain over default Adam (validated, pooled)",
                    f"gain over {choices[0]}'s recommendation (paired)",
                    "regret: test loss / best choice's − 1 (mean)",
                    "recommends a tuned config",
                    "epochs in search",
                    "pruned",
                    "search s",
                ],
                rows,
            ),
        ]
    )


def pruning_table(records: dict[str, dict[str, Any]], tasks: list[str], out: dict[str, Any]) -> str:
    """(d) What pruning cost, from the units whose every trial was also trained to the end on
    one fresh seed: the pick (the best complete trial by its search value) against the best
    trial the search proposed, by held-out test loss on that seed."""
    rows = []
    for task in tasks:
        for pruner in ("hyperband", "median", "none"):
            recs = [r for r in records.values() if r.get("retrained")
                    and r["unit"]["task"] == task and r["unit"]["pruner"] == pruner]  # fmt: skip
            if not recs:
                continue
            regrets, winner_pruned = [], 0
            for r in recs:
                runs = r["retrained"]["trials"]
                loss = {t["number"]: t["test_loss"] for t in runs if t["test_loss"] is not None}
                complete = [t for t in runs if t["state"] == "COMPLETE" and t["value"] is not None]
                if not loss or not complete:
                    continue
                best = min(loss, key=loss.__getitem__)
                winner_pruned += next(t for t in runs if t["number"] == best)["state"] == "PRUNED"
                pick = min(complete, key=lambda t: t["value"])["number"]
                if pick in loss:
                    regrets.append(loss[pick] / loss[best] - 1)
            sm: dict[str, Any] = {"studies": len(recs), "regret": interval(regrets),
                                  "winner_pruned": winner_pruned}  # fmt: skip
            out[f"pruning/{task}/{pruner}"] = sm
            rows.append([task, pruner, len(recs), f"{winner_pruned}/{len(recs)}",
                         fmt_ci(sm["regret"]), *cost(recs)])  # fmt: skip
    if not rows:
        return ""
    return "\n".join(
        [
            "### What pruning cost: every trial trained to the end (pruned ones retrained)\n",
            c.table(
                [
                    "task",
                    "pruner",
                    "study seeds",
                    "best trial was pruned",
                    "regret: the pick's test loss / the best trial's − 1 (95 % CI)",
                    "epochs in search",
                    "pruned",
                    "search s",
                ],
                rows,
            ),
        ]
    )


def quadratic_table(out: dict[str, Any]) -> str:
    s = out.get("core/quadratic_deep")
    if not s:
        return ""
    return "\n".join(
        [
            "### quadratic_deep beside the published DeepOBS-protocol runs\n",
            c.table(
                [
                    "",
                    "adamtune (mean of the 10 calibration seeds, over studies)",
                    "published (Crowded Valley, seed 43)",
                ],
                [
                    ["default Adam", fmt_ci(s["default_test"], pct=False), "106.64"],
                    [
                        "tuned Adam (the product's recommendation)",
                        fmt_ci(s["picked_test"], pct=False),
                        "87.23",
                    ],
                ],
            ),
        ]
    )


def report(args: argparse.Namespace, info: dict[str, Any]) -> str:
    records = load(args.workdir)
    tasks = [t for t in TASKS if any(r["unit"]["task"] == t for r in records.values())]
    out: dict[str, Any] = {"machine": info, "studies": len(records), "tables": {}}
    tables = out["tables"]
    base = ADAMTUNE_DEFAULTS
    parts = [
        c.header(
            f"Tuning quality: {len(records)} studies of {args.trials} trials each, from the "
            f"unit cache {args.workdir}",
            info,
        ),
        core_table(records, tasks, tables),
        quadratic_table(tables),
        optimizer_table(records, tasks, tables),
        "### (d) Default preset and default pruner\n",
        choice_table(records, tasks, tables, "preset", ("default", "wide"), base),
        choice_table(records, tasks, tables, "pruner", ("hyperband", "median", "none"), base),
        pruning_table(records, tasks, tables),
        "### (e) Samplers, without pruning\n",
        choice_table(
            records,
            tasks,
            tables,
            "sampler",
            ("tpe", "random", "qmc", "cmaes", "gp"),
            {**base, "pruner": "none"},
        ),
    ]
    out["calibration"] = tables.pop("calibration", None)
    # the raw records without each trial's params (the unit cache keeps them): a smaller file
    out["records"] = [
        {
            **r,
            "search": {
                **r["search"],
                "trials": [
                    {k: v for k, v in t.items() if k != "params"} for t in r["search"]["trials"]
                ],
            },
        }
        for r in records.values()
    ]
    c.write_json(args.json, out)
    return "\n\n".join(p for p in parts if p) + "\n"


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
        # units that calibrate nothing (compared on the validation) keep calibrating nothing
        units = [
            replace(u, validate_seeds=2, calibration_seeds=min(2, u.calibration_seeds))
            for u in units
        ]
    info = c.machine({"processes": args.processes})
    if not args.report:
        c.wait_for_quiet(args.wait_load)
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
