"""Admission control (app/admission.py) on its own: a lane's slots, its bounded queue, and a
request that finds both full shed at once with 503 + Retry-After (no timing: the held requests
are still held when the shed one is answered)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx
import pytest

from app.admission import AdmissionMiddleware, LaneLimit

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
            assert lane.slots.value == 0 and lane.waiting == limit.queue
            release.set()
    assert answers == [200] * (limit.in_flight + limit.queue)  # the queued ones got slots
    assert lane.shed == 1


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
