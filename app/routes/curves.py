"""Convergence curves with a cursor: a client asks only for points newer than what it has."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from app import queries
from app.deps import DB_INT_MAX, ReadSessionDep, StateDep, StudyRefDep, require_read_token
from app.downsample import thin_points
from app.schemas import CurvesPublic, Points, TrialPublic

router = APIRouter(
    prefix="/api/studies/{study_id}", tags=["curves"], dependencies=[Depends(require_read_token)]
)


@router.get("/curves")
def read_curves(
    study: StudyRefDep,
    session: ReadSessionDep,
    state: StateDep,
    after: Annotated[int, Query(ge=0, le=DB_INT_MAX)] = 0,
    max_trials: Annotated[int | None, Query(ge=1, le=100_000)] = None,
    max_points: Annotated[int | None, Query(ge=2, le=1_000_000)] = None,
) -> CurvesPublic:
    """Points after the cursor. A first load (`after=0`) of a big study holds the curves of at
    most `max_trials` trials (the baseline, the best and the most recent), each thinned to at
    most `max_points` evenly spaced points with its first and last; increments send every
    new point."""
    if after == 0:
        limit = max_trials or state.settings.curves_max_trials
        total, selection = queries.curve_trial_selection(session, study.id, limit)
    else:  # increments are small: send every new point
        total, selection = queries.trial_count(session, study.id), []
    reader = queries.foreign_curve_points if study.read_only else queries.job_curve_points
    cursor, points = reader(session, study.id, after, selection)
    if after == 0:
        points = thin_points(points, max_points or state.settings.curves_max_points)
    if after == 0:
        numbers = selection or None
    elif study.read_only:
        numbers = sorted(set(points["trial"]))
    else:
        numbers = sorted(
            set(points["trial"]) | set(queries.changed_trial_numbers(session, study.id, after))
        )
    if numbers is None:
        _, rows = queries.trials_page(session, study.id, limit=max(total, 1))
    elif not numbers:
        rows = []
    else:
        _, rows = queries.trials_page(
            session, study.id, numbers=numbers, limit=max(len(numbers), 1)
        )
    return CurvesPublic(
        cursor=cursor,
        points=Points(**points),
        trials=[TrialPublic(**row) for row in rows],
        total_trials=total,
        trials_shown=len(selection) if selection else total,
    )
