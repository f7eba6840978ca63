"""An optimizer's hyper-parameters as one value: what a study tunes and a trial trains with.

One value for every optimizer family (`optim.optimizers`): each family reads the fields it takes
(Adam: lr, betas, eps, weight decay; SGD with Nesterov momentum: lr, momentum, weight decay).
Torch-free on purpose: the API process validates spaces and reports parameters without importing
torch (see docs/ARCHITECTURE.md, "What the API process imports").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

PARAM_NAMES = ("lr", "beta1", "beta2", "eps", "weight_decay", "momentum")


@dataclass(frozen=True)
class OptimizerParams:
    """Hyper-parameters; the defaults are `torch.optim.Adam`'s (momentum is SGD's)."""

    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.0
    momentum: float = 0.0

    def as_dict(self, names: Iterable[str] | None = None) -> dict[str, float]:
        """Every field, or only `names` (a family's own parameters)."""
        values = asdict(self)
        return values if names is None else {name: values[name] for name in names}
