"""In-process API fixtures: `create_app` on a real database file (or PostgreSQL) behind
FastAPI's TestClient, and an in-process worker to run a study's trials. Tests that need real
processes (crashes, load, browsers) use `start_server` from tests/conftest.py instead."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from app.config import Settings
from app.main import create_app
from app.worker import Worker
from tests.conftest import wait_for, wait_status

FAST_SETTINGS = {"heartbeat_interval": 1, "grace_period": 3, "poll_interval": 0.05, "workers": 0}


@dataclass
class Api:
    """A TestClient on `create_app(settings)`, with helpers for the common requests."""

    client: TestClient
    settings: Settings
    _worker: Worker | None = field(default=None, repr=False)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.client.post(path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.client.delete(path, **kwargs)

    def create_study(self, **payload: Any) -> dict[str, Any]:
        response = self.client.post("/api/studies", json=payload)
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    def study(self, study_id: int) -> dict[str, Any]:
        response = self.client.get(f"/api/studies/{study_id}")
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    def trials(self, study_id: int, **query: Any) -> list[dict[str, Any]]:
        response = self.client.get(
            f"/api/studies/{study_id}/trials", params={"limit": 1000, **query}
        )
        assert response.status_code == 200, response.text
        return response.json()["trials"]  # type: ignore[no-any-return]

    @property
    def worker(self) -> Worker:
        if self._worker is None:
            self._worker = Worker(self.settings, worker_id="test-worker")
        return self._worker

    def work(self) -> int:
        """Run trials in this thread until no study has one to hand out; returns how many.
        A look that finds none may have finished a study and queued its validation: only a
        second look in a row that finds none ends the work."""
        done = idle = 0
        while idle < 2:
            claim = self.worker.claim()
            if claim is None:
                idle += 1
                continue
            idle = 0
            self.worker.run_trial(claim)
            done += 1
        return done

    @contextmanager
    def working(self) -> Iterator[Worker]:
        """A worker serving in a background thread for the duration of the block."""
        worker = Worker(self.settings, worker_id="test-worker-thread")
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        try:
            yield worker
        finally:
            worker.shutdown.set()
            thread.join(timeout=60)
            worker.close()

    def wait_status(self, study_id: int, *statuses: str, timeout: float = 60) -> dict[str, Any]:
        return wait_status(self.study, study_id, statuses, timeout)

    def close(self) -> None:
        if self._worker is not None:
            self._worker.close()


def dispose(app: Any) -> None:
    """Close every pooled connection of an app made by `create_app`."""
    state = app.state.adamtune
    state.db.dispose()
    state.storage.engine.dispose()


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty SQLite database at this release's schema (adamtune's tables and Optuna's), made
    once per test process: `make_api` copies it rather than migrating a new file for every test
    (about 0.1 s of CPU each, 0.015 on a copy, measured here). Migrating a new file stays covered:
    this fixture does it, as does every `adamtune serve` the suite starts and test_schema.py."""
    path = tmp_path_factory.mktemp("migrated") / "adamtune.db"
    dispose(create_app(Settings(database_url=f"sqlite:///{path}", **FAST_SETTINGS)))
    # the last connection closed checkpointed the WAL into the file: the copy holds everything
    assert not path.with_name(path.name + "-wal").exists()
    return path


@pytest.fixture
def make_api(database_url: str, migrated_sqlite: Path) -> Iterator[Callable[..., Api]]:
    """Factory: an in-process app on this test's database, with settings overrides; a SQLite
    file that does not exist yet starts as a copy of `migrated_sqlite`. Torch trains on
    one thread, as in a worker process (tiny models are fastest so)."""
    made: list[tuple[Api, Any]] = []
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    url = make_url(database_url)

    def make(**overrides: Any) -> Api:
        if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
            shutil.copyfile(migrated_sqlite, url.database)
        settings = Settings(database_url=database_url, **{**FAST_SETTINGS, **overrides})
        app = create_app(settings)
        client = TestClient(app)
        client.__enter__()
        api = Api(client=client, settings=settings)
        made.append((api, app))
        return api

    yield make
    for api, app in made:
        api.close()
        api.client.__exit__(None, None, None)
        state = app.state.adamtune
        # every connection comes back to its pool once the app has shut down (a thread may
        # still end a read); one handed back after dispose() would stay open until the garbage
        # collector closed it, warning in whichever later test it ran
        engines = (state.db.write_engine, state.db.read_engine, state.storage.engine)
        wait_for(
            lambda engines=engines: all(
                getattr(e.pool, "checkedout", lambda: 0)() == 0 for e in engines
            ),
            timeout=30,
        )
        dispose(app)
    torch.set_num_threads(threads)


@pytest.fixture
def api(make_api: Callable[..., Api]) -> Api:
    return make_api()
