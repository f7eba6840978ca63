"""Storage URL -> adamtune's Optuna storage (`AdamtuneStorage`), and the wrapper studies use.

Why a storage subclass: see `optim.optuna_internals.AdamtuneStorage` (one-statement reports and
Core trial reads, measured in docs/BENCHMARKS.md section 3); SQLite is tuned in `optim.engines`.
"""

from __future__ import annotations

import warnings

import optuna
from optuna.trial import FrozenTrial, TrialState

from optim.attrs import REASON_ATTRS, RETRY_HISTORY_ATTR, RETRY_OF_ATTR
from optim.engines import engine_kwargs
from optim.optuna_internals import FAST_PATHS, AdamtuneStorage, StudyStorage

__all__ = ["AdamtuneStorage", "make_storage", "retry_trial", "study_storage"]


def study_storage(storage: optuna.storages.BaseStorage) -> optuna.storages.BaseStorage:
    """What to hand `optuna.create_study` / `load_study`: `StudyStorage` around ours."""
    if isinstance(storage, AdamtuneStorage) and FAST_PATHS:
        return StudyStorage(storage)
    return storage


def make_storage(
    url: str,
    *,
    heartbeat_interval: int | None = None,
    grace_period: int | None = None,
    retry_stale_trials: bool = True,
) -> AdamtuneStorage:
    """adamtune's RDB storage for `url` (`AdamtuneStorage`).

    With a heartbeat, trials of a process that died are failed after `grace_period` seconds and,
    with `retry_stale_trials`, queued again with the same parameters (`retry_trial`).
    """
    with warnings.catch_warnings():
        # the heartbeat and its retry callback are "experimental" in Optuna since v2.8: we rely
        # on them knowingly, and say so once here rather than in every caller
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        callback = retry_trial if heartbeat_interval and retry_stale_trials else None
        return AdamtuneStorage(
            url,
            engine_kwargs=engine_kwargs(url),
            heartbeat_interval=heartbeat_interval,
            grace_period=grace_period,
            heartbeat_stale_trial_callback=callback,
        )


def retry_trial(study: optuna.Study, trial: FrozenTrial) -> None:
    """Queue `trial`'s params again as a WAITING trial: the re-run of an interrupted trial.

    As Optuna's `RetryHeartbeatStaleTrialCallback` (same system attributes, so its
    `retried_trial_number` works), but the re-run does not inherit the interrupted trial's
    reason: it keeps its params, seeds and other user attributes only.
    """
    system_attrs = {RETRY_OF_ATTR: trial.number, RETRY_HISTORY_ATTR: [], **trial.system_attrs}
    system_attrs[RETRY_HISTORY_ATTR] = [*system_attrs[RETRY_HISTORY_ATTR], trial.number]
    user_attrs = {k: v for k, v in trial.user_attrs.items() if k not in REASON_ATTRS}
    study.add_trial(
        optuna.trial.create_trial(
            state=TrialState.WAITING,
            params=trial.params,
            distributions=trial.distributions,
            user_attrs=user_attrs,
            system_attrs=system_attrs,
        )
    )
