"""What taking a trial and ending one record in adamtune's own tables, written once.

The built-in workers (`app.worker`) and the API serving external runners (`app.external`) both
take trials through `optim.runner.TrialRunner`, which keeps Optuna's side. Around it this
module keeps the job's and the live events' side: a runner per job, the job finished when its
runner says DONE, a claim (the job running, its last worker, a `trial_started` event), a finish
(a `trial_finished` event, a stopping job settled) and whether a trial should stop.
"""

from __future__ import annotations

import threading

from optuna.trial import FrozenTrial
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import event_log
from app.db import Database
from app.jobs import get_job, set_status, settle_stop, study_config
from app.models import JobStatus, StudyJob
from app.validation import finish_job
from optim.runner import Lease, NoTrial, TrialRunner
from optim.storage import AdamtuneStorage
from optim.tasks.base import EpochMetrics
from optim.verdict import STOPPED_REASON

DELETED_REASON = "study deleted"


class RunnerCache:
    """One `TrialRunner` per job, keyed by the job's uid, never its id (a new study can get a
    deleted one's id). Safe across threads: the API's request threads share one."""

    def __init__(self, storage: AdamtuneStorage, *, grace_period: float) -> None:
        self._storage = storage
        self._grace_period = grace_period
        self._runners: dict[str, TrialRunner] = {}
        self._lock = threading.Lock()

    def get(self, job: StudyJob) -> TrialRunner:
        """The job's runner, loaded on first use (`StudyGoneError` if its study is gone)."""
        with self._lock:
            runner = self._runners.get(job.uid)
        if runner is None:  # loading the study reads the database: not under the lock
            runner = TrialRunner(
                self._storage,
                job.study_name,
                grace_period=self._grace_period,
                config=study_config(job),
            )
            with self._lock:
                runner = self._runners.setdefault(job.uid, runner)
        return runner

    def forget(self, uid: str) -> None:
        with self._lock:
            self._runners.pop(uid, None)

    def keep_only(self, uids: set[str]) -> None:
        """Forget the runners of jobs no longer listed (deleted or finished)."""
        with self._lock:
            for uid in set(self._runners) - uids:
                del self._runners[uid]

    def clear(self) -> None:
        with self._lock:
            self._runners.clear()


def ask_trial(
    db: Database, storage: AdamtuneStorage, runner: TrialRunner, job: StudyJob, *, closing: bool
) -> Lease | NoTrial:
    """The job's next trial from its runner; a job the runner says is DONE is finished here
    (`finish_job`: completed or stopped, its next validation round queued)."""
    lease = runner.ask(job.n_trials, parallelism=job.parallelism, closing=closing)
    if lease is NoTrial.DONE:
        finish_job(db, storage, job.study_id)
    return lease


def record_claim(
    db: Database,
    job: StudyJob,
    runner: TrialRunner,
    lease: Lease,
    holder: str,
    *,
    runner_host: str | None = None,
) -> bool:
    """A trial taken by `holder` (a worker id, an external runner's host): a queued job is
    running now, `holder` is its last worker, and a `trial_started` event carries the family's
    own params (as the trial records them and the API shows them) and the seeds; an external
    trial's event also names its runner's host. False if the job was deleted meanwhile."""
    payload: dict[str, object] = {"seeds": list(lease.seeds)}
    if runner_host is not None:
        payload["runner"] = runner_host
    with db.session() as session:
        current = get_job(session, job.study_id)
        if current is None or current.uid != job.uid:
            return False
        if current.status == JobStatus.QUEUED:
            set_status(session, current, JobStatus.RUNNING)
        current.last_worker = holder
        params = runner.config.family().params(lease.params)
        event_log.append_event(
            session, event_log.trial_started(job.study_id, lease.number, params, **payload)
        )
    return True


def record_finish(db: Database, job: StudyJob, frozen: FrozenTrial, reason: str | None) -> None:
    """A trial told to Optuna (`frozen`, as the runner's `finish` returned it; a finish that was
    dropped because the trial had already ended records nothing): a `trial_finished` event with
    its state, value and reason, and a stopping job with no trial left running is stopped (an
    external study's runners may never ask again to find out)."""
    try:
        with db.session() as session:
            current = get_job(session, job.study_id)
            if current is None or current.uid != job.uid:
                return
            event_log.append_event(
                session,
                event_log.trial_finished(
                    job.study_id, frozen.number, frozen.state.name, frozen.value, reason
                ),
            )
            settle_stop(session, current)
    except IntegrityError:
        return  # deleted in between


def record_epoch(db: Database, job: StudyJob, number: int, metrics: EpochMetrics) -> None:
    """An epoch of trial `number`, for live curves: its event, committed at once."""
    with db.transaction() as conn:
        event_log.insert_event(conn, event_log.epoch_finished(job.study_id, number, metrics))


def stop_reason(db: Database, job: StudyJob) -> str | None:
    """Why the job's running trials should stop now (deleted, or a stop was asked), or None."""
    with db.session(write=False) as session:
        return stop_reason_in(session, job)


def stop_reason_in(session: Session, job: StudyJob) -> str | None:
    """`stop_reason` in a session the caller has open (one transaction for its other reads)."""
    current = session.execute(
        select(StudyJob.status, StudyJob.uid).where(StudyJob.study_id == job.study_id)
    ).first()
    if current is None or current.uid != job.uid:
        return DELETED_REASON
    if current.status in (JobStatus.STOPPING, JobStatus.STOPPED):
        return STOPPED_REASON
    return None
