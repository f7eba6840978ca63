"""make_storage on a real SQLite file: the pragmas every connection gets, and concurrent writers;
its one-statement `trial.report` path on SQLite and PostgreSQL: what it writes reads back through
plain Optuna exactly as Optuna's own path writes it, and a trial that is not running refuses."""

from __future__ import annotations

import math
import multiprocessing
import pickle
import queue
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import optuna
import pytest
import sqlalchemy
from optuna.storages._rdb import models
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

import optim.optuna_internals
from app.queries import foreign_curve_points
from optim.engines import BUSY_TIMEOUT_S, create_engine, engine_kwargs
from optim.storage import (
    AdamtuneStorage,
    make_storage,
    retry_dead_trial,
    study_storage,
)
from tests.conftest import age_heartbeat, both_databases

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
    assert storage.failed_trial_callback is retry_dead_trial
    no_retry = make_storage(url, heartbeat_interval=5, retry_stale_trials=False)
    assert no_retry.failed_trial_callback is None
    assert make_storage(url).heartbeat_interval is None


def test_optunas_schema_scripts_are_read_once_per_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Optuna reads its migration scripts (~0.1 s) to check each storage it opens; ours reads
    the newest revision once and compares it with each database's (new or existing)."""
    reads: list[str] = []
    read = optuna.storages.RDBStorage.get_head_version

    def counted(storage: optuna.storages.RDBStorage) -> str:
        reads.append(storage.url)
        return read(storage)

    monkeypatch.setattr(optuna.storages.RDBStorage, "get_head_version", counted)
    monkeypatch.setattr(optim.optuna_internals, "_SCHEMA_HEADS", {})
    for name in ("a", "b", "a"):
        storage = make_storage(f"sqlite:///{tmp_path / name}.db")
        assert storage.get_current_version() == read(storage)
        storage.engine.dispose()
    assert len(reads) == 1


def test_a_database_at_an_older_optuna_schema_gets_optunas_advice(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    make_storage(f"sqlite:///{path}").engine.dispose()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'v3.0.0.a'")  # Optuna 3.0's
    with pytest.raises(RuntimeError, match="optuna storage upgrade"):
        make_storage(f"sqlite:///{path}")


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


# --- trial.report in one statement ---------------------------------------------------------------

INF = float("inf")
NAN = float("nan")
# every encoding Optuna knows (finite, inf, -inf, nan), signs, extremes and a non-dyadic fraction
SPECIAL = [0.5, -2.25, INF, -INF, NAN, 1e308, -1e-300, 0.0, 1 / 3, 123456789.125]
VALUES = models.TrialIntermediateValueModel.__table__

OpenStorage = Callable[..., optuna.storages.RDBStorage]


@pytest.fixture
def storages(database_url: str) -> Iterator[OpenStorage]:
    """`open()`: our storage on the test's database (`open(plain=True)`: Optuna's own
    `RDBStorage(url)`); every engine is disposed afterwards (PostgreSQL connections left open
    would warn, and warnings fail the tests)."""
    opened: list[optuna.storages.RDBStorage] = []

    def open_storage(*, plain: bool = False, **kwargs: Any) -> optuna.storages.RDBStorage:
        storage = (
            optuna.storages.RDBStorage(database_url)
            if plain
            else make_storage(database_url, **kwargs)
        )
        opened.append(storage)
        return storage

    yield open_storage
    for storage in opened:
        storage.engine.dispose()


def curves() -> list[list[float]]:
    """Three trials: every special value, a long one (many steps), a plain decreasing one."""
    return [SPECIAL, [math.sin(step) / (step + 1) for step in range(300)], [3.0, 2.0, 1.5]]


# writes that trial.report would skip (it ignores a step already reported): straight to the
# storage, as Optuna's API allows; (trial index, step, value) - nan -> finite, finite -> inf, ...
OVERWRITES = [(0, 4, 7.0), (0, 0, INF), (0, 2, NAN), (1, 299, -1.0), (1, 0, 2.0), (1, 0, 3.0)]


def comparable(values: dict[int, float]) -> dict[int, Any]:
    """nan != nan: compare nan as a marker."""
    return {step: "nan" if math.isnan(v) else v for step, v in values.items()}


def expected_curves() -> list[dict[int, Any]]:
    expected = [dict(enumerate(curve)) for curve in curves()]
    for index, step, value in OVERWRITES:
        expected[index][step] = value
    return [comparable(curve) for curve in expected]


def write_study(storage: optuna.storages.RDBStorage, name: str) -> list[int]:
    """The same study through any storage: report the curves, overwrite some steps, complete."""
    study = optuna.create_study(storage=storage, study_name=name)
    trials = []
    for curve in curves():
        trial = study.ask()
        for step, value in enumerate(curve):
            trial.report(value, step)
        trials.append(trial)
    for index, step, value in OVERWRITES:
        storage.set_trial_intermediate_value(id_of(storage, study, trials[index]), step, value)
    for trial in trials:
        study.tell(trial, 0.0)
    return [id_of(storage, study, trial) for trial in trials]


def id_of(
    storage: optuna.storages.BaseStorage,
    study: optuna.Study,
    trial: optuna.Trial | optuna.trial.FrozenTrial,
) -> int:
    """A trial's id in the storage, through Optuna's public API (`trial._trial_id` is private)."""
    study_id = storage.get_study_id_from_name(study.study_name)
    return storage.get_trial_id_from_study_id_trial_number(study_id, trial.number)


def stored_rows(url: str, trial_id: int) -> list[tuple[Any, ...]]:
    """The raw rows of a trial's intermediate values, as the database holds them."""
    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
    try:
        with engine.connect() as conn:
            return [
                tuple(row)
                for row in conn.execute(
                    sqlalchemy.select(
                        VALUES.c.step,
                        VALUES.c.intermediate_value,
                        VALUES.c.intermediate_value_type,
                    )
                    .where(VALUES.c.trial_id == trial_id)
                    .order_by(VALUES.c.step)
                )
            ]
    finally:
        engine.dispose()


@pytest.fixture
def statements() -> Iterator[Callable[[Engine], list[str]]]:
    """`watch(engine)`: a list that collects every SQL statement the engine sends from now on."""
    watched: list[tuple[Engine, Any]] = []

    def watch(engine: Engine) -> list[str]:
        seen: list[str] = []

        def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            seen.append(" ".join(statement.split()))

        sqlalchemy.event.listen(engine, "before_cursor_execute", record)
        watched.append((engine, record))
        return seen

    yield watch
    for engine, record in watched:
        sqlalchemy.event.remove(engine, "before_cursor_execute", record)


@both_databases
def test_a_report_is_one_insert_statement(storages: OpenStorage, statements: Any) -> None:
    storage = storages()
    assert isinstance(storage, AdamtuneStorage)
    study = optuna.create_study(storage=storage)
    trial = study.ask()
    trial.report(1.0, 0)
    seen = statements(storage.engine)
    trial.report(2.0, 1)
    trial.report(NAN, 2)
    sent = [sql for sql in seen if not sql.startswith("BEGIN")]  # SQLite: BEGIN IMMEDIATE
    assert len(sent) == 2, sent
    for sql in sent:
        assert sql.startswith("INSERT INTO trial_intermediate_values"), sql
        assert "ON CONFLICT (trial_id, step) DO UPDATE" in sql, sql
    trial_id = id_of(storage, study, trial)
    assert comparable(storage.get_trial(trial_id).intermediate_values) == comparable(
        {0: 1.0, 1: 2.0, 2: NAN}
    )


@both_databases
def test_reports_read_back_as_optuna_writes_them(database_url: str, storages: OpenStorage) -> None:
    """Reports through our storage and through plain `RDBStorage(url)` (Optuna's ORM path), to
    two studies of one database: the rows are the same, and plain Optuna reads them back as
    reported (inf, -inf, nan, overwrites of a step, 300 steps)."""
    fast_ids = write_study(storages(), "fast")
    orm_ids = write_study(storages(plain=True), "orm")
    for fast_id, orm_id in zip(fast_ids, orm_ids, strict=True):
        assert stored_rows(database_url, fast_id) == stored_rows(database_url, orm_id)
    expected = expected_curves()
    fresh = storages(plain=True)  # nothing cached from the writes
    assert [comparable(fresh.get_trial(i).intermediate_values) for i in fast_ids] == expected
    loaded = optuna.load_study(study_name="fast", storage=storages(plain=True))
    assert [comparable(t.intermediate_values) for t in loaded.trials] == expected


@both_databases
def test_dashboard_readers_see_the_same_curves(database_url: str, storages: OpenStorage) -> None:
    """What a dashboard draws (Optuna's intermediate-values plot, adamtune's curve query for a
    plain Optuna study) is the same for a study written through our storage as through Optuna's."""
    write_study(storages(), "fast")
    write_study(storages(plain=True), "orm")
    reader = storages(plain=True)

    def plotted(name: str) -> list[tuple[Any, ...]]:
        study = optuna.load_study(study_name=name, storage=reader)
        figure = optuna.visualization.plot_intermediate_values(study)
        return [(trace.name, tuple(trace.x), tuple(map(str, trace.y))) for trace in figure.data]

    assert plotted("fast") == plotted("orm")
    assert len(plotted("fast")) == len(curves())

    with Session(reader.engine) as session:
        points = {
            name: foreign_curve_points(session, reader.get_study_id_from_name(name), 0, [])[1]
            for name in ("fast", "orm")
        }
    assert points["fast"] == points["orm"]
    assert len(points["fast"]["val_loss"]) == sum(len(curve) for curve in expected_curves())


def finish(study: optuna.Study, trial: optuna.Trial, state: TrialState) -> None:
    if state == TrialState.COMPLETE:
        study.tell(trial, 1.0)
    else:
        study.tell(trial, state=state)


@both_databases
@pytest.mark.parametrize("state", [TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED])
def test_a_finished_trial_refuses_reports(
    database_url: str, storages: OpenStorage, state: TrialState
) -> None:
    storage = storages()
    study = optuna.create_study(storage=storage)
    trial = study.ask()
    trial.report(1.0, 0)
    finish(study, trial, state)
    trial_id = id_of(storage, study, trial)
    before = stored_rows(database_url, trial_id)
    for step, value in ((1, 2.0), (0, 5.0), (2, NAN)):  # a new step, an overwrite, a special
        with pytest.raises(
            optuna.exceptions.UpdateFinishedTrialError,
            match=r"Trial#0 has already finished and can not be updated",
        ):
            storage.set_trial_intermediate_value(trial_id, step, value)
    assert stored_rows(database_url, trial_id) == before
    assert storages(plain=True).get_trial(trial_id).intermediate_values == {0: 1.0}


@both_databases
@pytest.mark.filterwarnings(
    "ignore:Heartbeat of storage is supposed to be used with Study.optimize"
)
def test_a_trial_failed_as_stale_by_another_worker_refuses_reports(storages: OpenStorage) -> None:
    """Worker A holds a running trial whose heartbeat is old; worker B fails it as stale (and
    re-enqueues it). A's next `trial.report` raises and writes nothing."""
    a = storages(heartbeat_interval=1, grace_period=5)
    study = optuna.create_study(storage=a, study_name="stale")
    trial = study.ask()
    trial.report(1.0, 0)
    trial_id = id_of(a, study, trial)
    a.record_heartbeat(trial_id)
    age_heartbeat(a, trial_id)  # as if A had hung
    b = storages(heartbeat_interval=1, grace_period=5)
    optuna.storages.fail_stale_trials(optuna.load_study(study_name="stale", storage=b))
    assert b.get_trial(trial_id).state == TrialState.FAIL

    with pytest.raises(optuna.exceptions.UpdateFinishedTrialError):
        trial.report(2.0, 1)
    assert b.get_trial(trial_id).intermediate_values == {0: 1.0}
    retried = optuna.load_study(study_name="stale", storage=b).trials[-1]
    assert retried.state == TrialState.WAITING
    assert retried.intermediate_values == {}


@both_databases
@pytest.mark.filterwarnings(
    "ignore:Heartbeat of storage is supposed to be used with Study.optimize"
)
def test_a_heartbeat_is_one_upsert_that_optunas_stale_check_reads(
    storages: OpenStorage, statements: Any
) -> None:
    """Every report of an external runner beats: one INSERT ... ON CONFLICT, first beat or
    later, and Optuna's own stale check sees it as a beat of its own making (a fresh one keeps
    the trial, one older than the grace period fails it)."""
    storage = storages(heartbeat_interval=1, grace_period=5)
    assert isinstance(storage, AdamtuneStorage)
    study = optuna.create_study(storage=storage, study_name="beats")
    kept, stale = (id_of(storage, study, study.ask()) for _ in range(2))
    seen = statements(storage.engine)
    for trial_id in (kept, stale, kept, stale):  # each trial's first beat, then a later one
        storage.record_heartbeat(trial_id)
    sent = [sql for sql in seen if not sql.startswith("BEGIN")]  # SQLite: BEGIN IMMEDIATE
    assert len(sent) == 4, sent
    for sql in sent:
        assert sql.startswith("INSERT INTO trial_heartbeats"), sql
        assert "ON CONFLICT (trial_id) DO UPDATE" in sql, sql
    beats = models.TrialHeartbeatModel.__table__
    with storage.engine.begin() as conn:
        count = sqlalchemy.select(sqlalchemy.func.count()).select_from(beats)
        assert conn.execute(count).scalar() == 2  # one row a trial: the later beats moved it
    age_heartbeat(storage, stale)  # as if its runner had hung
    checker = storages(heartbeat_interval=1, grace_period=5)  # Optuna's ORM stale check
    optuna.storages.fail_stale_trials(optuna.load_study(study_name="beats", storage=checker))
    assert storage.get_trial(kept).state == TrialState.RUNNING
    assert storage.get_trial(stale).state == TrialState.FAIL


@both_databases
def test_trials_that_are_not_running_behave_as_in_optuna(
    database_url: str, storages: OpenStorage
) -> None:
    """A missing trial raises KeyError; a WAITING one (enqueued) takes the value, as Optuna's
    own method does (it refuses only finished trials)."""
    storage, plain = storages(), storages(plain=True)
    study = optuna.create_study(storage=storage)
    study.enqueue_trial({})
    study.enqueue_trial({})
    waiting = [id_of(storage, study, t) for t in study.get_trials(states=(TrialState.WAITING,))]
    for either in (plain, storage):
        with pytest.raises(KeyError):
            either.set_trial_intermediate_value(10_000, 0, 1.0)
    plain.set_trial_intermediate_value(waiting[0], 0, 1.0)
    storage.set_trial_intermediate_value(waiting[1], 0, 1.0)
    assert stored_rows(database_url, waiting[1]) == stored_rows(database_url, waiting[0])
    assert len(stored_rows(database_url, waiting[1])) == 1


def pruned_steps(
    storage: optuna.storages.BaseStorage, pruner: optuna.pruners.BasePruner
) -> list[int | None]:
    """Per trial, the step at which `pruner` pruned it (None: completed), for fixed curves."""
    study = optuna.create_study(storage=storage, study_name="pruning", pruner=pruner)
    outcome: list[int | None] = []
    for number in range(14):
        trial = study.ask()
        level = (number * 7) % 5 + 1  # trials of five quality levels, interleaved
        pruned_at = None
        for step in range(1, 10):
            trial.report(level + 1.0 / step, step)
            if trial.should_prune():
                pruned_at = step
                break
        if pruned_at is None:
            study.tell(trial, level + 1.0 / 9)
        else:
            study.tell(trial, state=TrialState.PRUNED)
        outcome.append(pruned_at)
    return outcome


PRUNERS = {
    "median": lambda: optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1),
    "hyperband": lambda: optuna.pruners.HyperbandPruner(
        min_resource=1, max_resource=9, reduction_factor=3
    ),
}


@both_databases
@pytest.mark.parametrize("pruner", sorted(PRUNERS))
def test_pruners_see_the_reported_values(storages: OpenStorage, pruner: str) -> None:
    """The pruner decides on our storage exactly as on Optuna's in-memory one, and does prune
    (so a value lost or mangled on the way would change its decisions)."""
    reference = pruned_steps(optuna.storages.InMemoryStorage(), PRUNERS[pruner]())
    assert None in reference
    assert any(step is not None for step in reference)
    assert pruned_steps(storages(), PRUNERS[pruner]()) == reference


@both_databases
@pytest.mark.parametrize("pruner", sorted(PRUNERS))
def test_pruners_decide_the_same_through_the_study_wrapper(
    storages: OpenStorage, pruner: str
) -> None:
    """`study_storage` (what the worker's studies use) reads rungs and study ids its own way:
    the decisions stay Optuna's."""
    reference = pruned_steps(optuna.storages.InMemoryStorage(), PRUNERS[pruner]())
    assert pruned_steps(study_storage(storages()), PRUNERS[pruner]()) == reference


@both_databases
def test_system_attrs_read_as_optuna_reads_them(storages: OpenStorage) -> None:
    storage, plain = storages(), storages(plain=True)
    wrapped = study_storage(storage)
    study = optuna.create_study(storage=wrapped, study_name="attrs")
    running, empty, finished = study.ask(), study.ask(), study.ask()
    ids = {t.number: id_of(plain, study, t) for t in (running, empty, finished)}
    for trial in (running, finished):
        storage.set_trial_system_attr(ids[trial.number], "completed_rung_0", 1.5)
        storage.set_trial_system_attr(ids[trial.number], "nested", {"a": [1, None, "x"]})
    study.tell(finished, 1.0)
    for trial_id in ids.values():
        expected = plain.get_trial_system_attrs(trial_id)
        assert storage.get_trial_system_attrs(trial_id) == expected
        assert wrapped.get_trial_system_attrs(trial_id) == expected
    assert wrapped.get_trial_system_attrs(ids[running.number])["nested"] == {"a": [1, None, "x"]}
    assert wrapped.get_study_id_from_name("attrs") == plain.get_study_id_from_name("attrs")
    with pytest.raises(KeyError):
        wrapped.get_trial_system_attrs(10_000)


@both_databases
def test_should_prune_reads_a_handful_of_rows(storages: OpenStorage, statements: Any) -> None:
    """Between Hyperband's rungs a `should_prune` is one small SELECT (the trial's system
    attributes), not a reload of the running trial (Optuna's cached storage: about ten)."""
    storage = storages()
    study = optuna.create_study(
        storage=study_storage(storage),
        study_name="rungs",
        pruner=optuna.pruners.HyperbandPruner(min_resource=1, max_resource=27),
    )
    trial = study.ask()
    trial.report(1.0, 1)
    trial.should_prune()  # rung 0 at step 1: reads the study's trials, writes the rung
    trial.report(1.0, 2)
    seen = statements(storage.reader_engine())  # the engine of its Core reads
    assert not trial.should_prune()  # no rung at step 2
    selects = [s for s in seen if s.startswith("SELECT")]
    assert len(selects) == 1, seen
    assert "trial_system_attributes" in selects[0]


@both_databases
def test_median_pruner_prunes_on_values_reported_through_our_storage(
    storages: OpenStorage,
) -> None:
    """Two trials report through our storage; plain Optuna, loading the study afresh, prunes a
    worse third trial at the first step and not a better one."""
    storage = storages()
    study = optuna.create_study(storage=storage, study_name="median")
    for _ in range(2):
        trial = study.ask()
        for step in range(5):
            trial.report(1.0, step)
        study.tell(trial, 1.0)
    pruner = optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0)
    other = optuna.load_study(study_name="median", storage=storages(plain=True), pruner=pruner)
    worse, better = other.ask(), other.ask()
    worse.report(2.0, 0)
    better.report(0.5, 0)
    assert worse.should_prune()
    assert not better.should_prune()


def test_pickled_storage_is_tuned_and_fast(tmp_path: Path, statements: Any) -> None:
    """Optuna's unpickling creates a new engine; ours tunes it again (WAL, BEGIN IMMEDIATE)."""
    storage = pickle.loads(pickle.dumps(make_storage(f"sqlite:///{tmp_path / 'p.db'}")))
    assert pragmas(storage.engine)["journal_mode"] == "wal"
    assert pragmas(storage.engine)["synchronous"] == 1
    study = optuna.create_study(storage=storage)
    trial = study.ask()
    seen = statements(storage.engine)
    trial.report(1.0, 0)
    assert seen[0] == "BEGIN IMMEDIATE"
    assert seen[1].startswith("INSERT INTO trial_intermediate_values")
    assert len(seen) == 2


def test_other_databases_take_optunas_method(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, statements: Any
) -> None:
    """Without an upsert we know (MySQL), reports go through Optuna's ORM method."""
    monkeypatch.setattr(optim.optuna_internals, "_UPSERT_DIALECTS", set())
    storage = make_storage(f"sqlite:///{tmp_path / 'orm.db'}")
    study = optuna.create_study(storage=storage)
    trial = study.ask()
    seen = statements(storage.engine)
    trial.report(1.0, 0)
    assert any(sql.startswith("SELECT trials.") for sql in seen), seen
    assert storage.get_trial(id_of(storage, study, trial)).intermediate_values == {0: 1.0}


def trial_fields(trial: optuna.trial.FrozenTrial) -> dict[str, Any]:
    """A trial's fields with NaN made comparable (NaN != NaN would fail any equality)."""

    def fix(value: Any) -> Any:
        if isinstance(value, float) and math.isnan(value):
            return "nan"
        if isinstance(value, dict):
            return {k: fix(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fix(v) for v in value]
        return value

    return {k: fix(v) for k, v in trial.__dict__.items()}


def rich_study(storage: optuna.storages.BaseStorage, name: str, directions: list[str]) -> int:
    """Trials in every state with every kind of param, value, attribute and curve point."""
    study = optuna.create_study(storage=storage, study_name=name, directions=directions)
    n = len(directions)
    for number in range(7):
        trial = study.ask()
        trial.suggest_float("lr", 1e-5, 1e-1, log=True)
        trial.suggest_int("layers", 1, 8)
        trial.suggest_categorical("act", ["relu", "tanh", None])
        trial.suggest_float("step", 0.0, 1.0, step=0.25)
        trial.set_user_attr("note", {"n": number, "tags": ["a", None], "x": 1.5})
        storage.set_trial_system_attr(id_of(storage, study, trial), "rung", number)
        if n == 1:  # intermediate values are for single-objective studies only
            for step, value in enumerate([1.0, INF, -INF, NAN, 0.5][: number % 5 + 1]):
                trial.report(value, step)
        kind = number % 4
        if kind == 0:
            study.tell(trial, [float(number)] * n if n > 1 else float(number))
        elif kind == 1:
            study.tell(trial, state=TrialState.PRUNED if n == 1 else TrialState.FAIL)
        elif kind == 2:
            study.tell(trial, state=TrialState.FAIL)
        # kind 3 stays RUNNING
    study.enqueue_trial({"lr": 1e-3, "layers": 2})  # a WAITING trial
    if n == 1:
        study.add_trial(optuna.trial.create_trial(value=INF))  # an infinite value
    return storage.get_study_id_from_name(name)


@both_databases
@pytest.mark.parametrize("directions", [["minimize"], ["minimize", "maximize"]])
def test_core_trial_reads_equal_optunas(storages: OpenStorage, directions: list[str]) -> None:
    """Every way Optuna reads trials (`_get_trials` with states, included ids and a lower
    bound, `get_all_trials`, `get_trial`) gives exactly Optuna's own trials."""
    plain, ours = storages(plain=True), storages()
    study_id = rich_study(plain, "rich", directions)
    all_trials = plain.get_all_trials(study_id, deepcopy=False)
    ids = [plain.get_trial_id_from_study_id_trial_number(study_id, t.number) for t in all_trials]
    assert {t.state for t in all_trials} >= {
        TrialState.COMPLETE, TrialState.FAIL, TrialState.RUNNING, TrialState.WAITING
    }  # fmt: skip
    cases: list[tuple[Any, set[int], int]] = [
        (None, set(), -1),
        ((TrialState.COMPLETE,), set(), -1),
        ((TrialState.RUNNING, TrialState.WAITING), set(), -1),
        (None, set(), ids[3]),
        (None, {ids[1], ids[2], ids[-1]}, ids[3]),  # as `_CachedStorage` asks: unfinished + new
        ((TrialState.FAIL,), {ids[2]}, ids[4]),
    ]
    for states, included, greater in cases:
        # Optuna's private method is what `_CachedStorage` calls: the contract under test
        expected = plain._get_trials(study_id, states, included, greater)  # noqa: SLF001
        got = ours._get_trials(study_id, states, included, greater)  # noqa: SLF001
        assert [trial_fields(t) for t in got] == [trial_fields(t) for t in expected], states
    for trial_id in ids:
        assert trial_fields(ours.get_trial(trial_id)) == trial_fields(plain.get_trial(trial_id))
    study = optuna.load_study(study_name="rich", storage=study_storage(ours))
    assert [trial_fields(t) for t in study.trials] == [trial_fields(t) for t in all_trials]
    with pytest.raises(KeyError):
        ours.get_trial(10_000)
    with pytest.raises(KeyError):
        ours._get_trials(10_000, None, set(), -1)  # noqa: SLF001


# --- trial attributes in one statement ------------------------------------------------------------

ATTR_VALUES = [1, 2.5, "text", [1, 2], {"a": [None, True]}, None]


@both_databases
def test_an_attribute_is_one_insert_statement_and_reads_back_as_optuna_writes_it(
    storages: OpenStorage, statements: Any
) -> None:
    storage, plain = storages(), storages(plain=True)
    study = optuna.create_study(storage=storage)
    trial = study.ask()
    trial_id = id_of(storage, study, trial)
    seen = statements(storage.engine)
    for index, value in enumerate(ATTR_VALUES):
        storage.set_trial_user_attr(trial_id, f"u{index}", value)
        storage.set_trial_system_attr(trial_id, f"s{index}", value)
    storage.set_trial_user_attr(trial_id, "u0", "overwritten")
    sent = [sql for sql in seen if not sql.startswith("BEGIN")]
    assert len(sent) == 2 * len(ATTR_VALUES) + 1, sent
    assert all(sql.startswith("INSERT INTO trial_") for sql in sent), sent
    assert all("ON CONFLICT (trial_id," in sql and "DO UPDATE" in sql for sql in sent), sent

    expected_user = {f"u{i}": v for i, v in enumerate(ATTR_VALUES)} | {"u0": "overwritten"}
    expected_system = {f"s{i}": v for i, v in enumerate(ATTR_VALUES)}
    read = plain.get_trial(trial_id)  # Optuna's own ORM reads
    assert read.user_attrs == expected_user
    assert read.system_attrs == expected_system


@both_databases
@pytest.mark.parametrize("state", [TrialState.COMPLETE, TrialState.FAIL, TrialState.WAITING])
def test_attributes_of_trials_not_running_behave_as_in_optuna(
    storages: OpenStorage, state: TrialState
) -> None:
    """Finished: refused, nothing written; missing: KeyError; WAITING: written, as Optuna does."""
    storage, plain = storages(), storages(plain=True)
    study = optuna.create_study(storage=storage)
    if state == TrialState.WAITING:
        study.enqueue_trial({})
        trial_id = id_of(storage, study, study.trials[0])
        storage.set_trial_user_attr(trial_id, "k", 1)
        storage.set_trial_system_attr(trial_id, "k", 2)
        read = plain.get_trial(trial_id)
        assert (read.user_attrs["k"], read.system_attrs["k"]) == (1, 2)
        return
    trial = study.ask()
    finish(study, trial, state)
    trial_id = id_of(storage, study, trial)
    for setter in (storage.set_trial_user_attr, storage.set_trial_system_attr):
        with pytest.raises(optuna.exceptions.UpdateFinishedTrialError):
            setter(trial_id, "k", 1)
        with pytest.raises(KeyError):
            setter(10_000, "k", 1)
    assert "k" not in plain.get_trial(trial_id).user_attrs
    assert "k" not in plain.get_trial(trial_id).system_attrs
