"""Tuning quality: does the gain adamtune reports over default settings hold on fresh seeds?

Each *unit* is one study run exactly as `adamtune tune` runs it, through the product's own
functions on a SQLite file (`optim.study.create_study`, `app.local.run_to_end`,
`app.local.best_candidates`, `app.local.validate`): the search, then the product's validation
in two rounds, a *selection* round (its top 3 configs and the defaults on 5 fresh seeds; the
pick is the best mean paired gain) and a *confirmation* round (the pick and the defaults on 10
further seeds), whose runs alone give the reported gain, its 95 % CI and the verdict. Core units
then add a bench-only *re-measurement*: the confirmed pick (even where the verdict keeps the
defaults) and the defaults retrained on 20 further seeds (`optim.seeds.fresh_seeds(seed,
Purpose.EVALUATION, 1, 20, exclude=every seed the study and its rounds used)`) with the same
`optim.training.train`. From each core unit:

    search estimate   (default - best) / default on the search's own single seed and split
    selection gain    the pick's paired gain on the selection seeds (the best of 3: overstated)
    confirmed gain    the product's reported gain of the pick, 95 % CI (10 seeds)
    20-seed gain      the pick's gain on the 20 further seeds
    covered           whether the confirmed CI holds the 20-seed gain (a miss: over or under)

The other plans (optimizer families, presets, pruners, samplers) compare the product's answers
on its own rounds, without the re-measurement. Every seed a study uses derives from its study
seed through `numpy.random.SeedSequence`, so study seeds are independent studies. One JSON per
unit is cached under `--workdir`, so a rerun resumes; `--report` rebuilds the tables from the
cache. Without `--plan` the units of `STAGES` run in that priority order (`--budget-min`: start
no new one after that long); `--plan` runs the named parts on `--tasks` x `--seeds` instead,
seed-major (every task's seed 0 first), so a run cut short covers every task.

    .venv/bin/python bench/tuning_quality.py [--workdir DIR] [--budget-min 60] \
        [--plan core optimizers presets pruners samplers --tasks T.. --seeds 8] \
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
WORKDIR = Path("/var/tmp/adamtune-tq-confirm")  # the unit cache: a rerun resumes from it
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
    pruner: str = "median"  # the product's default (optim.samplers.DEFAULT_PRUNER)
    top_k: int = 3  # configs the selection round retrains beside the defaults
    validate_seeds: int = 5  # the selection round's seeds
    confirm_seeds: int = 10  # the confirmation round's: the reported gain
    calibration_seeds: int = 20  # bench only: the confirmed pick re-measured (0: not)
    retrain: bool = False  # train every trial of the search to the end, pruned ones included
    epochs: int | None = None  # None: the task's default
    one_shot: bool = False  # the family at its defaults, nothing tuned (as a comparison runs it)
    # the search is these configs, enqueued in this order (no baseline trial): a name the
    # caller's `enqueue` job argument fills (bench/recipes.py's five-trial preset)
    enqueue: str = ""

    def key(self) -> str:
        extra = (f"{f'-e{self.epochs}' if self.epochs else ''}"
                 f"{'-oneshot' if self.one_shot else ''}"
                 f"{f'-{self.enqueue}' if self.enqueue else ''}")  # fmt: skip
        return (f"{self.task}-{self.optimizer}-{self.preset}-{self.sampler}-{self.pruner}-"
                f"t{self.trials}-k{self.top_k}x{self.validate_seeds}-c{self.confirm_seeds}-"
                f"r{self.calibration_seeds}-"
                f"s{self.seed}{'-rt' if self.retrain else ''}{extra}")  # fmt: skip

    def config(self) -> Any:
        """The unit's `StudyConfig` (a one-shot: one trial, nothing tuned, as
        `app.comparisons` makes a tuning-free family's study)."""
        from optim.optimizers import FAMILIES
        from optim.space import fixed_space
        from optim.study import StudyConfig

        fields: dict[str, Any] = {
            "task": self.task, "n_trials": self.trials, "sampler": self.sampler,
            "pruner": self.pruner, "seed": self.seed, "optimizer": self.optimizer,
            "preset": self.preset, "validate_top_k": self.top_k,
            "validate_seeds": self.validate_seeds, "confirm_seeds": self.confirm_seeds,
            "epochs": self.epochs,
        }  # fmt: skip
        if self.one_shot:
            space = fixed_space(FAMILIES[self.optimizer].baseline).model_dump(mode="json")
            fields |= {"n_trials": 1, "sampler": "random", "pruner": "none", "space": space}
        return StudyConfig.model_validate(fields)


# --- one unit -----------------------------------------------------------------------------------


def init_worker() -> None:
    import optuna
    import torch

    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)


def run_unit(job: tuple[Unit, str] | tuple[Unit, str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Search, validate (the product's selection and confirmation rounds), re-measure the
    confirmed pick on 20 further seeds (core units); the unit's record. A third job item: the
    params of the configs the search enqueues instead of sampling (`Unit.enqueue`)."""
    from app import local
    from optim.attrs import BASELINE_ATTR, PARAMS_ATTR
    from optim.params import OptimizerParams
    from optim.seeds import Purpose, fresh_seeds, validation_seeds
    from optim.starter import enqueue_configs
    from optim.storage import make_storage
    from optim.study import create_study
    from optim.validation import DEFAULT_LABEL, paired_gain, used_seeds

    unit, workdir = job[0], job[1]
    enqueued = job[2] if len(job) > 2 else None  # type: ignore[misc]
    work = Path(workdir)
    db = work / "db" / f"{unit.key()}.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    db.unlink(missing_ok=True)
    load_start = c.loadavg()[0]
    config = unit.config()
    storage = make_storage(f"sqlite:///{db}", heartbeat_interval=local.HEARTBEAT_S,
                           grace_period=local.GRACE_S)  # fmt: skip
    name = unit.key()

    # the search, as `adamtune tune` runs it
    start = time.perf_counter()
    study = create_study(config, storage, name, baseline=enqueued is None)
    if enqueued is not None:
        enqueue_configs(study, config.space, [OptimizerParams(**p) for p in enqueued])
    runner = local.run_to_end(storage, name, quiet=True)
    search_s = time.perf_counter() - start
    frozen = runner.study.get_trials(deepcopy=False)
    trials = [
        {"number": t.number, "state": t.state.name, "value": t.value,
         "epochs": len(t.intermediate_values), "baseline": bool(t.user_attrs.get(BASELINE_ATTR)),
         "params": t.user_attrs.get(PARAMS_ATTR)}
        for t in frozen
    ]  # fmt: skip
    done = [t for t in trials if t["state"] == "COMPLETE"]
    base = next((t["value"] for t in done if t["baseline"]), None)
    best = min((t["value"] for t in done), default=None)
    search_gain = (base - best) / abs(base) if base and best is not None else None
    search_seeds = used_seeds(frozen)

    # the product's validation: the top 3 and the defaults on 5 fresh seeds pick one, which
    # the defaults and it then retrain on 10 further seeds (the reported gain)
    start = time.perf_counter()
    found = local.validate(storage, name, config,
                           local.best_candidates(runner.study, config, config.validate_top_k),
                           seeds=config.validate_seeds, confirm_seeds=config.confirm_seeds,
                           exclude=search_seeds, quiet=True)  # fmt: skip
    validate_s = time.perf_counter() - start
    selection, confirmation, answer = found.selection, found.confirmation, found.conclusion
    chosen = next((r for r in selection.configs if r.label == selection.recommended), None)
    confirmed = (
        None
        if confirmation is None
        else next((r for r in confirmation.configs if r.label != DEFAULT_LABEL), None)
    )

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

    # re-measurement (bench only): the confirmed pick (even where the verdict keeps the
    # defaults: its reported gain is what is calibrated) and the defaults on 20 further seeds
    # that neither the search, the selection nor the confirmation used
    start = time.perf_counter()
    used = search_seeds | set(selection.seeds) | set(confirmation.seeds if confirmation else ())
    seeds: list[int] = []
    re_default: list[float | None] = []
    re_pick: list[float | None] = []
    if confirmed is not None and unit.calibration_seeds:
        seeds = fresh_seeds(unit.seed, Purpose.EVALUATION, 1, unit.calibration_seeds,
                            exclude=used)  # fmt: skip
        family = config.family()
        defaults = family.params(family.baseline)
        re_default = [_test_loss(work, unit.task, unit.optimizer, defaults, s, epochs)
                      for s in seeds]  # fmt: skip
        re_pick = [_test_loss(work, unit.task, unit.optimizer, confirmed.params, s, epochs)
                   for s in seeds]  # fmt: skip
    remeasure_s = time.perf_counter() - start
    re_gain, re_wins = paired_gain(re_default, re_pick) if re_pick else (None, 0)
    ci = confirmed.gain if confirmed is not None else None
    covered = miss = None
    if ci is not None and ci.low is not None and ci.high is not None and re_gain is not None:
        covered = bool(ci.low <= re_gain.mean <= ci.high)  # not numpy's bool: JSON
        miss = None if covered else ("over" if re_gain.mean < ci.low else "under")

    def one(r: Any) -> dict[str, Any] | None:
        if r is None:
            return None
        return {"label": r.label, "params": r.params, "trial": r.trial, "values": r.values,
                "gain": asdict(r.gain) if r.gain else None, "wins": r.wins}  # fmt: skip

    default = next(r for r in selection.configs if r.label == DEFAULT_LABEL)
    record = {
        "unit": asdict(unit),
        "key": unit.key(),
        "epochs": epochs,
        "search": {"trials": trials, "baseline_value": base, "best_value": best,
                   "estimate": search_gain, "seconds": search_s,
                   "epochs_trained": sum(t["epochs"] for t in trials),
                   "complete": len(done),
                   "pruned": sum(t["state"] == "PRUNED" for t in trials),
                   "seeds": sorted(search_seeds)},
        # the selection round, with the product's answer (the other plans' tables read it)
        "validation": {"seeds": selection.seeds, "verdict": answer.verdict if answer else "",
                       "recommended": answer.label if answer else None,
                       "confirmed": bool(answer and answer.confirmed),
                       "selection_verdict": selection.verdict, "seconds": validate_s,
                       "configs": [asdict(r) for r in selection.configs],
                       "default": default.values, "top": one(chosen)},
        "confirmation": None if confirmation is None else {
            "seeds": confirmation.seeds, "verdict": confirmation.verdict,
            "recommended": confirmation.recommended,
            "default": next(r.values for r in confirmation.configs if r.label == DEFAULT_LABEL),
            "pick": one(confirmed)},
        "calibration": {"seeds": seeds, "default": re_default, "top": re_pick,
                        "gain": asdict(re_gain) if re_gain else None, "wins": re_wins,
                        "covered": covered, "miss": miss, "seconds": remeasure_s},
        "retrained": retrained,
        "loadavg": [load_start, c.loadavg()[0]],
        "enqueued": enqueued,
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
    if processes == 0:  # in this process: a smoke run pays one Python start-up, not two
        init_worker()
        for u in todo:
            if time.monotonic() < deadline:
                store(work, u, run_unit((u, str(work))))
        return
    with mp.get_context("spawn").Pool(processes, initializer=init_worker,
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
                    try:
                        record = result.get()
                    except Exception as exc:  # one failed study must not end a long run
                        print(f"# {u.key()}: FAILED {exc!r}", file=sys.stderr, flush=True)
                        continue
                    store(work, u, record)
            time.sleep(0.5)


def store(work: Path, u: Unit, record: dict[str, Any]) -> None:
    """Cache a unit's record (the report reads it from there) and say how long it took."""
    path = work / "units" / f"{u.key()}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=1, default=str))
    tmp.replace(path)
    s, v, k = (record["search"]["seconds"], record["validation"]["seconds"],
               record["calibration"]["seconds"])  # fmt: skip
    cal = record["calibration"]
    print(f"# {time.strftime('%H:%M:%S')} {u.key()}: search {s:.0f} s, "
          f"validation {v:.0f} s, re-measurement {k:.0f} s; "
          f"covered {cal.get('covered')} ({cal.get('miss')}); "
          f"{record['validation']['verdict']}", file=sys.stderr, flush=True)  # fmt: skip


# --- the report ---------------------------------------------------------------------------------

ADAMTUNE_DEFAULTS = {
    "optimizer": "adam",
    "preset": "default",
    "sampler": "tpe",
    "pruner": "median",
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
    """What a user following the product gets on the 20 re-measurement seeds: the confirmed
    pick where the confirmation supports it, else the defaults (core studies only)."""
    cal = rec["calibration"]
    if rec["validation"]["recommended"] in (None, "default") or not cal["top"]:
        return list(cal["default"])
    return list(cal["top"])


def gains(reference: list[float | None], other: list[float | None]) -> list[float]:
    """Paired relative gains of `other` over `reference`, (ref - other) / |ref|, seed by seed."""
    return [(r - o) / abs(r) for r, o in zip(reference, other, strict=True) if r and o is not None]


def confirmed_gain(rec: dict[str, Any]) -> dict[str, Any] | None:
    """The gain the product reports: the pick's on the confirmation seeds, with its 95 % CI."""
    conf = rec.get("confirmation")
    if not conf or not conf["pick"] or not conf["pick"]["gain"]:
        return None
    return conf["pick"]["gain"]  # type: ignore[no-any-return]


def calibrated(rec: dict[str, Any]) -> bool:
    """A core study of this protocol whose confirmed CI and 20-seed gain both exist."""
    g = confirmed_gain(rec)
    return (
        g is not None
        and g["low"] is not None
        and rec["calibration"].get("gain") is not None
        and rec["calibration"].get("covered") is not None
    )


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


def _pp(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.1%}"


def core_table(records: dict[str, dict[str, Any]], tasks: list[str], out: dict[str, Any]) -> str:
    """(a) default against tuned Adam, as `adamtune tune` runs it; (b) calibration of the
    confirmed gain against 20 further seeds."""
    rows, detail, studies = [], [], []
    for task in tasks:
        recs = list(group(records, task=task, **ADAMTUNE_DEFAULTS).values())
        recs = [r for r in recs if r["unit"]["calibration_seeds"] and "confirmation" in r]
        if not recs:
            continue
        cal = [r for r in recs if calibrated(r)]
        studies += cal
        s = {
            "n": len(recs),
            "calibrated": len(cal),
            "search_estimate": interval(
                [r["search"]["estimate"] for r in cal if r["search"]["estimate"] is not None]
            ),
            "selection_gain": interval([r["validation"]["top"]["gain"]["mean"] for r in cal]),
            "confirmed_gain": interval([confirmed_gain(r)["mean"] for r in cal]),  # type: ignore[index]
            "remeasured_gain": interval([r["calibration"]["gain"]["mean"] for r in cal]),
            "overstatement": interval(
                [confirmed_gain(r)["mean"] - r["calibration"]["gain"]["mean"] for r in cal]  # type: ignore[index]
            ),
            "selection_curse": interval(
                [
                    r["validation"]["top"]["gain"]["mean"] - r["calibration"]["gain"]["mean"]
                    for r in cal
                ]
            ),  # fmt: skip
            "covered": sum(r["calibration"]["covered"] for r in cal),
            "misses_over": sum(r["calibration"]["miss"] == "over" for r in cal),
            "misses_under": sum(r["calibration"]["miss"] == "under" for r in cal),
            "recommends_tuned": sum(
                r["validation"]["recommended"] not in (None, "default") for r in recs
            ),  # fmt: skip
            "default_test": interval(
                [m for r in cal if (m := mean(r["calibration"]["default"])) is not None]
            ),
            "pick_test": interval(
                [m for r in cal if (m := mean(r["calibration"]["top"])) is not None]
            ),
            "recommended_test": interval(
                [m for r in cal if (m := mean(pick_calibrated(r))) is not None]
            ),
            "seconds": statistics.fmean(
                r["search"]["seconds"] + r["validation"]["seconds"] + r["calibration"]["seconds"]
                for r in recs
            ),
        }
        out[f"core/{task}"] = s
        rows.append(
            [
                task,
                f"{s['calibrated']}/{s['n']}",
                f"{recs[0]['unit']['trials']} × {recs[0]['epochs']}",
                fmt_ci(s["default_test"], pct=False),
                fmt_ci(s["pick_test"], pct=False),
                fmt_ci(s["search_estimate"]),
                fmt_ci(s["selection_gain"]),
                fmt_ci(s["confirmed_gain"]),
                fmt_ci(s["remeasured_gain"]),
                f"{s['covered']}/{s['calibrated']}",
                f"{s['misses_over']} / {s['misses_under']}",
                f"{s['recommends_tuned']}/{s['n']}",
                *cost(recs),
                f"{s['seconds']:.0f}",
            ]
        )
        for r in recs:
            top, g = r["validation"]["top"], confirmed_gain(r)
            re_gain, cov = r["calibration"]["gain"], r["calibration"]["covered"]
            conf = r["confirmation"]
            detail.append(
                [
                    task,
                    r["unit"]["seed"],
                    _pp(r["search"]["estimate"]),
                    f"{top['label']}: {_pp(top['gain']['mean'])}" if top and top["gain"] else "n/a",
                    fmt_ci(g) if g else "n/a",
                    f"{conf['pick']['wins']}/{g['n']}" if g else "n/a",
                    conf["verdict"] if conf else r["validation"]["verdict"],
                    fmt_ci(re_gain) if re_gain else "n/a",
                    {True: "yes", False: "**no**", None: "n/a"}[cov],
                    r["calibration"]["miss"] or "",
                ]
            )
    calib = calibration_figures(studies)
    out["calibration"] = calib
    return "\n".join(
        [
            "### (a) Default Adam against tuned Adam, as `adamtune tune` runs it\n",
            "Test losses: the mean over the 20 re-measurement seeds, then over studies (95 % CI "
            "over studies). Gains are relative, (default − tuned) / default, seed by seed; per "
            "task the mean over studies with its 95 % CI over studies. *Pick*: the tuned config "
            "the selection round picked and the confirmation measured (re-measured even where "
            "the verdict keeps the defaults). Seconds: search + validation + re-measurement, "
            "per study, on a shared machine.\n",
            c.table(
                [
                    "task",
                    "studies (calibrated/run)",
                    "trials × epochs",
                    "default Adam, test loss",
                    "pick, test loss",
                    "search estimate",
                    "selection-round gain of the pick (best of 3, 5 seeds)",
                    "confirmed gain (product, 10 seeds)",
                    "gain on 20 further seeds",
                    "confirmed CI holds the 20-seed gain",
                    "misses over / under",
                    "verdict recommends the pick",
                    "epochs in search",
                    "pruned",
                    "search s",
                    "study s",
                ],
                rows,
            ),
            "\nPer study: the search estimate, the selection round's pick and its gain there, the "
            "confirmed gain (95 % CI) with its wins and verdict, the pick's gain on 20 further "
            "seeds, and whether the confirmed CI holds it (a miss is *over* where the "
            "confirmation overstated the gain, *under* where it understated it).\n",
            c.table(
                [
                    "task",
                    "study seed",
                    "search estimate",
                    "selection pick: its gain there",
                    "confirmed gain (95 % CI)",
                    "wins",
                    "product verdict",
                    "20-seed gain (95 % CI)",
                    "CI holds it",
                    "miss",
                ],
                detail,
            ),
            calibration_text(calib),
        ]
    )


def exact_rate(confirm: int, further: int) -> float:
    """How often an exactly calibrated 95 % t-interval on `confirm` seeds holds the mean of
    `further` independent seeds: the two means differ by noise of variance s^2 (1/confirm +
    1/further), so (normal errors) P(|T| <= t / sqrt(1 + confirm / further)), T Student's t with
    confirm - 1 degrees of freedom."""
    from scipy import stats

    t = stats.t.ppf(0.975, confirm - 1)
    return float(2 * stats.t.cdf(t / math.sqrt(1 + confirm / further), confirm - 1) - 1)


def calibration_figures(studies: list[dict[str, Any]]) -> dict[str, Any]:
    """Coverage with its Wilson interval beside the exactly calibrated rate; misses by side;
    the mean overstatement of the confirmed gain, and of the selection round's."""
    from scipy import stats

    n = len(studies)
    if not n:
        return {"n": 0}
    covered = sum(r["calibration"]["covered"] for r in studies)
    confirm = studies[0]["unit"]["confirm_seeds"]
    further = studies[0]["unit"]["calibration_seeds"]
    ideal = exact_rate(confirm, further)
    wilson = stats.binomtest(covered, n).proportion_ci(method="wilson")
    re = [r["calibration"]["gain"]["mean"] for r in studies]
    return {
        "n": n,
        "covered": covered,
        "rate": covered / n,
        "wilson": [wilson.low, wilson.high],
        "exact_rate": ideal,
        "confirm_seeds": confirm,
        "further_seeds": further,
        # how likely an exactly calibrated interval scores this few or fewer
        "p_at_most": float(stats.binom.cdf(covered, n, ideal)),
        "p_at_least": float(stats.binom.sf(covered - 1, n, ideal)),
        "misses_over": sum(r["calibration"]["miss"] == "over" for r in studies),
        "misses_under": sum(r["calibration"]["miss"] == "under" for r in studies),
        "overstatement": interval(
            [confirmed_gain(r)["mean"] - g for r, g in zip(studies, re, strict=True)]  # type: ignore[index]
        ),
        "selection_overstatement": interval(
            [r["validation"]["top"]["gain"]["mean"] - g for r, g in zip(studies, re, strict=True)]
        ),
        "search_overstatement": interval(
            [
                r["search"]["estimate"] - g
                for r, g in zip(studies, re, strict=True)
                if r["search"]["estimate"] is not None
            ]
        ),  # fmt: skip
        "tasks": sorted({r["unit"]["task"] for r in studies}),
    }


def calibration_text(k: dict[str, Any]) -> str:
    """(b): the calibration table and its one-line reading."""
    if not k.get("n"):
        return "\n### (b) Calibration\n\nNo study with a confirmed CI and a 20-seed gain yet.\n"
    rows = [
        ["studies (tasks)", f"{k['n']} ({len(k['tasks'])})"],
        ["confirmed 95 % CI holds the 20-seed gain",
         f"**{k['covered']}/{k['n']} = {k['rate']:.1%}** (Wilson 95 % CI "
         f"{k['wilson'][0]:.1%} to {k['wilson'][1]:.1%})"],
        [f"an exactly calibrated interval on {k['confirm_seeds']} seeds would score "
         f"(against {k['further_seeds']} further seeds)",
         f"{k['exact_rate']:.1%} (P(\\|T\\| ≤ t / √(1 + "
         f"{k['confirm_seeds']}/{k['further_seeds']})), "
         f"T Student's with {k['confirm_seeds'] - 1} df, t its 97.5 % point; an exact "
         f"interval scores {k['covered']} of {k['n']} or fewer with probability "
         f"{k['p_at_most']:.2f}, {k['covered']} or more with {k['p_at_least']:.2f})"],
        ["misses: overstated / understated", f"{k['misses_over']} / {k['misses_under']}"],
        ["confirmed gain − 20-seed gain (mean over studies, 95 % CI)",
         fmt_ci(k["overstatement"])],
        ["selection-round gain − 20-seed gain (the winner's curse the confirmation removes)",
         fmt_ci(k["selection_overstatement"])],
        ["search estimate − 20-seed gain", fmt_ci(k["search_overstatement"])],
    ]  # fmt: skip
    return "\n".join(["\n### (b) Calibration of the confirmed gain\n", c.table(["", ""], rows)])


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
                    "adamtune (mean of the 20 re-measurement seeds, over studies)",
                    "published (Crowded Valley, seed 43)",
                ],
                [
                    ["default Adam", fmt_ci(s["default_test"], pct=False), "106.64"],
                    [
                        "tuned Adam (the confirmed pick)",
                        fmt_ci(s["pick_test"], pct=False),
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
    parts = [
        c.header(
            f"Tuning quality: {len(records)} studies of {args.trials} trials each, from the "
            f"unit cache {args.workdir}",
            info,
        ),
        core_table(records, tasks, tables),
        quadratic_table(tables),
    ]
    # the other plans' tables, where their units ran (compared on the product's own rounds)
    if any(not r["unit"]["calibration_seeds"] for r in records.values()):
        parts += _other_tables(records, tasks, tables)
    out["calibration"] = tables.pop("calibration", None)
    c.write_json(args.json, _with_records(out, records))
    return "\n\n".join(p for p in parts if p) + "\n"


def _other_tables(
    records: dict[str, dict[str, Any]], tasks: list[str], tables: dict[str, Any]
) -> list[str]:
    base = ADAMTUNE_DEFAULTS
    return [
        optimizer_table(records, tasks, tables),
        "### (d) Default preset and default pruner\n",
        choice_table(records, tasks, tables, "preset", ("default", "wide"), base),
        choice_table(records, tasks, tables, "pruner", ("median", "hyperband", "none"), base),
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


def _with_records(out: dict[str, Any], records: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The raw records without each trial's params (the unit cache keeps them): smaller."""
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
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    c.add_common_args(parser, repeats=None)  # the study seeds are the repeats
    parser.add_argument("--plan", nargs="+", choices=PARTS,
                        help="these parts on --tasks x --seeds instead of STAGES")  # fmt: skip
    parser.add_argument("--tasks", nargs="+", help="only these tasks (default: all)")
    parser.add_argument("--seeds", type=int, default=3, help="study seeds, with --plan")
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--small", action="store_true",
                        help="a smoke test: 2 seeds per round and re-measurement")  # fmt: skip
    parser.add_argument("--processes", type=int, default=2,
                        help="units at a time, each in a process of its own; 0: one at a "
                        "time in this process (a smoke run)")  # fmt: skip
    parser.add_argument("--budget-min", type=float, help="start no unit after this many minutes")
    parser.add_argument("--report", action="store_true", help="only rebuild the report")
    parser.add_argument("--md", type=Path, help="write the report here too")
    args = parser.parse_args(argv)
    args.workdir = args.workdir or WORKDIR
    if args.plan and not args.tasks:
        args.tasks = TASKS
    units = plan(args)
    if args.small:
        units = [replace(u, validate_seeds=2, confirm_seeds=2,
                         calibration_seeds=2 if u.calibration_seeds else 0)
                 for u in units]  # fmt: skip
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
