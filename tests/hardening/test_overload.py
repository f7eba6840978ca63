"""Overload against a real `adamtune serve` with a study running: 1,000 concurrent reads and a
burst of 100 distinct figure requests are each answered with 2xx or 503 + Retry-After within
a bound, /healthz and a live stream keep answering, the server serves normally right after,
the study ends with exactly its trials, and SIGTERM stops the server with streams open."""

from __future__ import annotations

import asyncio
import itertools
import signal
import threading
import time
from collections import Counter
from typing import Any

import httpx
import pytest

from tests.conftest import Server, trial_states, wait_for

pytestmark = pytest.mark.slow

CONCURRENT = 1000
FIGURE_BURST = 100
ANSWER_BOUND_S = 60.0  # no request may take longer than this, shed or served
HEALTH_BOUND_S = 5.0
STUDY = {"task": "rosenbrock", "n_trials": 6, "epochs": 40, "pruner": "none", "name": "busy"}


async def burst(base: str, paths: list[str]) -> list[tuple[int, float, str | None]]:
    """Every path at once, each on its own connection: (status or 0, seconds, Retry-After)."""
    limits = httpx.Limits(max_connections=len(paths), max_keepalive_connections=0)
    timeout = httpx.Timeout(ANSWER_BOUND_S, connect=ANSWER_BOUND_S)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=timeout) as client:

        async def one(path: str) -> tuple[int, float, str | None]:
            started = time.monotonic()
            try:
                response = await client.get(path)
            except httpx.HTTPError:
                return 0, time.monotonic() - started, None
            return (
                response.status_code,
                time.monotonic() - started,
                response.headers.get("retry-after"),
            )

        return await asyncio.gather(*(one(p) for p in paths))


class HealthWatch:
    """/healthz every 0.2 s from its own thread; records the slowest answer and failures."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.stop = threading.Event()
        self.slowest = 0.0
        self.failures: list[str] = []
        self.answers = 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        with httpx.Client(timeout=HEALTH_BOUND_S * 4) as client:
            while not self.stop.wait(0.2):
                started = time.monotonic()
                try:
                    status = client.get(self.server.url + "/healthz").status_code
                except httpx.HTTPError as exc:
                    self.failures.append(repr(exc))
                    continue
                self.slowest = max(self.slowest, time.monotonic() - started)
                self.answers += 1
                if status != 200:
                    self.failures.append(f"status {status}")

    def __enter__(self) -> HealthWatch:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=60)


def check_answers(answers: list[tuple[int, float, str | None]], served: set[int]) -> Counter[int]:
    statuses = Counter(status for status, _, _ in answers)
    assert set(statuses) <= served | {503}, statuses
    assert all(seconds < ANSWER_BOUND_S for _, seconds, _ in answers)
    shed = [retry for status, _, retry in answers if status == 503]
    assert all(retry is not None and int(retry) > 0 for retry in shed)
    return statuses


def test_a_thousand_readers_are_served_or_shed_and_the_server_recovers(start_server: Any) -> None:
    server: Server = start_server(workers=1)
    study = server.create_study(**STUDY)
    sid = study["id"]
    wait_for(lambda: server.study(sid)["progress"]["running"] == 1, timeout=60)
    reads = [
        "/api/studies",
        f"/api/studies/{sid}",
        f"/api/studies/{sid}/trials?sort=value",
        f"/api/studies/{sid}/curves?after=0",
        "/api/tasks",
    ]
    paths = list(itertools.islice(itertools.cycle(reads), CONCURRENT))
    kinds = ["history", "parallel_coordinate", "slice", "edf", "timeline", "contour"]
    names = ["lr", "one_minus_beta1", "one_minus_beta2", "eps"]
    orders = [",".join(p) for n in (2, 3, 4) for p in itertools.permutations(names, n)]
    figures = [  # 100 distinct URLs; many the same figure in another parameter order
        f"/api/studies/{sid}/figures/{kind}?params={params}"
        for params, kind in itertools.islice(itertools.product(orders, kinds), FIGURE_BURST)
    ]
    assert len(set(figures)) == FIGURE_BURST
    events: list[str] = []

    def watch_stream() -> None:
        try:
            with httpx.Client(timeout=httpx.Timeout(30, read=30)) as client:
                with client.stream("GET", f"{server.url}/api/studies/{sid}/events") as response:
                    for line in response.iter_lines():
                        if line.startswith("event:"):
                            events.append(line)
                        if len(events) >= 1000 or done.is_set():
                            return
        except httpx.HTTPError:
            return  # the server stopped at the end of the test

    done = threading.Event()
    stream = threading.Thread(target=watch_stream, daemon=True)
    stream.start()
    with HealthWatch(server) as health:
        read_answers = asyncio.run(burst(server.url, paths))
        figure_answers = asyncio.run(burst(server.url, figures))
        events_during = len(events)
    reads_by_status = check_answers(read_answers, {200})
    figures_by_status = check_answers(figure_answers, {200, 409})
    assert reads_by_status[200] > 0, reads_by_status
    assert figures_by_status[200] + figures_by_status[409] > 0, figures_by_status
    assert not health.failures, health.failures[:5]
    assert health.answers > 0 and health.slowest < HEALTH_BOUND_S, health.slowest
    assert events_during > 0  # the stream kept flowing through the burst

    # serves normally at once afterwards, and the study ends with exactly its trials
    assert server.api("GET", f"/api/studies/{sid}/trials").status_code == 200
    assert server.api("GET", f"/api/studies/{sid}/figures/history").status_code in (200, 409)
    finished = server.wait_status(sid, "completed", timeout=300)
    assert finished["progress"]["finished"] == STUDY["n_trials"]
    assert trial_states(server.database_url, sid) == {"COMPLETE": STUDY["n_trials"]}
    done.set()
    log = server.log()
    assert "Traceback" not in log and '" 500 ' not in log
    print(f"\nreads {dict(reads_by_status)}, figures {dict(figures_by_status)}, "
          f"slowest /healthz {health.slowest:.2f} s")  # fmt: skip


def test_sigterm_stops_the_server_with_streams_open(start_server: Any) -> None:
    server: Server = start_server(workers=0, env={"ADAMTUNE_SHUTDOWN_TIMEOUT_S": "2"})
    sid = server.create_study(**{**STUDY, "n_trials": 1})["id"]
    opened = threading.Barrier(6)

    def hold_stream() -> None:
        try:
            with httpx.Client(timeout=httpx.Timeout(60, read=60)) as client:
                with client.stream("GET", f"{server.url}/api/studies/{sid}/events") as response:
                    opened.wait(timeout=30)
                    for _ in response.iter_lines():
                        pass
        except httpx.HTTPError:
            return  # the server went away: what this test wants

    threads = [threading.Thread(target=hold_stream, daemon=True) for _ in range(5)]
    for thread in threads:
        thread.start()
    opened.wait(timeout=30)
    started = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    server.proc.wait(timeout=30)
    assert time.monotonic() - started < 15
    for thread in threads:
        thread.join(timeout=30)
        assert not thread.is_alive()
