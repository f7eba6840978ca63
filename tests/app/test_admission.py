"""Admission control (app/admission.py) on its own: a lane's slots, its bounded queue, a request
that finds both full, or whose wait would run past the limit, shed at once with 503 +
Retry-After (no timing: the held requests are still held when the shed one is answered); and
which lane each route lands in."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx
import pytest

from app.admission import AdmissionMiddleware, LaneLimit, _Lane, classify
from app.config import Settings
from app.main import _lanes

QUEUE_WAIT_S = 30.0  # long: a request that queued could only be answered by a free slot


def holding_app(release: anyio.Event) -> Callable[..., Awaitable[None]]:
    """An ASGI app whose every request holds its slot until `release` is set."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"done"})

    return app


@pytest.mark.anyio
async def test_a_full_queue_sheds_at_once_while_the_slots_are_held() -> None:
    release = anyio.Event()
    limit = LaneLimit(in_flight=2, queue=3, max_wait_s=QUEUE_WAIT_S)
    admission = AdmissionMiddleware(
        holding_app(release), limits={"reads": limit}, retry_after_s=2, classifier=lambda _: "reads"
    )
    lane = admission.lanes["reads"]
    transport = httpx.ASGITransport(app=admission)
    answers: list[int] = []
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:

        async def get() -> None:
            answers.append((await client.get("/api/studies")).status_code)

        async with anyio.create_task_group() as group:
            for _ in range(limit.in_flight + limit.queue):
                group.start_soon(get)
            while lane.waiting < limit.queue:  # both slots taken, the queue full
                await anyio.sleep(0.01)
            shed = await client.get("/api/studies")
            assert shed.status_code == 503
            assert shed.headers["retry-after"] == "2"
            assert "2 reads requests in flight and 3 waiting" in shed.json()["detail"]
            assert not release.is_set() and answers == []  # the slots are still held
            assert lane.free == 0 and lane.waiting == limit.queue
            release.set()
    assert answers == [200] * (limit.in_flight + limit.queue)  # the queued ones got slots
    assert lane.shed == 1


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_a_request_that_would_wait_past_the_limit_is_shed_at_once() -> None:
    """The queue has room, but the lane's recent service time says the wait would run past
    `max_wait_s`: the 503 comes now, not after the wait (the held requests are still held)."""
    release = anyio.Event()
    limit = LaneLimit(in_flight=1, queue=100, max_wait_s=QUEUE_WAIT_S)
    admission = AdmissionMiddleware(
        holding_app(release), limits={"curves": limit}, classifier=lambda _: "curves"
    )
    lane = admission.lanes["curves"]
    lane.service_s = QUEUE_WAIT_S / 4  # as measured: 4 can wait, a fifth would wait 4.5 x that
    transport = httpx.ASGITransport(app=admission)
    answers: list[int] = []
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:

        async def get() -> None:
            answers.append((await client.get("/api/studies/1/curves")).status_code)

        async with anyio.create_task_group() as group:
            for _ in range(1 + 4):
                group.start_soon(get)
            while lane.waiting < 4:
                await anyio.sleep(0.01)
            shed = await client.get("/api/studies/1/curves")
            assert shed.status_code == 503
            assert "1 curves requests in flight and 4 waiting" in shed.json()["detail"]
            assert lane.waiting == 4 and not release.is_set() and answers == []
            release.set()
    assert answers == [200] * 5 and lane.shed == 1


@pytest.mark.anyio
async def test_a_slow_lane_sheds_its_first_waiter_at_once_and_still_serves() -> None:
    release = anyio.Event()
    limit = LaneLimit(in_flight=2, queue=100, max_wait_s=QUEUE_WAIT_S)
    admission = AdmissionMiddleware(
        holding_app(release), limits={"figures": limit}, classifier=lambda _: "figures"
    )
    lane = admission.lanes["figures"]
    lane.service_s = 3 * QUEUE_WAIT_S  # half of it left, on average: still past the limit
    transport = httpx.ASGITransport(app=admission)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        async with anyio.create_task_group() as group:
            for _ in range(limit.in_flight):
                group.start_soon(client.get, "/f")
            while lane.free > 0:
                await anyio.sleep(0.01)
            assert (await client.get("/f")).status_code == 503
            assert lane.waiting == 0
            release.set()
        assert (await client.get("/f")).status_code == 200  # a free slot: served, whatever
    assert lane.shed == 1 and lane.service_s is not None and lane.service_s < 3 * QUEUE_WAIT_S


@pytest.mark.anyio
async def test_queued_requests_the_new_pace_cannot_serve_in_time_are_shed_at_once() -> None:
    """Four wait behind one slot; the slot comes back after 25 s of a 30 s limit: the next in
    line gets it, the one after it (12.5 s to wait) stays, the last two (37.5 s, 62.5 s) are
    shed now rather than when their 30 s run out."""
    lane = _Lane("figures", LaneLimit(in_flight=1, queue=10, max_wait_s=QUEUE_WAIT_S))
    assert await lane.enter()
    results: dict[int, bool] = {}

    async def enter(i: int) -> None:
        results[i] = await lane.enter()

    async with anyio.create_task_group() as group:
        for i in range(4):
            group.start_soon(enter, i)
            while lane.waiting <= i:  # in this order
                await anyio.sleep(0.01)
        lane.release(seconds=25.0)
        while len(results) < 3:
            await anyio.sleep(0.01)
        assert results == {0: True, 2: False, 3: False} and lane.waiting == 1
        lane.release(seconds=1.0)  # request 0 is done: its slot goes to request 1
    assert results == {0: True, 1: True, 2: False, 3: False}
    assert lane.free == 0 and lane.waiting == 0  # request 1 holds the slot now


@pytest.mark.anyio
async def test_a_request_cancelled_while_queued_leaves_the_queue() -> None:
    lane = _Lane("reads", LaneLimit(in_flight=1, queue=10, max_wait_s=QUEUE_WAIT_S))
    assert await lane.enter()
    async with anyio.create_task_group() as group:
        group.start_soon(lane.enter)
        while lane.waiting < 1:
            await anyio.sleep(0.01)
        group.cancel_scope.cancel()
    assert lane.waiting == 0
    lane.release(seconds=0.1)
    assert lane.free == 1 and await lane.enter() and lane.free == 0


@pytest.mark.parametrize(
    ("method", "path", "lane"),
    [
        ("GET", "/healthz", None),
        ("GET", "/api/studies", "cheap"),
        ("GET", "/api/studies/7", "cheap"),
        ("HEAD", "/api/studies/7", "cheap"),
        ("GET", "/api/studies/7/trials", "cheap"),
        ("GET", "/api/studies/7/trials/12", "cheap"),
        ("GET", "/api/studies/7/note", "cheap"),
        ("GET", "/api/studies/7/trials/12/note", "cheap"),
        ("GET", "/api/tasks", "cheap"),
        ("GET", "/api/options", "cheap"),
        ("GET", "/api/studies/7/curves", "curves"),
        ("GET", "/api/studies/7/figures/edf", "figures"),
        ("GET", "/api/studies/7/export.csv", "reads"),
        ("GET", "/api/studies/7/export.json", "reads"),
        ("GET", "/api/studies/7/validation", "reads"),
        ("GET", "/api/comparisons", "reads"),
        ("GET", "/api/studies/7/events", "streams"),
        ("POST", "/api/studies", "writes"),
        ("POST", "/api/studies/7/stop", "writes"),
        ("DELETE", "/api/studies/7", "writes"),
        ("PUT", "/api/studies/7/note", "writes"),
        ("POST", "/api/studies/7/ask", "asks"),
        ("POST", "/api/studies/7/trials/3/report", "runners"),
        ("GET", "/", "static"),
        ("GET", "/js/app.js", "static"),
    ],
)
def test_each_route_lands_in_its_lane(method: str, path: str, lane: str | None) -> None:
    assert classify({"type": "http", "method": method, "path": path}) == lane


def test_the_app_has_a_lane_for_every_class_and_cheap_reads_queue_deepest() -> None:
    lanes = _lanes(Settings())
    assert {"cheap", "curves", "figures", "reads", "writes", "streams", "static"} <= set(lanes)
    assert lanes["cheap"].queue > lanes["curves"].queue == lanes["reads"].queue
    assert lanes["curves"].in_flight < lanes["cheap"].in_flight
