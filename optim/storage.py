"""Storage URL -> Optuna RDB storage and SQLAlchemy engines, with SQLite tuned for many writers.

Why these SQLite settings: Optuna's defaults (rollback journal, `synchronous=FULL`) fsync on
every commit, so each `trial.report` costs disk flushes (50 to 500 reports/s measured here, as
the disk's flush latency moved).
WAL with `synchronous=NORMAL` syncs only at checkpoints and lets readers run beside a writer.
Transactions that write start with `BEGIN IMMEDIATE`: a deferred transaction that reads and then
writes cannot wait for the lock in WAL mode and fails at once with "database is locked", while
an immediate one waits up to the busy timeout.

Why a storage subclass (`AdamtuneStorage`): with the flushes gone, what a report costs is CPU in
Optuna's ORM path for `set_trial_intermediate_value` (load the trial, check that it runs, look for
an existing value, insert or update, commit). Ours is one SQLAlchemy Core upsert that writes only
while the trial is RUNNING. Measured by bench/storage_writes.py (2000 reports on one trial, 2-core
AMD EPYC VM, docs/BENCHMARKS.md section 3): 0.15 ms per report (about 6,800 reports/s) against
0.85 ms for the ORM path with the same SQLite settings and 2.5 ms for Optuna's default storage
(rollback journal, synchronous=FULL), i.e. 17x; what remains is mostly SQLAlchemy's execution
machinery and SQLite's commit.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import warnings
from collections.abc import Container, Iterable
from typing import Any

import optuna
import sqlalchemy
from optuna.storages._cached_storage import _CachedStorage
from optuna.storages._rdb import models
from optuna.trial import FrozenTrial, TrialState
from sqlalchemy import event
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Engine
from sqlalchemy.sql.dml import Insert

from optim import trial_reads

BUSY_TIMEOUT_S = 60.0


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def engine_kwargs(url: str) -> dict[str, Any]:
    """Keyword arguments for `create_engine` (and Optuna's `engine_kwargs`)."""
    if is_sqlite(url):
        # isolation_level=None hands transaction control to the listeners below
        return {"connect_args": {"timeout": BUSY_TIMEOUT_S, "isolation_level": None}}
    return {"pool_pre_ping": True}


def tune_sqlite(engine: Engine, *, immediate: bool = True) -> None:
    """Set WAL, synchronous=NORMAL and the busy timeout on every new connection of `engine`.

    Args:
        immediate: begin transactions with BEGIN IMMEDIATE (for engines that write); readers
            use a deferred BEGIN so they never wait for a writer.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def create_engine(url: str, *, immediate: bool = True) -> Engine:
    """An SQLAlchemy engine for `url`, tuned as above when it is SQLite."""
    engine = sqlalchemy.create_engine(url, **engine_kwargs(url))
    if is_sqlite(url):
        tune_sqlite(engine, immediate=immediate)
    return engine


# dialects whose INSERT ... SELECT ... ON CONFLICT DO UPDATE the fast report path uses
# (SQLite has upserts since 3.24); others (MySQL) take Optuna's ORM path
_UPSERT_DIALECTS = {"sqlite", "postgresql"}


@functools.cache
def _report_statement(dialect: str) -> Insert:
    """INSERT one intermediate value of a RUNNING trial, or overwrite the step's value.

    Built once per dialect with bound parameters, so SQLAlchemy compiles it once (its compiled
    cache) and every report only binds `trial_id`, `step`, `value` and `value_type`. The row is
    selected from `trials` by primary key and state: a trial that is not RUNNING (finished,
    failed as stale by another worker's heartbeat check, or missing) yields no row, so nothing
    is written and the statement affects 0 rows.
    """
    values = models.TrialIntermediateValueModel.__table__
    trials = models.TrialModel.__table__
    row = sqlalchemy.select(
        trials.c.trial_id,
        sqlalchemy.bindparam("step", type_=values.c.step.type),
        sqlalchemy.bindparam("value", type_=values.c.intermediate_value.type),
        sqlalchemy.bindparam("value_type", type_=values.c.intermediate_value_type.type),
    ).where(
        trials.c.trial_id == sqlalchemy.bindparam("trial_id", type_=trials.c.trial_id.type),
        trials.c.state == optuna.trial.TrialState.RUNNING,
    )
    insert = (sqlite_dialect.insert if dialect == "sqlite" else postgresql.insert)(values)
    upsert = insert.from_select(
        ["trial_id", "step", "intermediate_value", "intermediate_value_type"], row
    )
    return upsert.on_conflict_do_update(
        index_elements=[values.c.trial_id, values.c.step],
        set_={
            "intermediate_value": upsert.excluded.intermediate_value,
            "intermediate_value_type": upsert.excluded.intermediate_value_type,
        },
    ).execution_options(preserve_rowcount=True)  # rowcount of an INSERT, also on psycopg


class AdamtuneStorage(optuna.storages.RDBStorage):
    """Optuna's RDB storage, with `trial.report` as one SQL statement, and SQLite tuned.

    `set_trial_intermediate_value` through Optuna's ORM costs about 1 ms of CPU per report (load
    the trial, check that it is running, look for an existing value, insert or update, commit).
    The worker owns its running trial, so the checks can ride in the write itself: one
    `INSERT ... SELECT ... FROM trials WHERE trial_id = :id AND state = 'RUNNING' ON CONFLICT
    (trial_id, step) DO UPDATE` in one short transaction through SQLAlchemy Core, into Optuna's
    own tables (the ORM models' `__table__`) with Optuna's encoding of the value (finite, inf,
    -inf, nan). When it writes nothing the trial is not RUNNING (finished, failed as stale by
    another worker, waiting, or missing) and Optuna's ORM method takes over: it raises what
    Optuna raises (`UpdateFinishedTrialError`, `KeyError`) or, for a WAITING trial, writes as
    Optuna does. Other databases (MySQL) always take Optuna's method.

    On SQLite every connection gets WAL, `synchronous=NORMAL`, the busy timeout and `BEGIN
    IMMEDIATE` (`tune_sqlite`), also after unpickling; `engine_kwargs` default to
    `engine_kwargs(url)`, which that tuning expects.
    """

    def __init__(self, url: str, **kwargs: Any) -> None:
        kwargs.setdefault("engine_kwargs", engine_kwargs(url))
        super().__init__(url, **kwargs)
        self._tune()

    def __getstate__(self) -> dict[Any, Any]:
        state = super().__getstate__()
        state.pop("_read_engine", None)  # engines do not pickle; a new one is made on demand
        return state

    def __setstate__(self, state: dict[Any, Any]) -> None:
        super().__setstate__(state)  # a new engine, created untuned
        self._tune()

    def _reader(self) -> Engine:
        """The engine of the Core reads below. On SQLite a second one whose transactions begin
        deferred: in WAL mode such a reader neither waits for nor blocks a writer, and Optuna's
        ORM calls `get_trial` while its own write transaction holds the lock (for an error
        message), which a read beginning IMMEDIATE on another connection would wait for."""
        if not is_sqlite(self.url):
            return self.engine
        engine: Engine | None = self.__dict__.get("_read_engine")
        if engine is None:
            engine = create_engine(self.url, immediate=False)
            self.__dict__["_read_engine"] = engine
        return engine

    def _tune(self) -> None:
        if is_sqlite(self.url):
            # Optuna opened its first connections before we could tune them: drop and re-open.
            tune_sqlite(self.engine)
            self.engine.dispose()

    def _fast_path(self) -> bool:
        """Whether the Core upsert and reads apply here: SQLite 3.24+ or PostgreSQL."""
        dialect = self.engine.dialect.name
        if dialect == "sqlite" and sqlite3.sqlite_version_info < (3, 24, 0):
            return False
        return dialect in _UPSERT_DIALECTS

    def set_trial_intermediate_value(
        self, trial_id: int, step: int, intermediate_value: float
    ) -> None:
        if not self._fast_path():
            super().set_trial_intermediate_value(trial_id, step, intermediate_value)
            return
        value, value_type = models.TrialIntermediateValueModel.intermediate_value_to_stored_repr(
            intermediate_value
        )
        params = {"trial_id": trial_id, "step": step, "value": value, "value_type": value_type}
        try:
            with self.engine.begin() as conn:
                written = conn.execute(_report_statement(self.engine.dialect.name), params)
                rowcount = written.rowcount
        except sqlalchemy.exc.SQLAlchemyError as exc:  # as Optuna's session scope wraps them
            raise optuna.exceptions.StorageInternalError(
                "An exception is raised during the commit of an intermediate value."
            ) from exc
        if rowcount == 0:
            # not RUNNING: Optuna's own method raises (finished, missing) or writes (waiting)
            super().set_trial_intermediate_value(trial_id, step, intermediate_value)

    def get_trial(self, trial_id: int) -> FrozenTrial:
        """Optuna's `get_trial` through Core queries (`optim.trial_reads`)."""
        if not self._fast_path():
            return super().get_trial(trial_id)
        with self._reader().connect() as conn:
            found = trial_reads.read_trials(conn, [trial_reads.TRIALS.c.trial_id == trial_id])
        if not found:
            raise KeyError(models.NOT_FOUND_MSG)
        return found[0]

    def _get_trials(
        self,
        study_id: int,
        states: Container[TrialState] | None,
        included_trial_ids: set[int],
        trial_id_greater_than: int,
    ) -> list[FrozenTrial]:
        """Optuna's `_get_trials` (behind `get_all_trials` and `_CachedStorage`'s incremental
        reads of a study) through Core queries: same arguments, same trials, same order."""
        if not self._fast_path():
            return super()._get_trials(study_id, states, included_trial_ids, trial_id_greater_than)
        trials = trial_reads.TRIALS
        included = {i for i in included_trial_ids if i <= trial_id_greater_than}
        where = [trials.c.study_id == study_id]
        if states is not None:
            assert isinstance(states, Iterable)  # as Optuna's: Container in the signature
            where.append(trials.c.state.in_(list(states)))
        if included and trial_id_greater_than > -1:
            where.append(
                sqlalchemy.or_(
                    trials.c.trial_id.in_(sorted(included)),
                    trials.c.trial_id > trial_id_greater_than,
                )
            )
        elif trial_id_greater_than > -1:
            where.append(trials.c.trial_id > trial_id_greater_than)
        with self._reader().connect() as conn:
            if not trial_reads.study_exists(conn, study_id):
                raise KeyError(models.NOT_FOUND_MSG)
            return trial_reads.read_trials(conn, where)

    def get_trial_system_attrs(self, trial_id: int) -> dict[str, Any]:
        """One Core SELECT, where Optuna's ORM path costs two queries and model loading.

        Pruners read a running trial's system attributes at every `should_prune` (Hyperband
        and successive halving keep the trial's rung there).
        """
        attrs = models.TrialSystemAttributeModel.__table__
        with self._reader().connect() as conn:
            rows = conn.execute(
                sqlalchemy.select(attrs.c.key, attrs.c.value_json).where(
                    attrs.c.trial_id == trial_id
                )
            ).all()
            trials = trial_reads.TRIALS
            if (
                not rows
                and conn.execute(
                    sqlalchemy.select(trials.c.trial_id).where(trials.c.trial_id == trial_id)
                ).first()
                is None
            ):
                raise KeyError(models.NOT_FOUND_MSG)  # as Optuna's, for a missing trial
        return {key: json.loads(value) for key, value in rows}


class StudyStorage(_CachedStorage):
    """Optuna's per-study cache in front of `AdamtuneStorage`, reading system attributes
    through it.

    `optuna.create_study` / `load_study` wrap an RDB storage in `_CachedStorage`, whose
    `get_trial_system_attrs` loads the whole running trial through the ORM (about 2 ms here,
    at every `should_prune` of Hyperband). Passed this wrapper instead, Optuna uses it as is.
    """

    def __init__(self, backend: AdamtuneStorage) -> None:
        super().__init__(backend)
        self._study_ids: dict[str, int] = {}

    def get_study_id_from_name(self, study_name: str) -> int:
        """Remembered: Hyperband builds a study object, so looks the id up, at every
        `should_prune`, and a study keeps its name and id (the worker drops its wrapper of a
        deleted study when the next lookup by id raises KeyError)."""
        study_id = self._study_ids.get(study_name)
        if study_id is None:
            study_id = super().get_study_id_from_name(study_name)
            self._study_ids[study_name] = study_id
        return study_id

    def get_trial_system_attrs(self, trial_id: int) -> dict[str, Any]:
        with self._lock:
            trial = self._get_cached_trial(trial_id)
        if trial is not None:
            return trial.system_attrs
        return self._backend.get_trial_system_attrs(trial_id)


def study_storage(storage: optuna.storages.BaseStorage) -> optuna.storages.BaseStorage:
    """What to hand `optuna.create_study` / `load_study`: `StudyStorage` around ours."""
    if isinstance(storage, AdamtuneStorage):
        return StudyStorage(storage)
    return storage


def make_storage(
    url: str,
    *,
    heartbeat_interval: int | None = None,
    grace_period: int | None = None,
    retry_stale_trials: bool = True,
) -> AdamtuneStorage:
    """adamtune's RDB storage for `url` (`AdamtuneStorage`).

    With a heartbeat, trials of a process that died are failed after `grace_period` seconds and,
    with `retry_stale_trials`, re-enqueued with the same parameters (Optuna's own callback).
    """
    with warnings.catch_warnings():
        # the heartbeat and its retry callback are "experimental" in Optuna since v2.8: we rely
        # on them knowingly, and say so once here rather than in every caller
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        callback = None
        if heartbeat_interval and retry_stale_trials:
            callback = optuna.storages.RetryHeartbeatStaleTrialCallback()
        return AdamtuneStorage(
            url,
            engine_kwargs=engine_kwargs(url),
            heartbeat_interval=heartbeat_interval,
            grace_period=grace_period,
            heartbeat_stale_trial_callback=callback,
        )
