"""A lock around "count the study's trials, then ask for one", so n_trials is never exceeded.

Two workers that both see 29 of 30 trials would otherwise both start one. On SQLite every
worker is on the same machine, so an advisory file lock beside the database serves (a database
write lock would also block Optuna's own connection and deadlock). On PostgreSQL workers may be
anywhere: a transaction-scoped advisory lock keyed by the study id.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from optim.engines import is_sqlite

LOCK_NAMESPACE = 0x4144  # "AD": keeps our advisory keys apart from other users of the database


def lock_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise ValueError("study claims need a file-backed SQLite database")
    return Path(database).with_name(Path(database).name + ".claims.lock")


@contextmanager
def study_lock(engine: Engine, study_id: int) -> Iterator[None]:
    """Hold the claim lock of `study_id` for the duration of the block."""
    url = engine.url.render_as_string(hide_password=False)
    if is_sqlite(url):
        path = lock_path(url)
        with path.open("a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    with engine.connect() as conn, conn.begin():
        conn.execute(
            text("SELECT pg_advisory_xact_lock(:ns, :key)"), {"ns": LOCK_NAMESPACE, "key": study_id}
        )
        yield
