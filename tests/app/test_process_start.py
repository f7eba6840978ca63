"""`adamtune serve` and `adamtune worker` pause Python's garbage collector for their start
(`app.process_start`) and turn it back on before their first request or trial: left off, a
long-lived process would never free a reference cycle again."""

from __future__ import annotations

import gc
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from app import cli
from tests.conftest import ROOT

# a real `adamtune worker` whose loop is replaced by one line: the collector's state once started
WORKER_DRIVER = """
import gc, sys
from app import cli, worker

init = worker.Worker.__init__

def starting(self, *args, **kwargs):
    print(f"collecting_at_start={gc.isenabled()}", flush=True)
    init(self, *args, **kwargs)

def run(self):
    print(f"collecting={gc.isenabled()} frozen={gc.get_freeze_count()}", flush=True)

worker.Worker.__init__ = starting
worker.Worker.run = run
sys.exit(cli.main(["worker", "--database-url", sys.argv[1]]))
"""


def test_a_worker_collects_again_once_warmed_up(tmp_path: Path, migrated_sqlite: Path) -> None:
    database = tmp_path / "adamtune.db"
    shutil.copy(migrated_sqlite, database)
    done = subprocess.run(
        [sys.executable, "-c", WORKER_DRIVER, f"sqlite:///{database}"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "collecting_at_start=False" in done.stdout, done.stdout
    [line] = [x for x in done.stdout.splitlines() if x.startswith("collecting=")]
    collecting, frozen = (part.split("=")[1] for part in line.split())
    assert collecting == "True"
    assert int(frozen) > 100_000  # torch, Optuna and SQLAlchemy's objects, out of every scan


def test_the_server_collects_again_before_it_serves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    import app.main

    seen: dict[str, Any] = {}
    create_app = app.main.create_app

    def building(settings: Any) -> Any:
        seen["collecting_at_start"] = gc.isenabled()
        return create_app(settings)

    def serve(built: Any, **options: Any) -> None:  # uvicorn.run's place: no server
        seen.update(collecting=gc.isenabled(), frozen=gc.get_freeze_count())
        built.state.adamtune.db.dispose()
        built.state.adamtune.storage.engine.dispose()

    monkeypatch.setattr(uvicorn, "run", serve)
    monkeypatch.setattr(app.main, "create_app", building)
    url = f"sqlite:///{tmp_path / 'adamtune.db'}"
    try:
        assert cli.main(["serve", "--workers", "0", "--database-url", url]) == 0
    finally:
        gc.unfreeze()  # this test process's objects: back under the collector
        gc.enable()
    assert seen["collecting_at_start"] is False
    assert seen["collecting"] is True
    assert seen["frozen"] > 0
