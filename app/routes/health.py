"""Liveness for Docker and load balancers: the database must answer and be writable."""

from __future__ import annotations

import os
from pathlib import Path

import anyio
import anyio.to_thread
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from app.deps import StateDep
from app.schemas import Health
from optim.engines import is_sqlite

router = APIRouter(tags=["health"])

HEALTH_THREADS = anyio.CapacityLimiter(2)
HEALTH_TIMEOUT_S = 5.0
MIN_FREE_BYTES = 1 << 20  # with less free space an SQLite database cannot count on its writes


def _unwritable(url: str) -> str | None:
    """Why an SQLite database file cannot take writes (read-only or full disk), else None."""
    database = make_url(url).database if is_sqlite(url) else None
    if not database or database == ":memory:":
        return None
    try:
        stats = os.statvfs(Path(database).resolve().parent)
    except OSError:
        return None
    if stats.f_flag & os.ST_RDONLY:
        return "read-only file system"
    free = stats.f_bavail * stats.f_frsize
    return f"disk full ({free} bytes free)" if free < MIN_FREE_BYTES else None


def _ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


@router.get("/healthz", response_model=Health, responses={503: {"model": Health}})
async def healthz(state: StateDep) -> Health | JSONResponse:
    """Answers under any load: no admission lane, no request thread (its own two threads),
    and a bounded wait for the database."""
    try:
        with anyio.fail_after(HEALTH_TIMEOUT_S):
            await anyio.to_thread.run_sync(_ping, state.db.read_engine, limiter=HEALTH_THREADS)
    except Exception:  # noqa: BLE001 - any failure (a time-out too) means "not healthy"
        return JSONResponse({"status": "database unavailable"}, status_code=503)
    why = _unwritable(state.db.url)
    if why is not None:  # reads still work, but every write would fail
        return JSONResponse({"status": f"database not writable: {why}"}, status_code=503)
    return Health(status="ok")
