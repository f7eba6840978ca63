"""Storage URL -> adamtune's Optuna storage (`AdamtuneStorage`), and the wrapper studies use.

Why a storage subclass: see `optim.optuna_internals.AdamtuneStorage` (one-statement reports and
Core trial reads, measured in docs/BENCHMARKS.md section 3); SQLite is tuned in `optim.engines`.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import optuna
import sqlalchemy
from optuna.trial import FrozenTrial, TrialState
from sqlalchemy.pool import NullPool

from optim.attrs import INTERRUPT_REASON_ATTR, REASON_ATTRS, RETRY_HISTORY_ATTR, RETRY_OF_ATTR
from optim.engines import engine_kwargs
from optim.optuna_internals import (
    FAST_PATHS,
    AdamtuneStorage,
    StudyStorage,
    note_on_finished_trial,
    storage_of,
    trial_id_of,
)

__all__ = ["AdamtuneStorage", "make_storage", "retry_dead_trial", "retry_trial", "study_storage"]

# (namespace, key): "AD" as in optim.claims; a negative key, so no study's claim lock shares it
SCHEMA_LOCK = (0x4144, -1)


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
        callback = retry_dead_trial if heartbeat_interval and retry_stale_trials else None
        with _one_at_a_time(url):
            return AdamtuneStorage(
                url,
                engine_kwargs=engine_kwargs(url),
                heartbeat_interval=heartbeat_interval,
                grace_period=grace_period,
                heartbeat_stale_trial_callback=callback,
            )


@contextmanager
def _one_at_a_time(url: str) -> Iterator[None]:
    """On PostgreSQL, one process at a time opens the storage. Why: Optuna creates its tables
    without a lock, so API replicas and workers starting together on an empty database
    collided ("duplicate key value violates unique constraint pg_type_typname_nsp_index") and
    all but one exited. The others wait here, then find the tables made. SQLite's writes are
    serialised already."""
    if not url.startswith("postgresql"):
        yield
        return
    engine = sqlalchemy.create_engine(url, poolclass=NullPool)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            lock = {"ns": SCHEMA_LOCK[0], "key": SCHEMA_LOCK[1]}
            conn.execute(sqlalchemy.text("SELECT pg_advisory_lock(:ns, :key)"), lock)
            try:
                yield
            finally:
                conn.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:ns, :key)"), lock)
    finally:
        engine.dispose()


DEAD_REASON = (
    "its runner died: no heartbeat within the grace period (the lease lapsed); "
    "re-run with the same params"
)


def retry_dead_trial(study: optuna.Study, trial: FrozenTrial) -> None:
    """`retry_trial` for a trial failed because its runner stopped beating: the failed trial
    gets its reason first (Optuna's stale check leaves none)."""
    if not any(key in trial.user_attrs for key in REASON_ATTRS):
        trial_id = trial_id_of(trial, study)
        note_on_finished_trial(storage_of(study), trial_id, INTERRUPT_REASON_ATTR, DEAD_REASON)
    retry_trial(study, trial)


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
