"""Browser fixtures: a real `adamtune serve` subprocess and a headless Debian chromium."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.ci import missing
from tests.conftest import wait_status

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("ADAMTUNE_E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
VIEWPORT = {"width": 1280, "height": 800}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve_command() -> list[str]:
    """The `adamtune` console script of this interpreter, else the module it runs."""
    script = Path(sys.executable).with_name("adamtune")
    if script.exists():
        return [str(script), "serve"]
    return [sys.executable, "-m", "app.cli", "serve"]


@dataclass
class LiveServer:
    url: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))

    @property
    def database_url(self) -> str:
        """The server's SQLite file: tests write plain Optuna studies into it."""
        return f"sqlite:///{self.log_path.parent / 'db.sqlite'}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.request(method, self.url + path, **kwargs)

    def create_study(self, **payload: Any) -> dict[str, Any]:
        """POST a study, without a validation unless the test asks for one (as tests/conftest)."""
        payload.setdefault("validate_seeds", 0)
        response = self.api("POST", "/api/studies", json=payload)
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    def study(self, study_id: int) -> dict[str, Any]:
        response = self.api("GET", f"/api/studies/{study_id}")
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]

    def wait_status(self, study_id: int, *statuses: str, timeout: float = 90.0) -> dict[str, Any]:
        return wait_status(self.study, study_id, statuses, timeout)

    def stop(self) -> None:
        self.client.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@contextmanager
def launched_server(
    directory: Path,
    env_extra: dict[str, str] | None = None,
    token: str | None = None,
    workers: int = 1,
) -> Iterator[LiveServer]:
    """`adamtune serve` on a free port over a fresh SQLite file in `directory`, one worker by
    default; with `token`, the test's own API client sends it."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADAMTUNE_")}
    env.update({"PYTHONUNBUFFERED": "1", "ADAMTUNE_POLL_INTERVAL": "0.2", **(env_extra or {})})
    log_path = directory / "serve.log"
    command = [
        *_serve_command(),
        "--host", "127.0.0.1",
        "--port", str(port),
        "--database-url", f"sqlite:///{directory / 'db.sqlite'}",
        "--workers", str(workers),
    ]  # fmt: skip
    with log_path.open("wb") as out:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    client = httpx.Client(timeout=30, headers=headers)
    live = LiveServer(url=f"http://127.0.0.1:{port}", proc=proc, log_path=log_path, client=client)
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"adamtune serve exited early:\n{live.log()}")
            try:
                if live.api("GET", "/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"adamtune serve did not answer /healthz:\n{live.log()}")
            time.sleep(0.2)
        yield live
    finally:
        live.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """`adamtune serve` on a free port over a fresh SQLite file, with one worker."""
    with launched_server(tmp_path_factory.mktemp("e2e")) as live:
        yield live


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright import sync_api
    except ImportError as exc:
        missing(f"playwright is not installed ({exc})")
    if not Path(CHROMIUM).exists():
        missing(f"no chromium at {CHROMIUM} (ADAMTUNE_E2E_CHROMIUM)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class ConsoleWatcher:
    """Collects console errors and uncaught page errors; `allow()` expected HTTP errors."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.allowed: list[tuple[re.Pattern[str], re.Pattern[str]]] = []

    def on_console(self, message: Any) -> None:
        if message.type != "error":
            return
        url = (message.location or {}).get("url", "")
        if any(text.search(message.text) and where.search(url) for text, where in self.allowed):
            return
        self.errors.append(f"console error: {message.text} ({url})")

    def on_page_error(self, error: Any) -> None:
        self.errors.append(f"page error: {error}")

    def allow(self, status: str, url_pattern: str) -> None:
        """Let the browser's own log line for an expected HTTP error response through, e.g.
        allow("422", "/api/studies$"): the page shows that error to the user instead."""
        text = re.compile(
            rf"^Failed to load resource: the server responded with a status of {status}"
        )
        self.allowed.append((text, re.compile(url_pattern)))

    def check(self) -> None:
        errors, self.errors = self.errors, []
        assert not errors, "\n".join(errors)


@dataclass
class Page:
    page: Any
    console: ConsoleWatcher
    base: str

    def goto(self, route: str) -> None:
        self.page.goto(f"{self.base}/{route}")

    def screenshot(self, name: str, **kwargs: Any) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), **kwargs)
        return path


def open_page(
    browser: Any, base: str, viewport: dict[str, int] | None = None, color_scheme: str = "light"
) -> tuple[Any, Page]:
    """(context, Page) of a fresh browser context; close the context, then `console.check()`."""
    context = browser.new_context(viewport=viewport or VIEWPORT, color_scheme=color_scheme)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    raw = context.new_page()
    raw.set_default_timeout(60_000)  # waits on conditions: generous for a loaded machine
    watcher = ConsoleWatcher()
    raw.on("console", watcher.on_console)
    raw.on("pageerror", watcher.on_page_error)
    return context, Page(page=raw, console=watcher, base=base)


@pytest.fixture
def page(browser: Any, server: LiveServer) -> Iterator[Page]:
    """A fresh 1280x800 light-theme page; fails the test on any console or page error."""
    context, wrapped = open_page(browser, server.url)
    yield wrapped
    context.close()
    wrapped.console.check()
