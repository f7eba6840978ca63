"""The tasks, samplers, pruners and defaults a study can be built from."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from app.deps import StateDep, require_read_token
from app.schemas import Limits, OptionsPublic, TaskPublic
from optim.samplers import DEFAULT_PRUNER, DEFAULT_SAMPLER, PRUNERS, SAMPLERS
from optim.space import SearchSpace
from optim.tasks import list_tasks

router = APIRouter(prefix="/api", tags=["tasks"], dependencies=[Depends(require_read_token)])


@router.get("/tasks")
def read_tasks() -> list[TaskPublic]:
    return [
        TaskPublic(
            name=task.name,
            description=task.description,
            metric=task.metric,
            has_accuracy=task.has_accuracy,
            default_epochs=task.default_epochs,
            batch_size=task.batch_size,
        )
        for task in list_tasks()
    ]


@router.get("/options")
def read_options(state: StateDep) -> OptionsPublic:
    settings = state.settings
    return OptionsPublic(
        samplers=list(SAMPLERS),
        pruners=list(PRUNERS),
        default_sampler=DEFAULT_SAMPLER,
        default_pruner=DEFAULT_PRUNER,
        default_space=SearchSpace(),
        limits=Limits(
            max_trials=settings.max_trials,
            max_epochs=settings.max_epochs,
            max_concurrent_studies=settings.max_concurrent_studies,
        ),
    )
