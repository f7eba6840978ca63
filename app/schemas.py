"""Request and response models of the REST API (see docs/API.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from optim.space import SearchSpace
from optim.study import StudyConfig

StudyName = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$"
    ),
]


class StudyCreate(StudyConfig):
    """What a user submits: a StudyConfig plus how to run it. Only `task` is required.

    Strict: a number must come as a JSON number and a count as an integer, so `"epochs": true`,
    `"n_trials": "5"` or `"seed": 1.5` (and even `1.0`) are refused by field rather than coerced.
    An integer is still accepted where a float is expected (`"timeout_s": 60`). Only this model's
    own fields are strict: `space` is checked by `SearchSpace`, as before. `StudyConfig` itself
    (CLI, configs read back from storage) stays lax.
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)

    name: StudyName | None = None
    timeout_s: Annotated[float | None, Field(gt=0, le=30 * 24 * 3600)] = None
    parallelism: Annotated[int | None, Field(ge=1, le=256)] = None

    def to_config(self) -> StudyConfig:
        return StudyConfig.model_validate(self.model_dump(include=set(StudyConfig.model_fields)))


class Progress(BaseModel):
    complete: int = 0
    pruned: int = 0
    failed: int = 0
    running: int = 0
    waiting: int = 0
    finished: int = 0  # complete + pruned


class BestTrial(BaseModel):
    trial: int
    value: float
    params: dict[str, float]


class BaselineTrial(BaseModel):
    trial: int
    value: float | None


class StudyPublic(BaseModel):
    id: int
    name: str
    task: str | None
    metric: str
    direction: str
    status: str
    read_only: bool
    n_trials: int | None
    epochs: int | None
    sampler: str | None
    pruner: str | None
    seed: int | None
    space: dict[str, Any] | None
    timeout_s: float | None
    parallelism: int | None
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    progress: Progress
    best: BestTrial | None
    baseline: BaselineTrial | None
    gain: float | None
    elapsed_s: float | None
    eta_s: float | None
    error: str | None
    user_attrs: dict[str, Any] = {}


class StudiesPublic(BaseModel):
    studies: list[StudyPublic]


class DryRunResult(BaseModel):
    valid: bool
    config: StudyConfig


class TrialPublic(BaseModel):
    number: int
    state: str
    value: float | None
    baseline: bool
    params: dict[str, float]
    datetime_start: datetime | None
    datetime_complete: datetime | None
    duration_s: float | None
    epochs_done: int
    reason: str | None


class TrialsPublic(BaseModel):
    total: int
    trials: list[TrialPublic]


class Points(BaseModel):
    """Columnar curve points, one entry per reported epoch."""

    trial: list[int]
    epoch: list[int]
    train_loss: list[float | None]
    val_loss: list[float | None]
    val_accuracy: list[float | None]


class TrialDetail(TrialPublic):
    curve: Points


class CurvesPublic(BaseModel):
    cursor: int
    points: Points
    trials: list[TrialPublic]
    total_trials: int
    trials_shown: int


class TaskPublic(BaseModel):
    name: str
    description: str
    metric: str
    has_accuracy: bool
    default_epochs: int
    batch_size: int


class Limits(BaseModel):
    max_trials: int
    max_epochs: int
    max_concurrent_studies: int


class OptionsPublic(BaseModel):
    samplers: list[str]
    pruners: list[str]
    default_sampler: str
    default_pruner: str
    default_space: SearchSpace
    limits: Limits


class Health(BaseModel):
    status: str


class NoteUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    text: Annotated[str, StringConstraints(max_length=20_000)]


class NotePublic(BaseModel):
    text: str  # the Markdown as written
    html: str  # rendered, safe to insert: raw HTML escaped, unsafe link schemes refused
    updated_at: datetime | None
