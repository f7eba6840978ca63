"""Wall time of one study through the service against a plain Optuna script running it.

The service: POST /api/studies to `adamtune serve --workers 1` on a fresh SQLite file, then poll
GET /api/studies/{id} every second until it is completed; the time is from just before the POST
to the study's `finished_at`, when the service marked it completed (a poll sees it up to a
second later; that time is in the JSON as `seconds_seen`; polls every 0.1 s took CPU from the
worker on a 2-core machine). Server and worker start-up are not timed: the worker has finished
importing before the POST. The plain script: a fresh Python
process that imports everything, then times the study's creation (same sampler, pruner, study
name and enqueued default-Adam baseline) + `study.optimize(plain_objective(...))`, on (a)
Optuna's default SQLite storage and (b) in memory, with `torch.set_num_threads(1)` as the
worker has.

Same trials on both sides, checked: the plain script creates the study with the service's own
`optim.study.create_study` (config, enqueued baseline), sets the sampler of trial n to
`optim.study.sampler_for_trial(config, n)` before it runs, as the worker's runner does, and
trains trial n on `optim.seeds.training_seeds(seed, n, k)`, as the worker does; it pays the
one-time cost of a training process untimed (`optim.training.warm_up`), as the worker does at
start-up, and loads the task's data (`Task.prepare`) timed, as the worker does before its first
trial of the task. Hyperband
buckets trials by a hash of the study name, so both sides use the same name. The service's
study validates nothing (`validate_top_k: 0`): a validation queued at the end would train while
the plain runs are timed. Every run's trials (number, state, params, value) are compared with
the service's: a difference is printed, the JSON says `"valid": false` and the script exits 1.
The ratios are per epoch trained (service seconds per epoch / plain seconds per epoch, per
repeat), which with the same trials on both sides is the ratio of wall times. A second table
gives CPU time (user + system) per epoch: the server's and the worker's processes from the POST
to the poll that saw the study completed, against the plain process's timed section; a shared,
loaded machine stretches wall time far more than CPU time.

    .venv/bin/python bench/service_overhead.py [--repeats 3] [--trials 40] [--json PATH]
    .venv/bin/python bench/service_overhead.py --smoke   # seconds: does it still run?
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from subprocess import PIPE, Popen
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c  # noqa: E402

if TYPE_CHECKING:
    import optuna

POLL_S = 1.0  # the bench's status polls: seldom, so that they take little of the shared CPUs
VARIANTS = ("service", "plain_sqlite", "plain_memory")
LABELS = {
    "service": "adamtune serve --workers 1 (REST, SQLite WAL)",
    "plain_sqlite": "(a) plain Optuna, create_study(storage='sqlite:///…')",
    "plain_memory": "(b) plain Optuna, in-memory storage",
}


def plain_objective(config: Any, task: Any) -> Callable[[optuna.Trial], float]:
    """Trial n as the worker trains it (`optim.objective.train_lease`): the baseline's defaults
    or the sampler's params, trial n's training seeds, a report per epoch, Optuna's pruner."""
    import optuna

    from optim.attrs import BASELINE_ATTR, PARAMS_ATTR
    from optim.seeds import training_seeds
    from optim.training import DivergedError, train

    epochs = config.resolved_epochs()

    def objective(trial: optuna.Trial) -> float:
        fixed = config.baseline_params() if trial.user_attrs.get(BASELINE_ATTR) else None
        params = config.space.suggest(trial, fixed=fixed)
        trial.set_user_attr(PARAMS_ATTR, config.family().params(params))

        def report(metrics: Any) -> None:
            trial.report(metrics.val_loss, metrics.epoch)
            if metrics.epoch < epochs and trial.should_prune():
                raise optuna.TrialPruned(f"pruned at epoch {metrics.epoch}")

        seeds = training_seeds(config.seed, trial.number, config.seeds_per_trial)
        try:
            history = train(task, params, epochs=epochs, seed=seeds, on_epoch=report,
                             optimizer=config.optimizer, eps_mode=config.eps_mode)  # fmt: skip
        except DivergedError as exc:
            raise optuna.TrialPruned(f"diverged: {exc}") from exc
        return history[-1].val_loss

    return objective


def plain_run(args: argparse.Namespace) -> None:
    """Child-process entry: run the study with plain Optuna on each `--plain-db` (the empty
    string: in memory) in turn, one JSON line each."""
    import optuna
    import torch

    from optim.study import StudyConfig
    from optim.tasks import get_task
    from optim.training import warm_up

    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # the one-time cost (torch's first optimizer) untimed, as the worker pays it at start-up:
    # inside the timed section it added 1-4 s to this side only; the task's data (`prepare`:
    # scikit-learn's) timed, as the worker loads it after the POST, before its first trial
    warm_up()
    config = StudyConfig(
        task=args.task, n_trials=args.trials, epochs=args.epochs, sampler=args.sampler,
        pruner=args.pruner, seed=args.seed, validate_top_k=0,
    )  # fmt: skip
    task = get_task(config.task)
    for db in args.plain_db or [""]:
        print(json.dumps(plain_study(args, config, task, db)), flush=True)


def plain_study(args: argparse.Namespace, config: Any, task: Any, db: str) -> dict[str, Any]:
    """One timed plain-Optuna study on SQLite file `db` (empty: in memory)."""
    import optuna

    from optim.attrs import PARAMS_ATTR
    from optim.study import create_study, sampler_for_trial

    def reseed(study: optuna.Study, _trial: object = None) -> None:
        # the worker's runner seeds the sampler with the number of trials the study holds
        study.sampler = sampler_for_trial(config, len(study.get_trials(deepcopy=False)))

    start = time.perf_counter()
    cpu_start = time.process_time()
    storage = (
        optuna.storages.RDBStorage(f"sqlite:///{db}") if db else optuna.storages.InMemoryStorage()
    )
    task.prepare()
    study = create_study(config, storage, args.name)
    reseed(study)
    study.optimize(plain_objective(config, task), n_trials=config.n_trials, callbacks=[reseed])
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu_start

    trials = study.trials
    return {
        "seconds": elapsed,
        "cpu_seconds": cpu,
        "outcomes": [
            [t.number, t.state.name, t.value, t.user_attrs.get(PARAMS_ATTR)] for t in trials
        ],
        "epochs": sum(len(t.intermediate_values) for t in trials),
    }


def start_plain(args: argparse.Namespace, name: str, dbs: list[Path | None]) -> Popen[str]:
    """A fresh process that runs the plain study on each of `dbs` (None: in memory)."""
    command = [
        c.PYTHON, str(Path(__file__).resolve()), "--plain-run", "--task", args.task,
        "--trials", str(args.trials), "--sampler", args.sampler, "--pruner", args.pruner,
        "--seed", str(args.seed), "--name", name,
    ]  # fmt: skip
    if args.epochs is not None:
        command += ["--epochs", str(args.epochs)]
    command += [f"--plain-db={db or ''}" for db in dbs]
    return subprocess.Popen(command, cwd=c.ROOT, stdout=PIPE, stderr=PIPE, text=True)


def finish_plain(proc: Popen[str], n: int) -> list[dict[str, Any]]:
    """The `n` results of a `start_plain` process, once it has ended."""
    stdout, stderr = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"plain run failed:\n{stderr[-3000:]}")
    return [json.loads(line) for line in stdout.strip().splitlines()[-n:]]


def run_plain(args: argparse.Namespace, name: str, dbs: list[Path | None]) -> list[dict[str, Any]]:
    """The plain studies, one per entry of `dbs` (None: in memory), in one fresh process."""
    return finish_plain(start_plain(args, name, dbs), len(dbs))


def run_service(
    args: argparse.Namespace, server: c.Server, name: str, pids: list[int]
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": name, "task": args.task, "n_trials": args.trials, "sampler": args.sampler,
        "pruner": args.pruner, "seed": args.seed, "validate_top_k": 0,
    }  # fmt: skip
    if args.epochs is not None:
        body["epochs"] = args.epochs
    processes = [server.pid, *pids]
    cpu_start = c.cpu_seconds(processes)
    start = time.perf_counter()
    started_at = datetime.now(UTC)
    status, payload, _ = c.http("POST", f"{server.url}/api/studies", body)
    if status != 201:
        raise RuntimeError(f"POST /api/studies: {status} {payload[:500]!r}")
    study_id = json.loads(payload)["id"]
    # --smoke: nothing is timed that a poll could disturb; the answer comes sooner
    poll_s = 0.1 if args.smoke else POLL_S
    study, seen = c.wait_status(server, study_id, ("completed",), poll_s=poll_s)
    cpu = c.cpu_seconds(processes) - cpu_start  # to when the poll saw it: idle time included
    # the end: when the service marked the study completed (its own clock, the same machine's),
    # not when this poll saw it (up to POLL_S later)
    finished_at = datetime.fromisoformat(study["finished_at"].replace("Z", "+00:00"))
    trials = c.get_json(f"{server.url}/api/studies/{study_id}/trials?limit=1000")["trials"]
    return {
        "seconds": (finished_at - started_at).total_seconds(),
        "seconds_seen": seen - start,
        "cpu_seconds": cpu,
        "outcomes": [[t["number"], t["state"], t["value"], t["params"]] for t in trials],
        "epochs": sum(t["epochs_done"] for t in trials),
    }


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= 1e-9 * max(1.0, abs(a))


def outcome_differences(service: list[list[Any]], plain: list[list[Any]]) -> list[str]:
    """What differs between two runs' trials (number, state, value, params), trial by trial;
    empty when both sides trained the same trials to the same results."""
    ours = {row[0]: row[1:] for row in service}
    theirs = {row[0]: row[1:] for row in plain}
    diffs = [f"trial {n}: only in the {'service' if n in ours else 'plain'} run"
             for n in sorted(ours.keys() ^ theirs.keys())]  # fmt: skip
    for n in sorted(ours.keys() & theirs.keys()):
        (sa, va, pa), (sb, vb, pb) = ours[n], theirs[n]
        if sa != sb or not _close(va, vb):
            diffs.append(f"trial {n}: service {sa} {va}, plain {sb} {vb}")
        pa, pb = pa or {}, pb or {}
        if pa.keys() != pb.keys() or not all(_close(pa[k], pb[k]) for k in pa):
            diffs.append(f"trial {n}: params service {pa}, plain {pb}")
    return diffs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    c.add_common_args(parser, repeats=3)
    parser.add_argument("--task", default="mlp_digits")
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--epochs", type=int, help="default: the task's")
    parser.add_argument("--sampler", default="tpe")
    parser.add_argument("--pruner", default="hyperband")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="tiny sizes (1 repeat, 3 trials of 2 epochs of rosenbrock), both plain studies in "
        "one process started beside the server's start-up: a check, its figures mean nothing",
    )
    # internal: the plain-script child process
    parser.add_argument("--plain-run", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--plain-db", action="append", help=argparse.SUPPRESS)
    parser.add_argument("--name", default="overhead", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.smoke:
        args.repeats, args.trials, args.epochs, args.task = 1, 3, 2, "rosenbrock"
    if args.plain_run:
        plain_run(args)
        return 0

    c.wait_for_quiet(args.wait_load)
    info = c.machine()
    runs: dict[str, list[dict[str, Any]]] = {v: [] for v in VARIANTS}
    with c.workdir(args.workdir) as work:
        for repeat in range(args.repeats):
            name = f"overhead-{int(time.time())}-{repeat}"
            db = work / f"service-{repeat}.db"
            plain_dbs = {"plain_sqlite": work / f"plain-{repeat}.db", "plain_memory": None}
            # --smoke (its figures mean nothing): both plain studies in one process, started
            # beside the server's and its worker's start-up, so the check pays one Python
            # start-up instead of three in a row
            early = start_plain(args, name, list(plain_dbs.values())) if args.smoke else None
            early_out: dict[str, dict[str, Any]] = {}
            server = c.adamtune_server(f"sqlite:///{db}", 1, work / f"serve-{repeat}.log")
            try:
                with server:
                    pids = c.worker_pids(server, 1)
                    if early is None:
                        c.wait_until_importing_done(pids)
                    order = list(VARIANTS[repeat % 3 :] + VARIANTS[: repeat % 3])
                    for variant in order:
                        load = c.loadavg()[0]
                        if variant == "service":
                            result = run_service(args, server, name, pids)
                        elif early is not None:
                            if not early_out:
                                early_out = dict(zip(plain_dbs, finish_plain(early, 2),
                                                     strict=True))  # fmt: skip
                            result = early_out[variant]
                        else:
                            result = run_plain(args, name, [plain_dbs[variant]])[0]
                        result["loadavg_1min"] = load
                        result["repeat"] = repeat
                        runs[variant].append(result)
                        print(f"# repeat {repeat} {variant}: {result['seconds']:.2f} s, "
                              f"{result['epochs']} epochs, load {load:.2f}",
                              file=sys.stderr)  # fmt: skip
            finally:
                if early is not None and early.poll() is None:
                    early.kill()
    info["loadavg_end"] = c.loadavg()

    differences = {
        f"repeat {i} {v}": outcome_differences(
            runs["service"][i]["outcomes"], runs[v][i]["outcomes"]
        )
        for i in range(args.repeats)
        for v in ("plain_sqlite", "plain_memory")
    }
    matched = [not d for d in differences.values()]
    for run, diffs in differences.items():
        for line in diffs[:10]:
            print(f"# NOT THE SAME WORK, {run}: {line}", file=sys.stderr)
    secs = {v: [r["seconds"] for r in runs[v]] for v in VARIANTS}
    per_epoch = {v: [r["seconds"] / max(r["epochs"], 1) for r in runs[v]] for v in VARIANTS}
    # per epoch trained (issue 24): the same as the wall-time ratio when both sides trained the
    # same trials, which the check below requires
    ratios = {
        v: [s / p for s, p in zip(per_epoch["service"], per_epoch[v], strict=True)]
        for v in ("plain_sqlite", "plain_memory")
    }
    targets = {"plain_sqlite": 1.0, "plain_memory": 1.10}
    # CPU seconds per epoch: the service's server + worker processes against the plain process
    # (a view that a loaded machine distorts less than wall time; not the figure)
    cpu = {v: [r["cpu_seconds"] / max(r["epochs"], 1) for r in runs[v]] for v in VARIANTS}
    cpu_ratios = {
        v: [s / p for s, p in zip(cpu["service"], cpu[v], strict=True)]
        for v in ("plain_sqlite", "plain_memory")
    }

    epochs = args.epochs or "default"
    print(c.header(
        f"Service overhead: {args.task}, {args.trials} trials, {epochs} epochs, sampler "
        f"{args.sampler}, pruner {args.pruner}, seed {args.seed}; {args.repeats} repeats",
        info,
    ))  # fmt: skip
    rows = []
    for v in VARIANTS:
        s = c.summary(secs[v])
        ep = c.summary([r["epochs"] for r in runs[v]])
        if v == "service":
            ratio, target = "1 (reference)", ""
        else:
            r = c.summary(ratios[v])
            met = "met" if r["median"] <= targets[v] else "missed"
            ratio = f"{r['median']:.3f} ({r['min']:.3f}–{r['max']:.3f})"
            target = f"<= {targets[v]}: {met}"
        rows.append([LABELS[v], c.fmt_summary(s, ".2f"), f"{ep['median']:.0f}", ratio, target])
    print(c.table(
        ["variant", "wall s, median (min–max)", "epochs trained", "service / this per epoch "
         "trained, median (min–max) of per-repeat ratios", "target"],
        rows, "lrrrl",
    ))  # fmt: skip
    rows = []
    for v in VARIANTS:
        cs = c.summary([r["cpu_seconds"] for r in runs[v]])
        if v == "service":
            ratio = "1 (reference)"
        else:
            r = c.summary(cpu_ratios[v])
            ratio = f"{r['median']:.3f} ({r['min']:.3f}–{r['max']:.3f})"
        rows.append([LABELS[v], c.fmt_summary(cs, ".2f"), ratio])
    print()
    print(c.table(
        ["variant (CPU time: the service's server + worker, the plain process)",
         "CPU s, median (min–max)", "service / this per epoch, median (min–max)"],
        rows, "lrr",
    ))  # fmt: skip
    valid = all(matched)
    print(
        f"\nSame trials (params, state and value of every trial) in service and plain runs: "
        f"{sum(matched)}/{len(matched)} comparisons"
        f"{'.' if valid else ': INVALID, the two sides did not train the same trials.'}"
    )
    c.write_json(
        args.json,
        {"machine": info, "config": {k: v for k, v in vars(args).items() if k != "json"},
         "runs": runs, "ratios": ratios, "cpu_ratios": cpu_ratios, "outcomes_matched": matched,
         "valid": valid},
    )  # fmt: skip
    return 0 if valid else 1


if __name__ == "__main__":
    raise SystemExit(main())
