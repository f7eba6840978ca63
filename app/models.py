"""adamtune's own tables, beside Optuna's in the same database.

Optuna owns the search (trials, params, states, values). adamtune owns the job (the config as
submitted, status, timestamps, error) and the live events: one row per epoch and per trial or
study change, with an increasing id that readers use as a cursor.

The schema changes only through Alembic (`app/migrations/`): a change here needs a revision.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class JobStatus(StrEnum):
    """A study job's lifecycle; workers take trials from QUEUED and RUNNING jobs only."""

    QUEUED = "queued"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    COMPLETED = "completed"
    FAILED = "failed"


ACTIVE_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.STOPPING)


class JobKind(StrEnum):
    """What a job's trials are: a search's proposals, or a validation round's fixed runs."""

    SEARCH = "search"
    VALIDATION = "validation"  # retrains the parent search's best configs on fresh seeds
    CONFIRMATION = "confirmation"  # retrains a validation's pick and the defaults on other seeds


VALIDATION_KINDS = (JobKind.VALIDATION, JobKind.CONFIRMATION)  # runs of fixed configs


def new_uid() -> str:
    return uuid.uuid4().hex


class StudyJob(Base):
    """A study launched through adamtune; `study_id` is Optuna's, and the public id."""

    __tablename__ = "adamtune_jobs"
    __table_args__ = (UniqueConstraint("uid", name="uq_adamtune_jobs_uid"),)

    study_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    # what a worker keys its cache of the study on: a new study never has an old one's uid,
    # even where a database gave it the old one's id
    uid: Mapped[str] = mapped_column(String(32), default=new_uid)
    study_name: Mapped[str] = mapped_column(String(512), unique=True)
    task: Mapped[str] = mapped_column(String(128))
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    n_trials: Mapped[int] = mapped_column(Integer)
    timeout_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    parallelism: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_worker: Mapped[str | None] = mapped_column(String(255), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    kind: Mapped[str] = mapped_column(String(16), default=JobKind.SEARCH, server_default="search")
    # a validation's search (not a foreign key: a search and its validations go together)
    parent_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    comparison_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)


class Comparison(Base):
    """Studies of several optimizer families on one task, under the same budget and seeds; its
    studies are the jobs with its `comparison_id`."""

    __tablename__ = "adamtune_comparisons"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(512), unique=True)
    task: Mapped[str] = mapped_column(String(128))
    config: Mapped[dict[str, Any]] = mapped_column(JSON)  # the ComparisonCreate as submitted
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EventKind(StrEnum):
    TRIAL_STARTED = "trial_started"
    EPOCH = "epoch"
    TRIAL_FINISHED = "trial_finished"
    STUDY_STATUS = "study_status"


class Event(Base):
    """One thing that happened in a study; `id` is the cursor of curves and SSE."""

    __tablename__ = "adamtune_events"
    __table_args__ = (
        Index("ix_adamtune_events_study_kind_id", "study_id", "kind", "id"),
        Index("ix_adamtune_events_study_trial", "study_id", "trial_number"),
        Index("ix_adamtune_events_study_id", "study_id", "id"),  # a study's newest event
        {"sqlite_autoincrement": True},  # ids are cursors: never reused after a delete
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("adamtune_jobs.study_id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    trial_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    epoch: Mapped[int | None] = mapped_column(Integer, nullable=True)
    train_loss: Mapped[float | None] = mapped_column(Float, nullable=True)
    val_loss: Mapped[float | None] = mapped_column(Float, nullable=True)
    val_accuracy: Mapped[float | None] = mapped_column(Float, nullable=True)
    elapsed_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    state: Mapped[str | None] = mapped_column(String(16), nullable=True)
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
