"""Analysis figures (Plotly JSON from optuna.visualization), bounded and cached."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status

from app.deps import StateDep, StudyRefDep, require_read_token
from app.figure_cache import FigureBusyError
from app.figures import NotEnoughTrialsError, UnknownParamsError

router = APIRouter(
    prefix="/api/studies/{study_id}", tags=["figures"], dependencies=[Depends(require_read_token)]
)

FigureKind = Literal[
    "history", "parallel_coordinate", "importances", "contour", "slice", "edf", "timeline"
]


@router.get(
    "/figures/{kind}",
    responses={
        200: {"content": {"application/json": {}}, "description": "Plotly figure JSON"},
        409: {"description": "not enough trials yet"},
        503: {"description": "figures are being built: retry after `Retry-After` seconds"},
    },
)
def read_figure(
    kind: FigureKind,
    study: StudyRefDep,
    state: StateDep,
    params: Annotated[str | None, Query(max_length=2000, description="comma-separated")] = None,
) -> Response:
    """`params` picks the parameters (Optuna names, e.g. `lr,one_minus_beta1`) of contour,
    slice, parallel_coordinate and importances; contour shows the first two by default."""
    names = [p for p in params.split(",") if p] if params else None
    try:
        text = state.figures.get(study.id, kind, state.settings.figure_max_trials, names)
    except FigureBusyError as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(exc), headers={"Retry-After": "2"}
        ) from None
    except NotEnoughTrialsError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from None
    except UnknownParamsError as exc:
        detail = [{"loc": ["query", "params"], "msg": str(exc), "type": "value_error"}]
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=detail) from None
    return Response(text, media_type="application/json")
