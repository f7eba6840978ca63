"""Analysis figures (Plotly JSON from optuna.visualization), bounded and cached."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response

from app.deps import StateDep, StudyRefDep, require_read_token

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
    # too few trials (409), unknown params (422), builds busy (503): app.errors answers them
    text = state.figures.get(study.id, kind, state.settings.figure_max_trials, names)
    return Response(text, media_type="application/json")
