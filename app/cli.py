"""`adamtune serve | worker | tune | tasks`: the service, a lone worker, and the engine alone."""

from __future__ import annotations

import argparse
import gc
import json
import logging
import math
import os
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from app import process_start
from app.config import Settings

if TYPE_CHECKING:
    from optim.optuna_internals import AdamtuneStorage


DEVICE = re.compile(r"cpu|auto|cuda(:\d+)?")


def device_arg(value: str) -> str:
    """A torch device a worker can train on, checked before any process starts (whether it is
    there is checked by the worker: `optim.training.resolve_device`)."""
    if not DEVICE.fullmatch(value):
        raise argparse.ArgumentTypeError(f"{value!r} is not a device: cpu, cuda, cuda:N or auto")
    return value


def workers_arg(value: str) -> int | list[str]:
    """`--workers 2`: two workers on `--device`; `--workers cuda:0,cuda:1`: one worker per
    device listed, so each GPU trains one trial at a time (a GPU listed twice is refused)."""
    if value.isdigit():
        return int(value)
    devices = [device_arg(name.strip()) for name in value.split(",")]
    gpus = [name for name in devices if name.startswith("cuda")]
    if len(set(gpus)) < len(gpus):
        raise argparse.ArgumentTypeError(
            f"{value!r} lists a GPU twice: one worker per GPU trains one trial at a time"
        )
    return devices


def finite_arg(value: str) -> float:
    """A finite number (`float` alone takes "nan" and "inf")."""
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise argparse.ArgumentTypeError(f"{value!r} is not a finite number")
    return number


def _settings(args: argparse.Namespace) -> Settings:
    """Environment first, then whatever the command line gives explicitly."""
    overrides: dict[str, Any] = {}
    for field in ("database_url", "host", "port", "workers", "device", "processes"):
        value = getattr(args, field, None)
        if value is not None:
            overrides[field] = len(value) if isinstance(value, list) else value
    return Settings(**overrides)


def worker_devices(args: argparse.Namespace, settings: Settings) -> list[str]:
    """The device of each embedded worker: the list `--workers` gave, else `--device` each."""
    listed = getattr(args, "workers", None)
    return listed if isinstance(listed, list) else [settings.device] * settings.workers


def cmd_serve(args: argparse.Namespace) -> int:
    """The API on host:port plus N embedded workers (separate processes, same database)."""
    process_start.pause_collection()
    import uvicorn

    from app.main import create_app

    settings = _settings(args)
    app = create_app(settings)  # creates the tables before any worker starts
    env = {**os.environ, "ADAMTUNE_DATABASE_URL": settings.database_url}
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker", "--parent-pid", str(os.getpid())],
            env={**env, "ADAMTUNE_DEVICE": device},
            stdin=subprocess.PIPE,  # the doorbell: rung when a study is queued (app.doorbell)
        )
        for device in worker_devices(args, settings)
    ]
    for proc in workers:  # with --processes > 1 the doorbell is not rung: workers poll
        assert proc.stdin is not None
        app.state.adamtune.doorbell.add(proc.stdin.fileno())
    target: Any = app
    if settings.processes > 1:
        # uvicorn's worker processes each build their own app from the environment, so the
        # command line's database goes there; this app only made the tables
        os.environ["ADAMTUNE_DATABASE_URL"] = settings.database_url
        app.state.adamtune.db.dispose()
        app.state.adamtune.storage.engine.dispose()
        target = "app.main:create_app"
    process_start.started()
    try:
        uvicorn.run(
            target,
            factory=settings.processes > 1,
            workers=settings.processes if settings.processes > 1 else None,
            host=settings.host,
            port=settings.port,
            log_level="info",
            backlog=settings.backlog,
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
    process_start.pause_collection()  # `run_worker` resumes it once warmed up
    from app.worker import run_worker

    run_worker(_settings(args), parent_pid=args.parent_pid)
    return 0


def cmd_tasks(_args: argparse.Namespace) -> int:
    from optim.tasks import list_tasks

    print(f"{'name':<22} {'epochs':>6} {'batch':>6}  description")
    for task in list_tasks():
        print(f"{task.name:<22} {task.default_epochs:>6} {task.batch_size:>6}  {task.description}")
    return 0


# StudyConfig fields and the command-line options that set them, where a command has them.
CONFIG_OPTIONS = {
    "task": "task",
    "n_trials": "trials",
    "epochs": "epochs",
    "sampler": "sampler",
    "pruner": "pruner",
    "seed": "seed",
    "optimizer": "optimizer",
    "preset": "preset",
    "eps_mode": "eps_mode",
    "seeds_per_trial": "seeds_per_trial",
    "validate_top_k": "validate_top_k",
    "validate_seeds": "validate_seeds",
    "confirm_seeds": "confirm_seeds",
    "starter": "starter",
}


def _config(args: argparse.Namespace, **overrides: Any) -> Any:
    """A StudyConfig from the command line's options (then `overrides`); None (errors printed,
    named by option) if bad."""
    from pydantic import ValidationError

    from optim.study import StudyConfig

    fields = {
        field: getattr(args, option)
        for field, option in CONFIG_OPTIONS.items()
        if getattr(args, option, None) is not None
    }
    try:
        space = _space(args)
        return StudyConfig.model_validate(
            {**fields, **overrides, **({"space": space} if space else {})}
        )
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        errors = (
            exc.errors()
            if isinstance(exc, ValidationError)
            else [{"loc": ("space",), "msg": str(exc)}]
        )
        for error in errors:
            field = ".".join(map(str, error["loc"]))
            message = str(error["msg"]).removeprefix("Value error, ")
            named, _, rest = message.partition(": ")  # a check across fields names its own
            if not field and named in StudyConfig.model_fields and rest:
                field, message = named, rest
            option = CONFIG_OPTIONS.get(field, field).replace("_", "-")
            print(f"error: --{option}: {message}", file=sys.stderr)
        return None


def _space(args: argparse.Namespace) -> dict[str, Any]:
    """--space JSON (or @file), then one flag per dimension: --lr 1e-5:0.1 (a log range),
    --lr 1e-5:0.1:linear, or --beta2 0.999 (fixed); --warmup 0:0.1 (linear unless :log), and
    --decay cosine (fixed) or --decay cosine,linear (the shapes to tune among)."""
    from optim.space import FLOAT_DIMENSIONS, LINEAR

    space: dict[str, Any] = {}
    if getattr(args, "space", None):
        text = args.space
        if text.startswith("@"):
            with open(text[1:]) as handle:
                text = handle.read()
        space = json.loads(text)
        if not isinstance(space, dict):
            raise ValueError("--space must be a JSON object of dimensions")
    for name in FLOAT_DIMENSIONS:
        given = getattr(args, f"dim_{name}", None)
        if given is None:
            continue
        parts = given.split(":")
        try:
            if len(parts) == 1:
                space[name] = {"value": float(parts[0])}
            elif len(parts) in (2, 3) and parts[2:] in ([], ["linear"], ["log"]):
                low, high = float(parts[0]), float(parts[1])
                log = parts[2:] == ["log"] if name in LINEAR else parts[2:] != ["linear"]
                space[name] = {"low": low, "high": high, "log": log}
            else:
                raise ValueError
        except ValueError:
            raise ValueError(f"--{name.replace('_', '-')} {given!r}: give VALUE, LOW:HIGH or "
                             "LOW:HIGH:linear") from None  # fmt: skip
    decay = getattr(args, "dim_decay", None)
    if decay is not None:
        shapes = [shape.strip() for shape in decay.split(",")]
        space["decay"] = {"value": shapes[0]} if len(shapes) == 1 else {"choices": shapes}
    return space


def cmd_tune(args: argparse.Namespace) -> int:
    """Run a whole study in this process, validate its best configs on fresh seeds (pick on
    some, confirm on others), and print the one line to paste into a training script. The study
    is written as the service writes one: `adamtune serve` on the same database shows it."""

    config = _config(args)
    if config is None:
        return 2
    from app import local  # torch: only once the options are known to be good
    from app.db import Database
    from app.jobs import ConflictError, LimitError, create_job, get_job
    from app.schemas import StudyCreate
    from optim.attrs import PARAMS_ATTR
    from optim.params import OptimizerParams
    from optim.study import load_study

    storage = _local_storage(args)
    settings = _local_settings(args)
    name = args.name or f"{config.task}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    db = Database.open(args.storage)
    payload = StudyCreate.model_validate_json(
        json.dumps({**config.model_dump(mode="json"), "name": name})
    )
    try:
        study_id = create_job(db, storage, payload, settings)
    except (ConflictError, LimitError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"stored in {args.storage}: study {name!r} (id {study_id})")
    local.run_jobs(settings, [study_id], quiet=args.quiet)
    study, _ = load_study(storage, name)
    with db.session(write=False) as session:
        job = get_job(session, study_id)
        found = local.job_rounds(session, study_id)
    db.dispose()
    assert job is not None
    searched = _seconds(job.started_at, job.finished_at)
    if not local.print_search(study, config, searched):
        return 1
    family = config.family()
    if not config.validates():
        best = OptimizerParams(**study.best_trial.user_attrs[PARAMS_ATTR])
        local.print_answer(
            family, best, verdict="not validated (--validate-seeds 0)", confirmed=False,
            warning="the search's best, one seed each; on fresh seeds it can be worse than "
            f"the defaults: check it with `adamtune evaluate --study {name!r}`",
        )  # fmt: skip
        return 0
    if found is None:
        local.print_answer(
            family, config.baseline_params(), confirmed=False,
            verdict="no complete trial other than the defaults: nothing to validate",
            warning="the defaults, since no tuned config completed",
        )  # fmt: skip
        return 0
    local.print_rounds(found)
    answer = found.conclusion
    if answer is None:
        print("the validation did not finish: no answer", file=sys.stderr)
        return 1
    local.print_answer(
        family, OptimizerParams.from_dict(answer.params), verdict=answer.verdict,
        confirmed=answer.confirmed,
        warning="picked on the selection seeds and not confirmed on others "
        "(--confirm-seeds 0): its gain there is overstated",
    )  # fmt: skip
    return 0


def _seconds(start: Any, end: Any) -> float:
    return (end - start).total_seconds() if start is not None and end is not None else 0.0


def _local_settings(args: argparse.Namespace) -> Settings:
    """The service's settings for a study run here: its database is --storage."""
    return Settings(database_url=args.storage, device=args.device, workers=0)


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Retrain one config and the defaults on seeds no study used: is it better, and by how
    much? A seed stream of its own (printed, so the run can be repeated)."""
    import secrets

    config = _config(args) if args.study is None else None
    if args.study is None and config is None:
        return 2
    from app import local  # torch: only once the options are known to be good
    from optim.params import OptimizerParams
    from optim.seeds import Purpose, fresh_seeds
    from optim.validation import DEFAULT_LABEL, Candidate

    storage = _local_storage(args)
    used: set[int] = set()
    label = "given"
    if args.study is not None:
        try:
            config, base, label, used = local.study_answer(storage, args.study)
        except (KeyError, ValueError) as exc:
            print(f"error: --study: {exc}", file=sys.stderr)
            return 2
    assert config is not None
    family = config.family()
    if args.study is None:
        base = family.params(family.baseline)
    given = {name: getattr(args, name) for name in family.dims if getattr(args, name) is not None}
    params = OptimizerParams(**{**base, **given})
    root = args.seed if args.seed is not None else secrets.randbelow(2**32)
    seeds = fresh_seeds(root, Purpose.EVALUATION, 0, args.seeds, exclude=used)
    where = f"; none of the {len(used)} seeds study {args.study!r} used" if args.study else ""
    print(f"evaluation seeds {seeds} (stream {root}: repeat with --seed {root}){where}")
    name = args.name or f"evaluate-{config.task}-{os.getpid()}-{time.time_ns()}"
    configs = [Candidate(DEFAULT_LABEL, family.baseline), Candidate(label, params)]
    found = local.measure(
        storage, name, config, configs, seeds, device=args.device, quiet=args.quiet
    )
    local.print_rounds(local.Validated(found, None, None, 0.0), headline="evaluation")
    chosen = next(c for c in found.configs if c.label == found.recommended)
    local.print_answer(
        family, OptimizerParams.from_dict(chosen.params), verdict=found.verdict, confirmed=True
    )
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """Tune several optimizer families on one task under the same budget and seeds, validate
    each one's pick on the same fresh seeds, and say which to use. Written as the service writes
    a comparison: `adamtune serve` on the same database shows it."""
    from pydantic import ValidationError

    optimizers = [name.strip() for name in args.optimizers.split(",") if name.strip()]
    for optimizer in optimizers:
        if _config(args, optimizer=optimizer, validate_top_k=1) is None:
            return 2
    from app.schemas import ComparisonCreate

    fields = {"task": args.task, "optimizers": optimizers, "n_trials": args.trials,
              "epochs": args.epochs, "sampler": args.sampler, "pruner": args.pruner,
              "preset": args.preset, "seed": args.seed, "validate_seeds": args.validate_seeds,
              "confirm_seeds": args.confirm_seeds, "name": args.name,
              "tune_tuning_free": args.tune_tuning_free}  # fmt: skip
    try:
        payload = ComparisonCreate.model_validate_json(json.dumps(fields))
    except ValidationError as exc:
        for error in exc.errors():
            field = str(error["loc"][0]).replace("_", "-")
            option = {"n-trials": "trials"}.get(field, field)
            print(f"error: --{option}: {error['msg']}", file=sys.stderr)
        return 2
    from app import local  # torch: only once the options are known to be good
    from app.budget import budget_report
    from app.comparisons import comparison_jobs, comparison_report, create_comparison
    from app.db import Database
    from app.jobs import ConflictError, LimitError, study_config
    from app.models import Comparison

    storage = _local_storage(args)
    settings = _local_settings(args)
    db = Database.open(args.storage)
    try:
        comparison_id = create_comparison(db, storage, payload, settings)
    except (ConflictError, LimitError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    with db.session(write=False) as session:
        jobs = comparison_jobs(session, comparison_id)
    print(f"stored in {args.storage}: comparison {comparison_id}, studies "
          f"{[job.study_name for job in jobs]}")  # fmt: skip
    local.run_jobs(settings, [job.study_id for job in jobs], quiet=args.quiet)
    with db.session(write=False) as session:
        for job in jobs:
            found = local.job_rounds(session, job.study_id)
            print(f"== {study_config(job).family().label}")
            if found is None:
                print("not validated: no complete trial other than the defaults")
                continue
            local.print_rounds(found)
            if found.conclusion is not None:
                print(f"verdict: {found.conclusion.verdict}")
        comparison = session.get(Comparison, comparison_id)
        assert comparison is not None
        result = comparison_report(session, comparison)
        budget = budget_report(session, comparison, args.target)
    db.dispose()
    print("== compute (epochs and seconds its trials trained: search + validation)")
    for row in result["studies"]:
        how = "one-shot at its defaults" if row["one_shot"] else f"{row['tuned']} tuned"
        print(f"{row['label']} ({how}): {row['total_epochs']} epochs, {row['total_s']:.1f} s "
              f"(search {row['epochs_trained']}, {row['search_s']:.1f} s; validation "
              f"{row['validation_epochs']}, {row['validation_s']:.1f} s)")  # fmt: skip
    print("== time to result (a search's best so far is on its own seed: optimistic)")
    for line in budget["time_to_result"]:
        print(line)
    print("== comparison (each family's validated config, seed by seed)")
    for sentence in result["verdicts"]:
        print(sentence)
    if result["advice"] is None:
        print("too few families were validated to advise", file=sys.stderr)
        return 1
    print(f"advice: {result['advice']}")
    return 0


def cmd_agent(args: argparse.Namespace) -> int:
    """Train an external study's trials by running a command once per trial."""
    from adamtune.client import Study
    from app.agent import run_agent

    command = args.command
    if not command:
        print("error: give the command to run after --", file=sys.stderr)
        return 2
    token = args.token or _settings(args).api_token
    secret = token if isinstance(token, str) else token.get_secret_value() if token else None
    study = Study(args.url, args.study, token=secret, host=args.host)
    trained = run_agent(study, command)
    print(f"study {args.study} is done: this agent trained {trained} trials")
    return 0


def _local_storage(args: argparse.Namespace) -> AdamtuneStorage:
    """What `tune`, `evaluate` and `compare` run on: torch on --threads, Optuna quiet, and the
    --storage (its SQLite directory made) with the local runner's heartbeat."""
    import optuna
    import torch

    from app import local
    from optim.storage import make_storage

    torch.set_num_threads(args.threads)
    url = args.storage
    if url.startswith("sqlite:///"):
        os.makedirs(os.path.dirname(url.removeprefix("sqlite:///")) or ".", exist_ok=True)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return make_storage(url, heartbeat_interval=local.HEARTBEAT_S, grace_period=local.GRACE_S)


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Every option's help line ends with its default (argparse's own), and the command's
    description keeps its line breaks."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if action.default is None or action.default is False or "%(default)" in text:
            return text
        if action.default == argparse.SUPPRESS:
            return text
        return f"{text} (default: %(default)s)"


def _subcommand(
    sub: Any, name: str, summary: str, description: str | None = None
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(
        name, help=summary, description=description or summary, formatter_class=_HelpFormatter
    )
    return parser


def _study_options(
    parser: argparse.ArgumentParser,
    *,
    seed: bool = True,
    task: bool = True,
    optimizer: bool = True,
) -> None:
    """Options `tune`, `evaluate` and `compare` share."""
    from optim.optimizers import DEFAULT_FAMILY, FAMILIES

    parser.add_argument(
        "--task", required=task, help="the training task (list them with `adamtune tasks`)"
    )
    parser.add_argument(
        "--epochs", type=int, help="epochs per training run (default: the task's own)"
    )
    if seed:
        parser.add_argument(
            "--seed", type=int, default=0, help="the study's root seed: same seed, same trials"
        )
    if optimizer:
        parser.add_argument(
            "--optimizer", default=DEFAULT_FAMILY, choices=sorted(FAMILIES),
            help="the optimizer family to tune",
        )  # fmt: skip
    parser.add_argument(
        "--eps-mode", dest="eps_mode", default="pytorch", choices=("pytorch", "tf"),
        help="where Adam adds eps: after bias correction (PyTorch) or before it (TensorFlow)",
    )  # fmt: skip
    parser.add_argument(
        "--storage", default="sqlite:///./data/adamtune.db",
        help="where the studies are stored: any SQLAlchemy URL (SQLite file, PostgreSQL)",
    )  # fmt: skip
    parser.add_argument("--name", help="study name (default: generated from the task and time)")
    parser.add_argument(
        "--device", default="cpu", type=device_arg,
        help="torch device to train on: cpu, cuda, cuda:N or auto",
    )  # fmt: skip
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _search_options(
    parser: argparse.ArgumentParser, trials_help: str, *, study_defaults: bool = False
) -> None:
    """What a search takes: budget, sampler, pruner, preset and validation. `study_defaults`:
    the budget, pruner and preset are left unset unless given, so StudyConfig's defaults apply
    (a starter study has its own)."""
    from optim.samplers import DEFAULT_PRUNER, DEFAULT_SAMPLER, PRUNERS, SAMPLERS
    from optim.space import DEFAULT_PRESET, PRESETS

    unset = study_defaults  # None: StudyConfig's default, which the help names then

    def named(default: object) -> str:  # argparse's formatter names a default it knows
        return f" (default: {default})" if unset else ""

    parser.add_argument("--trials", type=int, default=None if unset else 30,
                        help=f"{trials_help}{named(30)}")  # fmt: skip
    parser.add_argument(
        "--sampler", default=DEFAULT_SAMPLER, choices=sorted(SAMPLERS),
        help="Optuna's sampler that proposes each trial",
    )  # fmt: skip
    parser.add_argument(
        "--pruner", default=None if unset else DEFAULT_PRUNER, choices=sorted(PRUNERS),
        help=f"Optuna's pruner that stops unpromising trials early{named(DEFAULT_PRUNER)}",
    )  # fmt: skip
    parser.add_argument(
        "--preset", default=None if unset else DEFAULT_PRESET, choices=sorted(PRESETS),
        help="the ranges searched: default, wide (TaskSet's), or schedule (default's with the "
        f"learning-rate schedule tuned){named(DEFAULT_PRESET)}",
    )  # fmt: skip
    parser.add_argument(
        "--validate-seeds", dest="validate_seeds", type=int, default=5,
        help="fresh seeds the best configs are retrained on to pick one (0: no validation)",
    )  # fmt: skip
    parser.add_argument(
        "--confirm-seeds", dest="confirm_seeds", type=int, default=10,
        help="further seeds the pick and the defaults are retrained on: the gain reported "
        "comes from these alone (0: the pick is printed unconfirmed)",
    )  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    from optim.optimizers import FAMILIES
    from optim.params import PARAM_NAMES
    from optim.schedules import DECAYS
    from optim.space import FLOAT_DIMENSIONS, LINEAR

    parser = argparse.ArgumentParser(prog="adamtune", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = _subcommand(sub, "serve", "dashboard + REST API + embedded workers")
    serve.add_argument("--host", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default: 8000)")
    serve.add_argument(
        "--workers", type=workers_arg,
        help="embedded worker processes (0: API only), or one per device listed: cuda:0,cuda:1",
    )  # fmt: skip
    serve.add_argument(
        "--database-url", dest="database_url",
        help="SQLAlchemy URL (default: sqlite:///./data/adamtune.db)",
    )  # fmt: skip
    serve.add_argument(
        "--processes", type=int,
        help="API processes sharing the port (default: 1); each has its own pools and lanes",
    )  # fmt: skip
    serve.add_argument(
        "--device", type=device_arg, help="where workers train: cpu, cuda, cuda:N or auto"
    )
    serve.set_defaults(func=cmd_serve)

    worker = _subcommand(sub, "worker", "a worker alone, against the same database")
    worker.add_argument(
        "--database-url", dest="database_url",
        help="SQLAlchemy URL (default: sqlite:///./data/adamtune.db)",
    )  # fmt: skip
    worker.add_argument(
        "--device", type=device_arg,
        help="where it trains: cpu, cuda, cuda:N or auto (CUDA when present); one trial at a time",
    )  # fmt: skip
    worker.add_argument("--parent-pid", type=int, help=argparse.SUPPRESS)
    worker.set_defaults(func=cmd_worker)

    tasks = _subcommand(sub, "tasks", "list the training tasks")
    tasks.set_defaults(func=cmd_tasks)

    tune = _subcommand(
        sub, "tune", "run one study here, without the server, and validate it",
        "Search, then validate in two rounds on disjoint seeds (pick on some, confirm on "
        "others), and print the one line to paste.",
    )  # fmt: skip
    _study_options(tune)
    _search_options(tune, "trials in the search (trial 0 is the defaults)", study_defaults=True)
    tune.add_argument(
        "--starter", action="store_const", const=True, default=None,
        help="the five-trial starter: train the five fixed Adam configs (schedule included) "
        "that work broadly across the built-in tasks (optim/starter.py), then validate them as "
        "any study; its own 5 trials, schedule preset and no pruner unless given",
    )  # fmt: skip
    tune.add_argument("--space", help="the search space as JSON (or @file.json); flags below "
                      "override it")  # fmt: skip
    for name in FLOAT_DIMENSIONS:
        scale = (
            "LOW:HIGH (linear), LOW:HIGH:log"
            if name in LINEAR
            else "LOW:HIGH (log), LOW:HIGH:linear"
        )
        tune.add_argument(
            f"--{name.replace('_', '-')}",
            dest=f"dim_{name}",
            metavar="RANGE",
            help=f"{name}: {scale}, or a fixed VALUE (default: the preset's)",
        )
    tune.add_argument("--decay", dest="dim_decay", metavar="SHAPES",
                      help=f"the schedule's decay after its warmup: one of {', '.join(DECAYS)} "
                      "(fixed), or several, comma-separated, to tune among (default: the "
                      "preset's; the schedule preset tunes all three)")  # fmt: skip
    tune.add_argument(
        "--seeds-per-trial", dest="seeds_per_trial", type=int, default=1,
        help="training runs per trial, averaged into its value",
    )  # fmt: skip
    tune.add_argument(
        "--validate-top-k", dest="validate_top_k", type=int, default=3,
        help="best configs the selection round retrains",
    )  # fmt: skip
    tune.set_defaults(func=cmd_tune)

    evaluate = _subcommand(
        sub, "evaluate", "retrain one config and the defaults on fresh seeds and compare them",
        "Retrain one config (given by flags, or a study's answer) and the defaults on a seed "
        "stream no study used, and say whether it is better and by how much.",
    )  # fmt: skip
    _study_options(evaluate, seed=False, task=False)
    evaluate.add_argument(
        "--seed", type=int, help="the evaluation's seed stream (default: a new one, printed)"
    )
    evaluate.add_argument(
        "--study", help="evaluate this study's answer (its confirmed config, else its best)"
    )
    for name in PARAM_NAMES:
        evaluate.add_argument(f"--{name.replace('_', '-')}", dest=name, type=float,
                              help=f"{name} (default: the optimizer's default)")  # fmt: skip
    evaluate.add_argument("--seeds", type=int, default=10, help="seeds to retrain both on")
    evaluate.set_defaults(func=cmd_evaluate)

    compare = _subcommand(
        sub, "compare", "tune several optimizers on one task and compare their validated winners"
    )
    _study_options(compare, optimizer=False)
    compare.add_argument("--optimizers", default="adam,adamw,sgd_nesterov,adam_lr_only",
                         help="comma-separated, of " + ", ".join(FAMILIES) + "; the first is "
                         "the reference")  # fmt: skip
    compare.add_argument("--tune-tuning-free", action="store_true",
                         help="search the tuning-free families (schedule_free_adamw, "
                         "prodigy) like the others (default: one-shot at their published "
                         "defaults)")  # fmt: skip
    compare.add_argument("--target", type=finite_arg,
                         help="the test loss whose time to result is reported (default: the "
                         "best one-shot family's validated mean)")  # fmt: skip
    _search_options(compare, "trials per optimizer")
    compare.set_defaults(func=cmd_compare)

    agent = _subcommand(
        sub, "agent", "train an external study's trials with a command, any language"
    )
    agent.add_argument("url", help="the server, e.g. http://tuner:8000")
    agent.add_argument("study", type=int, help="the id of a study created with task 'external'")
    agent.add_argument("--token", help="the API token (default: ADAMTUNE_API_TOKEN)")
    agent.add_argument("--host", help="the name the trials show (default: this host's)")
    agent.set_defaults(func=cmd_agent, command=[])  # the command: everything after "--"
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # adamtune.schema says what changed
    words = list(sys.argv[1:] if argv is None else argv)
    command: list[str] = []
    if "--" in words:  # `agent URL STUDY [options] -- command ...`: the command is not ours
        cut = words.index("--")
        words, command = words[:cut], words[cut + 1 :]
    args = build_parser().parse_args(words)
    if command:
        args.command = command
    if args.command in ("tune", "evaluate", "compare") and args.device != "cpu":
        from optim.training import resolve_device

        try:  # before a study is written: a GPU that is not there is the user's to fix
            resolve_device(args.device)
        except ValueError as exc:
            print(f"adamtune {args.command}: {exc}", file=sys.stderr)
            return 2
    return int(args.func(args))


def run() -> None:
    """The `adamtune` command. The command done, the interpreter's last collections skip every
    object alive (`gc.freeze`): with torch loaded they took 1-2.5 s of CPU at each exit (a worker
    stopped with SIGTERM, each `tune`), to free memory the process is about to give back; exit
    handlers, thread joins and flushes still run."""
    code = main()
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    run()
