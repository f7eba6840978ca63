"""A study's configuration and its creation in Optuna's storage (shared by CLI and service)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Annotated, Any, Literal

import optuna
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from optim.attrs import BASELINE_ATTR, CONFIG_ATTR
from optim.optimizers import DEFAULT_FAMILY, FAMILIES, Family
from optim.params import OptimizerParams
from optim.samplers import (
    DEFAULT_PRUNER,
    DEFAULT_SAMPLER,
    GRID_POINTS_PER_DIMENSION,
    PRUNERS,
    SAMPLERS,
    make_pruner,
    make_sampler,
)
from optim.seeds import Purpose, derive_seed
from optim.space import DEFAULT_PRESET, PRESETS, SearchSpace, check_family, preset_space
from optim.starter import CONFIGS as STARTER_CONFIGS
from optim.starter import (
    STARTER_OPTIMIZER,
    STARTER_PRESET,
    STARTER_TRIALS,
    enqueue_configs,
)
from optim.storage import study_storage
from optim.tasks import list_tasks, task_info
from optim.tasks.catalog import BUILTIN_TASKS

SEQUENCE_SAMPLERS = frozenset({"qmc", "grid"})  # samplers whose seed fixes a whole sequence
# a study whose trials the user's own code trains, asking for them over HTTP (app/external.py)
EXTERNAL_TASK = "external"
EXTERNAL_STEPS = 100  # an external study's steps (for pruners) unless it says otherwise
EPS_MODES = ("pytorch", "tf")


def _one_of(
    kind: str, known: Callable[[], Iterable[str]], always: Iterable[str] = ()
) -> AfterValidator:
    """A validator refusing a name not in `known()`, listing the known ones; a name in `always`
    passes without calling `known()` (listing the tasks scans the installed plugins: 7 ms, for
    each study of the study list)."""
    sure = frozenset(always)

    def check(name: str) -> str:
        if name in sure:
            return name
        names = list(known())
        if name not in names:
            raise ValueError(f"unknown {kind} {name!r}; choose one of {sorted(names)}")
        return name

    return AfterValidator(check)


# what a request names, checked against the one place each is listed
TaskName = Annotated[
    str,
    _one_of(
        "task",
        lambda: [*(t.name for t in list_tasks()), EXTERNAL_TASK],
        always=[*(t.name for t in BUILTIN_TASKS), EXTERNAL_TASK],
    ),
]
MetricName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")]
OptimizerName = Annotated[str, _one_of("optimizer", lambda: FAMILIES)]
PresetName = Annotated[str, _one_of("preset", lambda: PRESETS)]
SamplerName = Annotated[str, _one_of("sampler", lambda: SAMPLERS)]
PrunerName = Annotated[str, _one_of("pruner", lambda: PRUNERS)]


class StudyConfig(BaseModel):
    """What a study runs: everything a worker needs to continue it on any machine."""

    model_config = ConfigDict(extra="forbid")

    task: TaskName
    n_trials: Annotated[int, Field(ge=1)] = 30
    epochs: Annotated[int | None, Field(ge=1)] = None  # None: the task's default
    sampler: SamplerName = DEFAULT_SAMPLER
    pruner: PrunerName = DEFAULT_PRUNER
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] = 0
    optimizer: OptimizerName = (
        DEFAULT_FAMILY  # what is tuned: adam, adamw, sgd_nesterov, adam_lr_only
    )
    # the ranges a space starts from (its own dimensions override them): default or wide
    preset: PresetName = DEFAULT_PRESET
    # where Adam adds eps: after bias correction (PyTorch) or before it (TensorFlow, the article)
    eps_mode: Literal["pytorch", "tf"] = "pytorch"
    seeds_per_trial: Annotated[int, Field(ge=1, le=16)] = 1  # a trial's value: the mean of k runs
    # what a trial's value is: for a built-in task the last epoch's validation loss (a search
    # selects on it) or its held-out test loss (a validation reports it); for an external study
    # the name of the user's own metric, minimised or maximised
    metric: MetricName = "val_loss"
    direction: Literal["minimize", "maximize"] = "minimize"
    # when the search ends, its top k configs and the defaults are retrained on m fresh seeds
    # (optim/validation.py); 0 for either: no validation. The pick is then retrained with the
    # defaults on `confirm_seeds` other seeds, and the gain reported comes from those alone
    # (0: the pick is shown, marked unconfirmed)
    validate_top_k: Annotated[int, Field(ge=0, le=10)] = 3
    validate_seeds: Annotated[int, Field(ge=0, le=50)] = 5
    confirm_seeds: Annotated[int, Field(ge=0, le=100)] = 10
    # the five-trial starter (optim/starter.py): its trials are the five fixed configs that work
    # broadly, enqueued in the schedule preset's space; n_trials 5, Adam, no pruner by default
    starter: bool = False
    space: SearchSpace = SearchSpace()

    @model_validator(mode="before")
    @classmethod
    def _space_from_preset(cls, data: Any) -> Any:
        """A space given as a dict overrides its family's preset dimension by dimension."""
        if not isinstance(data, dict):
            return data
        if data.get("starter") is True:  # its own budget, preset and pruner unless given
            data = {"n_trials": STARTER_TRIALS, "preset": STARTER_PRESET, "pruner": "none",
                    **data}  # fmt: skip
        if isinstance(data.get("space"), SearchSpace):
            return data
        optimizer = data.get("optimizer", DEFAULT_FAMILY)
        preset = data.get("preset", DEFAULT_PRESET)
        given = data.get("space") or {}
        # any JSON may come here (`"preset": {}` is unhashable): only names are looked up
        if not (isinstance(optimizer, str) and isinstance(preset, str)):
            return data  # the field validators say what is wrong
        family = FAMILIES.get(optimizer)
        if family is None or preset not in PRESETS or not isinstance(given, dict):
            return data
        base = preset_space(family, preset).model_dump(mode="json")
        return {**data, "space": {**base, **given}}

    @field_validator("space")
    @classmethod
    def _fits_family(cls, space: SearchSpace, info: ValidationInfo) -> SearchSpace:
        family = FAMILIES.get(info.data.get("optimizer", DEFAULT_FAMILY))
        if family is not None:  # else the optimizer's own error says it
            check_family(space, family)
        return space

    @model_validator(mode="after")
    def _builtin_tasks_minimise_their_loss(self) -> StudyConfig:
        if self.task != EXTERNAL_TASK:
            if self.metric not in ("val_loss", "test_loss"):
                raise ValueError("metric: a built-in task's metric is val_loss (or test_loss)")
            if self.direction != "minimize":
                raise ValueError("direction: a built-in task minimises its loss")
        return self

    @model_validator(mode="after")
    def _external_families(self) -> StudyConfig:
        # adamtune.client builds torch's and adamtune's optimizers only, and Schedule-Free
        # needs the user's loop to switch its train/eval modes: not offered there yet
        if self.task == EXTERNAL_TASK and self.family().tuning_free:
            raise ValueError(
                f"optimizer: {self.optimizer} is not offered for external studies (their "
                "runners build torch's optimizers)"
            )
        return self

    @model_validator(mode="after")
    def _starter_fits(self) -> StudyConfig:
        """A starter study trains exactly the five: Adam, five trials, a space that holds them,
        no pruner that could stop one (the median pruner waits for 5 trials: it never does)."""
        if not self.starter:
            return self
        if self.task == EXTERNAL_TASK:
            raise ValueError("starter: the five-trial starter runs on built-in tasks only")
        if self.optimizer != STARTER_OPTIMIZER:
            raise ValueError(
                f"optimizer: the five-trial starter's configs are {STARTER_OPTIMIZER}'s "
                f"(got {self.optimizer!r})"
            )
        if self.n_trials != STARTER_TRIALS:
            raise ValueError(
                f"n_trials: a starter study has exactly {STARTER_TRIALS} trials, its five "
                f"configs (got {self.n_trials})"
            )
        if self.pruner not in ("none", "median"):
            raise ValueError(
                f"pruner: {self.pruner!r} could stop one of the starter's five configs; use 'none'"
            )
        outside = [i + 1 for i, p in enumerate(STARTER_CONFIGS) if not self.space.contains(p)]
        if outside and self.preset != STARTER_PRESET:
            raise ValueError(
                f"preset: the starter's configs need the {STARTER_PRESET!r} preset's space "
                f"(got {self.preset!r}, which does not hold configs {outside})"
            )
        if outside:
            raise ValueError(
                f"space: the starter's configs {outside} lie outside this space; leave the "
                f"space and preset unset (the {STARTER_PRESET!r} preset's holds them all)"
            )
        return self

    def is_external(self) -> bool:
        return self.task == EXTERNAL_TASK

    @model_validator(mode="after")
    def _fits_grid(self) -> StudyConfig:
        if self.sampler == "grid":
            grid = self.space.grid(GRID_POINTS_PER_DIMENSION)
            size = math.prod(len(axis) for axis in grid.values())
            if self.n_trials > size + 1:  # the grid, and the default-settings baseline
                raise ValueError(
                    f"n_trials: the grid has {size} points ({GRID_POINTS_PER_DIMENSION} per tuned "
                    "dimension, each decay shape of a tuned decay), so n_trials may be at most "
                    f"{size + 1} with the baseline"
                )
        return self

    @field_validator("validate_seeds", "confirm_seeds")
    @classmethod
    def _enough_seeds(cls, seeds: int) -> int:
        if seeds == 1:
            raise ValueError("a confidence interval needs at least 2 seeds (0: no validation)")
        return seeds

    def validates(self) -> bool:
        return self.validate_top_k > 0 and self.validate_seeds > 0

    def training_runs(self) -> dict[str, int]:
        """What the study will train, in whole runs (a pruned search trial trains fewer
        epochs): shown before a user starts it, since validation can cost as much as the
        search."""
        validates = self.validates()
        tuned = bool(self.space.tuned())  # a space tuning nothing: the defaults alone
        picks = self.validate_top_k if tuned else 0
        return {
            "search": self.n_trials * self.seeds_per_trial,
            "selection": (picks + 1) * self.validate_seeds if validates else 0,
            "confirmation": (2 if tuned else 1) * self.confirm_seeds if validates else 0,
        }

    def resolved_epochs(self) -> int:
        if self.epochs is not None:
            return self.epochs
        return EXTERNAL_STEPS if self.is_external() else task_info(self.task).default_epochs

    def family(self) -> Family:
        return FAMILIES[self.optimizer]

    def baseline_params(self) -> OptimizerParams:
        """The default settings the baseline trial trains with: its family's library defaults."""
        return self.family().baseline


def create_study(
    config: StudyConfig,
    storage: optuna.storages.BaseStorage,
    name: str | None = None,
    *,
    baseline: bool = True,
) -> optuna.Study:
    """Create the Optuna study, record its config and enqueue the default-Adam baseline first,
    or a starter study's five configs (`baseline=False`: none, the caller enqueues every
    trial)."""
    study = optuna.create_study(
        storage=study_storage(storage),
        study_name=name,
        direction=config.direction,
        sampler=sampler_for_trial(config, 0),
        pruner=make_pruner(config.pruner, epochs=config.resolved_epochs()),
    )
    study.set_user_attr(CONFIG_ATTR, config.model_dump(mode="json"))
    if baseline and config.starter:
        enqueue_configs(study, config.space, STARTER_CONFIGS)
    elif baseline:
        # the baseline trains with the defaults even where a range cannot hold them (0 on a
        # log scale): it records only the params its ranges hold (`SearchSpace.suggest`)
        fixed = config.space.to_optuna_params(config.baseline_params(), inside_only=True)
        study.enqueue_trial(fixed, user_attrs={BASELINE_ATTR: True})
    return study


def load_study(
    storage: optuna.storages.BaseStorage, name: str, config: StudyConfig | None = None
) -> tuple[optuna.Study, StudyConfig]:
    """Re-open a study created by `create_study`, with its own sampler and pruner rebuilt.

    `config`: the study's config as its job holds it (the service's source, `app.jobs.
    study_config`); None for a study without a job (`adamtune evaluate`'s rounds, a benchmark,
    a script), whose config is read from the study's attribute, written by `create_study`.
    Whoever asks the study for a trial sets `study.sampler = sampler_for_trial(config, number)`
    first (the worker does, under its claim lock), so proposals do not depend on who asks.
    """
    if config is None:
        summary = optuna.load_study(study_name=name, storage=storage)
        config = read_config(summary.user_attrs)
        if config is None:
            raise ValueError(f"study {name!r} was not created by adamtune")
    study = optuna.load_study(
        study_name=name,
        storage=study_storage(storage),
        sampler=sampler_for_trial(config, 0),
        pruner=make_pruner(config.pruner, epochs=config.resolved_epochs()),
    )
    return study, config


def sampler_for_trial(config: StudyConfig, number: int) -> optuna.samplers.BaseSampler:
    """The sampler that proposes trial `number`, seeded from the study's seed and that number.

    Why per trial: a study served by workers in several processes must give the same trials for
    the same seed whoever asks (a sampler seeded once per process, or with its pid, would not),
    and workers must not propose identical parameters. The seed goes through `optim.seeds`, so
    studies with different seeds share no proposals. QMC and grid keep the study's seed: it
    fixes their sequence and order, whose position Optuna keeps in the storage.
    """
    seed = config.seed
    if config.sampler not in SEQUENCE_SAMPLERS:
        seed = derive_seed(config.seed, Purpose.SAMPLER, number)
    return make_sampler(config.sampler, seed=seed, space=config.space)


def read_config(user_attrs: dict[str, Any]) -> StudyConfig | None:
    """The StudyConfig stored on a study, or None for a study a plain Optuna script made."""
    raw = user_attrs.get(CONFIG_ATTR)
    return StudyConfig.model_validate(raw) if raw is not None else None
