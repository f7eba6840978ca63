"""Comparisons of optimizer families: create, list, read, budget curves, stop, delete."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response, status
from sqlalchemy import select

from app.budget import budget_report
from app.comparisons import (
    comparison_report,
    create_comparison,
    delete_comparison,
    stop_comparison,
)
from app.deps import DB_INT_MAX, ReadSessionDep, StateDep, require_read_token, require_token
from app.models import Comparison
from app.schemas import (
    ComparisonBudget,
    ComparisonCreate,
    ComparisonPublic,
    ComparisonsPublic,
)

router = APIRouter(prefix="/api/comparisons", tags=["comparisons"])

ComparisonId = Annotated[int, Path(ge=0, le=DB_INT_MAX)]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such comparison"}}


def _comparison(session: ReadSessionDep, comparison_id: ComparisonId) -> Comparison:
    found = session.get(Comparison, comparison_id)
    if found is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail=f"comparison {comparison_id} not found"
        )
    return found


ComparisonDep = Annotated[Comparison, Depends(_comparison)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(require_token)],
    responses={409: {"description": "too many studies queued or running, or a name taken"}},
)
def create(payload: ComparisonCreate, state: StateDep, response: Response) -> ComparisonPublic:
    """One study per optimizer under the same budget, sampler, pruner and seeds; the workers
    run them interleaved, and validate each one's winner on the same fresh seeds."""
    comparison_id = create_comparison(state.db, state.storage, payload, state.settings)
    state.doorbell.ring()
    response.headers["Location"] = f"/api/comparisons/{comparison_id}"
    with state.db.session(write=False) as session:
        found = session.get(Comparison, comparison_id)
        assert found is not None
        return ComparisonPublic(**comparison_report(session, found))


@router.get("", dependencies=[Depends(require_read_token)])
def list_comparisons(session: ReadSessionDep) -> ComparisonsPublic:
    found = session.scalars(select(Comparison).order_by(Comparison.id.desc())).all()
    return ComparisonsPublic(
        comparisons=[ComparisonPublic(**comparison_report(session, c)) for c in found]
    )


@router.get("/{comparison_id}", dependencies=[Depends(require_read_token)], responses=NOT_FOUND)
def read(comparison: ComparisonDep, session: ReadSessionDep) -> ComparisonPublic:
    return ComparisonPublic(**comparison_report(session, comparison))


@router.get(
    "/{comparison_id}/budget", dependencies=[Depends(require_read_token)], responses=NOT_FOUND
)
def budget(
    comparison: ComparisonDep,
    session: ReadSessionDep,
    target: Annotated[float | None, Query(allow_inf_nan=False)] = None,
) -> ComparisonBudget:
    """Each search's best test loss against the compute spent so far (optimistic: its own
    seed), each family's validated result at its compute, and how much compute each search took
    to reach `target` (default: the best one-shot family's validated mean)."""
    return ComparisonBudget(**budget_report(session, comparison, target))


@router.post("/{comparison_id}/stop", dependencies=[Depends(require_token)], responses=NOT_FOUND)
def stop(comparison: ComparisonDep, state: StateDep) -> ComparisonPublic:
    """Every study of the comparison stops (interleaved: each has spent about the same)."""
    stop_comparison(state.db, comparison.id)
    with state.db.session(write=False) as session:
        return ComparisonPublic(**comparison_report(session, comparison))


@router.delete(
    "/{comparison_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Depends(require_token)],
    responses=NOT_FOUND,
)
def delete(comparison: ComparisonDep, state: StateDep) -> Response:
    delete_comparison(state.db, state.storage, comparison.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
