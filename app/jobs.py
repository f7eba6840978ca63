"""Study lifecycle writes: create, stop, resume, delete. The database is the only channel to
workers, so each action is a row change that workers notice on their next look. And the one
reader of a job's config (`study_config`)."""

from __future__ import annotations

import optuna
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import Database
from app.errors import DomainError, FieldError
from app.event_log import append_event
from app.models import ACTIVE_STATUSES, Event, EventKind, JobStatus, StudyJob, utcnow
from app.queries import active_job_count, state_counts
from app.schemas import StudyCreate
from optim.optuna_internals import study_id_of
from optim.study import StudyConfig, create_study


def study_config(job: StudyJob) -> StudyConfig:
    """The job's study config, parsed from `adamtune_jobs.config`: the source of a config for
    every study with a job (the copy in Optuna's study attribute is for code without one, see
    `optim.study.load_study`). Defaults of fields a stored config lacks are StudyConfig's."""
    return StudyConfig.model_validate(job.config)


class ConflictError(DomainError):
    """The action does not fit the study's current state (HTTP 409)."""

    status = 409


class LimitError(FieldError, ValueError):
    """A configured limit would be exceeded; `field` names the offending input (HTTP 422)."""

    kind = "limit_exceeded"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.loc = ("body", field)


def check_limits(payload: StudyCreate, settings: Settings) -> None:
    if payload.n_trials > settings.max_trials:
        raise LimitError(
            "n_trials",
            f"n_trials may be at most {settings.max_trials} (ADAMTUNE_MAX_TRIALS)",
        )
    epochs = payload.to_config().resolved_epochs()
    if epochs > settings.max_epochs:
        raise LimitError(
            "epochs", f"epochs may be at most {settings.max_epochs} (ADAMTUNE_MAX_EPOCHS)"
        )


def default_name(payload: StudyCreate) -> str:
    return f"{payload.task}-{utcnow():%Y%m%d-%H%M%S-%f}"


def create_job(
    db: Database,
    storage: optuna.storages.BaseStorage,
    payload: StudyCreate,
    settings: Settings,
    *,
    comparison_id: int | None = None,
) -> int:
    """Create the Optuna study and its job row; returns the study id.

    If any step after the study's creation fails (its config, its baseline trial, the job row),
    the Optuna study is deleted again, so no half-made study is left behind.
    """
    check_limits(payload, settings)
    with db.session(write=False) as session:
        if active_job_count(session) >= settings.max_concurrent_studies:
            raise ConflictError(
                f"{settings.max_concurrent_studies} studies are already queued or running "
                "(ADAMTUNE_MAX_CONCURRENT_STUDIES); stop one or wait"
            )
    name = payload.name or default_name(payload)
    try:
        study = create_study(payload.to_config(), storage, name)
    except optuna.exceptions.DuplicatedStudyError:
        raise ConflictError(f"a study named {name!r} already exists") from None
    except BaseException:
        # a later step (config attribute, baseline trial) failed: undo the steps that were made
        _discard_study(storage, name)
        raise
    study_id = study_id_of(study)  # Optuna's id is the public one
    try:
        with db.session() as session:
            session.add(
                StudyJob(
                    study_id=study_id,
                    study_name=name,
                    task=payload.task,
                    config=payload.to_config().model_dump(mode="json"),
                    n_trials=payload.n_trials,
                    timeout_s=payload.timeout_s,
                    parallelism=payload.parallelism,
                    status=JobStatus.QUEUED,
                    comparison_id=comparison_id,
                )
            )
            session.flush()  # the job row first: events reference it
            add_status_event(session, study_id, JobStatus.QUEUED)
    except BaseException:
        _discard_study(storage, name)
        raise
    return study_id


def _discard_study(storage: optuna.storages.BaseStorage, name: str) -> None:
    """Delete the study `name` if it exists; best effort, for undoing a half-made study."""
    try:
        optuna.delete_study(study_name=name, storage=storage)
    except Exception:  # noqa: BLE001 - not created at all, or the database is still failing
        return


def add_status_event(
    session: Session, study_id: int, status: str, message: str | None = None
) -> None:
    append_event(
        session,
        Event(study_id=study_id, kind=EventKind.STUDY_STATUS, state=status, message=message),
    )


def set_status(session: Session, job: StudyJob, status: str, error: str | None = None) -> None:
    """Change a job's status, stamp the times, and tell SSE readers."""
    job.status = status
    now = utcnow()
    if status == JobStatus.RUNNING and job.started_at is None:
        job.started_at = now
    if status in (JobStatus.COMPLETED, JobStatus.STOPPED, JobStatus.FAILED):
        job.finished_at = now
    elif status in (JobStatus.QUEUED, JobStatus.RUNNING):
        job.finished_at = None
    if error is not None:
        job.error = error
    add_status_event(session, job.study_id, status, error)


def get_job(session: Session, study_id: int) -> StudyJob | None:
    return session.scalar(select(StudyJob).where(StudyJob.study_id == study_id))


def stop_job(db: Database, study_id: int) -> None:
    """Queued jobs stop at once; running ones go to `stopping` until their trials end. A
    study's running validation stops with it (a completed study stops its validation)."""
    with db.session() as session:
        job = _require_job(session, study_id)
        children = session.scalars(
            select(StudyJob).where(
                StudyJob.parent_id == study_id, StudyJob.status.in_(ACTIVE_STATUSES)
            )
        ).all()
        for child in children:
            _stop(session, child)
        if job.status in ACTIVE_STATUSES or not children:
            _stop(session, job)


def _stop(session: Session, job: StudyJob) -> None:
    if job.status == JobStatus.QUEUED:
        set_status(session, job, JobStatus.STOPPED)
    elif job.status == JobStatus.RUNNING:
        set_status(session, job, JobStatus.STOPPING)
        settle_stop(session, job)
    elif job.status not in (JobStatus.STOPPING, JobStatus.STOPPED):
        raise ConflictError(f"study is {job.status}; only queued or running studies stop")


def settle_stop(session: Session, job: StudyJob) -> None:
    """A stopping study with no trial running is stopped now: an external study's runners may
    never ask again to find out (a trial a worker claims meanwhile hears the stop and is
    re-run on resume)."""
    if job.status != JobStatus.STOPPING:
        return
    running = state_counts(session, [job.study_id])[job.study_id].get("RUNNING", 0)
    if running == 0:
        set_status(session, job, JobStatus.STOPPED)


def resume_job(db: Database, study_id: int) -> None:
    """A stopped or failed study is queued again; a stopping one runs on (its running trials
    stop no more)."""
    with db.session() as session:
        job = _require_job(session, study_id)
        if job.status == JobStatus.STOPPING:
            set_status(session, job, JobStatus.RUNNING)
            return
        if job.status not in (JobStatus.STOPPED, JobStatus.FAILED):
            raise ConflictError(
                f"study is {job.status}; only stopped, stopping or failed studies resume"
            )
        job.error = None
        set_status(session, job, JobStatus.QUEUED)


def delete_job(
    db: Database, storage: optuna.storages.BaseStorage, study_id: int, name: str
) -> None:
    """Remove the job (workers notice and abandon its trials), its events, then the study;
    its validations go with it."""
    with db.session() as session:
        children = session.execute(
            select(StudyJob.study_id, StudyJob.study_name).where(StudyJob.parent_id == study_id)
        ).all()
    for child_id, child_name in children:
        delete_job(db, storage, child_id, child_name)
    with db.session() as session:
        job = get_job(session, study_id)
        if job is not None:
            session.execute(delete(Event).where(Event.study_id == study_id))
            session.delete(job)
    optuna.delete_study(study_name=name, storage=storage)


def _require_job(session: Session, study_id: int) -> StudyJob:
    job = get_job(session, study_id)
    if job is None:
        raise ConflictError("this study was not launched by adamtune and is read-only")
    return job
