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
recent service time, over its slots) is shed at once rather than after that wait, and so is a
queued one as soon as the lane's pace says it will not get a slot in time: a 503 that comes
after seconds in a queue helps nobody.

The waiting is asynchronous (an anyio event per queued request, handed a slot in turn), so a
queued request holds neither a thread nor a connection.
"""

from __future__ import annotations

import json
import re
import time
from collections import deque
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


@dataclass(eq=False)
class _Waiter:
    since: float  # time.monotonic() when it joined the queue
    woken: anyio.Event
    granted: bool = False  # a released slot was handed to it
    dropped: bool = False  # shed (or gave up) while queued: a released slot skips it


class _Lane:
    """`in_flight` slots and a FIFO queue of requests waiting for one.

    A request that finds no free slot is shed at once where the queue is full or its expected
    wait passes `max_wait_s`; one that queues is shed as soon as the lane's pace says it would
    not get a slot in time (the pace slowed since it joined), or at `max_wait_s` at the latest."""

    def __init__(self, name: str, limit: LaneLimit) -> None:
        self.name = name
        self.limit = limit
        self.free = limit.in_flight
        self.queue: deque[_Waiter] = deque()
        self.waiting = 0  # queued and not dropped
        self.shed = 0  # answered 503 since start (for /metrics-like reads and tests)
        # seconds a request of this lane held its slot, smoothed (the guess until one finished)
        self.service_s: float | None = limit.expected_s or None
        self.measured = False

    def expected_wait_s(self, ahead: int | None = None) -> float:
        """How long a request with `ahead` requests queued before it (by default: one joining
        now) waits for a slot: those ahead are served `in_flight` at a time, each taking the
        recent service time, after the ones running now (half done, on average)."""
        if self.service_s is None:
            return 0.0  # nothing measured yet: the queue's length alone bounds it
        ahead = self.waiting if ahead is None else ahead
        return (ahead // self.limit.in_flight + 0.5) * self.service_s

    async def enter(self) -> bool:
        """Take a slot now, or after a short wait in the queue; False: shed this request."""
        if self.free > 0:
            self.free -= 1
            return True
        if self.waiting >= self.limit.queue or self.expected_wait_s() > self.limit.max_wait_s:
            return False
        waiter = _Waiter(time.monotonic(), anyio.Event())
        self.queue.append(waiter)
        self.waiting += 1
        try:
            with anyio.move_on_after(self.limit.max_wait_s):
                await waiter.woken.wait()
        except BaseException:  # cancelled while queued (the server stops): pass the slot on
            if waiter.granted:
                self._hand_over()
            else:
                self._drop(waiter)
            raise
        if waiter.granted:  # (even where the time ran out in the same instant)
            return True
        self._drop(waiter)  # timed out: the next released slot skips it
        return False

    def release(self, seconds: float) -> None:
        """A request gave its slot back after holding it `seconds`: the first live waiter gets
        it; then the waiters the new pace cannot serve in time are shed, from the back."""
        self._measure(seconds)
        self._hand_over()
        self._shed_hopeless()

    def _hand_over(self) -> None:
        while self.queue:
            waiter = self.queue.popleft()
            if not waiter.dropped:
                waiter.granted = True
                self.waiting -= 1
                waiter.woken.set()
                return
        self.free += 1

    def _drop(self, waiter: _Waiter) -> None:
        if not waiter.dropped:
            waiter.dropped = True
            self.waiting -= 1

    def _measure(self, seconds: float) -> None:
        if self.service_s is None or not self.measured:  # the first measure replaces a guess
            self.service_s = seconds
            self.measured = True
        else:
            self.service_s += SERVICE_SMOOTHING * (seconds - self.service_s)

    def _shed_hopeless(self) -> None:
        now = time.monotonic()
        while self.queue and self.waiting > 0:
            last = self.queue[-1]
            if last.dropped:
                self.queue.pop()
                continue
            left = self.limit.max_wait_s - (now - last.since)
            if self.expected_wait_s(ahead=self.waiting - 1) <= left:
                return
            self.queue.pop()
            self._drop(last)
            last.woken.set()


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
            lane.release(time.monotonic() - started)

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
