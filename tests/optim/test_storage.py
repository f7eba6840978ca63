"""make_storage on a real SQLite file: the pragmas every connection gets, and concurrent writers."""

from __future__ import annotations

import multiprocessing
import queue
import sqlite3
import time
from pathlib import Path
from typing import Any

import optuna
import pytest
from sqlalchemy.engine import Engine

from optim.storage import BUSY_TIMEOUT_S, create_engine, engine_kwargs, make_storage

TrialState = optuna.trial.TrialState
ROOT = Path(__file__).resolve().parents[2]

WRITERS = 2
TRIALS_PER_WRITER = 8
REPORTS_PER_TRIAL = 25


def pragmas(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        return {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")
        }


def test_every_connection_is_tuned(tmp_path: Path) -> None:
    db = tmp_path / "tuned.db"
    storage = make_storage(f"sqlite:///{db}")
    expected = {
        "journal_mode": "wal",
        "synchronous": 1,  # NORMAL
        "busy_timeout": int(BUSY_TIMEOUT_S * 1000),
        "foreign_keys": 1,
    }
    assert pragmas(storage.engine) == expected
    # a second connection open at the same time is tuned too, not just the first
    with storage.engine.connect() as held:
        held.exec_driver_sql("SELECT 1")
        held.commit()  # keep the connection checked out, but not its write lock
        assert pragmas(storage.engine) == expected
    # WAL is a property of the file: a plain sqlite3 connection sees it as well
    with sqlite3.connect(db) as plain:
        assert plain.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    # and the storage works: Optuna's tables were created on it
    study = optuna.create_study(storage=storage, study_name="tuned")
    study.optimize(lambda trial: trial.suggest_float("x", 0.0, 1.0), n_trials=2)
    assert (
        len(optuna.load_study(study_name="tuned", storage=make_storage(f"sqlite:///{db}")).trials)
        == 2
    )


def test_writers_take_the_lock_at_begin_and_readers_do_not(tmp_path: Path) -> None:
    """BEGIN IMMEDIATE: a write transaction holds the write lock from its first statement, so
    it waits (busy timeout) rather than failing when it later upgrades from read to write."""
    db = tmp_path / "locks.db"
    url = f"sqlite:///{db}"
    writer = create_engine(url)
    reader = create_engine(url, immediate=False)
    with writer.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")

    other = sqlite3.connect(db, timeout=0, isolation_level=None)
    try:
        with writer.begin() as conn:
            conn.exec_driver_sql("SELECT count(*) FROM t")  # only read so far
            with pytest.raises(sqlite3.OperationalError, match="database is locked"):
                other.execute("BEGIN IMMEDIATE")
        with reader.begin() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 0
            other.execute("BEGIN IMMEDIATE")  # a reader leaves the write lock free
            other.execute("INSERT INTO t VALUES (1)")
            other.execute("COMMIT")
    finally:
        other.close()
    with reader.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 1
    writer.dispose()
    reader.dispose()


def test_engine_kwargs_by_backend() -> None:
    sqlite_kwargs = engine_kwargs("sqlite:///x.db")
    assert sqlite_kwargs["connect_args"]["timeout"] == BUSY_TIMEOUT_S
    assert sqlite_kwargs["connect_args"]["isolation_level"] is None
    assert engine_kwargs("postgresql+psycopg://u@localhost/db") == {"pool_pre_ping": True}


def test_heartbeat_options_reach_optuna(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'heartbeat.db'}"
    storage = make_storage(url, heartbeat_interval=5, grace_period=11)
    assert storage.heartbeat_interval == 5
    assert storage.grace_period == 11
    assert isinstance(
        storage.failed_trial_callback, optuna.storages.RetryHeartbeatStaleTrialCallback
    )
    no_retry = make_storage(url, heartbeat_interval=5, retry_stale_trials=False)
    assert no_retry.failed_trial_callback is None
    assert make_storage(url).heartbeat_interval is None


def wait_for_other_writers(study: optuna.Study) -> None:
    """Block, holding a running trial, until every writer has started one.

    No writer finishes its first trial before all have started theirs, so every writer's
    first trial runs while every other writer's does: the reports surely overlap.
    """
    deadline = time.monotonic() + 120
    while True:
        started = {t.user_attrs.get("writer") for t in study.get_trials(deepcopy=False)}
        if len(started - {None}) == WRITERS:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"only writers {started} started a trial")
        time.sleep(0.01)


def write_reports(url: str, study_name: str, writer: int, start: Any, results: Any) -> None:
    """One writer process: many trials, each reporting every step, as fast as it can."""
    try:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.load_study(study_name=study_name, storage=make_storage(url))
        start.wait(timeout=120)
        for number in range(TRIALS_PER_WRITER):
            trial = study.ask()
            trial.set_user_attr("writer", writer)
            if number == 0:
                wait_for_other_writers(study)
            x = trial.suggest_float("x", 0.0, 1.0)
            for step in range(REPORTS_PER_TRIAL):
                trial.report(x + step, step)
            study.tell(trial, x)
        results.put((writer, "ok"))
    except BaseException as exc:  # report everything, "database is locked" above all
        # Optuna wraps SQLite's "database is locked" in StorageInternalError: show the cause
        results.put((writer, f"{type(exc).__name__}: {exc} (cause: {exc.__cause__!r})"))


@pytest.mark.slow
def test_two_processes_report_concurrently_without_lock_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    optuna.create_study(storage=make_storage(url), study_name="shared")
    # spawned children import `write_reports` from this module by name, with our sys.path
    monkeypatch.syspath_prepend(str(ROOT))

    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    results = ctx.Queue()
    procs = [
        ctx.Process(target=write_reports, args=(url, "shared", writer, start, results))
        for writer in range(WRITERS)
    ]
    for proc in procs:
        proc.start()
    outcomes: dict[int, str] = {}
    try:
        start.set()  # both load the study first, then write at the same time
        deadline = time.monotonic() + 300  # a hang guard, not a speed requirement
        while len(outcomes) < WRITERS:
            try:
                writer, outcome = results.get(timeout=0.5)
            except queue.Empty:
                crashed = [p.exitcode for p in procs if p.exitcode not in (None, 0)]
                assert not crashed, f"a writer died with exit code {crashed}; so far {outcomes}"
                assert time.monotonic() < deadline, f"writers hang; so far {outcomes}"
                continue
            outcomes[writer] = outcome
    finally:
        for proc in procs:
            proc.join(timeout=60)
            if proc.is_alive():
                proc.kill()
    assert outcomes == {writer: "ok" for writer in range(WRITERS)}
    assert [proc.exitcode for proc in procs] == [0] * WRITERS

    trials = optuna.load_study(study_name="shared", storage=make_storage(url)).trials
    assert len(trials) == WRITERS * TRIALS_PER_WRITER
    assert all(t.state == TrialState.COMPLETE for t in trials)
    assert all(len(t.intermediate_values) == REPORTS_PER_TRIAL for t in trials)
    by_writer = [sum(t.user_attrs["writer"] == w for t in trials) for w in range(WRITERS)]
    assert by_writer == [TRIALS_PER_WRITER] * WRITERS
