"""What a reported step means for its trial: stop, prune or go on, decided in one place.

A built-in worker (`optim.objective.train_lease`, after each epoch) and an external runner
(`app.external.ExternalTrials.report`, after each batch of reports) both ask `judge`, so a stop
and the pruner mean the same thing wherever the trial trains. Torch-free: the API process
judges external runners' reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import optuna

# the reason an interrupted trial records when its study is stopped: its params run again on
# resume (a worker's trial, or an external one told "stopped" without a reason of its own)
STOPPED_REASON = "stopped: re-run with the same params on resume"


class Verdict(StrEnum):
    """What the trial does after a report."""

    GO_ON = "go_on"
    PRUNE = "prune"  # ends as PRUNED: the pruner found it worse than others at this step
    STOP = "stop"  # interrupted from outside (a stop, a shutdown): its params run again later


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reason: str | None = None  # why it prunes or stops, as the trial records it


def judge(trial: optuna.Trial | None, step: int, horizon: int, stop: str | None) -> Decision:
    """The decision after `trial` reported `step` of `horizon` (its last step); `trial` None:
    its study's pruner never prunes (`optuna.pruners.NopPruner`), so there is none to ask.

    `stop`: a reason to interrupt the trial, from outside (None: nothing asks it to). A stop wins
    over the pruner, so a stopped study's trial is re-run on resume rather than pruned. The
    pruner is asked only before the horizon: a trial that reached its last step completes.
    `trial.should_prune` reads the storage and may raise; the caller decides what that means.
    """
    if stop is not None:
        return Decision(Verdict.STOP, stop)
    if trial is not None and step < horizon and trial.should_prune():
        return Decision(Verdict.PRUNE, f"pruned at epoch {step}")
    return Decision(Verdict.GO_ON)
