"""An optimizer's hyper-parameters as one value: what a study tunes and a trial trains with.

One value for every optimizer family (`optim.optimizers`): each family reads the fields it takes
(Adam: lr, betas, eps, weight decay; SGD with Nesterov momentum: lr, momentum, weight decay),
and every family takes a learning-rate schedule (`optim.schedules`: warmup, decay, final_fraction).
Torch-free on purpose: the API process validates spaces and reports parameters without importing
torch (see docs/ARCHITECTURE.md, "What the API process imports").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from optim.schedules import SCHEDULE_NAMES, Decay, Schedule

PARAM_NAMES = ("lr", "beta1", "beta2", "eps", "weight_decay", "momentum")  # the optimizer's own
ALL_NAMES = (*PARAM_NAMES, *SCHEDULE_NAMES)
ParamValue = float | str  # a schedule's decay is a name


@dataclass(frozen=True)
class OptimizerParams:
    """Hyper-parameters; the defaults are `torch.optim.Adam`'s (momentum is SGD's), with no
    learning-rate schedule."""

    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.0
    momentum: float = 0.0
    warmup: float = 0.0
    decay: Decay = "constant"
    final_fraction: float = 0.0

    def __post_init__(self) -> None:
        self.schedule  # noqa: B018 - refuses an impossible schedule here, not mid-training

    @property
    def schedule(self) -> Schedule:
        return Schedule(self.warmup, self.decay, self.final_fraction)

    @classmethod
    def from_dict(cls, values: Mapping[str, ParamValue]) -> OptimizerParams:
        """Recorded params (a trial's, a validation's config) back into the value; what they
        leave out is the default (no schedule). ValueError/TypeError on a field it has not."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise TypeError(f"unknown parameters {unknown}")
        kwargs: dict[str, Any] = {
            name: value if name == "decay" else float(value) for name, value in values.items()
        }
        return cls(**kwargs)

    def as_dict(self, names: Iterable[str] | None = None) -> dict[str, ParamValue]:
        """Every field, or only `names`."""
        values: dict[str, ParamValue] = asdict(self)
        return values if names is None else {name: values[name] for name in names}
