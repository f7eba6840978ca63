"""A worker: a loop around `optim.runner.TrialRunner` over the studies adamtune launched.

Find the oldest study with room, take one trial through its runner, train it with a heartbeat,
tell the runner how it ended, write the live events, repeat. Workers share nothing but the
database, so any number of them on any number of machines can serve the same studies (Optuna's
RDB storage is the distributed mode); a trial of a worker that dies is failed by the next
runner that asks and its params run again.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from select import select as wait_readable
from types import FrameType

import optuna
import torch
from optuna.exceptions import StorageInternalError
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError

from app import process_start
from app.bookkeeping import (
    RunnerCache,
    ask_trial,
    record_claim,
    record_epoch,
    record_finish,
    stop_reason,
)
from app.config import Settings
from app.db import Database, DatabaseUnavailableError
from app.models import ACTIVE_STATUSES, JobStatus, StudyJob, utcnow
from app.queries import state_counts
from optim.attrs import DEVICE_ATTR
from optim.heartbeat import Heartbeat
from optim.objective import train_lease
from optim.runner import Lease, Outcome, StudyGoneError, TrialRunner
from optim.storage import make_storage
from optim.study import EXTERNAL_TASK
from optim.tasks import get_task
from optim.tasks.base import EpochMetrics, Task
from optim.training import make_deterministic, resolve_device, warm_up

log = logging.getLogger("adamtune.worker")

DB_RETRY_S = 5.0
STATUS_CHECK_S = 1.0  # how often a running trial looks for a stop request (between epochs)
STUCK_GRACE_S = 5.0  # past the time limit, a trial still inside its epoch is declared stuck
SHUTDOWN_REASON = "worker shut down: re-run with the same params"


def time_limit_message(limit: float) -> str:
    return f"trial exceeded its time limit of {limit:g} s"


class TrialTimeLimitError(Exception):
    """The trial ran past the configured per-trial time limit."""


@dataclass
class Claim:
    job: StudyJob
    runner: TrialRunner
    lease: Lease


class Worker:
    """One worker process's state: its database handles and a runner per study it serves."""

    def __init__(
        self, settings: Settings, worker_id: str | None = None, *, parent_pid: int | None = None
    ) -> None:
        self.settings = settings
        # an embedded worker's server: once it is gone (even SIGKILLed), claim nothing more
        self.parent_pid = parent_pid
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}"
        # resolved once: a worker asked for a GPU that is not there fails before it claims
        self.device = resolve_device(settings.device)
        self.db = Database.open(settings.database_url)
        self.storage = make_storage(
            settings.database_url,
            heartbeat_interval=settings.heartbeat_interval,
            grace_period=settings.grace_period,
        )
        self.shutdown = threading.Event()
        self._runners = RunnerCache(self.storage, grace_period=settings.grace_period)
        # called after a trial stuck inside an epoch is failed: `run_worker` replaces the
        # process (nothing else can end the epoch)
        self.on_stuck: Callable[[], None] | None = None
        # serve only these studies and their validation rounds (`adamtune tune`, `compare`);
        # None: every study
        self.scope: frozenset[int] | None = None
        # readable descriptors that end an idle wait at once: the server's doorbell (a study was
        # created or resumed) and the signal wake-up pipe (`run_worker`); none: poll only
        self.bells: list[int] = []

    def run(self) -> None:
        """Serve studies until shut down (or until the server that started it is gone)."""
        while not self.shutdown.is_set():
            if self.orphaned():
                self.shutdown.set()
                break
            try:
                claim = self.claim()
            except (DatabaseUnavailableError, OperationalError, StorageInternalError) as exc:
                # the database restarted or is full: keep the worker, look again shortly
                log.warning("database unavailable, retrying in %s s: %s", DB_RETRY_S, exc)
                self._runners.clear()
                self.shutdown.wait(DB_RETRY_S)
                continue
            if claim is None:
                self.idle()
                continue
            self.run_trial(claim)

    def idle(self) -> None:
        """Wait before the next look for work: `poll_interval`, or until a bell rings (the
        server has queued work, a signal came). A worker that finished a trial does not wait."""
        if not self.bells:
            self.shutdown.wait(self.settings.poll_interval)
            return
        ready, _, _ = wait_readable(self.bells, [], [], self.settings.poll_interval)
        for fd in ready:
            try:
                rung = os.read(fd, 4096)  # every ring so far: one look answers them all
            except BlockingIOError:
                continue
            except OSError:
                rung = b""
            if not rung:  # closed (the server is gone): poll from now on
                self.bells.remove(fd)

    def orphaned(self) -> bool:
        """The server that started this worker is gone: the worker was handed to another
        parent (a dead parent's children are re-parented at once, before it is reaped)."""
        return self.parent_pid is not None and os.getppid() != self.parent_pid

    # -- claiming ---------------------------------------------------------------------------
    def active_jobs(self) -> list[StudyJob]:
        """The studies with trials to train, oldest first (within the scope, if one is set)."""
        query = (
            select(StudyJob)
            .where(StudyJob.status.in_(ACTIVE_STATUSES), StudyJob.task != EXTERNAL_TASK)
            .order_by(StudyJob.created_at)
        )
        if self.scope is not None:
            query = query.where(
                StudyJob.study_id.in_(self.scope) | StudyJob.parent_id.in_(self.scope)
            )
        with self.db.session(write=False) as session:
            return list(session.scalars(query))

    def claim(self) -> Claim | None:
        """One trial of the oldest study that has room; mark studies that are over as such."""
        jobs = self.active_jobs()
        with self.db.session(write=False) as session:
            counts = state_counts(session, [job.study_id for job in jobs if job.comparison_id])
        self._runners.keep_only({job.uid for job in jobs})  # deleted or finished: forget it
        started = {  # trials taken out so far (a waiting one has not started)
            study_id: sum(by_state.values()) - by_state.get("WAITING", 0)
            for study_id, by_state in counts.items()
        }
        for job in claim_order(jobs, started):
            claim = self._claim_in(job)
            if claim is not None:
                return claim
        return None

    def _claim_in(self, job: StudyJob) -> Claim | None:
        try:
            runner = self._runners.get(job)
            closing = job.status == JobStatus.STOPPING or _timed_out(job)
            lease = ask_trial(self.db, self.storage, runner, job, closing=closing)
        except StudyGoneError:  # deleted between listing and asking
            self._runners.forget(job.uid)
            return None
        if not isinstance(lease, Lease):  # DONE (the job is finished) or BUSY
            return None
        if not record_claim(self.db, job, runner, lease, self.worker_id):
            return None  # deleted while we asked: its trials went with it
        try:  # the trials table shows where each built-in trial trains
            self.storage.set_trial_user_attr(lease.trial_id, DEVICE_ATTR, str(self.device))
        except KeyError:
            return None  # deleted since: its trials went with it
        return Claim(job, runner, lease)

    # -- running ----------------------------------------------------------------------------
    def run_trial(self, claim: Claim) -> None:
        """Train one claimed trial with heartbeats; tell the runner how it ended."""
        job, runner, lease = claim.job, claim.runner, claim.lease
        task = get_task(runner.config.task)
        limit = self.settings.trial_time_limit
        next_status_check = 0.0

        def on_epoch(metrics: EpochMetrics) -> None:
            record_epoch(self.db, job, lease.number, metrics)

        def interrupt() -> str | None:
            nonlocal next_status_check
            if self.shutdown.is_set() or self.orphaned():
                return SHUTDOWN_REASON
            now = time.monotonic()
            if limit is not None and now - started > limit:
                raise TrialTimeLimitError(time_limit_message(limit))
            if now < next_status_check:  # a stop request waits at most STATUS_CHECK_S more
                return None
            next_status_check = now + STATUS_CHECK_S
            return stop_reason(self.db, job)

        heartbeat = Heartbeat(self.storage, lease.trial_id, self.settings.heartbeat_interval)
        try:
            with heartbeat:
                # under the heartbeat (loading a task's data can outlast the grace period, and
                # another runner would fail the trial as dead), before the clock: the first
                # trial's time limit and duration are its own
                self._prepare(task)
                started = time.monotonic()
                if limit is not None:
                    deadline = started + limit + STUCK_GRACE_S
                    heartbeat.watch(deadline, lambda: self._fail_stuck(claim, limit))
                outcome = train_lease(
                    runner,
                    lease,
                    task,
                    epochs=runner.config.resolved_epochs(),
                    device=str(self.device),
                    on_epoch=on_epoch,
                    interrupt=interrupt,
                )
            frozen = runner.finish(lease, outcome)
        except (StudyGoneError, IntegrityError):
            log.info("study %s was deleted during trial %s", job.study_id, lease.number)
            self._runners.forget(job.uid)
            return
        if frozen is not None:
            record_finish(self.db, job, frozen, outcome.reason)

    @staticmethod
    def _prepare(task: Task) -> None:
        """The task's one-time loading (`Task.prepare`); if it fails, its build fails the trial
        with the error, if it recurs."""
        try:
            task.prepare()
        except Exception:  # noqa: BLE001 - see above
            log.exception("task %s could not prepare its data", task.name)

    def _fail_stuck(self, claim: Claim, limit: float) -> None:
        """Fail a trial stuck inside an epoch past its time limit, then restart the process.

        Runs on the heartbeat thread while the training thread is stuck: Python cannot interrupt
        it, so the process has to be replaced. If the trial ended meanwhile, nothing happens.
        """
        reason = (
            f"{TrialTimeLimitError.__name__}: {time_limit_message(limit)} (stuck inside an epoch)"
        )
        outcome = Outcome.failed(reason)
        frozen = claim.runner.finish(claim.lease, outcome)
        if frozen is None:
            return  # it finished after all
        log.error("trial %s of study %s: %s", claim.lease.number, claim.job.study_id, reason)
        record_finish(self.db, claim.job, frozen, outcome.reason)
        if self.on_stuck is not None:
            self.on_stuck()

    def close(self) -> None:
        self.db.dispose()
        self.storage.engine.dispose()


def claim_order(jobs: Sequence[StudyJob], started: dict[int, int]) -> list[StudyJob]:
    """Oldest first, but the studies of one comparison take turns: the one with the fewest
    trials started goes first, so a comparison stopped at any point has spent about the same
    budget on each optimizer."""
    groups: dict[tuple[str, int], list[StudyJob]] = {}
    for job in jobs:  # a group sits where its oldest study sits
        key = ("comparison", job.comparison_id) if job.comparison_id else ("study", job.study_id)
        groups.setdefault(key, []).append(job)
    order: list[StudyJob] = []
    for members in groups.values():
        order.extend(sorted(members, key=lambda j: (started.get(j.study_id, 0), j.created_at)))
    return order


def _timed_out(job: StudyJob) -> bool:
    if job.timeout_s is None or job.started_at is None:
        return False
    return (utcnow() - job.started_at).total_seconds() > job.timeout_s


def run_worker(settings: Settings, *, parent_pid: int | None = None) -> None:
    """Entry point of `adamtune worker`: one thread of torch, clean exit on SIGTERM/SIGINT."""
    shutdown = threading.Event()
    signalled: list[int] = []

    def _shutdown(signum: int, _frame: FrameType | None) -> None:
        # a second signal can run this handler again while the first is inside Event.set,
        # holding its non-reentrant lock: that one returns at once instead of deadlocking
        if signalled:
            return
        signalled.append(signum)
        shutdown.set()

    signal.signal(signal.SIGTERM, _shutdown)
    signal.signal(signal.SIGINT, _shutdown)
    if parent_pid is not None:
        # first line: the kernel sends SIGTERM when the server dies (Linux); then the pid check,
        # which also covers a server that died before this process got here (while it imported
        # torch): it claims nothing then
        _term_on_parent_death()
        if os.getppid() != parent_pid:
            log.warning("the server (pid %s) is gone: the worker exits", parent_pid)
            return
    torch.set_num_threads(1)  # one core per worker: N workers use N cores without contention
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        make_deterministic(resolve_device(settings.device))
        worker = Worker(settings, parent_pid=parent_pid)
    except ValueError as exc:  # a device that is not there: say so, claim nothing
        raise SystemExit(f"adamtune worker: {exc}") from None
    worker.shutdown = shutdown
    worker.on_stuck = _restart_process
    worker.bells = _bells(listen_to_server=parent_pid is not None)
    warm_up()
    process_start.started()  # `adamtune worker` paused the garbage collector for its start
    if parent_pid is not None:
        threading.Thread(target=_exit_with_parent, args=(worker,), daemon=True).start()
    database = make_url(settings.database_url).render_as_string(hide_password=True)
    log.info("worker %s serving %s", worker.worker_id, database)  # logs must not hold passwords
    try:
        worker.run()
    finally:
        worker.close()


def _bells(*, listen_to_server: bool) -> list[int]:
    """The descriptors that end the worker's idle wait: a pipe that every signal writes to
    (SIGTERM is then handled at once, not after the poll interval) and, for an embedded
    worker, its stdin, on which `adamtune serve` rings when it queues work (`app.doorbell`)."""
    bells = []
    read, write = os.pipe()
    os.set_blocking(read, False)
    os.set_blocking(write, False)
    try:
        signal.set_wakeup_fd(write, warn_on_full_buffer=False)
        bells.append(read)
    except ValueError:  # not the main thread: signals still set `shutdown`, seen at the next poll
        os.close(read)
        os.close(write)
    if listen_to_server and sys.stdin is not None and not sys.stdin.isatty():
        bells.append(sys.stdin.fileno())
    return bells


def _restart_process() -> None:
    """Replace this worker with a fresh one (same pid, same arguments): the only way to end a
    training step stuck in a thread. Descriptors are close-on-exec, so locks and connections go."""
    log.error("restarting the worker process to end the stuck trial")
    logging.shutdown()
    os.execv(sys.executable, sys.orig_argv)


def _exit_with_parent(worker: Worker) -> None:
    """Embedded workers end when the server that started them is gone, even after SIGKILL:
    this notices it during a trial (the loop checks before each claim)."""
    while not worker.shutdown.wait(1.0):
        if worker.orphaned():
            worker.shutdown.set()


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _term_on_parent_death() -> None:
    """Ask Linux for SIGTERM when the parent dies (prctl PR_SET_PDEATHSIG); elsewhere, or if
    libc will not say, the parent pid checks do it alone."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - a libc without prctl
        return
