"""Appending events so that their ids grow in commit order, which cursor readers rely on.

A reader that has seen id N never asks for ids below N again. On SQLite writes are serialised,
so ids are committed in order. On PostgreSQL two transactions can take ids 100 and 101 and
commit 101 first: a reader in between would skip 100 for good. A transaction-scoped advisory
lock around each append keeps id order and commit order the same (appends are a few per second
and hold the lock for one insert).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from app.models import Event, EventKind
from optim.tasks.base import EpochMetrics

APPEND_LOCK = (0x4144, 0)  # (namespace, key): "AD" as in app.claims, key 0 for the event log


def append_event(session: Session, event: Event) -> None:
    """Add `event` in the session's transaction, taking the append lock on PostgreSQL."""
    append_events(session, [event])


def append_events(session: Session, events: list[Event]) -> None:
    """Add `events`, in order, in the session's transaction, taking the append lock once."""
    _lock_appends(session, session.get_bind().dialect.name)
    session.add_all(events)


def insert_event(conn: Connection, event: Event) -> None:
    """`append_event` as one Core INSERT in the connection's transaction: a worker writes one
    event per epoch, and the ORM's unit of work cost more than the statement itself."""
    _lock_appends(conn, conn.dialect.name)
    row = {c.key: getattr(event, c.key) for c in Event.__table__.columns if c.key != "id"}
    conn.execute(insert(Event), row)


def _lock_appends(executor: Session | Connection, dialect: str) -> None:
    """The append lock, until the transaction ends (PostgreSQL; SQLite serialises writes)."""
    if dialect == "postgresql":
        executor.execute(text("SELECT pg_advisory_xact_lock(:ns, :key)"),
                         {"ns": APPEND_LOCK[0], "key": APPEND_LOCK[1]})  # fmt: skip


def trial_started(
    study_id: int, number: int, params: Mapping[str, float | str], **extra: Any
) -> Event:
    return Event(
        study_id=study_id,
        kind=EventKind.TRIAL_STARTED,
        trial_number=number,
        payload={"params": params, **extra},
    )


def epoch_finished(study_id: int, number: int, metrics: EpochMetrics) -> Event:
    return Event(
        study_id=study_id,
        kind=EventKind.EPOCH,
        trial_number=number,
        epoch=metrics.epoch,
        train_loss=metrics.train_loss,
        val_loss=metrics.val_loss,
        val_accuracy=metrics.val_accuracy,
        elapsed_s=metrics.elapsed_s,
    )


def trial_finished(
    study_id: int, number: int, state: str, value: float | None, reason: str | None
) -> Event:
    return Event(
        study_id=study_id,
        kind=EventKind.TRIAL_FINISHED,
        trial_number=number,
        state=state,
        value=value,
        message=reason,
    )
