"""`adamtune serve | worker | tune | tasks`: the service, a lone worker, and the engine alone."""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

from tqdm import tqdm

from app.config import Settings


def _settings(args: argparse.Namespace) -> Settings:
    """Environment first, then whatever the command line gives explicitly."""
    overrides: dict[str, Any] = {}
    for field in ("database_url", "host", "port", "workers", "device"):
        value = getattr(args, field, None)
        if value is not None:
            overrides[field] = value
    return Settings(**overrides)


def cmd_serve(args: argparse.Namespace) -> int:
    """The API on host:port plus N embedded workers (separate processes, same database)."""
    import uvicorn

    from app.main import create_app

    settings = _settings(args)
    app = create_app(settings)  # creates the tables before any worker starts
    env = {**os.environ, "ADAMTUNE_DATABASE_URL": settings.database_url,
           "ADAMTUNE_DEVICE": settings.device}  # fmt: skip
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker", "--parent-pid", str(os.getpid())], env=env
        )
        for _ in range(settings.workers)
    ]
    try:
        uvicorn.run(
            app,
            host=settings.host,
            port=settings.port,
            log_level="info",
            # SIGTERM: in-flight requests get this long, then open streams are cut
            timeout_graceful_shutdown=max(1, round(settings.shutdown_timeout_s)),
        )
    finally:
        for proc in workers:
            proc.terminate()
        for proc in workers:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from app.worker import run_worker

    run_worker(_settings(args), parent_pid=args.parent_pid)
    return 0


def cmd_tasks(_args: argparse.Namespace) -> int:
    from optim.tasks import list_tasks

    print(f"{'name':<22} {'epochs':>6} {'batch':>6}  description")
    for task in list_tasks():
        print(f"{task.name:<22} {task.default_epochs:>6} {task.batch_size:>6}  {task.description}")
    return 0


def cmd_tune(args: argparse.Namespace) -> int:
    """Run a whole study in this process and print what to paste into a training script."""
    import optuna
    import torch
    from pydantic import ValidationError

    from optim.heartbeat import Heartbeat
    from optim.objective import train_lease
    from optim.runner import NoTrial, TrialRunner
    from optim.storage import make_storage
    from optim.study import StudyConfig, create_study
    from optim.tasks import get_task

    torch.set_num_threads(args.threads)
    try:
        config = StudyConfig(
            task=args.task,
            n_trials=args.trials,
            epochs=args.epochs,
            sampler=args.sampler,
            pruner=args.pruner,
            seed=args.seed,
        )
    except ValidationError as exc:
        for error in exc.errors():
            field = ".".join(map(str, error["loc"]))
            option = TUNE_OPTIONS.get(field, field)
            print(f"error: {option}: {error['msg']}", file=sys.stderr)
        return 2
    if args.storage.startswith("sqlite:///"):
        os.makedirs(os.path.dirname(args.storage.removeprefix("sqlite:///")) or ".", exist_ok=True)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = make_storage(args.storage, heartbeat_interval=HEARTBEAT_S, grace_period=GRACE_S)
    study = create_study(config, storage, args.name)
    # the same runner as the service's workers: the same trials for the same seed
    runner = TrialRunner(storage, study.study_name, grace_period=GRACE_S)
    task = get_task(config.task)
    progress = tqdm(total=config.n_trials, disable=args.quiet, unit="trial")
    while (lease := runner.ask(config.n_trials)) is not NoTrial.DONE:
        assert lease is not NoTrial.BUSY  # one runner: nothing else holds a trial
        with Heartbeat(storage, lease.trial_id, HEARTBEAT_S):
            outcome = train_lease(
                runner, lease, task, epochs=config.resolved_epochs(), device=args.device
            )
        runner.finish(lease, outcome)
        progress.update(0 if outcome.rerun else 1)
    progress.close()
    return _print_result(study, config)


def _print_result(study: Any, config: Any) -> int:
    """The best trial, the gain over the default-settings baseline, and the line to paste."""
    import optuna

    from optim.attrs import BASELINE_ATTR, PARAMS_ATTR
    from optim.params import OptimizerParams

    complete = study.get_trials(deepcopy=False, states=[optuna.trial.TrialState.COMPLETE])
    print(f"study {study.study_name!r}: {len(study.trials)} trials on {config.task}")
    if not complete:
        print("no trial completed (all were pruned or failed): nothing to recommend")
        return 1
    best = study.best_trial
    assert best.value is not None  # a COMPLETE trial of a single-objective study has one
    print(f"best val_loss {best.value:.6g} (trial {best.number})")
    baseline = next((t for t in complete if t.user_attrs.get(BASELINE_ATTR)), None)
    if baseline is not None and baseline.value:
        gain = (baseline.value - best.value) / abs(baseline.value)
        print(f"default Adam val_loss {baseline.value:.6g}: tuned is {gain:.1%} better")
    else:
        print("default Adam did not complete (pruned or failed): no gain to report")
    print(config.family().torch_line(OptimizerParams(**best.user_attrs[PARAMS_ATTR])))
    return 0


HEARTBEAT_S = 2
GRACE_S = 10
TUNE_OPTIONS = {"n_trials": "--trials", "task": "--task", "epochs": "--epochs",
                "sampler": "--sampler", "pruner": "--pruner", "seed": "--seed"}  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    from optim.samplers import DEFAULT_PRUNER, DEFAULT_SAMPLER, PRUNERS, SAMPLERS

    parser = argparse.ArgumentParser(prog="adamtune", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="dashboard + REST API + embedded workers")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int, help="embedded worker processes (0: API only)")
    serve.add_argument("--database-url", dest="database_url")
    serve.add_argument("--device", help="cpu, cuda or auto")
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser("worker", help="a worker alone, against the same database")
    worker.add_argument("--database-url", dest="database_url")
    worker.add_argument("--device", help="cpu, cuda or auto")
    worker.add_argument("--parent-pid", type=int, help=argparse.SUPPRESS)
    worker.set_defaults(func=cmd_worker)

    tasks = sub.add_parser("tasks", help="list the training tasks")
    tasks.set_defaults(func=cmd_tasks)

    tune = sub.add_parser("tune", help="run one study here, without the server")
    tune.add_argument("--task", required=True)
    tune.add_argument("--trials", type=int, default=30)
    tune.add_argument("--epochs", type=int)
    tune.add_argument("--sampler", default=DEFAULT_SAMPLER, choices=sorted(SAMPLERS))
    tune.add_argument("--pruner", default=DEFAULT_PRUNER, choices=sorted(PRUNERS))
    tune.add_argument("--seed", type=int, default=0)
    tune.add_argument("--storage", default="sqlite:///./data/adamtune.db")
    tune.add_argument("--name", help="study name (default: generated)")
    tune.add_argument("--device", default="cpu")
    tune.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    tune.add_argument("--quiet", action="store_true", help="no progress bar")
    tune.set_defaults(func=cmd_tune)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # adamtune.schema says what changed
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
