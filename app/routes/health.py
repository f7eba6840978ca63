"""Liveness for Docker and load balancers: the database must answer."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app.deps import StateDep
from app.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, responses={503: {"model": Health}})
def healthz(state: StateDep) -> Health | JSONResponse:
    try:
        with state.db.read_engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means "not healthy"
        return JSONResponse({"status": "database unavailable"}, status_code=503)
    return Health(status="ok")
