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

from optim import optuna_internals as oi

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


class TrialJudge:
    """`judge` for one trial, asked after each report by the one runner that trains it: the
    same decisions, without `should_prune`'s storage reads at steps where the pruner cannot
    decide.

    Successive halving and Hyperband decide a trial only at its bracket's rung steps; at any
    other step `should_prune` reads the trial's attributes (a query per epoch on an RDB
    storage) to return False. `oi.rung_steps` says where the rungs are; a step with no rung
    since the last step this judge let through is answered here. Other pruners, and whenever
    the rungs are not known, are asked every time.
    """

    def __init__(self, trial: optuna.Trial, horizon: int) -> None:
        self.trial = trial
        self.horizon = horizon
        self._rungs: tuple[int, ...] | None = None
        self._judged = -1  # the last step the pruner passed, knowing its rungs (-1: none yet)

    def __call__(self, step: int, stop: str | None) -> Decision:
        if stop is not None or step >= self.horizon:
            return judge(self.trial, step, self.horizon, stop)
        rungs = self._rungs if self._rungs is not None else self._find_rungs()
        if rungs is not None and not any(self._judged < rung <= step for rung in rungs):
            self._judged = step
            return Decision(Verdict.GO_ON)
        decision = judge(self.trial, step, self.horizon, None)
        if rungs is not None:
            # the pruner ran its halving with known rungs: the trial holds each one up to here
            self._judged = step
        return decision

    def _find_rungs(self) -> tuple[int, ...] | None:
        study = self.trial.study
        self._rungs = oi.rung_steps(study.pruner, study.study_name, self.trial.number, self.horizon)
        return self._rungs
