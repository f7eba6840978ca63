"""The database cannot be written (disk full, read-only file system): the API answers 503 with
the database's own reason, /healthz says so, nothing half-made is left behind, and everything
works again once the condition clears.

Tests run as root, which chmod does not stop, so the conditions are real mounts: a 4 MiB tmpfs
filled to the last byte, and a read-only bind mount. (A file system cannot be remounted
read-only while the server has its database open for writing: the kernel answers EBUSY. So the
read-only case starts the server on a read-only mount, as after a restart onto a bad disk.)
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import optuna
import pytest
from sqlalchemy import select

from app.config import Settings
from app.db import Database, DatabaseUnavailableError
from app.jobs import create_job
from app.models import StudyJob
from app.schemas import StudyCreate
from optim.storage import make_storage
from tests.ci import missing
from tests.conftest import ROOT, Server, _env, free_port, wait_for
from tests.hardening.helpers import sqlite_rows

STUDY = {"task": "quadratic_deep", "n_trials": 2, "epochs": 1}


def _mount(*args: str) -> None:
    """Mount, or skip (fail under CI) where this machine cannot."""
    if shutil.which("mount") is None:
        missing("needs the mount command (util-linux)")
    result = subprocess.run(["mount", *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        missing(f"needs root with CAP_SYS_ADMIN to mount ({result.stderr.strip()})")


@pytest.fixture
def mounts(tmp_path: Path) -> Iterator[Callable[..., None]]:
    """`mount(*args)`; whatever was mounted is unmounted at the end (after the servers stop:
    request this fixture before `start_server`)."""
    targets: list[str] = []

    def mount(*args: str) -> None:
        _mount(*args)
        targets.append(args[-1])

    yield mount
    for target in reversed(targets):
        subprocess.run(["umount", "-l", target], capture_output=True, check=False)


@pytest.fixture
def start_answering(tmp_path: Path) -> Iterator[Callable[[str], Server]]:
    """`start(database_url)`: `adamtune serve --workers 0`, ready once /healthz answers at all
    (the shared `start_server` waits for a 200, which a read-only database never gives)."""
    started: list[Server] = []

    def start(database_url: str) -> Server:
        port = free_port()
        log_path = tmp_path / f"serve-{port}.log"
        with log_path.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1",
                 "--port", str(port), "--workers", "0", "--database-url", database_url],
                cwd=ROOT, env=_env(database_url, None), stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        server = Server(proc=proc, log_path=log_path, url=f"http://127.0.0.1:{port}")
        server.database_url = database_url
        started.append(server)

        def answers() -> bool:
            assert proc.poll() is None, f"server exited early:\n{server.log()}"
            try:
                return server.api("GET", "/healthz").status_code in (200, 503)
            except httpx.TransportError:
                return False

        wait_for(answers, timeout=90)
        return server

    yield start
    for server in started:
        server.stop()


def fill(directory: Path) -> Path:
    """Write a file until the file system has no byte left; returns it."""
    filler = directory / "filler"
    with filler.open("wb", buffering=0) as out:
        for size in (1 << 20, 1 << 16, 1 << 12, 1 << 9, 1):
            try:
                while True:
                    out.write(b"\0" * size)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
    assert os.statvfs(directory).f_bavail == 0
    return filler


def consistent(db_file: str) -> set[str]:
    """The names of the studies, after checking that every Optuna study has its job row and
    every job row its Optuna study, and that the file is sound."""
    assert sqlite_rows(db_file, "PRAGMA integrity_check") == [("ok",)]
    optuna_studies = set(sqlite_rows(db_file, "SELECT study_id, study_name FROM studies"))
    jobs = set(sqlite_rows(db_file, "SELECT study_id, study_name FROM adamtune_jobs"))
    assert optuna_studies == jobs, "a half-made study: Optuna study and job row disagree"
    orphans = sqlite_rows(
        db_file,
        "SELECT COUNT(*) FROM trials WHERE study_id NOT IN (SELECT study_id FROM studies)",
    )
    assert orphans == [(0,)]
    return {name for _, name in jobs}


def assert_unavailable(response: Any, words: str) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["detail"] == f"database unavailable: {words}"
    assert response.headers["retry-after"] == "5"


@pytest.mark.slow
def test_full_disk_is_a_503_and_recovers(
    tmp_path: Path, mounts: Callable[..., None], start_server: Any
) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    mounts("-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk))
    server: Server = start_server(workers=0, database_url=f"sqlite:///{disk / 'adamtune.db'}")
    before = server.create_study(**STUDY, name="before")
    filler = fill(disk)

    health = server.api("GET", "/healthz")
    assert health.status_code == 503
    assert health.json()["status"].startswith("database not writable: disk full")
    for name in ("full 1", "full 2", "full 3"):
        response = server.api("POST", "/api/studies", json={**STUDY, "name": name})
        assert_unavailable(response, "database or disk is full")
    # a study's lifecycle writes fail the same way, and change nothing
    study_path = f"/api/studies/{before['id']}"
    assert_unavailable(server.api("POST", f"{study_path}/stop"), "database or disk is full")
    assert_unavailable(server.api("DELETE", study_path), "database or disk is full")
    # reads go on
    listed = server.api("GET", "/api/studies")
    assert listed.status_code == 200
    assert [(s["name"], s["status"]) for s in listed.json()["studies"]] == [("before", "queued")]

    filler.unlink()
    wait_for(lambda: server.api("GET", "/healthz").status_code == 200, timeout=30)
    after = server.api("POST", "/api/studies", json={**STUDY, "name": "after"})
    assert after.status_code == 201, after.text
    assert server.api("POST", f"{study_path}/stop").status_code == 200
    assert consistent(str(disk / "adamtune.db")) == {"before", "after"}
    assert "Traceback" not in server.log()


@pytest.mark.slow
def test_read_only_file_system_is_a_503_and_recovers(
    tmp_path: Path,
    mounts: Callable[..., None],
    start_server: Any,
    start_answering: Callable[[str], Server],
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    first: Server = start_server(workers=0, database_url=f"sqlite:///{data / 'adamtune.db'}")
    first.create_study(**STUDY, name="before")
    first.kill()  # as a crash would: the WAL files stay, so the database opens read-only
    view = tmp_path / "view"
    view.mkdir()
    mounts("--bind", str(data), str(view))
    _mount("-o", "remount,ro,bind", str(view))

    server = start_answering(f"sqlite:///{view / 'adamtune.db'}")
    health = server.api("GET", "/healthz")
    assert health.status_code == 503
    assert health.json() == {"status": "database not writable: read-only file system"}
    for name in ("ro 1", "ro 2"):
        response = server.api("POST", "/api/studies", json={**STUDY, "name": name})
        assert_unavailable(response, "attempt to write a readonly database")
    assert [s["name"] for s in server.api("GET", "/api/studies").json()["studies"]] == ["before"]

    _mount("-o", "remount,rw,bind", str(view))
    assert server.api("GET", "/healthz").status_code == 200
    # connections opened while it was read-only (the reads above) are dropped by the next
    # failing write: as Retry-After says, a client that tries again gets through
    refused: list[int] = []

    def created() -> bool:
        response = server.api("POST", "/api/studies", json={**STUDY, "name": "after"})
        if response.status_code != 201:
            refused.append(response.status_code)
        return response.status_code == 201

    wait_for(created, timeout=60, interval=1)
    assert refused in ([], [503]), refused
    assert consistent(str(data / "adamtune.db")) == {"before", "after"}
    assert "Traceback" not in server.log()


@pytest.mark.parametrize("failing", ["set_study_user_attr", "_create_new_trial", "job_row"])
def test_a_study_that_fails_half_way_is_removed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    """Each later write of a study's creation fails in turn (as the disk can fill between two
    of them): the steps already made are undone."""
    url = f"sqlite:///{tmp_path / 'adamtune.db'}"
    storage = make_storage(url)
    db = Database.open(url)
    error = optuna.exceptions.StorageInternalError("database or disk is full")

    def fail(*_args: Any, **_kwargs: Any) -> Any:
        raise error

    if failing == "job_row":
        monkeypatch.setattr(StudyJob, "__init__", lambda *_a, **_k: fail())
    else:
        monkeypatch.setattr(storage, failing, fail)
    payload = StudyCreate.model_validate({**STUDY, "name": "half"})
    with pytest.raises((optuna.exceptions.StorageInternalError, DatabaseUnavailableError)):
        create_job(db, storage, payload, Settings(database_url=url))
    monkeypatch.undo()

    assert optuna.get_all_study_names(storage) == []
    with db.session(write=False) as session:
        assert session.scalars(select(StudyJob)).all() == []
    # and the name is free again
    create_job(db, storage, payload, Settings(database_url=url))
    assert optuna.get_all_study_names(storage) == ["half"]
    db.dispose()
    storage.engine.dispose()
