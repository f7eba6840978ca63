"""Request coalescing (app/coalesce.py): identical reads that arrive while one runs share the
*next* run's answer, never the running one's (so none is stale); other URLs, other tokens,
writes and other lanes run on their own; a failed run leaves its followers to run alone; in the
app, the followers take no lane slot. No timing: each run is held until the test releases it."""

from __future__ import annotations

import functools
import threading
from collections.abc import Awaitable, Callable, Coroutine, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anyio
import httpx
import pytest

from app.admission import AdmissionMiddleware, classify
from app.coalesce import CHUNK_BYTES, CoalesceMiddleware, _send_copy
from app.main import COALESCED_LANES
from app.routes import studies
from tests.conftest import wait_for


class HeldRoute:
    """An ASGI app that numbers its runs and holds each until the test releases it."""

    def __init__(self, failing: frozenset[int] | set[int] = frozenset()) -> None:
        self.runs = 0
        self.release: list[anyio.Event] = []
        self.failing = failing  # the runs that raise instead of answering

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        self.runs += 1
        run = self.runs
        gate = anyio.Event()
        self.release.append(gate)
        await gate.wait()
        if run in self.failing:
            raise RuntimeError("the route failed")
        body = f"run {run}".encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(len(body)).encode())]})  # fmt: skip
        await send({"type": "http.response.body", "body": body})

    async def wait_runs(self, n: int) -> None:
        while self.runs < n:
            await anyio.sleep(0.01)


def coalescing(route: HeldRoute, max_followers: int = 100) -> CoalesceMiddleware:
    return CoalesceMiddleware(route, classify, COALESCED_LANES, max_followers=max_followers)


async def wait_followers(middleware: CoalesceMiddleware, n: int) -> None:
    while sum(wave.followers for wave in middleware.next.values()) < n:
        await anyio.sleep(0.01)


Get = Callable[..., Coroutine[Any, Any, None]]


async def with_client(
    middleware: CoalesceMiddleware, answers: list[str], body: Callable[[Get], Awaitable[None]]
) -> None:
    transport = httpx.ASGITransport(app=middleware, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:

        async def get(path: str, method: str = "GET", **kwargs: Any) -> None:
            response = await client.request(method, path, **kwargs)
            answers.append(f"{response.status_code} {response.text}")

        await body(get)


@pytest.mark.anyio
async def test_twins_arriving_during_a_run_share_the_next_run_not_the_running_one() -> None:
    route = HeldRoute()
    middleware = coalescing(route)
    answers: list[str] = []

    async def body(get: Get) -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(get, "/api/studies")
            await route.wait_runs(1)
            for _ in range(5):  # arrive while run 1 runs: they wait for run 2
                group.start_soon(get, "/api/studies")
            await wait_followers(middleware, 5)
            assert route.runs == 1 and answers == []
            route.release[0].set()
            await route.wait_runs(2)  # one of the five leads run 2; the other four wait for it
            assert answers == ["200 run 1"]
            route.release[1].set()

    await with_client(middleware, answers, body)
    assert answers == ["200 run 1"] + ["200 run 2"] * 5
    assert route.runs == 2 and middleware.shared == 4
    assert middleware.running == {} and middleware.next == {}


@pytest.mark.anyio
async def test_other_urls_tokens_methods_and_lanes_run_on_their_own() -> None:
    route = HeldRoute()
    middleware = coalescing(route)
    answers: list[str] = []
    requests = [
        ("GET", "/api/studies/1", {}),
        ("GET", "/api/studies/1/trials?offset=50", {}),  # another page
        ("GET", "/api/studies/1/trials?offset=100", {}),
        ("GET", "/api/studies/1", {"headers": {"Authorization": "Bearer other"}}),
        ("GET", "/api/studies/1", {"headers": {"Origin": "https://elsewhere.example"}}),
        ("HEAD", "/api/studies/1", {}),
        ("PUT", "/api/studies/1/note", {}),  # a write: never shared
        ("PUT", "/api/studies/1/note", {}),
        ("GET", "/api/studies/1/export.csv", {}),  # a read, but not of a coalesced lane
        ("GET", "/api/studies/1/export.csv", {}),
    ]

    async def body(get: Get) -> None:
        async with anyio.create_task_group() as group:
            for method, path, kwargs in requests:
                group.start_soon(functools.partial(get, path, method, **kwargs))
            await route.wait_runs(len(requests))  # every one runs: none waits for another
            for gate in route.release:
                gate.set()

    await with_client(middleware, answers, body)
    assert route.runs == len(requests) and middleware.shared == 0


@pytest.mark.anyio
async def test_curves_and_figures_are_shared_too_and_a_full_wave_runs_apart() -> None:
    route = HeldRoute()
    middleware = coalescing(route, max_followers=2)
    answers: list[str] = []

    async def body(get: Get) -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(get, "/api/studies/1/curves?after=0")
            await route.wait_runs(1)
            for _ in range(3):  # two join the next wave; the third finds it full and runs
                group.start_soon(get, "/api/studies/1/curves?after=0")
            await route.wait_runs(2)
            await wait_followers(middleware, 2)
            for gate in route.release[:2]:
                gate.set()
            await route.wait_runs(3)
            route.release[2].set()

    await with_client(middleware, answers, body)
    assert route.runs == 3 and middleware.shared == 1
    assert sorted(answers) == ["200 run 1", "200 run 2", "200 run 3", "200 run 3"]


@pytest.mark.anyio
async def test_followers_of_a_failed_run_run_on_their_own() -> None:
    route = HeldRoute(failing={2})
    middleware = coalescing(route)
    answers: list[str] = []

    async def body(get: Get) -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(get, "/api/studies")
            await route.wait_runs(1)
            for _ in range(3):
                group.start_soon(get, "/api/studies")
            await wait_followers(middleware, 3)
            route.release[0].set()
            await route.wait_runs(2)
            route.release[1].set()  # run 2, led by one of the three, fails: the other two...
            await route.wait_runs(4)  # ...run on their own
            for gate in route.release[2:]:
                gate.set()

    await with_client(middleware, answers, body)
    assert middleware.shared == 0
    assert sorted(answers) == ["200 run 1", "200 run 3", "200 run 4", "500 "]  # no body


@pytest.mark.anyio
async def test_a_big_shared_body_goes_to_a_follower_in_pieces() -> None:
    """Each piece is sent after the last has drained: followers of a big answer never buffer
    all of it at once."""
    body = bytes(range(256)) * (2 * CHUNK_BYTES // 256 + 7)
    sent: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        sent.append(message)

    await _send_copy(send, {"type": "http.response.body", "body": body})
    assert [len(m["body"]) for m in sent] == [CHUNK_BYTES, CHUNK_BYTES, 7 * 256]
    assert [m["more_body"] for m in sent] == [True, True, False]
    assert b"".join(m["body"] for m in sent) == body


def test_in_the_app_twins_take_no_slot_of_a_full_lane(make_api: Any, monkeypatch: Any) -> None:
    """One cheap slot, no queue: without coalescing the three twins would be shed (503); they
    wait for the next run instead, outside admission, and all get the study list."""
    api = make_api(cheap_in_flight=1, cheap_queue_length=0)
    api.create_study(task="rosenbrock", n_trials=2, epochs=2, name="one")
    release, runs = threading.Event(), []
    summaries = studies.study_summaries

    def held(*args: Any) -> Any:
        runs.append(1)
        release.wait(timeout=60)
        return summaries(*args)

    monkeypatch.setattr(studies, "study_summaries", held)
    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(api.get, "/api/studies")
        wait_for(lambda: len(runs) == 1, timeout=30)
        stack = api.client.app.middleware_stack  # type: ignore[attr-defined]
        while not isinstance(stack, CoalesceMiddleware):
            stack = stack.app
        assert isinstance(stack.app, AdmissionMiddleware)  # outside admission
        twins = [pool.submit(api.get, "/api/studies") for _ in range(3)]
        wait_for(lambda: sum(w.followers for w in stack.next.values()) == 3, timeout=30)
        assert stack.app.lanes["cheap"].free == 0  # the first holds the only slot
        release.set()
        answers = [first.result(timeout=60)] + [t.result(timeout=60) for t in twins]
    assert [a.status_code for a in answers] == [200] * 4
    assert len(runs) == 2 and stack.shared == 2  # run 1 for the first, run 2 for the twins
    assert stack.app.lanes["cheap"].shed == 0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
