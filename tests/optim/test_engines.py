"""SQLite engines (optim/engines.py): a new file's switch to WAL waits for the lock it needs."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy

import optim.engines
from optim.engines import create_engine
from tests.conftest import wait_for


def test_a_new_file_waits_for_the_lock_to_switch_to_wal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process holds a new database file (still in rollback-journal mode) while this
    one connects: the switch to WAL waits until it is free, where SQLite alone would answer
    "database is locked" at once (processes starting together on a new file)."""
    path = tmp_path / "new.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("CREATE TABLE first (x INTEGER)")
    waited = threading.Event()

    def sleep(seconds: float) -> None:
        waited.set()
        time.sleep(seconds)

    # the module's clock only: its pauses between tries are what the test watches for
    monkeypatch.setattr(
        optim.engines, "time", SimpleNamespace(monotonic=time.monotonic, sleep=sleep)
    )
    outcome: list[object] = []

    def connect() -> None:
        engine = create_engine(f"sqlite:///{path}")
        try:
            with engine.connect() as conn:
                outcome.append(conn.exec_driver_sql("PRAGMA journal_mode").scalar())
        except sqlalchemy.exc.OperationalError as exc:
            outcome.append(exc)
        finally:
            engine.dispose()

    thread = threading.Thread(target=connect)
    thread.start()
    wait_for(lambda: waited.is_set() or outcome)  # it waits for the lock, or it failed
    holder.execute("COMMIT")
    holder.close()
    thread.join(timeout=60)
    assert outcome == ["wal"]
