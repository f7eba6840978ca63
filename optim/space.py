"""The search space over an optimizer's hyper-parameters: validation, presets, Optuna mapping.

Each dimension is either a range to tune or a fixed value, so "tune lr only" is a space with the
other dimensions fixed. Betas and momentum are sampled as log(1 - beta) by default: the
interesting values crowd against 1 (0.9, 0.99, 0.999), and a log scale on 1 - beta spreads them
evenly, as Choi et al. (2019, "On Empirical Comparisons of Optimizers for Deep Learning",
appendix D) and the Google Deep Learning Tuning Playbook do.

Three presets (`PRESETS`), for each optimizer family's own dimensions (`preset_space`):
    default   lr [1e-5, 1e-1] (SGD: [1e-4, 1]), beta1 [0.5, 0.999], beta2 [0.9, 0.99999],
              eps [1e-10, 1e-2], weight_decay [1e-5, 1e-1], momentum [0.5, 0.999]
    wide      TaskSet's Adam ranges (Metz et al. 2020): lr [1e-8, 10], 1 - beta1 [1e-4, 1],
              1 - beta2 [1e-6, 1], eps [1e-10, 1e3] (large eps turns Adam into momentum SGD,
              Choi et al. 2019), weight_decay [1e-6, 1], momentum [0, 0.9999]
    schedule  default's ranges, and the learning-rate schedule tuned with them (`SCHEDULE_RANGES`):
              warmup [0, 0.2] of the steps, decay constant, cosine or linear, final_fraction
              [0, 0.5] of the peak, both on a linear scale
What a family does not tune by default is fixed at its default settings (Adam's weight decay at
0), and outside the schedule preset the schedule is fixed at none (no warmup, constant), so a
study trains as before unless it asks for one: a peak lr tuned for a constant rate is not the
one for a schedule (a schedule bolted onto a constant-lr config hurt on 3 of 4 tasks), so the two
are tuned together. docs/BENCHMARKS.md section 7 says which preset is the default and why.
"""

from __future__ import annotations

import math
from typing import Any, cast

import numpy as np
import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from optim.optimizers import Family
from optim.params import ALL_NAMES, PARAM_NAMES, OptimizerParams, ParamValue
from optim.schedules import DECAYS, SCHEDULE_NAMES, Decay

DIMENSIONS: tuple[str, ...] = PARAM_NAMES  # the optimizer's own (floats)
FLOAT_DIMENSIONS = (*PARAM_NAMES, "warmup", "final_fraction")
SPACE_DIMENSIONS = ALL_NAMES  # every dimension of a space, the schedule's last
LINEAR = ("warmup", "final_fraction")  # fractions that may be 0: a linear scale unless told
ONE_MINUS = ("beta1", "beta2", "momentum")  # sampled as 1 - x on a log scale
BASELINE = OptimizerParams()  # torch.optim.Adam's defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8


class Dimension(BaseModel):
    """One hyper-parameter: a range `[low, high]` to tune, or a fixed `value`.

    `log` means a log scale: on the value for lr, eps and weight_decay, on 1 - beta for betas.
    """

    # strict: a JSON true is not a number nor "yes" a boolean (integers still make floats)
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True, strict=True)

    low: float | None = None
    high: float | None = None
    log: bool = True
    value: float | None = None

    @model_validator(mode="after")
    def _range_or_value(self) -> Dimension:
        if self.value is not None:
            if self.low is not None or self.high is not None:
                raise ValueError("give either a fixed 'value' or 'low' and 'high', not both")
            return self
        if self.low is None or self.high is None:
            raise ValueError("give 'low' and 'high' to tune this dimension, or a fixed 'value'")
        if not self.low < self.high:
            raise ValueError(f"low ({self.low:g}) must be less than high ({self.high:g})")
        return self

    @property
    def fixed(self) -> bool:
        return self.value is not None

    def bounds(self) -> tuple[float, float]:
        """The values this dimension can take: (value, value) when fixed."""
        if self.value is not None:
            return self.value, self.value
        assert self.low is not None and self.high is not None  # checked on construction
        return self.low, self.high


class Choice(BaseModel):
    """A categorical dimension (a schedule's decay shape): `choices` to tune among, or a fixed
    `value`."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    choices: tuple[Decay, ...] | None = Field(default=None, strict=False)  # a JSON list
    value: Decay | None = None

    @model_validator(mode="after")
    def _choices_or_value(self) -> Choice:
        if self.value is not None:
            if self.choices is not None:
                raise ValueError("give either a fixed 'value' or 'choices', not both")
            return self
        if not self.choices:
            raise ValueError(f"give 'choices' to tune among (of {list(DECAYS)}) or a fixed 'value'")
        if len(set(self.choices)) != len(self.choices):
            raise ValueError("each choice may be given once")
        return self

    @property
    def fixed(self) -> bool:
        return self.value is not None

    def options(self) -> tuple[Decay, ...]:
        """The values this dimension can take: (value,) when fixed."""
        if self.value is not None:
            return (self.value,)
        assert self.choices is not None  # checked on construction
        return self.choices


def _check_bounds(name: str, dim: Dimension) -> Dimension:
    """Per-dimension rules; raised from a field validator so the error names the field."""
    low, high = dim.bounds()
    if name in ("lr", "eps"):
        if low <= 0:
            raise ValueError(f"{name} must be > 0 (got {low:g})")
    elif name in ONE_MINUS:
        if low < 0 or high >= 1:
            raise ValueError(f"{name} must satisfy 0 <= {name} < 1 (got {low:g}..{high:g})")
    elif name == "weight_decay":
        if low < 0:
            raise ValueError(f"weight_decay must be >= 0 (got {low:g})")
        if not dim.fixed and dim.log and low <= 0:
            raise ValueError("a log-scale weight_decay range needs low > 0")
    elif name == "warmup":  # a fraction of the steps; the decay needs at least one
        if low < 0 or high >= 1:
            raise ValueError(f"warmup must satisfy 0 <= warmup < 1 (got {low:g}..{high:g})")
    elif name == "final_fraction":
        if low < 0 or high > 1:
            raise ValueError(f"final_fraction must be in [0, 1] (got {low:g}..{high:g})")
    if name in LINEAR and not dim.fixed and dim.log and low <= 0:
        raise ValueError(f'a log-scale {name} range needs low > 0 (give "log": false)')
    return dim


class SearchSpace(BaseModel):
    """Where a study looks. Unknown dimensions are rejected by name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lr: Dimension = Dimension(low=1e-5, high=1e-1)
    beta1: Dimension = Dimension(low=0.5, high=0.999)
    beta2: Dimension = Dimension(low=0.9, high=0.99999)
    eps: Dimension = Dimension(low=1e-10, high=1e-2)
    weight_decay: Dimension = Dimension(value=0.0)
    momentum: Dimension = Dimension(value=0.0)  # SGD's (Adam takes none)
    # the learning-rate schedule (optim/schedules.py); fixed at none unless a study tunes it
    warmup: Dimension = Dimension(value=0.0, log=False)
    decay: Choice = Choice(value="constant")
    final_fraction: Dimension = Dimension(value=0.0, log=False)

    @field_validator(*FLOAT_DIMENSIONS)
    @classmethod
    def _bounds(cls, dim: Dimension, info: Any) -> Dimension:
        if info.field_name in LINEAR and "log" not in dim.model_fields_set:
            dim = dim.model_copy(update={"log": False})
        return _check_bounds(info.field_name, dim)

    def dimension(self, name: str) -> Dimension | Choice:
        return getattr(self, name)  # type: ignore[no-any-return]

    def tuned(self) -> list[str]:
        """Names of the dimensions that are searched, in canonical order."""
        return [name for name in SPACE_DIMENSIONS if not self.dimension(name).fixed]

    def distributions(self) -> dict[str, BaseDistribution]:
        """Optuna parameter name -> distribution, for every tuned dimension.

        A log-scale beta (or momentum) is stored by Optuna as `one_minus_<name>`, since that
        is what is sampled; `to_params` maps it back. The decay shape is categorical.
        """
        out: dict[str, BaseDistribution] = {}
        for name in self.tuned():
            dim = self.dimension(name)
            if isinstance(dim, Choice):
                out[name] = CategoricalDistribution(dim.options())
                continue
            low, high = dim.bounds()
            if name in ONE_MINUS and dim.log:
                out[f"one_minus_{name}"] = FloatDistribution(1.0 - high, 1.0 - low, log=True)
            else:
                out[name] = FloatDistribution(low, high, log=dim.log)
        return out

    def suggest(self, trial: optuna.Trial, fixed: OptimizerParams | None = None) -> OptimizerParams:
        """Ask Optuna for every tuned dimension and return the full set of hyper-parameters.

        With `fixed` (the baseline's defaults) the trial trains with exactly those: dimensions
        whose range holds the fixed value are suggested (the trial was enqueued with it, so
        Optuna returns it and records it), the others are left out of the trial's params.
        """
        if fixed is not None:
            inside = self.to_optuna_params(fixed, inside_only=True)
            for param, dist in self.distributions().items():
                if param in inside:
                    _suggest(trial, param, dist)
            return fixed
        sampled = {
            param: _suggest(trial, param, dist) for param, dist in self.distributions().items()
        }
        return self.to_params(sampled)

    def to_params(self, optuna_params: dict[str, Any]) -> OptimizerParams:
        """Optuna's stored params (plus the fixed values) -> the hyper-parameters."""
        values: dict[str, Any] = {}
        for name in SPACE_DIMENSIONS:
            dim = self.dimension(name)
            if dim.value is not None:
                values[name] = dim.value
            elif f"one_minus_{name}" in optuna_params:
                values[name] = 1.0 - optuna_params[f"one_minus_{name}"]
            else:
                values[name] = optuna_params[name]
        return OptimizerParams(**values)

    def to_optuna_params(
        self, params: OptimizerParams, *, inside_only: bool = False
    ) -> dict[str, ParamValue]:
        """Hyper-parameters -> the Optuna params of the tuned dimensions (for enqueueing);
        `inside_only` leaves out the values a distribution cannot hold."""
        out: dict[str, ParamValue] = {}
        for param, dist in self.distributions().items():
            if param.startswith("one_minus_"):
                value = 1.0 - getattr(params, param.removeprefix("one_minus_"))
            else:
                value = getattr(params, param)
            if inside_only and not _holds(dist, value):
                continue
            out[param] = value
        return out

    def grid(self, points_per_dimension: int = 4) -> dict[str, list[ParamValue]]:
        """An evenly spaced grid (on each dimension's own scale) for Optuna's GridSampler; a
        categorical dimension gives each of its choices."""
        grid: dict[str, list[ParamValue]] = {}
        for param, dist in self.distributions().items():
            if isinstance(dist, CategoricalDistribution):
                grid[param] = [cast(str, c) for c in dist.choices]
                continue
            assert isinstance(dist, FloatDistribution)
            if dist.log:
                axis = np.geomspace(dist.low, dist.high, points_per_dimension)
            else:
                axis = np.linspace(dist.low, dist.high, points_per_dimension)
            grid[param] = [float(v) for v in axis]
        return grid

    def contains(self, params: OptimizerParams) -> bool:
        """Whether `params` lies inside every tuned range (fixed dimensions must match)."""
        for name in SPACE_DIMENSIONS:
            dim = self.dimension(name)
            value = getattr(params, name)
            if isinstance(dim, Choice):
                if value not in dim.options():
                    return False
                continue
            low, high = dim.bounds()
            if not (low <= value <= high or math.isclose(value, low) or math.isclose(value, high)):
                return False
        return True


def _suggest(trial: optuna.Trial, param: str, dist: BaseDistribution) -> ParamValue:
    if isinstance(dist, CategoricalDistribution):
        return cast(str, trial.suggest_categorical(param, cast(Any, dist.choices)))
    assert isinstance(dist, FloatDistribution)
    return trial.suggest_float(param, dist.low, dist.high, log=dist.log)


def _holds(dist: BaseDistribution, value: ParamValue) -> bool:
    if isinstance(dist, CategoricalDistribution):
        return value in dist.choices
    assert isinstance(dist, FloatDistribution) and isinstance(value, float | int)
    return dist.low <= value <= dist.high


# --- presets -------------------------------------------------------------------------------------

Range = tuple[float, float]
PRESETS: dict[str, dict[str, Range]] = {
    "default": {
        "lr": (1e-5, 1e-1),
        "beta1": (0.5, 0.999),
        "beta2": (0.9, 0.99999),
        "eps": (1e-10, 1e-2),
        "weight_decay": (1e-5, 1e-1),
        "momentum": (0.5, 0.999),
    },
    "wide": {  # TaskSet (Metz et al. 2020), Table 2
        "lr": (1e-8, 10.0),
        "beta1": (0.0, 1 - 1e-4),
        "beta2": (0.0, 1 - 1e-6),
        "eps": (1e-10, 1e3),
        "weight_decay": (1e-6, 1.0),
        "momentum": (0.0, 1 - 1e-4),
    },
}
# default's ranges with the schedule tuned: the peak lr is tuned with its schedule
PRESETS["schedule"] = dict(PRESETS["default"])
SCHEDULED_PRESETS = frozenset({"schedule"})
# where a schedule's fractions start when tuned (in every preset): warmup up to a fifth of the
# run (AlgoPerf's baselines warm up over 2-10 %), the decay down to half the peak or to 0
SCHEDULE_RANGES: dict[str, Range] = {"warmup": (0.0, 0.2), "final_fraction": (0.0, 0.5)}
DEFAULT_PRESET = "default"
# SGD's steps are not normalised
SGD_LR = {"default": (1e-4, 1.0), "wide": (1e-8, 10.0), "schedule": (1e-4, 1.0)}


def preset_ranges(family: Family, preset: str = DEFAULT_PRESET) -> dict[str, Range]:
    """The preset's range of each of `family`'s parameters and of the schedule's fractions:
    where a dimension starts when it is tuned (the dashboard's form starts a range there too)."""
    ranges = dict(PRESETS[preset])
    if "momentum" in family.dims:
        ranges["lr"] = SGD_LR[preset]
    if family.lr_range is not None:
        ranges["lr"] = family.lr_range
    return {**{name: ranges[name] for name in family.dims}, **SCHEDULE_RANGES}


def preset_space(family: Family, preset: str = DEFAULT_PRESET) -> SearchSpace:
    """The preset's ranges on what `family` tunes by default; the rest fixed at its defaults.
    The schedule is tuned in the schedule preset, else fixed at none."""
    ranges = preset_ranges(family, preset)
    dims: dict[str, Dimension | Choice] = {}
    for name in DIMENSIONS:
        if name in family.tuned_by_default:
            low, high = ranges[name]
            dims[name] = Dimension(low=low, high=high)
        else:
            dims[name] = Dimension(value=getattr(family.baseline, name))
    if preset in SCHEDULED_PRESETS:
        for name in LINEAR if family.decays else ("warmup",):
            low, high = ranges[name]
            dims[name] = Dimension(low=low, high=high, log=False)
        if family.decays:
            dims["decay"] = Choice(choices=DECAYS)
    return SearchSpace(**dims)  # type: ignore[arg-type]


def fixed_space(params: OptimizerParams) -> SearchSpace:
    """A space that tunes nothing, every dimension fixed at `params`: a one-shot baseline's
    (a study whose only trial is its defaults)."""
    dims: dict[str, Dimension | Choice] = {
        name: Dimension(value=getattr(params, name)) for name in FLOAT_DIMENSIONS
    }
    dims["decay"] = Choice(value=params.decay)
    return SearchSpace(**dims)  # type: ignore[arg-type]


def check_family(space: SearchSpace, family: Family) -> None:
    """A space may tune only what its family takes (and `adam_lr_only` only lr, and weight
    decay) and the schedule (Schedule-Free: only its warmup); ValueError naming the dimension
    otherwise."""
    allowed = {*family.tunable(), *SCHEDULE_NAMES}
    for name in space.tuned():
        if name not in allowed:
            raise ValueError(f"{name}: {family.label} ({family.name}) does not tune {name}")
    if not family.decays:
        if space.decay.options() != ("constant",) or space.final_fraction.bounds() != (0.0, 0.0):
            raise ValueError(
                f"decay: {family.label} ({family.name}) replaces the decay schedule; keep decay "
                "constant and final_fraction 0 (a warmup is its own)"
            )
