"""What both callbacks share: the value of the monitored metric, and the place a trial's
learning-rate schedule will come from."""

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


def trial_scheduler(trial: Trial, optimizer: Any, given: SchedulerFactory | None) -> Any | None:
    """The learning-rate scheduler of a trial: `given`'s, when the caller passed one. The place
    where a schedule handed out by the server (issue 22: the trial's params will name it) is
    built once the server has them; until then a trial trains at a constant lr, as tuned."""
    if given is not None:
        return given(optimizer)
    del trial  # no schedule in a trial's params yet
    return None
