"""Convergence curves with a cursor: a client asks only for points newer than what it has."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.orm import Session

from app import queries
from app.curves_payload import Encoded, encode, trial_json
from app.deps import (
    DB_INT_MAX,
    ReadSessionDep,
    StateDep,
    StudyRef,
    StudyRefDep,
    require_read_token,
)
from app.downsample import thin_points
from app.schemas import CurvesPublic
from optim import optuna_internals as oi

router = APIRouter(
    prefix="/api/studies/{study_id}", tags=["curves"], dependencies=[Depends(require_read_token)]
)
GZIP_MIN_BYTES = 256 * 1024  # below this the answer goes as it is


# response_model: the OpenAPI schema; the answer itself is encoded by curves_payload (a big
# study's 500,000 points are not validated into a model only to be dumped again)
@router.get("/curves", response_model=CurvesPublic)
def read_curves(
    request: Request,
    study: StudyRefDep,
    session: ReadSessionDep,
    state: StateDep,
    after: Annotated[int, Query(ge=0, le=DB_INT_MAX)] = 0,
    max_trials: Annotated[int | None, Query(ge=1, le=100_000)] = None,
    max_points: Annotated[int | None, Query(ge=2, le=1_000_000)] = None,
) -> Response:
    """Points after the cursor. A first load (`after=0`) of a big study holds the curves of at
    most `max_trials` trials (the baseline, the best and the most recent), each thinned to at
    most `max_points` evenly spaced points with its first and last; increments send every
    new point. A finished study's first load is encoded once and kept (`curves_cache_mb`)."""
    limit = max_trials or state.settings.curves_max_trials
    per_trial = max_points or state.settings.curves_max_points
    if after > 0:
        return _json(request, Encoded(encode(_increment(session, study, after))))
    total, unfinished, *version = oi.study_version(session, study.id)
    read = (study.id, study.name, limit, per_trial)
    key = (total, *version, queries.latest_event_id(session, study.id))
    entry = state.curves.get(read, key)
    if entry is None:
        entry = Encoded(encode(_first_load(session, study, limit, per_trial)))
        if unfinished:
            state.curves.forget(read)
        else:  # a finished study's answer stays true until its version moves
            state.curves.put(read, key, entry)
    return _json(request, entry)


def _first_load(session: Session, study: StudyRef, limit: int, per_trial: int) -> dict[str, Any]:
    total, selection = queries.curve_trial_selection(session, study.id, limit)
    reader = queries.foreign_curve_points if study.read_only else queries.job_curve_points
    cursor, points = reader(session, study.id, 0, selection)
    points = thin_points(points, per_trial)
    if selection:
        _, rows = queries.trials_page(
            session, study.id, numbers=selection, limit=max(len(selection), 1)
        )
    else:
        _, rows = queries.trials_page(session, study.id, limit=max(total, 1))
    return _answer(cursor, points, rows, total, len(selection) if selection else total)


def _increment(session: Session, study: StudyRef, after: int) -> dict[str, Any]:
    """Increments are small: every new point, and the trials they or a state change touch."""
    total = queries.trial_count(session, study.id)
    reader = queries.foreign_curve_points if study.read_only else queries.job_curve_points
    cursor, points = reader(session, study.id, after, [])
    numbers = set(points["trial"])
    if not study.read_only:
        numbers |= set(queries.changed_trial_numbers(session, study.id, after))
    rows: list[dict[str, Any]] = []
    if numbers:
        _, rows = queries.trials_page(
            session, study.id, numbers=sorted(numbers), limit=len(numbers)
        )
    return _answer(cursor, points, rows, total, total)


def _answer(
    cursor: int, points: dict[str, list[Any]], rows: list[dict[str, Any]], total: int, shown: int
) -> dict[str, Any]:
    """CurvesPublic's shape, field for field."""
    return {
        "cursor": cursor,
        "points": points,
        "trials": [trial_json(row) for row in rows],
        "total_trials": total,
        "trials_shown": shown,
    }


def _json(request: Request, entry: Encoded) -> Response:
    """The answer, gzipped when it is big and the client takes gzip (a browser does)."""
    if len(entry.body) >= GZIP_MIN_BYTES and "gzip" in request.headers.get("accept-encoding", ""):
        headers = {"Content-Encoding": "gzip", "Vary": "Accept-Encoding"}
        return Response(entry.gzipped(), media_type="application/json", headers=headers)
    return Response(entry.body, media_type="application/json", headers={"Vary": "Accept-Encoding"})
