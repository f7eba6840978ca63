"""Shared fixtures: a real `adamtune serve` on 127.0.0.1 over a temporary SQLite file (or a fresh
PostgreSQL database), and lone `adamtune worker` processes against the same database.

PostgreSQL: `postgres_url` makes an empty database `adamtune_test_<random>` on the server of
ADAMTUNE_TEST_PG_ADMIN_URL (default postgresql://postgres@127.0.0.1:5432/test) and drops it after
the test. Tests that should run on both backends take `@both_databases`; their postgres variant
is marked `postgres`. Without a reachable PostgreSQL those variants are skipped, except under CI
(the CI environment variable set), where they fail."""

from __future__ import annotations

import datetime as dt
import fcntl
import gc
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy
from optuna.storages._rdb import models
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool
from xdist.scheduler import LoadFileScheduling

ROOT = Path(__file__).resolve().parent.parent

# The built-in tasks in the order the CLI, API and dashboard list them: written out here, not read
# from `optim.tasks.catalog`, so the tests check the catalog rather than restate it.
BUILTIN_TASK_NAMES = [
    "rosenbrock",
    "quadratic_deep",
    "logreg_breast_cancer",
    "mlp_digits",
    "cnn_digits",
    "char_lstm",
    "transformer_lm",
]

# fast fault detection for tests: a dead worker's trial is failed after 3 s
FAST_ENV = {
    "ADAMTUNE_HEARTBEAT_INTERVAL": "1",
    "ADAMTUNE_GRACE_PERIOD": "3",
    "ADAMTUNE_POLL_INTERVAL": "0.2",
}


# The longest files first (`make test` has pytest-xdist hand out files in collection order):
# a long file that starts last ends the run alone. Measured with `--durations=0` (2026-12-06).
# An ordering only: a file missing here runs after these, in pytest's own order.
LONGEST_FIRST = (
    "tests/app/test_faults.py",
    "tests/bench/test_bench_smoke.py",
    "tests/runners/test_runners.py",
    "tests/distributed/test_scale_out.py",
    "tests/hardening/test_crash.py",
    "tests/optim/test_cli.py",
    "tests/runners/test_integrations.py",
    "tests/optim/test_tasks.py",
    "tests/app/test_studies_api.py",
)

# The load-making modules (many clients, workers, kills, time limits): run one at a time, in one
# pytest process under `make test` (FilesAndHeavyScheduling), under a lock otherwise (heavy_alone).
HEAVY_FILES = frozenset(
    {
        "tests/hardening/test_crash.py",
        "tests/hardening/test_load.py",
        "tests/hardening/test_overload.py",
        "tests/hardening/test_resource_guard.py",
    }
)
HEAVY_UNIT = "heavy load-making modules"


def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else ""


# Python's cyclic garbage collector in each pytest process collects its youngest generation
# every 700 net allocations by default: ~7,000 collections per process over `make test-fast`,
# each test building apps, engines and tensors. Every 100,000 took that selection (tests/app
# and tests/optim, not slow, two processes) from 146 s to 100 s on 2 cores (2026-12-07). Only
# the test processes: the servers and workers they start keep Python's defaults.
GC_THRESHOLDS = (100_000, 10, 10)


def pytest_configure(config: pytest.Config) -> None:
    gc.set_threshold(*GC_THRESHOLDS)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the longest files first (a stable sort: each file's own order is kept)."""
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(_relative(Path(item.path)), len(rank)))


class FilesAndHeavyScheduling(LoadFileScheduling):
    """`--dist loadfile`, except that the HEAVY_FILES form one unit: they run one after another
    in one process. Each alone as a unit, a process that drew one while another ran would sit
    idle on `heavy_alone`'s lock (76 s seen in one run)."""

    def _split_scope(self, nodeid: str) -> str:
        path = nodeid.split("::", 1)[0]
        return HEAVY_UNIT if path in HEAVY_FILES else path


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> LoadFileScheduling | None:
    """Used by `make test`'s `--dist loadfile`; other modes keep xdist's own scheduler."""
    if config.getoption("dist") != "loadfile":
        return None
    return FilesAndHeavyScheduling(config, log)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


FIRST_POLL_S = 0.05


def wait_for(predicate: Callable[[], Any], timeout: float = 60.0, interval: float = 0.5) -> Any:
    """Poll until `predicate()` is truthy and return it; fail the test on timeout.

    The pause between looks starts at FIRST_POLL_S and grows by half each time up to
    `interval`: a condition met at once is seen at once, and a long wait (a study training
    for a minute) asks the server twice a second, not five times. Each look at a study costs
    the server ~12 ms of CPU, and the suite is CPU-bound on two cores."""
    deadline = time.monotonic() + timeout
    pause = min(FIRST_POLL_S, interval)
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout} s")
        time.sleep(pause)
        pause = min(pause * 1.5, interval)


def wait_status(
    study: Callable[[int], dict[str, Any]], study_id: int, statuses: Sequence[str], timeout: float
) -> dict[str, Any]:
    """Poll `study(study_id)` (an API client's read of one study) until its status is one of
    `statuses`; the study as last read."""
    return wait_for(  # type: ignore[no-any-return]
        lambda: (s := study(study_id))["status"] in statuses and s, timeout=timeout
    )


@dataclass
class Process:
    """A child process whose output goes to a log file the test can read."""

    proc: subprocess.Popen[bytes]
    log_path: Path
    signalled: bool = False  # SIGTERM sent: a second one would force a server's exit

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def send(self, sig: int = signal.SIGTERM) -> None:
        """Send `sig` once, unless the process has ended or was already told to stop."""
        if self.proc.poll() is None and not (self.signalled and sig == signal.SIGTERM):
            self.proc.send_signal(sig)
            self.signalled = True

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> None:
        self.send(sig)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def kill(self) -> None:
        self.stop(signal.SIGKILL)


def stop_all(processes: Sequence[Process]) -> None:
    """SIGTERM to each, then wait for each: they shut down side by side, not one after another
    (a worker takes about a second to exit)."""
    for process in processes:
        process.send()
    for process in processes:
        process.stop()


@dataclass
class Server(Process):
    url: str = ""
    database_url: str = ""
    # generous: two test processes share 2 cores, and a first request may import a task plugin
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=60))

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> None:
        super().stop(sig, timeout)
        self.client.close()

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.request(method, self.url + path, **kwargs)

    def study(self, study_id: int) -> dict[str, Any]:
        response = self.api("GET", f"/api/studies/{study_id}")
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]

    def create_study(self, **payload: Any) -> dict[str, Any]:
        """POST a study. No validation after the search unless the test asks for one: every
        search validates by default, which would keep the workers busy past the test's point."""
        payload.setdefault("validate_seeds", 0)
        response = self.api("POST", "/api/studies", json=payload)
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    def wait_status(self, study_id: int, *statuses: str, timeout: float = 120.0) -> dict[str, Any]:
        return wait_status(self.study, study_id, statuses, timeout)


def _env(database_url: str, extra: dict[str, str] | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADAMTUNE_")}
    env.update(FAST_ENV)
    env["ADAMTUNE_DATABASE_URL"] = database_url
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def launch_server(
    directory: Path,
    *,
    workers: int = 1,
    database_url: str | None = None,
    env: dict[str, str] | None = None,
    port: int | None = None,
) -> Server:
    """Start `adamtune serve` on 127.0.0.1 and wait until /healthz answers."""
    url = database_url or f"sqlite:///{directory / 'adamtune.db'}"
    port = port or free_port()
    log_path = directory / f"serve-{port}-{time.monotonic_ns()}.log"
    with log_path.open("wb") as out:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1",
             "--port", str(port), "--workers", str(workers), "--database-url", url],
            cwd=ROOT, env=_env(url, env), stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    server = Server(proc=proc, log_path=log_path, url=f"http://127.0.0.1:{port}", database_url=url)

    def healthy() -> bool:
        if proc.poll() is not None:
            pytest.fail(f"server exited early:\n{server.log()}")
        try:
            return server.api("GET", "/healthz").status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_for(healthy, timeout=90)
    except BaseException:
        server.stop()
        raise
    return server


@pytest.fixture
def start_server(tmp_path: Path, database_url: str) -> Iterator[Callable[..., Server]]:
    """Factory: start `adamtune serve` (port, database, workers and env configurable); the
    database is the `database_url` fixture's unless `database_url=` is given."""
    started: list[Server] = []

    def start(**kwargs: Any) -> Server:
        kwargs.setdefault("database_url", database_url)
        server = launch_server(tmp_path, **kwargs)
        started.append(server)
        return server

    yield start
    stop_all(started)


@pytest.fixture(scope="session")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server with one worker for the many tests that only read or validate."""
    server = launch_server(tmp_path_factory.mktemp("shared"), workers=1)
    yield server
    server.stop()


@pytest.fixture(scope="module", autouse=True)
def heavy_alone(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """The load-making modules (HEAVY_FILES) run one at a time whatever the scheduling: each
    holds a session lock file meanwhile. Under `make test` they share one pytest process anyway
    (`FilesAndHeavyScheduling`), so the lock is only ever waited for under other `--dist` modes."""
    if _relative(Path(request.path)) not in HEAVY_FILES:
        yield
        return
    lock = tmp_path_factory.getbasetemp().parent / "heavy-tests.lock"
    with lock.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[..., Process]]:
    """Factory: start a lone `adamtune worker` against a database URL."""
    started: list[Process] = []

    def start(database_url: str, env: dict[str, str] | None = None) -> Process:
        log_path = tmp_path / f"worker-{len(started)}.log"
        with log_path.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "worker", "--database-url", database_url],
                cwd=ROOT, env=_env(database_url, env), stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        process = Process(proc=proc, log_path=log_path)
        started.append(process)
        return process

    yield start
    stop_all(started)


# --- databases: SQLite by default, PostgreSQL on request ---------------------------------------

PG_ADMIN_URL = os.environ.get(
    "ADAMTUNE_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]
# a test on both databases: its `database_url` (so `start_server`) is SQLite, then PostgreSQL
both_databases = pytest.mark.parametrize("database_url", BACKENDS, indirect=True)


def _admin_connection() -> Any:
    """An autocommit connection to the PostgreSQL admin database; skip (fail under CI) if none."""
    import psycopg

    try:
        return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        reason = f"PostgreSQL unreachable at {PG_ADMIN_URL} (ADAMTUNE_TEST_PG_ADMIN_URL): {exc}"
        if os.environ.get("CI", "").lower() not in ("", "0", "false"):
            pytest.fail(f"{reason}; CI is set, so the postgres tests must run")
        pytest.skip(reason)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test as a SQLAlchemy URL; dropped afterwards
    (with FORCE, so processes the test left connected do not keep it alive)."""
    from psycopg import sql

    name = f"adamtune_test_{secrets.token_hex(6)}"
    with _admin_connection() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_url(PG_ADMIN_URL).set(drivername="postgresql+psycopg", database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with _admin_connection() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The database of `start_server`: SQLite in tmp_path, or with `@both_databases` (indirect
    parametrisation) SQLite and then a fresh PostgreSQL database."""
    backend = getattr(request, "param", "sqlite")
    if backend == "postgres":
        return str(request.getfixturevalue("postgres_url"))
    return f"sqlite:///{tmp_path / 'adamtune.db'}"


def query(database_url: str, statement: str, **params: Any) -> list[tuple[Any, ...]]:
    """The rows of one SQL statement on any backend, read beside the running processes.

    A short-lived engine without a pool, so no connection outlives the call (PostgreSQL drops the
    test database at the end, SQLite files are deleted)."""
    engine = sqlalchemy.create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sqlalchemy.text(statement), params)]
    finally:
        engine.dispose()


def trial_param_rows(database_url: str, trial_id: int) -> list[tuple[Any, ...]]:
    """(name, internal value) of a trial's parameters, by name: a retry has its trial's."""
    return query(
        database_url,
        "SELECT param_name, param_value FROM trial_params WHERE trial_id = :id ORDER BY 1",
        id=trial_id,
    )


def trial_states(database_url: str, study_id: int) -> dict[str, int]:
    """How many trials of a study are in each state, read straight from the database."""
    rows = query(
        database_url,
        "SELECT state, COUNT(*) FROM trials WHERE study_id = :id GROUP BY state",
        id=study_id,
    )
    return {str(state): n for state, n in rows}


def last_heartbeat(storage: Any, trial_id: int) -> dt.datetime:
    """The trial's last heartbeat in an Optuna RDB storage (naive UTC, as Optuna writes it)."""
    beats = models.TrialHeartbeatModel.__table__
    with storage.engine.connect() as conn:
        query = sqlalchemy.select(beats.c.heartbeat).where(beats.c.trial_id == trial_id)
        return conn.execute(query).scalar_one()  # type: ignore[no-any-return]


def age_heartbeat(storage: Any, trial_id: int) -> dt.datetime:
    """Set the trial's last heartbeat an hour back, past any grace period; returns it."""
    beats = models.TrialHeartbeatModel.__table__
    aged = last_heartbeat(storage, trial_id) - dt.timedelta(hours=1)
    with storage.engine.begin() as conn:
        conn.execute(beats.update().where(beats.c.trial_id == trial_id).values(heartbeat=aged))
    return aged
