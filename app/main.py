"""create_app(): routers, middleware and the static dashboard. Nothing else happens here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio.to_thread
import optuna
import plotly
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import exc as sa_exc

from app.admission import AdmissionMiddleware, LaneLimit, classify
from app.coalesce import CoalesceMiddleware
from app.config import Settings, get_settings
from app.curves_payload import CurvesCache
from app.db import Database, DatabaseUnavailableError
from app.deps import AppState
from app.errors import DomainError, domain_error
from app.event_hub import EventHub
from app.external import ExternalTrials
from app.figure_cache import FigureCache
from app.limits import BodySizeLimitMiddleware
from app.openapi import openapi_schema
from app.routes import (
    client,
    comparisons,
    curves,
    docs,
    events,
    figures,
    health,
    notes,
    runners,
    studies,
    tasks,
    trials,
)
from app.routes.events import format_sse
from optim.storage import AdamtuneStorage, make_storage

COALESCED_LANES = frozenset({"cheap", "curves", "figures"})  # GETs whose answer is the URL's
FRONTEND_DIR = Path(__file__).resolve().parent.parent / "frontend"
PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


def create_app(
    settings: Settings | None = None,
    *,
    db: Database | None = None,
    storage: AdamtuneStorage | None = None,
) -> FastAPI:
    """The web app on `settings.database_url` (or the given database and storage)."""
    settings = settings or get_settings()
    # Optuna's INFO lines ("A new study created in memory" at each figure build) are noise here
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # Optuna first: it creates and checks its own tables, which ours sit beside
    storage = storage or make_storage(
        settings.database_url,
        heartbeat_interval=settings.heartbeat_interval,  # external trials beat through the API
        grace_period=settings.grace_period,
    )
    db = db or Database.open(settings.database_url, **settings.pool())
    app = FastAPI(
        title="adamtune",
        version="0.1.0",
        summary="Tune Adam's lr, betas and eps.",
        docs_url=None,  # served offline by app.routes.docs
        redoc_url=None,
        lifespan=_lifespan,
    )
    figure_cache = FigureCache(
        db, max_trials=settings.figure_max_trials, concurrent_builds=settings.figures_in_flight
    )
    app.state.adamtune = AppState(
        settings=settings,
        db=db,
        storage=storage,
        figures=figure_cache,
        curves=CurvesCache(int(settings.curves_cache_mb * 2**20)),
        # a finished trial of a watched study: its importances are built before anyone asks
        events=EventHub(db, settings.sse_poll_interval, format_sse, figure_cache.warm),
        external=ExternalTrials(db, storage, settings),
    )
    app.openapi = lambda: openapi_schema(app, settings)  # type: ignore[method-assign]

    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )
    # a shed request costs nothing past this point
    app.add_middleware(AdmissionMiddleware, limits=_lanes(settings))
    # outermost: a request whose twin runs waits for its answer, taking no lane slot
    app.add_middleware(
        CoalesceMiddleware,
        classifier=classify,
        lanes=COALESCED_LANES,
        max_followers=settings.coalesce_max_followers,
    )
    app.add_exception_handler(RequestValidationError, _invalid_request)
    # ConflictError, LimitError, RunnerError, figure errors: each carries its status and body
    app.add_exception_handler(DomainError, domain_error)
    app.add_exception_handler(DatabaseUnavailableError, _database_unavailable)
    app.add_exception_handler(sa_exc.OperationalError, _database_unavailable)
    app.add_exception_handler(sa_exc.TimeoutError, _database_busy)
    # Optuna wraps a failed commit (disk full, read-only) in its own error
    app.add_exception_handler(optuna.exceptions.StorageInternalError, _database_unavailable)

    app.include_router(health.router)
    app.include_router(tasks.router)
    app.include_router(studies.router)
    app.include_router(trials.router)
    app.include_router(curves.router)
    app.include_router(events.router)
    app.include_router(figures.router)
    app.include_router(notes.router)
    app.include_router(comparisons.router)
    app.include_router(runners.router)
    app.include_router(docs.router)
    app.include_router(client.router)

    @app.get("/vendor/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        """Plotly.js from the installed `plotly` package: the dashboard needs no CDN."""
        return FileResponse(PLOTLY_JS, media_type="text/javascript")

    app.mount("/", StaticFiles(directory=FRONTEND_DIR, html=True, check_dir=True), name="frontend")
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """On shutdown, end the background reads (event feeds, figure warm-ups) before whoever
    owns the engines disposes them, so no connection is handed back to a disposed pool."""
    yield
    state = app.state.adamtune
    await state.events.close()
    await anyio.to_thread.run_sync(state.figures.close)


def _lanes(settings: Settings) -> dict[str, LaneLimit]:
    def lane(in_flight: int, queue: int | None = None, expected_s: float = 0.0) -> LaneLimit:
        queue = settings.queue_length if queue is None else queue
        return LaneLimit(in_flight, queue, settings.queue_wait_s, expected_s)

    # expected_s: a first guess of each request's time in its slot under load (replaced by the
    # first one measured), so that a cold server's first burst is shed at once too
    return {
        "cheap": lane(settings.cheap_in_flight, settings.cheap_queue_length, expected_s=0.1),
        "curves": lane(settings.curves_in_flight, expected_s=1.0),
        "reads": lane(settings.reads_in_flight, expected_s=1.0),
        "writes": lane(settings.writes_in_flight),
        "runners": lane(settings.runners_in_flight),
        "asks": lane(settings.asks_in_flight),
        "figures": lane(settings.figures_in_flight, expected_s=2.0),
        "streams": lane(settings.streams_max, queue=0),
        "static": lane(settings.static_in_flight),
    }


async def _database_busy(_request: Request, _exc: Exception) -> JSONResponse:
    """No database connection came free within the pool's time-out: retry, never a 500."""
    return JSONResponse(
        {"detail": "database busy: no connection free; retry shortly"},
        status_code=503,
        headers={"Retry-After": "2"},
    )


async def _invalid_request(_request: Request, exc: Exception) -> JSONResponse:
    """422 naming each bad field and why; the input is not echoed (it may be huge or NaN)."""
    assert isinstance(exc, RequestValidationError)
    detail = [
        {"loc": list(err["loc"]), "msg": err["msg"], "type": err["type"]} for err in exc.errors()
    ]
    return JSONResponse({"detail": detail}, status_code=422)


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """A database that cannot be written (read-only, disk full, locked too long) is a 503."""
    # SQLite connections opened while the file was read-only stay read-only after it becomes
    # writable again (and share that state with every connection of the process): close them
    # all, so that the next request opens fresh ones
    state = request.app.state.adamtune
    state.db.dispose()
    state.storage.engine.dispose()
    cause: BaseException = exc
    if isinstance(exc, optuna.exceptions.StorageInternalError) and exc.__cause__ is not None:
        cause = exc.__cause__  # the database's own words, not Optuna's generic message
    reason = str(cause.orig) if isinstance(cause, sa_exc.DBAPIError) else str(cause)
    return JSONResponse(
        {"detail": f"database unavailable: {reason}"},
        status_code=503,
        headers={"Retry-After": "5"},
    )
