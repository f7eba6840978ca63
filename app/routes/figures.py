"""Analysis figures (Plotly JSON from optuna.visualization), bounded and cached."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status

from app.deps import ReadSessionDep, StateDep, StudyRefDep, require_read_token
from app.figures import NotEnoughTrialsError, UnknownParamsError

router = APIRouter(
    prefix="/api/studies/{study_id}", tags=["figures"], dependencies=[Depends(require_read_token)]
)

FigureKind = Literal[
    "history", "parallel_coordinate", "importances", "contour", "slice", "edf", "timeline"
]


@router.get(
    "/figures/{kind}",
    responses={409: {"description": "not enough trials yet"}, 422: {"description": "bad params"}},
)
def read_figure(
    kind: FigureKind,
    study: StudyRefDep,
    session: ReadSessionDep,
    state: StateDep,
    params: Annotated[str | None, Query(max_length=2000, description="comma-separated")] = None,
) -> Response:
    """`params` picks the parameters (Optuna names, e.g. `lr,one_minus_beta1`) of contour,
    slice, parallel_coordinate and importances; contour shows the first two by default."""
    names = [p for p in params.split(",") if p] if params else None
    try:
        text = state.figures.get(session, study.id, kind, state.settings.figure_max_trials, names)
    except NotEnoughTrialsError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from None
    except UnknownParamsError as exc:
        detail = [{"loc": ["query", "params"], "msg": str(exc), "type": "value_error"}]
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=detail) from None
    return Response(text, media_type="application/json")
