"""A learning-rate schedule as one small value: warmup, then a decay to a final fraction.

    warmup          a fraction of the run's optimizer steps, in [0, 1): the learning rate climbs
                    linearly to its peak (the optimizer's lr) over int(warmup * total_steps) steps
    decay           after the warmup: "constant" (stay at the peak), "cosine" or "linear" down to
    final_fraction  the peak times this, in [0, 1], at the run's last step (constant ignores it)

Every built-in task applies it per optimizer step with torch's own schedulers
(`torch.optim.lr_scheduler`: `LinearLR` for the warmup, `CosineAnnealingLR` or `LinearLR` for the
decay, joined by `SequentialLR`), built by `make_scheduler`, and `torch_lines` writes the same
schedulers as text to paste. `factor` is the same curve in closed form (the dashboard's chart
draws it; tests hold it to torch's). Torch-free at import: the API process reports schedules.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, cast, get_args

if TYPE_CHECKING:
    import torch

Decay = Literal["constant", "cosine", "linear"]
DECAYS: tuple[Decay, ...] = get_args(Decay)
SCHEDULE_NAMES = ("warmup", "decay", "final_fraction")
SCHEDULER = "torch.optim.lr_scheduler"


@dataclass(frozen=True)
class Schedule:
    """How the learning rate moves over a run, relative to its peak. The default is none."""

    warmup: float = 0.0
    decay: Decay = "constant"
    final_fraction: float = 0.0

    def __post_init__(self) -> None:
        if self.decay not in DECAYS:
            raise ValueError(f"decay must be one of {list(DECAYS)} (got {self.decay!r})")
        if not 0.0 <= self.warmup < 1.0:
            raise ValueError(f"warmup must satisfy 0 <= warmup < 1 (got {self.warmup:g})")
        if not 0.0 <= self.final_fraction <= 1.0:
            raise ValueError(f"final_fraction must be in [0, 1] (got {self.final_fraction:g})")

    @property
    def none(self) -> bool:
        """No schedule: the learning rate stays at its peak from the first step."""
        return self.warmup == 0.0 and self.decay == "constant"

    def as_dict(self) -> dict[str, float | str]:
        return {"warmup": self.warmup, "decay": self.decay, "final_fraction": self.final_fraction}

    def warmup_steps(self, total_steps: int) -> int:
        """The warmup's steps, from the fraction as the pasted text writes it (6 digits)."""
        return int(float(f"{self.warmup:.6g}") * total_steps)

    def factor(self, step: int, total_steps: int) -> float:
        """The learning rate of 0-based optimizer step `step` over the peak: what torch's
        schedulers (`make_scheduler`) set, in closed form."""
        warmup = self.warmup_steps(total_steps)
        if step < warmup:
            return (step + 1) / (warmup + 1)
        if self.decay == "constant":
            return 1.0
        done = min(step - warmup, total_steps - warmup) / (total_steps - warmup)
        final = self.final_fraction
        if self.decay == "cosine":
            return final + (1.0 - final) * (1.0 + math.cos(math.pi * done)) / 2.0
        return 1.0 + (final - 1.0) * done

    def torch_lines(self, lr: float) -> list[str]:
        """The scheduler as Python to paste below `optimizer = ...`, for a run of `total_steps`
        optimizer steps (the user's own name), stepped after every `optimizer.step()`; []
        without a schedule. `make_scheduler` builds exactly these."""
        if self.none:
            return []
        lines = ["# total_steps: your run's optimizer steps; scheduler.step() after each step()"]
        warmup = f"{SCHEDULER}.LinearLR(optimizer, start_factor=1 / (warmup_steps + 1), total_iters=warmup_steps)"  # noqa: E501
        if self.warmup > 0:
            lines.append(f"warmup_steps = int({self.warmup:.6g} * total_steps)")
        if self.decay == "constant":
            return [*lines, f"scheduler = {warmup}"]
        steps = "total_steps - warmup_steps" if self.warmup > 0 else "total_steps"
        if self.decay == "cosine":
            eta_min = self.final_fraction * lr
            decay = (
                f"{SCHEDULER}.CosineAnnealingLR(optimizer, T_max={steps}, eta_min={eta_min:.6g})"
            )
        else:
            decay = (
                f"{SCHEDULER}.LinearLR(optimizer, start_factor=1.0, "
                f"end_factor={self.final_fraction:.6g}, total_iters={steps})"
            )
        if self.warmup == 0:
            return [*lines, f"scheduler = {decay}"]
        return [
            *lines,
            f"scheduler = {SCHEDULER}.SequentialLR(optimizer, [{warmup}, {decay}], "
            "milestones=[warmup_steps])",
        ]


def schedule_of(values: Mapping[str, object]) -> Schedule:
    """The schedule in a trial's recorded params (none where they hold no schedule)."""
    return Schedule(
        warmup=float(cast(float, values.get("warmup", 0.0))),
        decay=cast(Decay, values.get("decay", "constant")),
        final_fraction=float(cast(float, values.get("final_fraction", 0.0))),
    )


def make_scheduler(
    schedule: Schedule, optimizer: torch.optim.Optimizer, total_steps: int, lr: float
) -> torch.optim.lr_scheduler.LRScheduler | None:
    """Torch's schedulers for `schedule` over `total_steps` optimizer steps at peak `lr`, as
    `torch_lines` writes them (rounded as written); None without a schedule."""
    from torch.optim import lr_scheduler  # lazy: the API process imports this module

    if schedule.none:
        return None
    if total_steps < 1:
        raise ValueError(f"a schedule needs at least one optimizer step (got {total_steps})")
    warmup_steps = schedule.warmup_steps(total_steps)
    warmup: lr_scheduler.LRScheduler | None = None
    if schedule.warmup > 0 or schedule.decay == "constant":
        warmup = lr_scheduler.LinearLR(
            optimizer, start_factor=1 / (warmup_steps + 1), total_iters=warmup_steps
        )
    if schedule.decay == "constant":
        return warmup
    steps = total_steps - warmup_steps if warmup is not None else total_steps
    decay: lr_scheduler.LRScheduler
    if schedule.decay == "cosine":
        eta_min = float(f"{schedule.final_fraction * lr:.6g}")
        decay = lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps, eta_min=eta_min)
    else:
        end = float(f"{schedule.final_fraction:.6g}")
        decay = lr_scheduler.LinearLR(
            optimizer, start_factor=1.0, end_factor=end, total_iters=steps
        )
    if warmup is None:
        return decay
    return lr_scheduler.SequentialLR(optimizer, [warmup, decay], milestones=[warmup_steps])
