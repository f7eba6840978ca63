"""An idle worker starts on new work when it is queued, not at its next poll (`app.doorbell`),
and a signal still ends its wait at once. The poll interval is an hour here: whatever happens
within the test happens because a bell rang."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from app.config import Settings
from app.doorbell import Doorbell
from app.worker import Worker
from tests.conftest import Server, wait_for

HOUR = "3600"
TINY = {"task": "rosenbrock", "n_trials": 2, "epochs": 2, "pruner": "none"}


def test_a_ring_ends_the_idle_wait_and_a_closed_bell_is_dropped(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'wake.db'}", poll_interval=3600)
    worker = Worker(settings, worker_id="idle")
    read, write = os.pipe()
    bell = Doorbell()
    bell.add(write)
    worker.bells = [read]
    try:
        waiting = threading.Thread(target=worker.idle, daemon=True)
        waiting.start()
        bell.ring()
        wait_for(lambda: not waiting.is_alive())
        assert worker.bells == [read]  # read, kept

        for _ in range(100_000):  # a full pipe is rung already: ringing never blocks
            bell.ring()
        worker.idle()  # drains what it can read at once
        os.close(write)  # the server is gone
        while worker.bells:
            worker.idle()
        bell.ring()  # the other end is closed: dropped, no error
    finally:
        os.close(read)
        worker.close()


@pytest.mark.slow  # a worker process starts, imports torch and trains
def test_serve_starts_a_new_study_at_once_and_stops_at_once(
    start_server: Callable[..., Server],
) -> None:
    server = start_server(workers=1, env={"ADAMTUNE_POLL_INTERVAL": HOUR})
    first = server.create_study(name="first", **TINY)
    server.wait_status(first["id"], "completed")
    # the worker found nothing more to do: it waits for its next poll, an hour away
    second = server.create_study(name="second", **TINY)
    server.wait_status(second["id"], "completed")
    # long enough a trial (~0.6 s) for the stop, sent at once, to find the study unfinished
    resumed = server.create_study(name="third", **{**TINY, "epochs": 20})
    server.api("POST", f"/api/studies/{resumed['id']}/stop")
    server.wait_status(resumed["id"], "stopped", "completed")
    server.api("POST", f"/api/studies/{resumed['id']}/resume")
    server.wait_status(resumed["id"], "completed")
    # SIGTERM: the idle worker's wait ends at once (the signal wakes it) and the server ends
    # as uvicorn ends on SIGTERM; a worker still waiting would have had the server killed
    server.stop()
    assert server.proc.returncode == -signal.SIGTERM, server.log()


def test_the_wait_without_bells_is_the_shutdown_event(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'plain.db'}", poll_interval=3600)
    worker = Worker(settings, worker_id="in-process")  # in a thread: no bells, as in tests
    try:
        waiting = threading.Thread(target=worker.idle, daemon=True)
        waiting.start()
        worker.shutdown.set()
        wait_for(lambda: not waiting.is_alive())
    finally:
        worker.close()
