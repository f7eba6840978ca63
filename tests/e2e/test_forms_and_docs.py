"""The new-study form as a new user meets it, and the API documentation with no network."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.conftest import LiveServer, open_page

pytestmark = pytest.mark.e2e

ERROR_JS = "(key) => document.querySelector(`[data-error-for='${key}']`)?.textContent || ''"


def test_every_error_shows_on_the_first_submit(page: Any, server: LiveServer) -> None:
    """A value the page rejects (trials "abc") and values only the server rejects (lr low above
    high, eps below 0) are all shown after one submit (the server's showed only on the second);
    an error on one bound outlines that bound, not both."""
    page.console.allow("422", r"/api/studies\?dry_run=true$")  # the answer the form displays
    before = len(server.api("GET", "/api/studies").json()["studies"])
    page.goto("#/new")
    page.page.wait_for_selector("#f-task option", state="attached")
    page.page.fill("#f-n_trials", "abc")
    page.page.fill("#f-lr-low", "0.1")
    page.page.fill("#f-lr-high", "0.001")
    page.page.fill("#f-eps-low", "-1")
    page.page.fill("#f-beta2-high", "x")
    page.page.click("#f-submit")
    page.page.wait_for_function(f"() => ({ERROR_JS})('space.eps') !== ''")
    assert "not a number" in page.page.evaluate(ERROR_JS, "n_trials")
    assert "less than" in page.page.evaluate(ERROR_JS, "space.lr")
    assert "eps" in page.page.evaluate(ERROR_JS, "space.eps")
    assert "high" in page.page.evaluate(ERROR_JS, "space.beta2")
    invalid = page.page.evaluate(
        "() => [...document.querySelectorAll('[aria-invalid=true]')].map((e) => e.id).sort()"
    )
    # beta2: only its high bound is wrong; lr: the pair is; eps: its low bound
    assert invalid == sorted(["f-n_trials", "f-lr-low", "f-lr-high", "f-eps-low", "f-beta2-high"])
    border = "(id) => getComputedStyle(document.getElementById(id)).borderTopColor"
    assert page.page.evaluate(border, "f-beta2-low") == page.page.evaluate(border, "f-seed")
    assert page.page.evaluate(border, "f-beta2-high") != page.page.evaluate(border, "f-seed")
    assert len(server.api("GET", "/api/studies").json()["studies"]) == before  # nothing made


def test_choices_are_explained_and_ranges_start_filled(page: Any) -> None:
    """Samplers and pruners say what they do; weight decay switched to "range" starts from a
    usual range (it started empty, with log ticked)."""
    page.goto("#/new")
    page.page.wait_for_selector("#f-sampler option", state="attached")
    about = page.page.text_content("#f-sampler-about")
    assert "Parzen" in about  # tpe, the default
    page.page.select_option("#f-sampler", "random")
    page.page.wait_for_function(
        "(old) => document.getElementById('f-sampler-about').textContent !== old", arg=about
    )
    assert page.page.text_content("#f-pruner-about").strip()
    page.page.check("#f-weight_decay-range")
    low = page.page.input_value("#f-weight_decay-low")
    high = page.page.input_value("#f-weight_decay-high")
    assert float(low) > 0 and float(high) > float(low), (low, high)
    assert page.page.is_checked("#f-weight_decay-log")


@pytest.mark.parametrize(
    ("path", "ready"),
    [("/docs", ".swagger-ui .info .title"), ("/redoc", "[role=search], .api-content h1")],
)
def test_api_docs_render_offline(browser: Any, server: LiveServer, path: str, ready: str) -> None:
    """/docs (Swagger UI) and /redoc render with every request beyond this server refused:
    their scripts come from the server (FastAPI's own pages load them from a CDN)."""
    context, page = open_page(browser, server.url)
    # ReDoc's "API docs by Redocly" badge is an image on their CDN: offline it is missing, and
    # that is all that is (the page itself renders)
    badge = re.compile(r"^https://cdn\.redoc\.ly/redoc/logo-mini\.svg$")
    page.console.allowed.append((re.compile("ERR_FAILED"), badge))
    refused: list[str] = []

    def only_local(route: Any) -> None:
        if route.request.url.startswith(server.url):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    try:
        context.route(re.compile(".*"), only_local)
        page.page.goto(server.url + path)
        page.page.wait_for_selector(ready)
        assert "adamtune" in page.page.text_content("body")
        assert "/api/studies" in page.page.text_content("body")
    finally:
        context.close()
    page.console.check()
    assert not [u for u in refused if not badge.match(u)], refused
