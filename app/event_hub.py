"""Live events of a study, polled from the database once per study, fanned out to its streams.

Why: each SSE stream used to poll the database itself, five times a second; a hundred browsers
on one study were five hundred queries a second, and under a burst of reads they queued for the
same connections as everything else. Here one feed per watched study polls (through its own
two-thread limiter, so it never competes for the request threads), keeps the newest events in a
bounded buffer, and wakes every stream of that study. A stream that resumes from further back
than the buffer (an old `Last-Event-ID`) reads its backlog from the database in pages first.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import anyio
import anyio.to_thread

from app.db import Database
from app.models import Event
from app.queries import events_after, latest_event_id

BUFFER_EVENTS = 2000  # per study; a minute or more of epochs at the rates workers write
PAGE = 1000
POLL_THREADS = anyio.CapacityLimiter(2)  # database polls of all feeds, apart from requests

Formatter = Callable[[Event], str]
OnFinished = Callable[[int], None]  # a trial of this study finished (figures warm up)


@dataclass
class _Feed:
    """One study's poller: the events after `floor`, newest last, and who waits for them."""

    floor: int  # every event with an id above this is in `events` (until the buffer drops it)
    events: collections.deque[tuple[int, str]] = field(
        default_factory=lambda: collections.deque(maxlen=BUFFER_EVENTS)
    )
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    streams: int = 0
    task: asyncio.Task[None] | None = None

    @property
    def cursor(self) -> int:
        return self.events[-1][0] if self.events else self.floor

    def append(self, batch: list[tuple[int, str]]) -> None:
        for item in batch:
            if len(self.events) == self.events.maxlen:
                self.floor = self.events[0][0]
            self.events.append(item)
        self.changed.set()
        self.changed = asyncio.Event()


class EventHub:
    """The feeds of the studies someone watches; a feed stops when its last stream ends."""

    def __init__(
        self,
        db: Database,
        poll_interval: float,
        format_event: Formatter,
        on_trial_finished: OnFinished | None = None,
    ) -> None:
        self._db = db
        self._poll_interval = poll_interval
        self._format = format_event
        self._on_trial_finished = on_trial_finished
        self._feeds: dict[int, _Feed] = {}
        self._polls: set[asyncio.Task[None]] = set()  # running or cancelled, until they end

    async def stream(self, study_id: int, after: int, keepalive_s: float) -> AsyncIterator[str]:
        """SSE text of the study's events after `after`, as they come; an empty string after
        `keepalive_s` of silence (the caller sends a comment line)."""
        feed = await self._join(study_id)
        try:
            cursor = after
            while True:
                if cursor < feed.floor:  # behind the buffer: catch up from the database
                    page = await self._fetch(study_id, cursor, PAGE)
                    for event_id, text in page:
                        cursor = event_id
                        yield text
                    if len(page) < PAGE and cursor < feed.floor:
                        cursor = feed.floor  # nothing more down there (deleted, or other kinds)
                    continue
                fresh = [(i, t) for i, t in feed.events if i > cursor]
                for event_id, text in fresh:
                    cursor = event_id
                    yield text
                if fresh:
                    continue
                changed = feed.changed
                with anyio.move_on_after(keepalive_s):
                    await changed.wait()
                if not changed.is_set():
                    yield ""
        finally:
            self._leave(study_id, feed)

    async def _join(self, study_id: int) -> _Feed:
        feed = self._feeds.get(study_id)
        if feed is None:
            latest = await anyio.to_thread.run_sync(self._latest, study_id, limiter=POLL_THREADS)
            feed = self._feeds.get(study_id)  # another stream may have started it meanwhile
            if feed is None:
                feed = self._feeds[study_id] = _Feed(floor=latest)
                feed.task = asyncio.create_task(self._poll(study_id, feed))
                self._polls.add(feed.task)
                feed.task.add_done_callback(self._polls.discard)
        feed.streams += 1
        return feed

    def _leave(self, study_id: int, feed: _Feed) -> None:
        feed.streams -= 1
        if feed.streams == 0 and self._feeds.get(study_id) is feed:
            del self._feeds[study_id]
            if feed.task is not None:
                feed.task.cancel()

    async def close(self, timeout_s: float = 10.0) -> None:
        """Stop every feed and wait for its database read in flight: a cancelled poll's thread
        still holds a connection until its read ends, and one handed back after the engine is
        disposed would sit in the old pool until the garbage collector closes it."""
        for task in self._polls:
            task.cancel()
        if self._polls:
            await asyncio.wait(set(self._polls), timeout=timeout_s)
        self._feeds.clear()

    async def _poll(self, study_id: int, feed: _Feed) -> None:
        while True:
            try:
                batch = await self._fetch(study_id, feed.cursor, PAGE)
            except Exception:  # noqa: BLE001 - the database is down: streams wait, we retry
                batch = []
            if batch:
                feed.append(batch)
                if self._on_trial_finished and any("event: trial_finished" in t for _, t in batch):
                    self._on_trial_finished(study_id)
            if len(batch) < PAGE:
                await asyncio.sleep(self._poll_interval)

    async def _fetch(self, study_id: int, after: int, limit: int) -> list[tuple[int, str]]:
        def read() -> list[tuple[int, str]]:
            with self._db.session(write=False) as session:
                events = events_after(session, study_id, after, limit)
                return [(event.id, self._format(event)) for event in events]

        return await anyio.to_thread.run_sync(read, limiter=POLL_THREADS)

    def _latest(self, study_id: int) -> int:
        with self._db.session(write=False) as session:
            return latest_event_id(session, study_id)
