"""Request coalescing: identical reads that arrive together are answered by one run of the route.

Why: under a burst most readers ask the same few things (the study list, the study they all
watch, its first curve load). Run once per request, 200 identical study lists took 200 of the
lane's turns and most were shed (docs/BENCHMARKS.md, section 9); run once per burst they cost
one. A request whose twin is already running waits for the *next* run rather than taking the
running one's answer, which began before it arrived: so every answer still reflects a read that
started after its request came in (nothing is served stale; there is no cache to invalidate).
Only the run's leader passes admission and holds a thread and a connection; the others wait
holding neither, and get a copy of its answer (status, headers and body), a 503 included.

A twin is a request of the same method, path, query string, Authorization and Origin headers
(CORS answers depend on the origin) and the same taking of gzip or not (a big curve load is sent
gzipped to a client that takes it), of a lane listed in `lanes` (reads whose answer depends on
nothing else). A run whose route raised, or
whose answer grew past `max_body_bytes`, is not shared: its followers run on their own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

Key = tuple[str, str, bytes, bytes, bytes, bool]
# a shared body goes out to each follower in pieces of this size, each after the last has
# drained: 1,000 followers of a 3.6 MB curve load would otherwise buffer 3.6 GB at once
CHUNK_BYTES = 256 << 10


@dataclass
class _Run:
    """One run of a route and the requests waiting for its answer."""

    done: anyio.Event = field(default_factory=anyio.Event)
    started: bool = False
    followers: int = 0
    messages: list[Message] | None = None  # the whole answer, once complete


class CoalesceMiddleware:
    """Runs identical concurrent GETs of the given lanes once per wave (see the module doc)."""

    def __init__(
        self,
        app: ASGIApp,
        classifier: Callable[[Scope], str | None],
        lanes: frozenset[str],
        max_followers: int = 10_000,
        max_body_bytes: int = 64 << 20,
    ) -> None:
        self.app = app
        self.classifier = classifier
        self.lanes = lanes
        self.max_followers = max_followers
        self.max_body_bytes = max_body_bytes
        self.running: dict[Key, _Run] = {}
        self.next: dict[Key, _Run] = {}  # the run that starts once the running one ends
        self.shared = 0  # answers copied to a follower since start (for tests)

    def key(self, scope: Scope) -> Key | None:
        if scope["type"] != "http" or scope.get("method") not in ("GET", "HEAD"):
            return None
        if self.classifier(scope) not in self.lanes:
            return None
        auth = origin = b""
        gzip = False
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                auth = value
            elif name == b"origin":  # CORS headers of the answer depend on it
                origin = value
            elif name == b"accept-encoding":  # so does a curve load's encoding
                gzip = b"gzip" in value
        return scope["method"], scope["path"], scope.get("query_string", b""), auth, origin, gzip

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = self.key(scope) if self.max_followers > 0 else None
        if key is None:
            await self.app(scope, receive, send)
            return
        running = self.running.get(key)
        if running is None:  # none runs: lead one now (with whoever waits for the next)
            wave = self.next.pop(key) if key in self.next else _Run()
            await self._lead(key, wave, scope, receive, send)
            return
        wave = self.next.setdefault(key, _Run())
        if wave.followers >= self.max_followers:
            await self.app(scope, receive, send)
            return
        wave.followers += 1
        await running.done.wait()
        if not wave.started:  # the first follower to wake leads the next run
            if self.next.get(key) is wave:
                del self.next[key]
            await self._lead(key, wave, scope, receive, send)
            return
        await wave.done.wait()
        if wave.messages is None:  # the run failed or was too big to keep: run alone
            await self.app(scope, receive, send)
            return
        self.shared += 1
        for message in wave.messages:
            await _send_copy(send, message)

    async def _lead(self, key: Key, run: _Run, scope: Scope, receive: Receive, send: Send) -> None:
        run.started = True
        self.running[key] = run
        kept: list[Message] | None = []
        size = 0
        complete = False

        async def capture(message: Message) -> None:
            nonlocal kept, size, complete
            if kept is not None:
                kept.append(message)
                size += len(message.get("body", b""))
                if size > self.max_body_bytes:
                    kept = None
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                complete = True
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            run.messages = kept if complete else None
            del self.running[key]
            run.done.set()


async def _send_copy(send: Send, message: Message) -> None:
    """A copy of the leader's message; a big body in pieces (the server waits for each to drain
    before taking the next, so a follower holds little more than one piece in its buffer)."""
    body = message.get("body", b"")
    if message["type"] != "http.response.body" or len(body) <= CHUNK_BYTES:
        await send(dict(message))
        return
    more = message.get("more_body", False)
    for start in range(0, len(body), CHUNK_BYTES):
        last = start + CHUNK_BYTES >= len(body)
        piece = body[start : start + CHUNK_BYTES]
        await send({"type": "http.response.body", "body": piece, "more_body": more or not last})
