"""Request and response models of the REST API (see docs/API.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from optim.params import ParamValue
from optim.samplers import DEFAULT_PRUNER, DEFAULT_SAMPLER
from optim.space import DEFAULT_PRESET, SearchSpace
from optim.study import (
    OptimizerName,
    PresetName,
    PrunerName,
    SamplerName,
    StudyConfig,
    TaskName,
)

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
    running: int = 0  # started: reported a step, or asked for when it was to start
    reserved: int = 0  # asked ahead by a runner still training another, not started yet
    waiting: int = 0
    finished: int = 0  # complete + pruned
    # of `failed`, the interrupted trials (a stop, a worker shutting down): their params were
    # queued again, so they do not count; failed for good = failed - interrupted
    interrupted: int = 0


class BestTrial(BaseModel):
    trial: int
    value: float
    params: dict[str, ParamValue]  # a schedule's decay is a name
    # the params as a line of PyTorch (its family's class, and its scheduler where it has a
    # schedule); None for a plain Optuna study's params that are not an Adam configuration
    torch_line: str | None = None


class BaselineTrial(BaseModel):
    trial: int
    value: float | None


class ValidationConfig(BaseModel):
    """One config of a validation: its runs on the fresh seeds and how it compares."""

    label: str  # "default" or "trial N"
    params: dict[str, ParamValue]
    trial: int | None  # the search trial it comes from
    search_value: float | None  # the single-seed value the search measured (an estimate)
    values: list[float | None]  # the test metric on each fresh seed (None: not run yet)
    test_accuracy: list[float | None]
    mean: float | None
    ci_low: float | None  # 95 % confidence interval of the mean (Student's t)
    ci_high: float | None
    n: int
    gain: float | None  # relative gain over the defaults, seed by seed: (default - this) / default
    gain_low: float | None
    gain_high: float | None
    wins: int  # seeds on which it beat the defaults


class ConfirmationPublic(BaseModel):
    """The confirmation round: the selection's pick and the defaults on further seeds."""

    study_id: int  # the round's own study: its runs' curves are its trials'
    status: str
    seeds: list[int] = []
    runs_done: int = 0
    runs_total: int = 0
    verdict: str = ""
    configs: list[ValidationConfig] = []


class ValidationPublic(BaseModel):
    """A validation in two rounds on disjoint seeds: the selection picks among the top-k
    (`configs`, on `selection_seeds`), the confirmation measures the pick against the defaults
    (`confirmation`, on `confirmation_seeds`); the verdict and the line come from the latter."""

    study_id: int  # the selection round's own study: its runs' curves are its trials'
    status: str  # running while either round runs
    round: int | None = None
    seeds: list[int] = []  # the selection seeds (as before confirmation existed)
    selection_seeds: list[int] = []
    confirmation_seeds: list[int] = []
    phase: str | None = None  # "selection", "confirmation", or "done"
    runs_done: int = 0  # both rounds
    runs_total: int = 0
    complete: bool = False
    confirmed: bool = False  # the verdict and the line come from the confirmation round
    verdict: str = ""
    selection_verdict: str = ""  # which config the selection picked, and its estimate there
    picked: str | None = None  # the selection's pick (what is confirmed)
    # the config to use: the pick if its confirmed gain is significant, else "default"; before
    # confirmation the pick, with `confirmed` false
    recommended: str | None = None
    torch_line: str | None = None  # ... as the one line to paste
    configs: list[ValidationConfig] = []  # the selection round's
    confirmation: ConfirmationPublic | None = None


class ValidationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    top_k: Annotated[int, Field(ge=1, le=10)] = 3
    seeds: Annotated[int, Field(ge=2, le=50)] = 5
    confirm_seeds: Annotated[int, Field(ge=0, le=100)] = 10  # 0: pick only, unconfirmed

    @field_validator("confirm_seeds")
    @classmethod
    def _enough_seeds(cls, seeds: int) -> int:
        if seeds == 1:
            raise ValueError("a confidence interval needs at least 2 seeds (0: no confirmation)")
        return seeds


class StudyPublic(BaseModel):
    """A study as the API shows it; a study another Optuna script wrote (`read_only`) has only
    what Optuna's tables say, its other fields null."""

    id: int
    name: str
    task: str | None = None
    metric: str
    direction: str
    status: str
    read_only: bool
    n_trials: int | None = None
    epochs: int | None = None
    sampler: str | None = None
    pruner: str | None = None
    seed: int | None = None
    optimizer: str | None = None  # the optimizer family: adam, adamw, sgd_nesterov, adam_lr_only
    preset: str | None = None
    starter: bool = False  # the five-trial starter's five configs (optim/starter.py)
    eps_mode: str | None = None
    seeds_per_trial: int | None = None
    space: dict[str, Any] | None = None
    timeout_s: float | None = None
    parallelism: int | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    progress: Progress
    best: BestTrial | None
    baseline: BaselineTrial | None
    gain: float | None  # the search's estimate: best vs baseline, one seed each
    elapsed_s: float | None = None
    eta_s: float | None = None
    error: str | None = None
    kind: str = "search"  # or "validation": the retraining of a search's best configs
    parent_id: int | None = None  # a validation's search
    comparison_id: int | None = None  # the comparison it belongs to
    validate_top_k: int | None = None
    validate_seeds: int | None = None
    confirm_seeds: int | None = None
    validation: ValidationPublic | None = None  # the newest validation of a search
    user_attrs: dict[str, Any] = {}


class StudiesPublic(BaseModel):
    studies: list[StudyPublic]


class DryRunResult(BaseModel):
    valid: bool
    config: StudyConfig
    # what it will train, in runs: the search's trials, then the validation's two rounds
    training_runs: dict[str, int] = {}


class TrialPublic(BaseModel):
    number: int
    state: str
    value: float | None
    baseline: bool
    params: dict[str, ParamValue]
    datetime_start: datetime | None
    datetime_complete: datetime | None
    duration_s: float | None
    epochs_done: int
    reason: str | None
    seeds: list[int] = []  # the training seeds (k of them: the value is their mean)
    # the last epoch's measures of a finished trial: val_loss, its spread over the seeds
    # (val_loss_std), val_accuracy, and the held-out test_loss and test_accuracy
    metrics: dict[str, float | None] | None = None
    runner: str | None = None  # the host of an external trial's runner
    device: str | None = None  # the torch device a built-in trial trained on (cpu, cuda:0)
    # RUNNING in Optuna, but asked ahead and not started by its runner's loop yet
    reserved: bool = False
    # a FAIL that was interrupted (a stop, a worker shutting down) and re-run, not a failure
    interrupted: bool = False
    rerun_as: int | None = None  # the number of the trial re-running an interrupted one


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


class Choice(BaseModel):
    name: str
    description: str


class OptimizerPublic(BaseModel):
    name: str
    label: str
    dims: list[str]  # the parameters it takes
    tuned_by_default: list[str]
    tunable: list[str]  # what a space may tune (the others are fixed)
    baseline: dict[str, ParamValue]  # its library defaults: what the baseline trial trains with
    torch_class: str
    presets: dict[str, SearchSpace]  # the space each preset gives it
    # each preset's range of each parameter: where a dimension starts when it is tuned
    ranges: dict[str, dict[str, tuple[float, float]]]
    # run at its published defaults in a comparison, a one-shot baseline with no search
    tuning_free: bool = False
    decays: bool = True  # False: it replaces the decay schedule (only a warmup is tuned)


class StarterPublic(BaseModel):
    """The five-trial starter (optim/starter.py): what a study with `starter: true` trains."""

    trials: int
    optimizer: str
    preset: str
    configs: list[dict[str, ParamValue]]
    provenance: dict[str, Any]  # the command, date and tasks they were chosen on


class OptionsPublic(BaseModel):
    samplers: list[str]
    pruners: list[str]
    sampler_choices: list[Choice]
    pruner_choices: list[Choice]
    default_sampler: str
    default_pruner: str
    pruner_min_epochs: int  # below this a pruner has next to nothing to judge on
    optimizers: list[OptimizerPublic]
    default_optimizer: str
    presets: list[str]
    default_preset: str
    eps_modes: list[str]
    default_space: SearchSpace  # the default optimizer's, default preset
    decays: list[str]  # a learning-rate schedule's decay shapes (optim/schedules.py)
    # a study's other defaults (n_trials, seed, eps_mode, seeds_per_trial, validate_top_k,
    # validate_seeds, metric, direction): what a field left out of a request gets
    study_defaults: dict[str, Any]
    external_task: str  # the task name of a study trained by the user's own code
    # where the client's wheel is served: `pip install <server><client_wheel>` on the machine that
    # trains (the client alone, standard library only)
    client_wheel: str = ""
    limits: Limits
    starter: StarterPublic | None = None


class Health(BaseModel):
    status: str


class NoteUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    text: Annotated[str, StringConstraints(max_length=20_000)]


class NotePublic(BaseModel):
    text: str  # the Markdown as written
    html: str  # rendered, safe to insert: raw HTML escaped, unsafe link schemes refused
    updated_at: datetime | None


class ComparisonCreate(BaseModel):
    """One study per optimizer family on `task`, with the same budget, sampler, pruner, preset
    and root seed; each family's winner is validated on the same `validate_seeds` fresh seeds
    and compared with the first family's."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)

    task: TaskName
    optimizers: Annotated[list[OptimizerName], Field(min_length=2, max_length=4)] = [
        "adam", "adamw", "sgd_nesterov", "adam_lr_only"
    ]  # fmt: skip
    n_trials: Annotated[int, Field(ge=1)] = 30  # per optimizer
    epochs: Annotated[int | None, Field(ge=1)] = None
    sampler: SamplerName = DEFAULT_SAMPLER
    pruner: PrunerName = DEFAULT_PRUNER
    preset: PresetName = DEFAULT_PRESET
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] = 0
    validate_seeds: Annotated[int, Field(ge=2, le=50)] = 5
    confirm_seeds: Annotated[int, Field(ge=2, le=100)] = 10
    name: StudyName | None = None
    # the tuning-free families (schedule_free_adamw, prodigy) run once at their published
    # defaults, a one-shot baseline; true: searched like the others, over their small spaces
    tune_tuning_free: bool = False

    @field_validator("optimizers")
    @classmethod
    def _distinct(cls, names: list[str]) -> list[str]:
        if len(set(names)) != len(names):
            raise ValueError("name each optimizer once")
        return names

    def study_fields(self) -> dict[str, Any]:
        """What each of its studies shares."""
        return self.model_dump(exclude={"optimizers", "name", "tune_tuning_free"})


class ComparisonStudy(BaseModel):
    optimizer: str
    label: str
    study_id: int
    status: str
    validation_status: str | None
    epochs_trained: int  # the search's (a one-shot baseline's: its one trial)
    wall_s: float | None  # the search's, start to end (interleaved studies share it)
    # trained without a search, at its published defaults (a tuning-free family)
    one_shot: bool = False
    tuned: int = 0  # the settings its search tuned (0: one-shot)
    # compute spent: epochs and seconds its trials trained, search and validation rounds
    search_s: float = 0.0
    validation_epochs: int = 0
    validation_s: float = 0.0
    total_epochs: int = 0
    total_s: float = 0.0
    # the config its validation settled on (its pick if the confirmed gain is significant, else
    # the defaults), measured on `seeds`: the confirmation seeds every family shares
    winner: ValidationConfig | None
    confirmed: bool = False
    verdict: str | None = None  # against its own defaults
    seeds: list[int]
    torch_line: str | None
    gain: float | None = None  # over the first optimizer, seed by seed (lower is better)
    gain_low: float | None = None
    gain_high: float | None = None
    wins: int | None = None


class ComparisonPublic(BaseModel):
    id: int
    name: str
    task: str
    config: dict[str, Any]
    created_at: datetime
    studies: list[ComparisonStudy]
    # "AdamW beats Adam by 7 % (95 % CI ...)", "no meaningful difference ...: within ±1 %"
    verdicts: list[str]
    advice: str | None = None  # "Use AdamW: torch.optim.AdamW(...)" or "Keep Adam: ..."
    recommended: str | None = None  # the optimizer the advice names
    complete: bool


class ComparisonsPublic(BaseModel):
    comparisons: list[ComparisonPublic]


class BudgetCurve(BaseModel):
    """A search's finished trials in completion order (columnar): the compute spent up to and
    including each (cumulative epochs, pruned and failed trials' too, and seconds) and the best
    test loss so far (null before the first complete trial), on the search's own seed."""

    trial: list[int] = []
    state: list[str] = []
    epochs: list[int] = []
    seconds: list[float] = []
    best: list[float | None] = []


class BudgetPoint(BaseModel):
    """A validated result at the compute it took: a tuned family's search + validation, a
    one-shot family's run."""

    label: str  # "trial N" or "default"
    mean: float
    ci_low: float | None  # 95 % CI of the mean on the confirmation seeds
    ci_high: float | None
    n: int
    confirmed: bool
    epochs: int
    seconds: float


class BudgetReach(BaseModel):
    """Where a search's best so far first reached the target."""

    trial: int
    best: float  # the best so far there: the trial's test loss, at or under the target
    epochs: int
    seconds: float
    runs: float | None  # epochs in runs of the comparison's epochs
    defaults: bool = False  # the trial that reached it is the search's baseline: its defaults


class BudgetTarget(BaseModel):
    value: float  # a test loss
    source: Literal["one_shot", "given"]
    optimizer: str | None  # the one-shot family whose validated mean it is
    label: str | None


class BudgetFamily(BaseModel):
    optimizer: str
    label: str
    study_id: int
    one_shot: bool
    status: str
    curve: BudgetCurve  # empty for a one-shot family
    search_best: float | None
    validated: BudgetPoint | None
    reached: BudgetReach | None  # a tuned family's search, when it reached the target
    validated_reaches: bool | None  # its validated mean at or below the target
    sentence: str


class ComparisonBudget(BaseModel):
    """A comparison's budget curves and time to result (AlgoPerf's): how much compute until
    the target test loss is reached. The curves are optimistic (`note`); only the validated
    points are the answer."""

    comparison_id: int
    run_epochs: int  # one run's epochs: compute is also counted in runs
    note: str
    target: BudgetTarget | None
    families: list[BudgetFamily]
    time_to_result: list[str]  # the target, then one sentence per family


# --- trials trained by external code (app/external.py) ------------------------------------------

RunnerHost = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200,
                           pattern=r"^[^\x00-\x1f\x7f]+$")
]  # fmt: skip
LeaseToken = Annotated[str, StringConstraints(min_length=8, max_length=200)]
Metrics = dict[Annotated[str, StringConstraints(min_length=1, max_length=64)], float]


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    host: RunnerHost | None = None  # where the runner runs (shown on the trial); default: its IP
    # asked ahead, while the runner still trains another trial: the trial counts as reserved,
    # not running, until its first report (a stop has nothing of it to interrupt)
    ahead: bool = False


class HandedOutTrial(BaseModel):
    number: int
    params: dict[str, ParamValue]  # the optimizer family's own parameters, and its schedule
    optimizer: str  # adam, adamw, sgd_nesterov or adam_lr_only
    eps_mode: str
    seeds: list[int]  # train with these seeds (k runs: report their mean)
    steps: int  # the pruner's horizon: the steps (epochs) a full trial runs
    metric: str
    direction: str
    purpose: str  # "search", or "validation": report the value on held-out data
    torch_line: str  # the optimizer as a line of PyTorch (and its scheduler's lines)


class AskPublic(BaseModel):
    """A trial to train, or why there is none: "wait" (every trial is taken and some still
    run: ask again after `retry_after_s`) or "done" (n_trials reached, or the study stopped)."""

    state: str
    reason: str | None = None
    study_id: int | None = None  # where to report: the validation's study after the search
    trial: HandedOutTrial | None = None
    lease: str | None = None  # send it with every report, heartbeat and tell
    heartbeat_interval_s: float | None = None
    grace_period_s: float | None = None  # a lease silent this long is failed and re-asked
    retry_after_s: float | None = None


class ReportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)

    lease: LeaseToken
    step: Annotated[int, Field(ge=0, le=10**9)]
    value: float  # the study's metric at this step
    metrics: Metrics = {}  # others to show (accuracy, train_loss, ...)


class StepReport(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)

    step: Annotated[int, Field(ge=0, le=10**9)]
    value: float  # the study's metric at this step
    metrics: Metrics = {}


class ReportsRequest(BaseModel):
    """Several steps in one request: what a runner whose steps are shorter than a round trip
    sends (the client batches what waited while the previous request was out)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    lease: LeaseToken
    reports: Annotated[list[StepReport], Field(min_length=1, max_length=1000)]


class ReportPublic(BaseModel):
    prune: bool  # the pruner ends this trial: tell it "pruned"
    stop: bool  # the study is stopping: tell it "stopped"


class LeaseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    lease: LeaseToken


class HeartbeatPublic(BaseModel):
    stop: bool


class TellRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)

    lease: LeaseToken
    state: Literal["complete", "pruned", "failed", "stopped"]
    value: float | None = None  # required when complete
    reason: Annotated[str, StringConstraints(max_length=2000)] | None = None
    metrics: Metrics | None = None


class TellPublic(BaseModel):
    number: int
    state: str
    value: float | None
