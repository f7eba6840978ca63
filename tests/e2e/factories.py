"""Studies written straight into a server's SQLite file with plain Optuna: they appear in the
dashboard as read-only studies (curves from their intermediate values) in a fraction of the
time a real study takes, with exactly the shapes a test needs."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import optuna
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState

from optim.attrs import (
    INTERRUPT_REASON_ATTR,
    PRUNE_REASON_ATTR,
    RETRY_HISTORY_ATTR,
    RETRY_OF_ATTR,
)
from optim.optuna_internals import storage_of, study_id_of
from optim.verdict import STOPPED_REASON

# Adam's space as adamtune stores it in Optuna: betas sampled as 1 - beta on a log scale
ADAM_SPACE = {
    "lr": FloatDistribution(1e-5, 1e-1, log=True),
    "one_minus_beta1": FloatDistribution(1e-3, 0.5, log=True),
    "one_minus_beta2": FloatDistribution(1e-5, 0.1, log=True),
    "eps": FloatDistribution(1e-10, 1e-2, log=True),
}
BASELINE = {"lr": 1e-3, "one_minus_beta1": 0.1, "one_minus_beta2": 1e-3, "eps": 1e-8}


@dataclass
class Trial:
    """One trial to write: its curve (epoch -> value) and whether it was pruned, or stopped
    (a FAIL with the interrupt reason adamtune's runner writes); `rerun_of`: the number of the
    stopped trial whose params it runs again (the system attributes of optim.storage.retry_trial).
    """

    curve: dict[int, float]
    pruned: bool = False
    params: dict[str, float] | None = None
    baseline: bool = False
    stopped: bool = False
    rerun_of: int | None = None


def write_study(url: str, name: str, trials: Sequence[Trial], seed: int = 0) -> int:
    """Write the trials as a plain Optuna study; returns its id (the dashboard's study id)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rnd = random.Random(seed)
    study = optuna.create_study(storage=url, study_name=name)
    for t in trials:
        params = t.params or (
            BASELINE
            if t.baseline
            else {
                k: math.exp(rnd.uniform(math.log(d.low), math.log(d.high)))
                for k, d in ADAM_SPACE.items()
            }
        )
        last = max(t.curve)
        user_attrs: dict[str, object] = {"baseline": True} if t.baseline else {}
        if t.stopped:
            user_attrs[INTERRUPT_REASON_ATTR] = STOPPED_REASON
        elif t.pruned:
            user_attrs[PRUNE_REASON_ATTR] = f"pruned at epoch {last}"  # as optim/objective.py
        system_attrs = (
            {RETRY_OF_ATTR: t.rerun_of, RETRY_HISTORY_ATTR: [t.rerun_of]}
            if t.rerun_of is not None
            else {}
        )
        state = (
            TrialState.FAIL if t.stopped else TrialState.PRUNED if t.pruned else TrialState.COMPLETE
        )
        study.add_trial(
            optuna.trial.create_trial(
                state=state,
                value=None if t.stopped else t.curve[last],
                params=params,
                distributions=ADAM_SPACE,
                intermediate_values=t.curve,
                user_attrs=user_attrs,
                system_attrs=system_attrs,
            )
        )
    storage = storage_of(study)
    if isinstance(storage, optuna.storages.RDBStorage):
        storage.engine.dispose()
    return study_id_of(study)


def decaying(epochs: int, final: float, start: float = 2.0, rate: float = 0.5) -> dict[int, float]:
    """A loss curve from about `start` down to exactly `final` at the last epoch."""
    return {
        e: final + (start - final) * math.exp(-rate * (e - 1)) * (epochs - e) / max(epochs - 1, 1)
        for e in range(1, epochs + 1)
    }


def sweep(
    n: int,
    epochs: int,
    *,
    pruned: Callable[[int], int | None] = lambda i: None,
    final: Callable[[int], float] = lambda i: 0.2 + 0.01 * i,
    spike: Callable[[int], float | None] = lambda i: None,
) -> list[Trial]:
    """`n` trials, trial 0 the default-Adam baseline: `pruned(i)` is the epoch trial i was
    pruned at (None: complete), `final(i)` its last value, `spike(i)` a value at epoch 2."""
    out = []
    for i in range(n):
        stop = pruned(i)
        last = stop or epochs
        curve = decaying(epochs, final(i))
        curve = {e: v for e, v in curve.items() if e <= last}
        high = spike(i)
        if high is not None and 2 in curve:
            curve[2] = high
        out.append(Trial(curve=curve, pruned=stop is not None, baseline=i == 0))
    return out
