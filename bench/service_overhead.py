"""Wall time of one study through the service against a plain Optuna script running it.

The service: POST /api/studies to `adamtune serve --workers 1` on a fresh SQLite file, then poll
GET /api/studies/{id} every 0.1 s until it is completed (server and worker start-up are not
timed: the worker has finished importing before the POST). The plain script: a fresh Python
process that imports everything, then times `optuna.create_study` (same sampler, pruner, study
name and enqueued default-Adam baseline) + `study.optimize(make_objective(...))`, on (a) Optuna's
default SQLite storage and (b) in memory, with `torch.set_num_threads(1)` as the worker has.

Same trials on both sides: the worker seeds the sampler of each trial from the study's seed and
the trial's number (`optim.study.sampler_for_trial`), and the plain script does the same with
`reseed_after_trial`, as `adamtune tune` does; Hyperband buckets trials by a hash of the study
name, so both sides use the same name. The trial outcomes of every run are compared and the
table says whether they matched.

    .venv/bin/python bench/service_overhead.py [--repeats 3] [--trials 40] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c  # noqa: E402

VARIANTS = ("service", "plain_sqlite", "plain_memory")
LABELS = {
    "service": "adamtune serve --workers 1 (REST, SQLite WAL)",
    "plain_sqlite": "(a) plain Optuna, create_study(storage='sqlite:///…')",
    "plain_memory": "(b) plain Optuna, in-memory storage",
}


def plain_run(args: argparse.Namespace) -> None:
    """Child-process entry: run the study with plain Optuna and print one JSON line."""
    import optuna
    import torch

    from optim.attrs import BASELINE_ATTR
    from optim.objective import make_objective
    from optim.samplers import make_pruner
    from optim.space import BASELINE
    from optim.study import StudyConfig, reseed_after_trial, sampler_for_trial
    from optim.tasks import get_task

    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    config = StudyConfig(
        task=args.task, n_trials=args.trials, epochs=args.epochs, sampler=args.sampler,
        pruner=args.pruner, seed=args.seed,
    )  # fmt: skip
    task, space, epochs = get_task(config.task), config.space, config.resolved_epochs()
    storage = f"sqlite:///{args.plain_db}" if args.plain_db else None

    start = time.perf_counter()
    study = optuna.create_study(
        storage=storage,
        study_name=args.name,
        direction="minimize",
        sampler=sampler_for_trial(config, 0),
        pruner=make_pruner(config.pruner, epochs=epochs),
    )
    study.enqueue_trial(space.to_optuna_params(BASELINE), user_attrs={BASELINE_ATTR: True})
    objective = make_objective(task, space, epochs=epochs, seed=config.seed)
    study.optimize(objective, n_trials=config.n_trials, callbacks=[reseed_after_trial(config)])
    elapsed = time.perf_counter() - start

    trials = study.trials
    print(
        json.dumps(
            {
                "seconds": elapsed,
                "outcomes": [[t.number, t.state.name, t.value] for t in trials],
                "epochs": sum(len(t.intermediate_values) for t in trials),
            }
        )
    )


def run_plain(args: argparse.Namespace, name: str, db: Path | None) -> dict[str, Any]:
    command = [
        c.PYTHON, str(Path(__file__).resolve()), "--plain-run", "--task", args.task,
        "--trials", str(args.trials), "--sampler", args.sampler, "--pruner", args.pruner,
        "--seed", str(args.seed), "--name", name,
    ]  # fmt: skip
    if args.epochs is not None:
        command += ["--epochs", str(args.epochs)]
    if db is not None:
        command += ["--plain-db", str(db)]
    out = subprocess.run(command, cwd=c.ROOT, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"plain run failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_service(args: argparse.Namespace, server: c.Server, name: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": name, "task": args.task, "n_trials": args.trials, "sampler": args.sampler,
        "pruner": args.pruner, "seed": args.seed,
    }  # fmt: skip
    if args.epochs is not None:
        body["epochs"] = args.epochs
    start = time.perf_counter()
    status, payload, _ = c.http("POST", f"{server.url}/api/studies", body)
    if status != 201:
        raise RuntimeError(f"POST /api/studies: {status} {payload[:500]!r}")
    study_id = json.loads(payload)["id"]
    _, done = c.wait_status(server, study_id, ("completed",), poll_s=0.1)
    elapsed = done - start
    trials = c.get_json(f"{server.url}/api/studies/{study_id}/trials?limit=1000")["trials"]
    return {
        "seconds": elapsed,
        "outcomes": [[t["number"], t["state"], t["value"]] for t in trials],
        "epochs": sum(t["epochs_done"] for t in trials),
    }


def same_outcomes(a: list[list[Any]], b: list[list[Any]]) -> bool:
    if len(a) != len(b):
        return False
    for (na, sa, va), (nb, sb, vb) in zip(sorted(a), sorted(b), strict=True):
        if na != nb or sa != sb:
            return False
        if (va is None) != (vb is None) or (
            va is not None and abs(va - vb) > 1e-9 * max(1, abs(va))
        ):
            return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    c.add_common_args(parser, repeats=3)
    parser.add_argument("--task", default="mlp_digits")
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--epochs", type=int, help="default: the task's")
    parser.add_argument("--sampler", default="tpe")
    parser.add_argument("--pruner", default="hyperband")
    parser.add_argument("--seed", type=int, default=0)
    # internal: the plain-script child process
    parser.add_argument("--plain-run", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--plain-db", help=argparse.SUPPRESS)
    parser.add_argument("--name", default="overhead", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
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
            server = c.adamtune_server(f"sqlite:///{db}", 1, work / f"serve-{repeat}.log")
            with server:
                pids = c.worker_pids(server, 1)
                c.wait_until_importing_done(pids)
                order = list(VARIANTS[repeat % 3 :] + VARIANTS[: repeat % 3])
                for variant in order:
                    load = c.loadavg()[0]
                    if variant == "service":
                        result = run_service(args, server, name)
                    elif variant == "plain_sqlite":
                        result = run_plain(args, name, work / f"plain-{repeat}.db")
                    else:
                        result = run_plain(args, name, None)
                    result["loadavg_1min"] = load
                    result["repeat"] = repeat
                    runs[variant].append(result)
                    print(f"# repeat {repeat} {variant}: {result['seconds']:.2f} s, "
                          f"{result['epochs']} epochs, load {load:.2f}",
                          file=sys.stderr)  # fmt: skip
    info["loadavg_end"] = c.loadavg()

    matched = [
        same_outcomes(runs["service"][i]["outcomes"], runs[v][i]["outcomes"])
        for i in range(args.repeats)
        for v in ("plain_sqlite", "plain_memory")
    ]
    secs = {v: [r["seconds"] for r in runs[v]] for v in VARIANTS}
    ratios = {
        v: [s / p for s, p in zip(secs["service"], secs[v], strict=True)]
        for v in ("plain_sqlite", "plain_memory")
    }
    targets = {"plain_sqlite": 1.0, "plain_memory": 1.15}

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
        ["variant", "wall s, median (min–max)", "epochs trained", "service / this, median "
         "(min–max) of per-repeat ratios", "target"],
        rows, "lrrrl",
    ))  # fmt: skip
    print(
        f"\nSame trial outcomes (state and value of every trial) in service and plain runs: "
        f"{sum(matched)}/{len(matched)} comparisons."
    )
    c.write_json(
        args.json,
        {"machine": info, "config": {k: v for k, v in vars(args).items() if k != "json"},
         "runs": runs, "ratios": ratios, "outcomes_matched": matched},
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
