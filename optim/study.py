"""A study's configuration and its creation in Optuna's storage (shared by CLI and service)."""

from __future__ import annotations

from typing import Annotated, Any

import optuna
from pydantic import BaseModel, ConfigDict, Field, field_validator

from optim.samplers import (
    DEFAULT_PRUNER,
    DEFAULT_SAMPLER,
    PRUNERS,
    SAMPLERS,
    make_pruner,
    make_sampler,
)
from optim.space import BASELINE, SearchSpace
from optim.tasks import get_task, list_tasks

CONFIG_ATTR = "adamtune"  # study user attribute holding the StudyConfig as JSON
BASELINE_ATTR = "baseline"  # trial user attribute marking the default-Adam trial


class StudyConfig(BaseModel):
    """What a study runs: everything a worker needs to continue it on any machine."""

    model_config = ConfigDict(extra="forbid")

    task: str
    n_trials: Annotated[int, Field(ge=1)] = 30
    epochs: Annotated[int | None, Field(ge=1)] = None  # None: the task's default
    sampler: str = DEFAULT_SAMPLER
    pruner: str = DEFAULT_PRUNER
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] = 0
    space: SearchSpace = SearchSpace()

    @field_validator("task")
    @classmethod
    def _known_task(cls, name: str) -> str:
        known = [t.name for t in list_tasks()]
        if name not in known:
            raise ValueError(f"unknown task {name!r}; choose one of {known}")
        return name

    @field_validator("sampler")
    @classmethod
    def _known_sampler(cls, name: str) -> str:
        if name not in SAMPLERS:
            raise ValueError(f"unknown sampler {name!r}; choose one of {sorted(SAMPLERS)}")
        return name

    @field_validator("pruner")
    @classmethod
    def _known_pruner(cls, name: str) -> str:
        if name not in PRUNERS:
            raise ValueError(f"unknown pruner {name!r}; choose one of {sorted(PRUNERS)}")
        return name

    def resolved_epochs(self) -> int:
        return self.epochs if self.epochs is not None else get_task(self.task).default_epochs


def create_study(
    config: StudyConfig, storage: optuna.storages.BaseStorage, name: str | None = None
) -> optuna.Study:
    """Create the Optuna study, record its config and enqueue the default-Adam baseline first."""
    study = optuna.create_study(
        storage=storage,
        study_name=name,
        direction="minimize",
        sampler=make_sampler(config.sampler, seed=config.seed, space=config.space),
        pruner=make_pruner(config.pruner, epochs=config.resolved_epochs()),
    )
    study.set_user_attr(CONFIG_ATTR, config.model_dump(mode="json"))
    if config.space.tuned():
        study.enqueue_trial(
            config.space.to_optuna_params(BASELINE), user_attrs={BASELINE_ATTR: True}
        )
    return study


def load_study(
    storage: optuna.storages.BaseStorage, name: str, *, seed_offset: int = 0
) -> tuple[optuna.Study, StudyConfig]:
    """Re-open a study created by `create_study`, with its own sampler and pruner rebuilt.

    Args:
        seed_offset: added to the sampler's seed. Workers sharing a study pass different
            offsets: identically seeded samplers would propose identical parameters.
    """
    summary = optuna.load_study(study_name=name, storage=storage)
    config = read_config(summary.user_attrs)
    if config is None:
        raise ValueError(f"study {name!r} was not created by adamtune")
    study = optuna.load_study(
        study_name=name,
        storage=storage,
        sampler=make_sampler(config.sampler, seed=config.seed + seed_offset, space=config.space),
        pruner=make_pruner(config.pruner, epochs=config.resolved_epochs()),
    )
    return study, config


def read_config(user_attrs: dict[str, Any]) -> StudyConfig | None:
    """The StudyConfig stored on a study, or None for a study a plain Optuna script made."""
    raw = user_attrs.get(CONFIG_ATTR)
    return StudyConfig.model_validate(raw) if raw is not None else None
