"""With reads protected by a token, the study page still streams live (fetch-read SSE, since
EventSource cannot send the token) instead of falling back to polling, and Export CSV still
downloads (fetched with the token, not a plain link)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import VIEWPORT, ConsoleWatcher, LiveServer, launched_server

pytestmark = pytest.mark.e2e

TOKEN = "e2e-protected-reads-token"
POINTS_JS = """() => (document.getElementById('curves-plot')?.data || [])
  .reduce((n, t) => n + t.x.length, 0)"""
MODE_JS = "() => document.getElementById('live-mode')?.dataset.mode"


@pytest.fixture(scope="module")
def protected(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    env = {"ADAMTUNE_API_TOKEN": TOKEN, "ADAMTUNE_PROTECT_READS": "true"}
    with launched_server(tmp_path_factory.mktemp("protected"), env, token=TOKEN) as live:
        yield live


def _token_page(browser: Any) -> tuple[Any, Any, ConsoleWatcher]:
    """(context, page, console) of a browser that has the token in its local storage."""
    context = browser.new_context(viewport=VIEWPORT, color_scheme="light", accept_downloads=True)
    context.add_init_script(f"localStorage.setItem('adamtune.token', {json.dumps(TOKEN)})")
    page = context.new_page()
    page.set_default_timeout(20_000)
    console = ConsoleWatcher()
    page.on("console", console.on_console)
    page.on("pageerror", console.on_page_error)
    return context, page, console


def test_export_csv_with_a_token(browser: Any, protected: LiveServer) -> None:
    """Export CSV downloads the trials: the plain link got 401 and the download was cancelled."""
    study = protected.create_study(name="protected export", task="rosenbrock", n_trials=2, epochs=3)
    protected.wait_status(study["id"], "completed")
    expected = protected.api("GET", f"/api/studies/{study['id']}/export.csv").content
    bare = protected.client.get(
        f"{protected.url}/api/studies/{study['id']}/export.csv", headers={"Authorization": ""}
    )
    assert bare.status_code == 401  # what the plain link got
    context, page, console = _token_page(browser)
    try:
        page.goto(f"{protected.url}/#/studies/{study['id']}")
        page.wait_for_selector("#export-csv")
        with page.expect_download() as info:
            page.click("#export-csv")
        download = info.value
        assert download.failure() is None
        assert download.suggested_filename == f"study-{study['id']}.csv"
        assert Path(download.path()).read_bytes() == expected
    finally:
        context.close()
    console.check()


def test_live_stream_with_a_token(browser: Any, protected: LiveServer) -> None:
    anonymous = protected.client.get(
        f"{protected.url}/api/studies", headers={"Authorization": "Bearer wrong"}
    )
    assert anonymous.status_code == 401  # reads are protected
    study = protected.create_study(
        name="protected live", task="rosenbrock", n_trials=4, epochs=400, pruner="none"
    )
    context, page, console = _token_page(browser)
    streams: list[str] = []
    page.on("request", lambda r: streams.append(r.url) if "/events" in r.url else None)
    try:
        page.goto(f"{protected.url}/#/studies/{study['id']}")
        page.wait_for_function(f"() => ({MODE_JS})() === 'live'", timeout=30_000)
        seen = [page.evaluate(POINTS_JS)]
        deadline = time.monotonic() + 60
        while (
            time.monotonic() < deadline
            and sum(b > a for a, b in zip(seen, seen[1:], strict=False)) < 3
        ):
            page.wait_for_timeout(300)
            seen.append(page.evaluate(POINTS_JS))
        assert sum(b > a for a, b in zip(seen, seen[1:], strict=False)) >= 3, seen
        assert page.evaluate(MODE_JS) == "live"  # streamed, not polled
        assert streams, "the page never opened the event stream"
        assert TOKEN not in " ".join(streams)  # the token goes in a header, not the URL
    finally:
        protected.api("POST", f"/api/studies/{study['id']}/stop")
        context.close()
    console.check()
