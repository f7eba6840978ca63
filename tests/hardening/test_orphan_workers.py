"""Embedded workers end with the server that started them, even when it is SIGKILLed: they
claim no trial afterwards (they did, ~15 s later, when they finished starting up; then the trial
was failed or interrupted)."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import launch_server, wait_for
from tests.hardening.helpers import db_path, sqlite_rows

pytestmark = pytest.mark.slow

# imported by every Python process of the server (PYTHONPATH): a worker waits at its very start
# until the gate file exists, so the test decides that it starts only after its server is dead
GATE_SITECUSTOMIZE = """
import os, sys, time
gate = os.environ.get("ADAMTUNE_TEST_WORKER_GATE_FILE")
if gate and "worker" in sys.argv:
    while not os.path.exists(gate):
        time.sleep(0.05)
"""


def children(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def gone(pid: int) -> bool:
    """Exited (a zombie nobody reaped yet counts as exited)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in status


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc (Linux)")
def test_workers_of_a_sigkilled_server_exit_and_claim_nothing(tmp_path: Path) -> None:
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(GATE_SITECUSTOMIZE)
    gate = tmp_path / "open"
    env = {"PYTHONPATH": str(hooks), "ADAMTUNE_TEST_WORKER_GATE_FILE": str(gate)}
    server = launch_server(tmp_path, workers=2, env=env)
    try:
        study = server.create_study(task="quadratic_deep", n_trials=4, epochs=50)
        workers = wait_for(lambda: len(pids := children(server.proc.pid)) == 2 and pids)
    finally:
        server.kill()
    gate.touch()  # the workers start now, their server already dead
    wait_for(lambda: all(gone(pid) for pid in workers), timeout=120)
    started: list[Any] = sqlite_rows(
        db_path(server),
        "SELECT number, state FROM trials WHERE study_id = ? AND state != 'WAITING'",
        (study["id"],),
    )
    assert started == [], server.log()[-3000:]
    for pid in workers:  # nothing left to clean up whatever happened
        if not gone(pid):
            os.kill(pid, signal.SIGKILL)
