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

import sqlite3
import time
from typing import Any

import sqlalchemy
from sqlalchemy import event
from sqlalchemy.engine import Engine

BUSY_TIMEOUT_S = 60.0
WAL_RETRY_S = 0.01  # between tries to switch a new file to WAL (`_set_wal`)


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
        _set_wal(cursor)
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


def _set_wal(cursor: Any) -> None:
    """`PRAGMA journal_mode=WAL`, waiting up to the busy timeout for the lock it needs. WAL is
    kept in the file, so only a new database changes mode, and the change needs the file to
    itself: SQLite answers "database is locked" at once there instead of waiting (processes
    starting together on a new file: 14 of 60 rounds of 4 failed so)."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(WAL_RETRY_S)
