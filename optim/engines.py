"""SQLAlchemy engines, with SQLite tuned for many writers and readers.

Why these SQLite settings: Optuna's defaults (rollback journal, `synchronous=FULL`) fsync on
every commit, so each `trial.report` costs disk flushes (50 to 500 reports/s measured here, as
the disk's flush latency moved).
WAL with `synchronous=NORMAL` syncs only at checkpoints and lets readers run beside a writer.
Transactions that write start with `BEGIN IMMEDIATE`: a deferred transaction that reads and then
writes cannot wait for the lock in WAL mode and fails at once with "database is locked", while
an immediate one waits up to the busy timeout.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy
from sqlalchemy import event
from sqlalchemy.engine import Engine

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


def create_engine(url: str, *, immediate: bool = True, **pool: Any) -> Engine:
    """An SQLAlchemy engine for `url`, tuned as above when it is SQLite; `pool` options
    (pool_size, max_overflow, pool_timeout) go to SQLAlchemy."""
    engine = sqlalchemy.create_engine(url, **engine_kwargs(url), **pool)
    if is_sqlite(url):
        tune_sqlite(engine, immediate=immediate)
    return engine
