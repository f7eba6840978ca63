"""Task + search space -> an Optuna objective: train, report each epoch, prune, diverge, stop."""

from __future__ import annotations

from collections.abc import Callable

import optuna

from optim.attrs import ADAM_PARAMS_ATTR, PRUNE_REASON_ATTR, STOPPED
from optim.space import SearchSpace
from optim.tasks.base import EpochMetrics, Task
from optim.training import DivergedError, train

EpochCallback = Callable[[optuna.Trial, EpochMetrics], None]
StopCheck = Callable[[], bool]


def make_objective(
    task: Task,
    space: SearchSpace,
    *,
    epochs: int,
    seed: int,
    device: str = "cpu",
    on_epoch: EpochCallback | None = None,
    should_stop: StopCheck | None = None,
) -> Callable[[optuna.Trial], float]:
    """The function Optuna calls once per trial; returns the last epoch's validation loss.

    Every trial of a study trains from the same seed, so trials differ by their hyper-parameters
    alone. A pruned trial, a diverged one and one stopped by the user all end as PRUNED with the
    reason in the trial's user attribute `prune_reason`.

    Args:
        on_epoch: called after each epoch is reported (the service writes its live metrics here).
        should_stop: polled between epochs; True ends the trial as pruned with reason "stopped".
    """

    def objective(trial: optuna.Trial) -> float:
        params = space.suggest(trial)
        trial.set_user_attr(ADAM_PARAMS_ATTR, params.as_dict())

        def report(metrics: EpochMetrics) -> None:
            trial.report(metrics.val_loss, metrics.epoch)
            if on_epoch is not None:
                on_epoch(trial, metrics)
            if should_stop is not None and should_stop():
                trial.set_user_attr(PRUNE_REASON_ATTR, STOPPED)
                raise optuna.TrialPruned(STOPPED)
            if metrics.epoch < epochs and trial.should_prune():
                reason = f"pruned at epoch {metrics.epoch}"
                trial.set_user_attr(PRUNE_REASON_ATTR, reason)
                raise optuna.TrialPruned(reason)

        try:
            history = train(task, params, epochs=epochs, seed=seed, device=device, on_epoch=report)
        except DivergedError as exc:
            trial.set_user_attr(PRUNE_REASON_ATTR, f"diverged: {exc}")
            raise optuna.TrialPruned(str(exc)) from exc
        return history[-1].val_loss

    return objective
