"""What the service adds to every epoch of a trial, operation by operation (explains the gap of
bench/service_overhead.py against a plain in-memory Optuna script).

A worker does, after each epoch (app/worker.py run_trial, optim/objective.py report):
`trial.report` (one upsert, optim/storage.py), the epoch event (`app.bookkeeping.record_epoch`,
one INSERT), the stop check (a read of the job's status, at most once per
`app.worker.STATUS_CHECK_S`) and the pruner's verdict (`optim.verdict.TrialJudge`: Hyperband's
`trial.should_prune()`, which reads the trial's system attributes, and at its rungs the
study's trials, asked only at the steps where the trial's bracket has a rung). Here a real worker
(app.worker.Worker, its own engines, SQLite) claims `--trials` trials one after the other and,
for each of `--epochs` epochs, does exactly these four calls (no training), each timed; the two
Optuna calls are also timed on a plain in-memory study with the same sampler and pruner, where
`should_prune` is called after every report but the last, as a plain Optuna objective does.
Rounds alternate. Each figure is a mean per epoch (the cost a trial pays, rare rung and
stop-check epochs included), the median over rounds.

    .venv/bin/python bench/epoch_overhead.py [--repeats 5] [--trials 20] [--json PATH]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c  # noqa: E402

OPS = ("trial.report", "epoch event (adamtune)", "stop check (adamtune)", "trial.should_prune")


def service_round(
    work: Path, repeat: int, trials: int, epochs: int
) -> tuple[dict[str, list[float]], int]:
    """The four calls per epoch as `app.worker.Worker.run_trial` makes them; (times, reports
    stored in the study)."""
    from sqlalchemy import select

    from app.bookkeeping import record_epoch
    from app.config import Settings
    from app.db import Database
    from app.jobs import create_job
    from app.models import StudyJob
    from app.schemas import StudyCreate
    from app.worker import STATUS_CHECK_S, Worker
    from optim.runner import Outcome
    from optim.storage import make_storage
    from optim.tasks.base import EpochMetrics
    from optim.verdict import TrialJudge

    url = f"sqlite:///{work / f'epoch-{repeat}.db'}"
    settings = Settings(database_url=url, workers=0)
    db = Database.open(url)
    # the sampler and pruner of the in-memory side (the default pruner is the median pruner,
    # which this side used until 2026-12-06 while the in-memory side used Hyperband)
    payload = StudyCreate(
        task="mlp_digits", n_trials=trials, epochs=epochs, seed=0, sampler="tpe", pruner="hyperband"
    )
    study_id = create_job(db, make_storage(url), payload, settings)
    worker = Worker(settings)
    times: dict[str, list[float]] = {op: [] for op in OPS}
    next_status_check = 0.0
    try:
        for _ in range(trials):
            claim = worker.claim()
            assert claim is not None
            trial = claim.runner.trial(claim.lease)
            judge = TrialJudge(trial, epochs)
            for epoch in range(1, epochs + 1):
                value = 1.0 / epoch + claim.lease.number * 1e-3
                metrics = EpochMetrics(epoch, value, value, None, 0.0)
                t0 = time.perf_counter()
                trial.report(value, epoch)
                t1 = time.perf_counter()
                record_epoch(worker.db, claim.job, claim.lease.number, metrics)
                t2 = time.perf_counter()
                if t2 >= next_status_check:  # as app.worker's interrupt check
                    next_status_check = t2 + STATUS_CHECK_S
                    with worker.db.session(write=False) as session:
                        session.execute(
                            select(StudyJob.status, StudyJob.uid).where(
                                StudyJob.study_id == study_id
                            )
                        ).first()
                t3 = time.perf_counter()
                if epoch < epochs:  # as optim.verdict: the last epoch is never pruned
                    judge(epoch, None)
                t4 = time.perf_counter()
                for op, seconds in zip(OPS, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                    times[op].append(seconds)
            claim.runner.finish(claim.lease, Outcome.complete(value))
        reports = sum(len(t.intermediate_values) for t in claim.runner.study.trials)
    finally:
        worker.close()
        db.dispose()
    return times, reports


def memory_round(trials: int, epochs: int) -> tuple[dict[str, list[float]], int]:
    """The two Optuna calls per epoch on a plain in-memory study; (times, reports stored)."""
    import optuna

    from optim.samplers import make_pruner, make_sampler
    from optim.study import StudyConfig

    config = StudyConfig(task="mlp_digits", epochs=epochs, seed=0)
    study = optuna.create_study(
        sampler=make_sampler("tpe", seed=0, space=config.space),
        pruner=make_pruner("hyperband", epochs=epochs),
    )
    times: dict[str, list[float]] = {"trial.report": [], "trial.should_prune": []}
    for _ in range(trials):
        trial = study.ask()
        config.space.suggest(trial)
        for epoch in range(1, epochs + 1):
            value = 1.0 / epoch + trial.number * 1e-3
            start = time.perf_counter()
            trial.report(value, epoch)
            times["trial.report"].append(time.perf_counter() - start)
            start = time.perf_counter()
            if epoch < epochs:
                trial.should_prune()
            times["trial.should_prune"].append(time.perf_counter() - start)
        study.tell(trial, value)
    return times, sum(len(t.intermediate_values) for t in study.trials)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    c.add_common_args(parser, repeats=5)
    parser.add_argument("--trials", type=int, default=20, help="trials per round")
    parser.add_argument("--epochs", type=int, default=20, help="epochs per trial")
    args = parser.parse_args(argv)

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore")
    c.wait_for_quiet(args.wait_load)
    info = c.machine()
    service: list[dict[str, float]] = []  # per round: op -> median ms
    memory: list[dict[str, float]] = []
    stored: list[dict[str, int]] = []  # per round: the reports each side's study holds
    with c.workdir(args.workdir) as work:
        for repeat in range(args.repeats):
            m, m_reports = memory_round(args.trials, args.epochs)
            s, s_reports = service_round(work, repeat, args.trials, args.epochs)
            memory.append({op: statistics.mean(v) * 1e3 for op, v in m.items()})
            service.append({op: statistics.mean(v) * 1e3 for op, v in s.items()})
            stored.append({"service": s_reports, "memory": m_reports})
    info["loadavg_end"] = c.loadavg()
    # the same work on both sides: every epoch of every trial reported and stored
    expected = args.trials * args.epochs
    valid = all(r == {"service": expected, "memory": expected} for r in stored)
    if not valid:
        print(f"# NOT THE SAME WORK: {expected} reports expected per side, stored {stored}",
              file=sys.stderr)  # fmt: skip

    print(c.header(
        f"Per-epoch cost of the service's database work: {args.trials} trials x {args.epochs} "
        f"epochs per round, each epoch doing what a worker does (no training), Hyperband; mean "
        f"ms per epoch in a round, {args.repeats} rounds (median (min–max) over rounds)",
        info,
    ))  # fmt: skip
    rows = []
    total_service, total_memory = 0.0, 0.0
    for op in OPS:
        in_service = c.summary([r[op] for r in service])
        in_memory = c.summary([r[op] for r in memory]) if op in memory[0] else None
        total_service += in_service["median"]
        total_memory += in_memory["median"] if in_memory else 0.0
        rows.append([op, c.fmt_summary(in_service, ".2f"),
                     c.fmt_summary(in_memory, ".3f") if in_memory else "–"])  # fmt: skip
    rows.append(["**sum per epoch**", f"**{total_service:.2f}**", f"**{total_memory:.3f}**"])
    print(c.table(["operation after each epoch", "service (SQLite WAL), ms",
                   "plain Optuna in memory, ms"], rows))  # fmt: skip
    c.write_json(
        args.json,
        {"machine": info, "config": {k: v for k, v in vars(args).items() if k != "json"},
         "service_ms": service, "memory_ms": memory, "reports_stored": stored, "valid": valid},
    )  # fmt: skip
    return 0 if valid else 1


if __name__ == "__main__":
    raise SystemExit(main())
