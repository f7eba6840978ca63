"""Trials of a study: a sortable, filterable page; one trial with its curve; CSV/JSON export."""

from __future__ import annotations

import csv
import io
import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response, status

from app import queries
from app.deps import DB_INT_MAX, ReadSessionDep, StudyDep, StudyRefDep, require_read_token
from app.schemas import Points, TrialDetail, TrialPublic, TrialsPublic

router = APIRouter(
    prefix="/api/studies/{study_id}", tags=["trials"], dependencies=[Depends(require_read_token)]
)

TrialStateName = Literal["RUNNING", "COMPLETE", "PRUNED", "FAIL", "WAITING"]
EXPORT_PAGE = 5000
EXPORT_COLUMNS = (
    "number", "state", "value", "baseline", "lr", "beta1", "beta2", "eps", "weight_decay",
    "duration_s", "epochs_done", "datetime_start", "datetime_complete", "reason",
)  # fmt: skip


@router.get("/trials")
def list_trials(
    study: StudyRefDep,
    session: ReadSessionDep,
    offset: Annotated[int, Query(ge=0, le=DB_INT_MAX)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    sort: Literal["number", "value", "duration"] = "number",
    order: Literal["asc", "desc"] = "asc",
    state: TrialStateName | None = None,
) -> TrialsPublic:
    total, rows = queries.trials_page(
        session, study.id, offset=offset, limit=limit, sort=sort, order=order, state=state
    )
    return TrialsPublic(total=total, trials=[TrialPublic(**row) for row in rows])


@router.get("/trials/{number}")
def read_trial(
    number: Annotated[int, Path(ge=0, le=DB_INT_MAX)], study: StudyRefDep, session: ReadSessionDep
) -> TrialDetail:
    _, rows = queries.trials_page(session, study.id, numbers=[number], limit=1)
    if not rows:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"trial {number} not found")
    reader = queries.foreign_curve_points if study.read_only else queries.job_curve_points
    _, points = reader(session, study.id, 0, [number])
    return TrialDetail(**rows[0], curve=Points(**points))


def _all_trials(session: ReadSessionDep, study_id: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    offset = 0
    while True:
        total, page = queries.trials_page(session, study_id, offset=offset, limit=EXPORT_PAGE)
        rows.extend(page)
        offset += EXPORT_PAGE
        if offset >= total:
            return rows


@router.get(
    "/export.json",
    response_class=Response,
    responses={200: {"content": {"application/json": {}}, "description": "every trial"}},
)
def export_json(study: StudyDep, session: ReadSessionDep) -> Response:
    trials = [TrialPublic(**row).model_dump(mode="json") for row in _all_trials(session, study.id)]
    body = json.dumps({"study": study.model_dump(mode="json"), "trials": trials})
    return Response(
        body,
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="study-{study.id}.json"'},
    )


@router.get(
    "/export.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "every trial, one row each"}},
)
def export_csv(study: StudyDep, session: ReadSessionDep) -> Response:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in _all_trials(session, study.id):
        trial = TrialPublic(**row).model_dump(mode="json")
        params = trial.pop("params")
        writer.writerow({**params, **trial})
    return Response(
        out.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="study-{study.id}.csv"'},
    )
