"""Adam's hyper-parameters as one value: what a study tunes and a trial trains with.

Torch-free on purpose: the API process validates spaces and reports parameters without importing
torch (see docs/ARCHITECTURE.md, "What the API process imports").
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class AdamParams:
    """The hyper-parameters a study tunes; defaults are `torch.optim.Adam`'s."""

    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return asdict(self)

    def torch_line(self) -> str:
        """The line a user pastes into their training script."""
        line = (
            f"torch.optim.Adam(model.parameters(), lr={self.lr:.6g}, "
            f"betas=({self.beta1:.6g}, {self.beta2:.6g}), eps={self.eps:.6g}"
        )
        if self.weight_decay:
            line += f", weight_decay={self.weight_decay:.6g}"
        return line + ")"
