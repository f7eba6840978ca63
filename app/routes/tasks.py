"""The tasks, samplers, pruners and defaults a study can be built from."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from app.client_wheel import WHEEL_NAME
from app.deps import StateDep, require_read_token
from app.schemas import (
    Choice,
    Limits,
    OptimizerPublic,
    OptionsPublic,
    StarterPublic,
    TaskPublic,
)
from optim import starter
from optim.optimizers import DEFAULT_FAMILY, FAMILIES
from optim.samplers import (
    DEFAULT_PRUNER,
    DEFAULT_SAMPLER,
    PRUNER_DESCRIPTIONS,
    PRUNER_MIN_EPOCHS,
    PRUNERS,
    SAMPLER_DESCRIPTIONS,
    SAMPLERS,
)
from optim.schedules import DECAYS
from optim.space import DEFAULT_PRESET, PRESETS, preset_ranges, preset_space
from optim.study import EPS_MODES, EXTERNAL_TASK, StudyConfig
from optim.tasks import list_tasks

# the study options whose defaults the dashboard's form starts from
STUDY_DEFAULTS = (
    "n_trials", "seed", "eps_mode", "seeds_per_trial", "validate_top_k", "validate_seeds",
    "confirm_seeds", "metric", "direction",
)  # fmt: skip

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
        sampler_choices=[Choice(name=n, description=SAMPLER_DESCRIPTIONS[n]) for n in SAMPLERS],
        pruner_choices=[Choice(name=n, description=PRUNER_DESCRIPTIONS[n]) for n in PRUNERS],
        default_sampler=DEFAULT_SAMPLER,
        default_pruner=DEFAULT_PRUNER,
        pruner_min_epochs=PRUNER_MIN_EPOCHS,
        optimizers=[
            OptimizerPublic(
                name=family.name,
                label=family.label,
                dims=list(family.dims),
                tuned_by_default=list(family.tuned_by_default),
                tunable=list(family.tunable()),
                baseline=family.params(family.baseline),
                torch_class=family.torch_class,
                presets={name: preset_space(family, name) for name in PRESETS},
                ranges={name: preset_ranges(family, name) for name in PRESETS},
                tuning_free=family.tuning_free,
                decays=family.decays,
            )
            for family in FAMILIES.values()
        ],
        default_optimizer=DEFAULT_FAMILY,
        presets=list(PRESETS),
        default_preset=DEFAULT_PRESET,
        eps_modes=list(EPS_MODES),
        default_space=preset_space(FAMILIES[DEFAULT_FAMILY], DEFAULT_PRESET),
        decays=list(DECAYS),
        study_defaults={name: StudyConfig.model_fields[name].default for name in STUDY_DEFAULTS},
        external_task=EXTERNAL_TASK,
        client_wheel=f"/client/{WHEEL_NAME}",
        limits=Limits(
            max_trials=settings.max_trials,
            max_epochs=settings.max_epochs,
            max_concurrent_studies=settings.max_concurrent_studies,
        ),
        starter=StarterPublic(
            trials=starter.STARTER_TRIALS,
            optimizer=starter.STARTER_OPTIMIZER,
            preset=starter.STARTER_PRESET,
            configs=[FAMILIES[starter.STARTER_OPTIMIZER].params(p) for p in starter.CONFIGS],
            provenance=dict(starter.PROVENANCE),
        ),
    )
