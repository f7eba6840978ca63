"""Trials trained by the user's own code, anywhere, over HTTP: ask, report, heartbeat, tell.

The API is the only client of the database: a runner holds a lease (a random token for one
trial), not a connection, so the database's connections stay at the API's pool however many
runners there are, and several API processes can serve behind a load balancer (the claim lock
and Optuna's storage are in the database). The lifecycle is `optim.runner.TrialRunner`'s, as for
the built-in workers: exactly n_trials, a lease that stops beating is failed and its params are
asked again, a search's validation runs are handed out once it ends.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

import optuna
from sqlalchemy import select

from app import queries
from app.bookkeeping import (
    RunnerCache,
    ask_trial,
    record_claim,
    record_finish,
    stop_reason_in,
)
from app.config import Settings
from app.db import Database
from app.errors import DomainError
from app.event_batch import EventBatcher
from app.jobs import get_job, study_config
from app.models import (
    ACTIVE_STATUSES,
    VALIDATION_KINDS,
    Event,
    EventKind,
    JobKind,
    JobStatus,
    StudyJob,
)
from optim import optuna_internals as oi
from optim.attrs import LEASE_ATTR, RESERVED_ATTR, RUNNER_ATTR
from optim.runner import Lease, NoTrial, Outcome, StudyGoneError, TrialRunner
from optim.storage import AdamtuneStorage
from optim.study import StudyConfig
from optim.verdict import STOPPED_REASON, Verdict, judge


class RunnerError(DomainError):
    """A request a runner should not have made: `status` says which 4xx, the message why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status

    def detail(self) -> Any:
        if self.status == 422:  # bad input: shaped like FastAPI's own validation errors
            return [{"loc": ["body"], "msg": str(self), "type": "value_error"}]
        return str(self)


@dataclass(frozen=True)
class Handout:
    """What `ask` answers: a trial to train, or why there is none."""

    state: str  # "trial", "wait" (none now: retry after a while) or "done"
    lease: Lease | None = None
    token: str | None = None
    study_id: int | None = None  # the study the trial belongs to (a validation's, after a search)
    purpose: str = "search"  # or "validation": report the held-out metric as the value
    config: StudyConfig | None = None
    reason: str | None = None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ExternalTrials:
    """The trial runners of external studies in this API process, one per job uid."""

    def __init__(self, db: Database, storage: AdamtuneStorage, settings: Settings) -> None:
        self._db = db
        self._optuna_storage = storage
        self._settings = settings
        self._runners = RunnerCache(storage, grace_period=settings.grace_period)
        self._events = EventBatcher(db)

    # -- ask ------------------------------------------------------------------------------------
    def ask(self, job: StudyJob, host: str, *, ahead: bool = False) -> Handout:
        """The next trial of an external study (its validation's once its search ends);
        `ahead`: asked while the runner trains another, reserved until its first report."""
        if not study_config(job).is_external():
            raise RunnerError(409, "this study's trials are trained by the built-in workers")
        if job.status not in ACTIVE_STATUSES:
            validation = self._active_validation(job)
            if validation is not None:
                return self.ask(validation, host, ahead=ahead)
            return Handout("done", reason=f"the study is {job.status}")
        closing = job.status == JobStatus.STOPPING
        try:
            runner = self._runners.get(job)
            lease = ask_trial(self._db, self._optuna_storage, runner, job, closing=closing)
        except StudyGoneError:
            raise RunnerError(404, f"study {job.study_id} was deleted") from None
        if lease is NoTrial.BUSY:
            return Handout("wait", reason="every trial is taken and some still run")
        if lease is NoTrial.DONE:  # the job is finished: its validation may hand out runs
            with self._db.session(write=False) as session:
                current = get_job(session, job.study_id)
            return self.ask(current, host, ahead=ahead) if current is not None else Handout("done")
        token = secrets.token_urlsafe(24)
        self._optuna_storage.set_trial_user_attr(lease.trial_id, LEASE_ATTR, _digest(token))
        self._optuna_storage.set_trial_user_attr(lease.trial_id, RUNNER_ATTR, host)
        if ahead:
            self._optuna_storage.set_trial_user_attr(lease.trial_id, RESERVED_ATTR, True)
        if not record_claim(self._db, job, runner, lease, host, runner_host=host):
            raise RunnerError(404, f"study {job.study_id} was deleted")
        purpose = "validation" if job.kind in VALIDATION_KINDS else "search"
        return Handout("trial", lease, token, job.study_id, purpose, runner.config)

    def _active_validation(self, job: StudyJob) -> StudyJob | None:
        """The validation round that runs after `job`: a completed search's, or the next
        round of a validation (its confirmation)."""
        if job.kind == JobKind.SEARCH and job.status == JobStatus.COMPLETED:
            parent = job.study_id
        elif job.kind in VALIDATION_KINDS and job.parent_id is not None:
            parent = job.parent_id
        else:
            return None
        with self._db.session(write=False) as session:
            return session.scalar(
                select(StudyJob)
                .where(
                    StudyJob.parent_id == parent,
                    StudyJob.kind.in_(VALIDATION_KINDS),
                    StudyJob.status.in_(ACTIVE_STATUSES),
                )
                .order_by(StudyJob.study_id)
                .limit(1)
            )

    # -- while it trains ------------------------------------------------------------------------
    def _held(
        self, job: StudyJob, number: int, token: str
    ) -> tuple[TrialRunner, Lease, int, str | None]:
        """The runner and lease of trial `number`, if `token` holds it and it still runs; its
        last step, and why it should stop (`stop_reason`), read in the same transaction."""
        with self._db.session(write=False) as session:
            row = oi.held_trial(session, job.study_id, number, LEASE_ATTR)
            stop = stop_reason_in(session, job)
        if row is None:
            raise RunnerError(404, f"study {job.study_id} has no trial {number}")
        trial_id, state, held, last_step = row
        if not isinstance(held, str) or not secrets.compare_digest(held, _digest(token)):
            raise RunnerError(409, f"this lease does not hold trial {number}")
        if state != "RUNNING":
            raise RunnerError(
                409,
                f"trial {number} is {state}: it was told already, or failed as dead "
                "(no heartbeat within the grace period) and its params were asked again",
            )
        runner = self._runners.get(job)
        # what finishing and pruning need of a lease: its ids (the params are the trial's own)
        lease = Lease(job.study_id, trial_id, number, runner.config.baseline_params(), (), False)
        return runner, lease, -1 if last_step is None else int(last_step), stop

    def report(
        self,
        job: StudyJob,
        number: int,
        token: str,
        reports: list[tuple[int, float, dict[str, float]]],
    ) -> tuple[bool, bool]:
        """Record each (step, value, metrics) in order (a step already recorded changes nothing;
        one going back is refused, those before it kept); (prune, stop) after the last."""
        runner, lease, last, stop = self._held(job, number, token)
        self._optuna_storage.record_heartbeat(lease.trial_id)
        horizon = runner.config.resolved_epochs()
        events: list[Event] = []
        sent = -1  # the batch's previous step: within a batch steps only go forward
        kept: tuple[set[int], set[int]] | None = None  # (steps kept, steps with a point)
        try:
            for step, value, metrics in reports:
                if step > horizon:
                    raise RunnerError(422, _past_horizon(step, horizon))
                if step <= last:  # sent again: kept already, or going back
                    kept = kept or self._kept(job, lease.trial_id, number)
                    if step < sent or step not in kept[0]:
                        raise RunnerError(
                            422, f"step {step} goes back: trial {number} reported step {last}"
                        )
                    if step not in kept[1]:  # its process died between the value and the point
                        events.append(_epoch_event(job.study_id, number, step, value, metrics))
                        kept[1].add(step)
                    sent = step
                    continue
                try:
                    self._optuna_storage.set_trial_intermediate_value(lease.trial_id, step, value)
                except optuna.exceptions.UpdateFinishedTrialError:  # failed as dead meanwhile
                    raise RunnerError(409, _ended_meanwhile(number)) from None
                events.append(_epoch_event(job.study_id, number, step, value, metrics))
                last = sent = step
        finally:
            self._events.append(events)  # with the reports of other runners, one commit
        trial = runner.trial(lease) if runner.prunes else None
        decision = judge(trial, last, horizon, stop)
        return decision.verdict is Verdict.PRUNE, decision.verdict is Verdict.STOP

    def _kept(self, job: StudyJob, trial_id: int, number: int) -> tuple[set[int], set[int]]:
        """(steps whose value is kept, steps with a point on the live curves) of a trial. Why
        both: a process killed between writing a value and its event (two transactions) leaves
        a step without its point; the runner, never answered, sends the same reports again."""
        with self._db.session(write=False) as session:
            return (
                oi.kept_steps(session, trial_id),
                queries.epochs_with_points(session, job.study_id, number),
            )

    def heartbeat(self, job: StudyJob, number: int, token: str) -> bool:
        """Keep the lease; whether a stop was asked."""
        _, lease, _, stop = self._held(job, number, token)
        self._optuna_storage.record_heartbeat(lease.trial_id)
        return stop is not None

    def tell(
        self,
        job: StudyJob,
        number: int,
        token: str,
        state: str,
        value: float | None,
        reason: str | None,
        metrics: dict[str, float] | None,
    ) -> optuna.trial.FrozenTrial | None:
        """End the trial: complete (its value), pruned, or failed (its params asked again by
        another runner, up to a few times)."""
        runner, lease, _, _ = self._held(job, number, token)
        if state == "complete":
            if value is None:
                raise RunnerError(422, "a complete trial needs its value")
            outcome = Outcome.complete(value, dict(metrics or {}))
        elif state == "pruned":
            outcome = Outcome.pruned(reason or "pruned by the runner", value)
        elif state == "stopped":  # it asked, or heard from a report, that the study stops
            outcome = Outcome.interrupted(reason or STOPPED_REASON)
        else:  # failed: the runner's code raised, or it was interrupted (Ctrl-C)
            outcome = Outcome.crashed(reason or "the runner failed")
        try:
            frozen = runner.finish(lease, outcome)
        except StudyGoneError:
            raise RunnerError(404, f"study {job.study_id} was deleted") from None
        if frozen is not None:
            record_finish(self._db, job, frozen, outcome.reason)
        return frozen


def _epoch_event(
    study_id: int, number: int, step: int, value: float, metrics: dict[str, float]
) -> Event:
    """A report as the live curves show it: the value as validation loss, a reported accuracy
    and train loss where given, every metric in the payload."""
    return Event(
        study_id=study_id,
        kind=EventKind.EPOCH,
        trial_number=number,
        epoch=step,
        val_loss=value,
        val_accuracy=metrics.get("accuracy", metrics.get("val_accuracy")),
        train_loss=metrics.get("train_loss"),
        payload={"metrics": metrics} if metrics else None,
    )


def _past_horizon(step: int, horizon: int) -> str:
    return (
        f"step {step} is past the study's horizon: its epochs is {horizon}, so steps run from "
        f"0 to {horizon}"
    )


def _ended_meanwhile(number: int) -> str:
    return (
        f"trial {number} ended meanwhile: failed as dead (no heartbeat within the grace "
        "period) and its params asked again"
    )
