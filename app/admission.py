"""Admission control: a bounded number of requests in flight per lane, a bounded queue; the excess
is shed at once.

Why: a request that runs holds a worker thread and, while it queries, a database connection.
Unbounded, 1,000 concurrent reads took every thread of the pool, each waiting for one of the 15
connections, and the server never recovered. Here every request takes a slot of its lane
before it runs (reads, writes, figures, event streams, static files); a lane that is full lets a
short queue wait (at most `max_wait_s`) and answers the rest at once with 503 and
`Retry-After`. So at most `sum(limits)` requests run, fewer than the threads and connections
there are, and none ever waits for a connection. `/healthz` passes through every lane.

Cheap reads (the study list, one study, a trials page, a trial) have a lane of their own, apart
from full curve loads and figures: in one shared lane a burst of 3.6 MB curve loads held every
slot and the study list waited behind them until it was shed (docs/BENCHMARKS.md, section 9).
A request that would wait longer than `max_wait_s` (its place in the queue times the lane's
recent service time, over its slots) is shed at once rather than after that wait: a 503 that
comes after seconds in a queue helps nobody.

The limits are anyio semaphores (the concurrency primitive FastAPI runs on); the waiting is
asynchronous, so a queued request holds neither a thread nor a connection.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import anyio
from starlette.types import ASGIApp, Receive, Scope, Send


@dataclass(frozen=True)
class LaneLimit:
    in_flight: int  # requests running at once
    queue: int = 0  # requests allowed to wait for a slot
    max_wait_s: float = 0.0  # how long one waits before it is shed
    # what a request is taken to hold its slot for until one has been measured (0: unknown,
    # then the first burst is bounded by the queue's length alone)
    expected_s: float = 0.0


SERVICE_SMOOTHING = 0.2  # weight of the newest request in the lane's service-time average


class _Lane:
    def __init__(self, name: str, limit: LaneLimit) -> None:
        self.name = name
        self.limit = limit
        self.slots = anyio.Semaphore(limit.in_flight)
        self.waiting = 0
        self.shed = 0  # answered 503 since start (for /metrics-like reads and tests)
        # seconds a request of this lane held its slot, smoothed (the guess until one finished)
        self.service_s: float | None = limit.expected_s or None
        self.measured = False

    def expected_wait_s(self) -> float:
        """How long a request joining the queue now would wait for a slot: the requests queued
        ahead of it are served `in_flight` at a time, each taking the recent service time, after
        those running now (half done, on average)."""
        if self.service_s is None:
            return 0.0  # nothing measured yet: the queue's length alone bounds it
        return (self.waiting // self.limit.in_flight + 0.5) * self.service_s

    def served(self, seconds: float) -> None:
        """A request released its slot after `seconds`."""
        if self.service_s is None or not self.measured:  # the first measure replaces a guess
            self.service_s = seconds
            self.measured = True
        else:
            self.service_s += SERVICE_SMOOTHING * (seconds - self.service_s)

    async def enter(self) -> bool:
        """Take a slot now, or after a short wait in the queue; False: shed this request, at
        once where the queue is full or the wait would run past `max_wait_s` anyway."""
        try:
            self.slots.acquire_nowait()
            return True
        except anyio.WouldBlock:
            pass
        if self.waiting >= self.limit.queue or self.expected_wait_s() > self.limit.max_wait_s:
            return False
        self.waiting += 1
        try:
            with anyio.move_on_after(self.limit.max_wait_s):
                await self.slots.acquire()
                return True
            return False
        finally:
            self.waiting -= 1


Classifier = Callable[[Scope], str | None]
RUNNER_PATHS = ("/report", "/reports", "/heartbeat", "/tell")
# reads of a few rows each, whatever the study's size: the study list, one study, a trials page
# (at most 1,000 rows), one trial, its note or the study's, the tasks and the options
CHEAP_READS = re.compile(
    r"/api/(studies(/\d+(/trials(/\d+)?|/note|/trials/\d+/note)?)?|tasks|options)/?"
)


def classify(scope: Scope) -> str | None:
    """The lane of a request (None: none, it always passes)."""
    path: str = scope.get("path", "")
    if path == "/healthz":
        return None
    if not path.startswith("/api/"):
        return "static"
    if path.endswith("/events"):
        return "streams"
    if path.endswith("/ask"):  # asks take the study's claim lock in turn: queued, they would
        return "asks"  # starve the reports and heartbeats that keep leases alive
    if path.endswith(RUNNER_PATHS):  # external runners: apart, so the dashboard keeps its share
        return "runners"
    if "/figures/" in path:
        return "figures"
    if scope.get("method", "GET") not in ("GET", "HEAD"):
        return "writes"
    if CHEAP_READS.fullmatch(path):
        return "cheap"
    if path.endswith("/curves"):  # up to 1,000 curves of 500 points: megabytes per answer
        return "curves"
    return "reads"  # the rest: exports of every trial, validations, comparisons


class AdmissionMiddleware:
    """Bounds the requests in flight per lane and sheds the excess with 503 + Retry-After."""

    def __init__(
        self,
        app: ASGIApp,
        limits: dict[str, LaneLimit],
        retry_after_s: int = 1,
        classifier: Classifier = classify,
    ) -> None:
        self.app = app
        self.lanes = {name: _Lane(name, limit) for name, limit in limits.items()}
        self.retry_after_s = retry_after_s
        self.classifier = classifier

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        name = self.classifier(scope)
        lane = self.lanes.get(name) if name is not None else None
        if lane is None:
            await self.app(scope, receive, send)
            return
        if not await lane.enter():
            lane.shed += 1
            await self._shed(send, lane)
            return
        started = time.monotonic()
        try:
            await self.app(scope, receive, send)
        finally:
            lane.slots.release()
            lane.served(time.monotonic() - started)

    async def _shed(self, send: Send, lane: _Lane) -> None:
        detail = (
            f"server busy: {lane.limit.in_flight} {lane.name} requests in flight and "
            f"{lane.waiting} waiting; retry after {self.retry_after_s} s"
        )
        body = json.dumps({"detail": detail}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(self.retry_after_s).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
