"""A worker: find a runnable study, claim one trial under the claim lock, train it, repeat.

Workers share nothing but the database, so any number of them on any number of machines can
serve the same studies (Optuna's RDB storage is the distributed mode). A trial of a worker that
dies is failed by Optuna's heartbeat check and re-enqueued with the same parameters.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from types import FrameType

import optuna
import torch
from optuna.exceptions import StorageInternalError
from sqlalchemy import exists, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from app import optuna_tables as ot
from app.claims import study_lock
from app.config import Settings
from app.db import Database, DatabaseUnavailableError
from app.event_log import append_event
from app.jobs import get_job, set_status
from app.models import Event, EventKind, JobStatus, StudyJob, utcnow
from app.queries import FAIL_REASON_ATTR, state_counts, terminal_failures
from optim.objective import make_objective
from optim.storage import make_storage
from optim.study import StudyConfig, load_study, sampler_for_trial
from optim.tasks import get_task
from optim.tasks.base import EpochMetrics

log = logging.getLogger("adamtune.worker")


DB_RETRY_S = 5.0
STATUS_CHECK_S = 1.0  # how often a running trial looks for a stop request (between epochs)
STUCK_GRACE_S = 5.0  # past the time limit, a trial still inside its epoch is declared stuck
WATCHDOG_TICK_S = 0.5


def time_limit_message(limit: float) -> str:
    return f"trial exceeded its time limit of {limit:g} s"


class WorkerShutdownError(Exception):
    """The worker was asked to exit mid-trial: the trial is failed and re-enqueued."""


class TrialTimeLimitError(Exception):
    """The trial ran past the configured per-trial time limit."""


@dataclass
class Claim:
    study_id: int
    study: optuna.Study
    config: StudyConfig
    trial: optuna.Trial


class Worker:
    """One worker process's state: its database handles and the studies it has opened."""

    def __init__(self, settings: Settings, worker_id: str | None = None) -> None:
        self.settings = settings
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}"
        self.db = Database.open(settings.database_url)
        self.storage = make_storage(
            settings.database_url,
            heartbeat_interval=settings.heartbeat_interval,
            grace_period=settings.grace_period,
        )
        self.shutdown = threading.Event()
        self._studies: dict[int, tuple[optuna.Study, StudyConfig]] = {}
        # called when a trial is stuck inside an epoch past its time limit, after it is failed:
        # `run_worker` replaces the process with a fresh worker (nothing else can end the epoch)
        self.on_stuck: Callable[[], None] | None = None

    # -- the loop ---------------------------------------------------------------------------
    def run(self, *, max_trials: int | None = None, exit_when_idle: bool = False) -> int:
        """Serve studies until shut down; returns the number of trials run."""
        done = 0
        while not self.shutdown.is_set():
            if max_trials is not None and done >= max_trials:
                break
            try:
                claim = self.claim()
            except (DatabaseUnavailableError, OperationalError, StorageInternalError) as exc:
                # the database restarted or is full: keep the worker, look again shortly
                log.warning("database unavailable, retrying in %s s: %s", DB_RETRY_S, exc)
                self._studies.clear()
                self.shutdown.wait(DB_RETRY_S)
                continue
            if claim is None:
                if exit_when_idle:
                    break
                self.shutdown.wait(self.settings.poll_interval)
                continue
            self.run_trial(claim)
            done += 1
        return done

    # -- claiming ---------------------------------------------------------------------------
    def claim(self) -> Claim | None:
        """Ask one trial of the oldest study that still has room; finish studies that are done."""
        with self.db.session(write=False) as session:
            jobs = session.scalars(
                select(StudyJob)
                .where(StudyJob.status.in_(JobStatus.ACTIVE))
                .order_by(StudyJob.created_at)
            ).all()
        for job in jobs:
            claim = self._claim_in(job)
            if claim is not None:
                return claim
        return None

    def _claim_in(self, job: StudyJob) -> Claim | None:
        try:
            with study_lock(self.db.write_engine, job.study_id):
                study, config = self._study(job)
                with _quiet_heartbeat_warnings():
                    optuna.storages.fail_stale_trials(study)
                self._fail_orphans(study, job.study_id)
                with self.db.session(write=False) as session:
                    counts = state_counts(session, [job.study_id])[job.study_id]
                    failed_for_good = terminal_failures(session, job.study_id)
                running = counts.get("RUNNING", 0)
                waiting = counts.get("WAITING", 0)
                taken = (
                    running
                    + waiting
                    + counts.get("COMPLETE", 0)
                    + counts.get("PRUNED", 0)
                    + failed_for_good
                )
                # a WAITING trial (the baseline, a retry) already holds one of the n_trials:
                # while there is one, ask() below runs it instead of making a new one
                full = taken >= job.n_trials and waiting == 0
                if job.status == JobStatus.STOPPING or full or _timed_out(job):
                    if running == 0:
                        self._finish(job.study_id)
                    return None
                if job.parallelism is not None and running >= job.parallelism:
                    return None
                # seeded from the study's seed and the trial's number: the same trials for the
                # same seed, whichever worker asks
                study.sampler = sampler_for_trial(config, sum(counts.values()))
                with _quiet_heartbeat_warnings():
                    trial = study.ask()
                with self.db.session() as session:
                    current = get_job(session, job.study_id)
                    if current is None:  # deleted while we asked
                        return None
                    if current.status == JobStatus.QUEUED:
                        set_status(session, current, JobStatus.RUNNING)
                    current.last_worker = self.worker_id
                    append_event(
                        session,
                        Event(
                            study_id=job.study_id,
                            kind=EventKind.TRIAL_STARTED,
                            trial_number=trial.number,
                            payload={"params": trial.params},
                        ),
                    )
                # the first beat before the claim lock is released: see _fail_orphans
                self.storage.record_heartbeat(trial._trial_id)  # noqa: SLF001
                return Claim(job.study_id, study, config, trial)
        except KeyError:  # the study was deleted between listing and locking
            self._studies.pop(job.study_id, None)
            return None

    def _fail_orphans(self, study: optuna.Study, study_id: int) -> None:
        """Fail and retry RUNNING trials that never got a heartbeat.

        Optuna's stale check skips trials without one, so a worker killed between `ask()` and
        its first beat would leave a trial RUNNING forever and its study would never end. A live
        worker records that first beat before it releases the claim lock (held by the caller),
        so such a trial older than the grace period has no worker left.
        """
        cutoff = ot.optuna_now() - timedelta(seconds=self.settings.grace_period)
        with self.db.session(write=False) as session:
            orphans = session.scalars(
                select(ot.trials.c.trial_id).where(
                    ot.trials.c.study_id == study_id,
                    ot.trials.c.state == "RUNNING",
                    ot.trials.c.datetime_start < cutoff,
                    ~exists().where(ot.trial_heartbeats.c.trial_id == ot.trials.c.trial_id),
                )
            ).all()
        storage = study._storage  # noqa: SLF001 - as optuna.storages.fail_stale_trials does
        for trial_id in orphans:
            try:
                storage.set_trial_state_values(trial_id, state=optuna.trial.TrialState.FAIL)
            except optuna.exceptions.UpdateFinishedTrialError:
                continue
            log.warning("trial %s of study %s had no worker: failed, retried", trial_id, study_id)
            _retry_later(study, storage.get_trial(trial_id))

    def _study(self, job: StudyJob) -> tuple[optuna.Study, StudyConfig]:
        if job.study_id not in self._studies:
            self._studies[job.study_id] = load_study(self.storage, job.study_name)
        return self._studies[job.study_id]

    def _finish(self, study_id: int) -> None:
        """Mark a job whose trials are all done: stopped if it was stopping, else completed."""
        with self.db.session() as session:
            job = get_job(session, study_id)
            if job is None or job.status not in JobStatus.ACTIVE:
                return
            final = JobStatus.STOPPED if job.status == JobStatus.STOPPING else JobStatus.COMPLETED
            set_status(session, job, final)
        log.info("study %s %s", study_id, final)

    # -- running ----------------------------------------------------------------------------
    def run_trial(self, claim: Claim) -> None:
        """Train one claimed trial with heartbeats; tell Optuna how it ended; record the event."""
        trial = claim.trial
        started = time.monotonic()
        task = get_task(claim.config.task)
        limit = self.settings.trial_time_limit
        next_status_check = 0.0

        def on_epoch(_trial: optuna.Trial, metrics: EpochMetrics) -> None:
            with self.db.session() as session:
                append_event(
                    session,
                    Event(
                        study_id=claim.study_id,
                        kind=EventKind.EPOCH,
                        trial_number=trial.number,
                        epoch=metrics.epoch,
                        train_loss=metrics.train_loss,
                        val_loss=metrics.val_loss,
                        val_accuracy=metrics.val_accuracy,
                        elapsed_s=metrics.elapsed_s,
                    ),
                )

        def should_stop() -> bool:
            nonlocal next_status_check
            if self.shutdown.is_set():
                raise WorkerShutdownError("worker shutting down")
            now = time.monotonic()
            if limit is not None and now - started > limit:
                raise TrialTimeLimitError(time_limit_message(limit))
            if now < next_status_check:  # a stop request waits at most STATUS_CHECK_S more
                return False
            next_status_check = now + STATUS_CHECK_S
            with self.db.session(write=False) as session:
                status = session.scalar(
                    select(StudyJob.status).where(StudyJob.study_id == claim.study_id)
                )
            return status is None or status in (JobStatus.STOPPING, JobStatus.STOPPED)

        objective = make_objective(
            task,
            claim.config.space,
            epochs=claim.config.resolved_epochs(),
            seed=claim.config.seed,
            device=self.settings.device,
            on_epoch=on_epoch,
            should_stop=should_stop,
        )
        heartbeat = _Heartbeat(self.storage, trial, self.settings.heartbeat_interval)
        if limit is not None:
            heartbeat.watch(started + limit + STUCK_GRACE_S, lambda: self._fail_stuck(claim, limit))
        heartbeat.start()
        state, value, reason = optuna.trial.TrialState.FAIL, None, None
        try:
            try:
                value = objective(trial)
                state = optuna.trial.TrialState.COMPLETE
            except optuna.TrialPruned as exc:
                state, reason = optuna.trial.TrialState.PRUNED, str(exc)
            except WorkerShutdownError:
                state, reason = optuna.trial.TrialState.FAIL, "worker shut down; retried"
            except Exception as exc:  # noqa: BLE001 - any task error fails this trial only
                reason = f"{type(exc).__name__}: {exc}"
                log.exception("trial %s of study %s failed", trial.number, claim.study_id)
                trial.set_user_attr(FAIL_REASON_ATTR, reason[:2000])
            finally:
                heartbeat.stop()
            frozen = claim.study.tell(trial, value, state=state)
            if reason == "worker shut down; retried":
                _retry_later(claim.study, frozen)
            value = frozen.value
        except Exception:  # noqa: BLE001 - the study may have been deleted meanwhile
            log.warning("could not record trial %s of study %s", trial.number, claim.study_id)
            self._studies.pop(claim.study_id, None)
            return
        self._record_finish(claim.study_id, trial.number, state.name, value, reason)

    def _fail_stuck(self, claim: Claim, limit: float) -> None:
        """Fail a trial stuck inside an epoch past its time limit, then hand over to `on_stuck`.

        Runs on the heartbeat thread while the training thread is stuck: Python cannot interrupt
        it, so the process has to be replaced. If the trial ended meanwhile, nothing happens.
        """
        trial = claim.trial
        reason = (
            f"{TrialTimeLimitError.__name__}: {time_limit_message(limit)} (stuck inside an epoch)"
        )
        try:
            self.storage.set_trial_user_attr(trial._trial_id, FAIL_REASON_ATTR, reason)  # noqa: SLF001
            self.storage.set_trial_state_values(
                trial._trial_id,  # noqa: SLF001
                state=optuna.trial.TrialState.FAIL,
            )
        except optuna.exceptions.UpdateFinishedTrialError:
            return  # it finished after all
        log.error("trial %s of study %s: %s", trial.number, claim.study_id, reason)
        self._record_finish(claim.study_id, trial.number, "FAIL", None, reason)
        if self.on_stuck is not None:
            self.on_stuck()

    def _record_finish(
        self, study_id: int, number: int, state: str, value: float | None, reason: str | None
    ) -> None:
        with self.db.session() as session:
            if get_job(session, study_id) is None:
                return
            append_event(
                session,
                Event(
                    study_id=study_id,
                    kind=EventKind.TRIAL_FINISHED,
                    trial_number=number,
                    state=state,
                    value=value,
                    message=reason,
                ),
            )

    def close(self) -> None:
        self.db.dispose()
        self.storage.engine.dispose()


class _Heartbeat:
    """Records the trial's heartbeat every `interval` seconds from a daemon thread, and calls a
    watchdog once if the trial is still running at its deadline (see `watch`)."""

    def __init__(self, storage: optuna.storages.RDBStorage, trial: optuna.Trial, interval: int):
        self._storage = storage
        self._trial_id = trial._trial_id  # noqa: SLF001 - Optuna's heartbeat API takes the id
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)
        self._deadline: float | None = None
        self._on_deadline: Callable[[], None] | None = None

    def watch(self, deadline: float, on_deadline: Callable[[], None]) -> None:
        """Call `on_deadline` from this thread once `time.monotonic()` passes `deadline`."""
        self._deadline, self._on_deadline = deadline, on_deadline

    def start(self) -> None:
        self._storage.record_heartbeat(self._trial_id)
        self._thread.start()

    def _beat(self) -> None:
        next_beat = time.monotonic() + self._interval
        while not self._stop.wait(min(self._interval, WATCHDOG_TICK_S)):
            now = time.monotonic()
            if self._deadline is not None and now > self._deadline and self._on_deadline:
                self._on_deadline()
                return  # the trial is failed: no more beats for it
            if now < next_beat:
                continue
            next_beat = now + self._interval
            try:
                self._storage.record_heartbeat(self._trial_id)
            except Exception:  # noqa: BLE001 - a missed beat is retried on the next tick
                log.warning("heartbeat failed for trial %s", self._trial_id)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


@contextlib.contextmanager
def _quiet_heartbeat_warnings() -> Iterator[None]:
    """Optuna warns at every `ask()` that heartbeats are "supposed to be used with
    Study.optimize", and that `fail_stale_trials` is experimental: the worker records its own
    heartbeats (_Heartbeat) and relies on that function knowingly, so the lines are noise."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Heartbeat of storage")
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        yield


def _retry_later(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
    """Re-enqueue a trial this worker gave up on, as Optuna does for a stale one."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.RetryHeartbeatStaleTrialCallback()(study, trial)


def _timed_out(job: StudyJob) -> bool:
    if job.timeout_s is None or job.started_at is None:
        return False
    return (utcnow() - job.started_at).total_seconds() > job.timeout_s


def run_worker(settings: Settings, *, parent_pid: int | None = None) -> None:
    """Entry point of `adamtune worker`: one thread of torch, clean exit on SIGTERM/SIGINT."""
    torch.set_num_threads(1)  # one core per worker: N workers use N cores without contention
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    worker = Worker(settings)
    worker.on_stuck = _restart_process
    threading.Thread(target=_import_task_dependencies, daemon=True).start()

    def _shutdown(signum: int, _frame: FrameType | None) -> None:
        worker.shutdown.set()

    signal.signal(signal.SIGTERM, _shutdown)
    signal.signal(signal.SIGINT, _shutdown)
    if parent_pid is not None:
        threading.Thread(
            target=_exit_with_parent, args=(parent_pid, worker.shutdown), daemon=True
        ).start()
    database = make_url(settings.database_url).render_as_string(hide_password=True)
    log.info("worker %s serving %s", worker.worker_id, database)  # logs must not hold passwords
    try:
        worker.run()
    finally:
        worker.close()


def _import_task_dependencies() -> None:
    """Import what the built-in tasks import lazily (scikit-learn: ~2.5 s), while the worker
    waits for work, so the first trial a user submits is not the slow one."""
    import sklearn.datasets  # noqa: F401
    import sklearn.model_selection  # noqa: F401


def _restart_process() -> None:
    """Replace this worker with a fresh one (same pid, same arguments): the only way to end a
    training step stuck in a thread. Descriptors are close-on-exec, so locks and connections go."""
    log.error("restarting the worker process to end the stuck trial")
    logging.shutdown()
    os.execv(sys.executable, sys.orig_argv)


def _exit_with_parent(parent_pid: int, shutdown: threading.Event) -> None:
    """Embedded workers end when the server that started them is gone, even after SIGKILL."""
    while not shutdown.wait(1.0):
        if os.getppid() != parent_pid:
            shutdown.set()
