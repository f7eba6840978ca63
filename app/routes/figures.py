"""Analysis figures (Plotly JSON from optuna.visualization), bounded and cached."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Response, status

from app.deps import ReadSessionDep, StateDep, StudyRefDep, require_read_token
from app.figures import NotEnoughTrialsError

router = APIRouter(
    prefix="/api/studies/{study_id}", tags=["figures"], dependencies=[Depends(require_read_token)]
)

FigureKind = Literal[
    "history", "parallel_coordinate", "importances", "contour", "slice", "edf", "timeline"
]


@router.get("/figures/{kind}", responses={409: {"description": "not enough trials yet"}})
def read_figure(
    kind: FigureKind, study: StudyRefDep, session: ReadSessionDep, state: StateDep
) -> Response:
    try:
        text = state.figures.get(session, study.id, kind, state.settings.figure_max_trials)
    except NotEnoughTrialsError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from None
    return Response(text, media_type="application/json")
