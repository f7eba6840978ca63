"""Runners' report events appended in groups: one transaction, one append lock, one commit for
the reports that arrive together.

Why: on PostgreSQL every append takes the event log's advisory lock until its commit
(`app.event_log`: ids in commit order), so appends are serial; with 200 external runners each
report's own append (lock, insert, commit, and the GIL between each) capped the reports the API
could take, however many ran in parallel (docs/BENCHMARKS.md section 10). Here a request thread
queues its events and waits until a writer thread has committed them with whatever else was
queued meanwhile, so the answer still comes after its point is stored, as before; the lock and
the commit are shared. A group that fails to commit is retried one request at a time, so one
bad request (its study deleted meanwhile) fails alone.
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Future

from sqlalchemy.orm import make_transient

from app import event_log
from app.db import Database
from app.models import Event

MAX_GROUP = 64  # requests whose events one transaction appends at most


class EventBatcher:
    """Appends each request's events with those of the requests queued beside it."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._queue: queue.SimpleQueue[tuple[list[Event], Future[None]]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def append(self, events: list[Event]) -> None:
        """Store `events` (in order, in one transaction with others'); returns once committed,
        or raises what their commit raised."""
        if not events:
            return
        done: Future[None] = Future()
        self._queue.put((events, done))
        self._ensure_writer()
        done.result()

    def _ensure_writer(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="adamtune-event-batch", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            group = [self._queue.get()]
            while len(group) < MAX_GROUP:
                try:
                    group.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._write(group)

    def _write(self, group: list[tuple[list[Event], Future[None]]]) -> None:
        try:
            self._commit([event for events, _ in group for event in events])
        except Exception:  # noqa: BLE001 - each request is tried alone below
            for events, done in group:
                self._commit_alone(events, done)
            return
        for _, done in group:
            done.set_result(None)

    def _commit_alone(self, events: list[Event], done: Future[None]) -> None:
        """One request's events again, on their own (the group's transaction rolled back: they
        are made new, without the ids its flush gave them); the outcome goes to its request."""
        for event in events:
            make_transient(event)
            event.id = None  # type: ignore[assignment]
        try:
            self._commit(events)
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting request
            done.set_exception(exc)
        else:
            done.set_result(None)

    def _commit(self, events: list[Event]) -> None:
        with self._db.session() as session:
            event_log.append_events(session, events)
