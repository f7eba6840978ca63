"""Train a leased trial: per epoch train, evaluate, report, then prune, stop or go on
(`optim.verdict.judge` decides, as it does for external runners).

`train_lease` is what every in-process runner (workers, `adamtune tune`) does with a `Lease`
from `optim.runner`; `make_objective` wraps the same loop as a plain Optuna objective, for
`study.optimize` in scripts of one's own and for benchmarks against plain Optuna.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import optuna

from optim.attrs import PARAMS_ATTR, PRUNE_REASON_ATTR
from optim.optimizers import FAMILIES
from optim.params import OptimizerParams
from optim.runner import Lease, Outcome, TrialRunner
from optim.space import SearchSpace
from optim.tasks.base import EpochMetrics, Task
from optim.training import DivergedError, train
from optim.verdict import TrialJudge, Verdict

log = logging.getLogger("adamtune.training")

EpochCallback = Callable[[EpochMetrics], None]
# polled between epochs: a reason to interrupt the trial (it is re-run later), or None
InterruptCheck = Callable[[], str | None]


class _Pruned(Exception):
    """The pruner ended the trial at this epoch."""


class _Interrupted(Exception):
    """The trial is stopped from outside; its params are run again later."""


class _ReportFailed(Exception):
    """Reporting an epoch failed (the study was deleted, the database is down): not the
    training code's fault, so the trial is interrupted, not failed for good."""


def train_lease(
    runner: TrialRunner,
    lease: Lease,
    task: Task,
    *,
    epochs: int,
    device: str = "cpu",
    on_epoch: EpochCallback | None = None,
    interrupt: InterruptCheck | None = None,
) -> Outcome:
    """Train the leased trial, reporting each epoch's validation loss, and say how it ended.

    The caller tells the runner (`runner.finish(lease, outcome)`). A pruned or diverged trial is
    PRUNED with its reason; an interruption (a stop, a shutdown) is a FAIL to be re-run; any
    other exception of the training code is a FAIL for good, with the error as its reason.
    """
    trial = runner.trial(lease)
    report = _reporter(trial, epochs, on_epoch, interrupt)
    try:
        history = train(
            task,
            lease.params,
            epochs=epochs,
            seed=lease.seeds,
            device=device,
            on_epoch=report,
            optimizer=runner.config.optimizer,
            eps_mode=runner.config.eps_mode,
        )
    except _Pruned as exc:
        return Outcome.pruned(str(exc))
    except _Interrupted as exc:
        return Outcome.interrupted(str(exc))
    except _ReportFailed as exc:
        cause = exc.__cause__
        log.warning("trial %s of study %s could not report: %s", lease.number, lease.study_id,
                    cause)  # fmt: skip
        return Outcome.interrupted(f"could not report: {type(cause).__name__}: {cause}")
    except DivergedError as exc:
        return Outcome.pruned(f"diverged: {exc}")
    except Exception as exc:  # noqa: BLE001 - the training code's error fails this trial only
        log.exception("trial %s of study %s failed", lease.number, lease.study_id)
        return Outcome.failed(f"{type(exc).__name__}: {exc}")
    last = history[-1]
    metrics = {
        "val_loss": last.val_loss,
        "val_accuracy": last.val_accuracy,
        "val_loss_std": last.val_loss_std,
        "test_loss": last.test_loss,
        "test_accuracy": last.test_accuracy,
    }
    value = last.test_loss if runner.config.metric == "test_loss" else last.val_loss
    assert value is not None  # the last epoch always measures the test split
    return Outcome.complete(value, metrics)


def _reporter(
    trial: optuna.Trial,
    epochs: int,
    on_epoch: EpochCallback | None,
    interrupt: InterruptCheck | None,
) -> Callable[[EpochMetrics], None]:
    judge = TrialJudge(trial, epochs)  # asked after every report of this trial, here only

    def report(metrics: EpochMetrics) -> None:
        try:
            trial.report(metrics.val_loss, metrics.epoch)
            if on_epoch is not None:
                on_epoch(metrics)
        except Exception as exc:  # noqa: BLE001 - whatever the storage or the caller raised
            raise _ReportFailed() from exc
        # the caller's check may raise (a time limit): that fails the trial for good
        stop = interrupt() if interrupt is not None else None
        try:
            decision = judge(metrics.epoch, stop)
        except Exception as exc:  # noqa: BLE001 - the storage failed, not the training
            raise _ReportFailed() from exc
        if decision.verdict is Verdict.STOP:
            raise _Interrupted(decision.reason)
        if decision.verdict is Verdict.PRUNE:
            raise _Pruned(decision.reason)

    return report


def make_objective(
    task: Task,
    space: SearchSpace,
    *,
    epochs: int,
    seed: int,
    device: str = "cpu",
) -> Callable[[optuna.Trial], float]:
    """The same training of Adam as a plain Optuna objective (every trial trains from `seed`):
    for `study.optimize` in scripts and for benchmarks against plain Optuna."""

    def objective(trial: optuna.Trial) -> float:
        params: OptimizerParams = space.suggest(trial)
        trial.set_user_attr(PARAMS_ATTR, FAMILIES["adam"].params(params))
        report = _reporter(trial, epochs, None, None)
        try:
            history = train(task, params, epochs=epochs, seed=seed, device=device, on_epoch=report)
        except _Pruned as exc:
            trial.set_user_attr(PRUNE_REASON_ATTR, str(exc))
            raise optuna.TrialPruned(str(exc)) from exc
        except DivergedError as exc:
            trial.set_user_attr(PRUNE_REASON_ATTR, f"diverged: {exc}")
            raise optuna.TrialPruned(str(exc)) from exc
        return history[-1].val_loss

    return objective
