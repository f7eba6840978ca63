"""What both callbacks share: the value of the monitored metric, and the trial's
learning-rate scheduler."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from adamtune.client import StudyStopped, Trial, TrialLost, TrialPruned

# what `Trial.report` raises to end a trial: a callback stops its framework's loop on these
ENDS_TRIAL = (TrialPruned, StudyStopped, TrialLost)

# optimizer -> learning-rate scheduler (torch.optim.lr_scheduler.LRScheduler)
SchedulerFactory = Callable[[Any], Any]


def monitored_value(metrics: Mapping[str, Any], name: str) -> float:
    """The monitored metric the framework logged, as a finite float; a KeyError naming what
    was logged otherwise (a misspelt monitor would report nothing and end every trial as
    failed: say so at the first epoch)."""
    if name not in metrics:
        logged = ", ".join(sorted(metrics)) or "nothing"
        raise KeyError(f"the monitored metric {name!r} was not logged (logged: {logged})")
    value = float(metrics[name])
    if not math.isfinite(value):
        raise ValueError(f"the monitored metric {name!r} is {value}")
    return value


def trial_scheduler(
    trial: Trial, optimizer: Any, given: SchedulerFactory | None, total_steps: int | None
) -> Any | None:
    """The learning-rate scheduler of a trial, stepped after every optimizer step: `given`'s,
    when the caller passed one; else the schedule the trial's params name (warmup, decay,
    final fraction: `Trial.scheduler`) over `total_steps`; None when the trial has none (a
    constant lr, as tuned). A trial with a schedule needs `total_steps`: without it the
    schedule the search tuned would be silently dropped, so that is an error."""
    if given is not None:
        return given(optimizer)
    if total_steps is None:
        if trial.params.get("warmup", 0.0) or trial.params.get("decay", "constant") != "constant":
            raise ValueError(
                "this trial tunes a learning-rate schedule: pass total_steps (the run's optimizer "
                "steps) so it can be built"
            )
        return None
    return trial.scheduler(optimizer, total_steps)
