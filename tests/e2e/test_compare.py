"""Studies side by side in Chromium against a real `adamtune serve` with two workers: the compare
page overlays every study on each chart and keeps growing while they run, ticking studies in
the list opens it, mixed directions are refused, and a comparison started from its form reaches
its page with one row per optimizer."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import optuna
import pytest

from optim.optuna_internals import storage_of, study_id_of
from tests.e2e.conftest import LiveServer, launched_server, open_page
from tests.e2e.factories import sweep, write_study

pytestmark = pytest.mark.e2e

# points of each study's trace on a chart, keyed by study id
POINTS_JS = """(id) => Object.fromEntries((document.getElementById(id)?.data || [])
  .filter((t) => t.meta && t.meta.study !== undefined && t.meta.role !== 'defaults')
  .map((t) => [t.meta.study, t.x.length]))"""
CHARTS = ["compare-history", "compare-budget", "compare-edf", "compare-curves"]
# a comparison page's budget chart: [role, optimizer, x] of each trace; whether both validated
# picks are drawn on the compute axis named (its title says "epochs" or "seconds")
BUDGET_TRACES_JS = """() => (document.getElementById('cmp-budget-plot')?.data || [])
  .map((t) => [t.meta.role, t.meta.optimizer, Array.from(t.x)])"""
BUDGET_PICKS_DRAWN_JS = """(axis) => {
  const div = document.getElementById('cmp-budget-plot');
  const picks = (div?.data || []).filter((t) => t.meta.role === 'validated');
  return picks.length === 2 && div.layout.xaxis.title.text.includes(axis);
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Two workers: two studies run at once."""
    with launched_server(tmp_path_factory.mktemp("e2e-compare"), workers=2) as live:
        yield live


@pytest.fixture
def page(browser: Any, server: LiveServer) -> Iterator[Any]:
    context, wrapped = open_page(browser, server.url)
    yield wrapped
    context.close()
    wrapped.console.check()


def _points(page: Any, chart: str) -> dict[str, int]:
    return page.page.evaluate(POINTS_JS, chart)  # type: ignore[no-any-return]


def test_compare_page_overlays_running_studies_and_grows_live(
    page: Any, server: LiveServer
) -> None:
    """Two studies on two workers, opened stopped and then resumed: the page follows them with
    no reload, every chart has one trace per study, the traces grow while trials finish and end
    with every complete trial; the validated means appear with their CI bars once each
    validation ends."""
    n_trials = 4
    common = {"task": "rosenbrock", "n_trials": n_trials, "epochs": 5, "pruner": "none"}
    ids = [
        server.create_study(name=f"cmp {k}", seed=k, validate_seeds=2, validate_top_k=1, **common)[
            "id"
        ]
        for k in (1, 2)
    ]
    try:
        for study_id in ids:  # held, so that the page sees them run from where they are
            server.api("POST", f"/api/studies/{study_id}/stop")
        for study_id in ids:
            server.wait_status(study_id, "stopped")
        page.goto(f"#/compare?ids={ids[0]},{ids[1]}")
        page.page.wait_for_function(
            "() => (document.getElementById('compare-history')?.data || []).length === 2"
        )
        assert page.page.locator("#compare-table tbody tr").count() == 2
        first = _points(page, "compare-history")
        assert all(first[str(i)] < n_trials for i in ids), first

        for study_id in ids:
            assert server.api("POST", f"/api/studies/{study_id}/resume").status_code == 200
        # live: both traces grow past what the page first drew, with no reload of the page
        page.page.wait_for_function(
            f"(want) => {{ const got = ({POINTS_JS})('compare-history');"
            " return Object.entries(want).every(([id, n]) => (got[id] || 0) > n); }",
            arg=first,
            timeout=180_000,
        )
        for study_id in ids:
            server.wait_status(study_id, "completed", timeout=180)
        # the end: every complete trial on the EDF, every chart overlays both studies
        page.page.wait_for_function(
            "(n) => (document.getElementById('compare-edf')?.data || [])"
            ".filter((t) => t.x.length === n).length === 2",
            arg=n_trials,
            timeout=30_000,
        )
        for chart in CHARTS:
            assert sorted(_points(page, chart)) == sorted(str(i) for i in ids), chart
        # the budget chart against epochs consumed ends at every epoch its trials trained
        trained = [
            sum(
                t["epochs_done"]
                for t in server.api("GET", f"/api/studies/{i}/trials").json()["trials"]
            )
            for i in ids
        ]
        page.page.select_option("#compare-budget-x", "epochs")
        page.page.wait_for_function(
            "(want) => JSON.stringify((document.getElementById('compare-budget').data || [])"
            ".map((t) => t.x[t.x.length - 1])) === JSON.stringify(want)",
            arg=trained,
        )
        # validated means with CI bars, once both validations end (the page polls summaries)
        page.page.wait_for_function(
            "() => (document.getElementById('compare-validated')?.data || [])"
            ".filter((t) => t.meta.role === 'winner' && t.error_y.array.length === 1).length === 2",
            timeout=180_000,
        )
        cells = page.page.locator("#compare-table td.validated").all_text_contents()
        assert len(cells) == 2 and all("[" in c for c in cells), cells
        assert page.page.evaluate("() => performance.getEntriesByType('navigation').length") == 1
    finally:
        for study_id in ids:
            server.api("POST", f"/api/studies/{study_id}/stop")


def _maximised_study(url: str, name: str) -> int:
    study = optuna.create_study(storage=url, study_name=name, direction="maximize")
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    storage = storage_of(study)
    if isinstance(storage, optuna.storages.RDBStorage):
        storage.engine.dispose()
    return study_id_of(study)


def test_ticking_studies_opens_the_compare_page(page: Any, server: LiveServer) -> None:
    """Two read-only Optuna studies ticked in the list open #/compare with their ids; a
    maximised study beside a minimised one is refused with a message, not charts."""
    a = write_study(server.database_url, "ticked one", sweep(5, 4), seed=1)
    b = write_study(server.database_url, "ticked two", sweep(6, 4, final=lambda i: 0.3 - 0.01 * i))
    page.goto("#/")
    for study_id in (a, b):
        page.page.check(f"input.pick[data-study-id='{study_id}']")
    page.page.wait_for_function("() => !document.getElementById('btn-compare').disabled")
    page.page.click("#btn-compare")
    page.page.wait_for_function(f"() => location.hash === '#/compare?ids={a},{b}'")
    page.page.wait_for_function(
        "() => (document.getElementById('compare-edf')?.data || []).length === 2"
    )
    assert _points(page, "compare-edf") == {str(a): 5, str(b): 6}
    assert _points(page, "compare-history") == {str(a): 5, str(b): 6}
    assert page.page.locator("#compare-table tbody tr").count() == 2

    up = _maximised_study(server.database_url, "maximised one")
    page.goto(f"#/compare?ids={a},{up}")
    refused = page.page.wait_for_selector("#compare-refused")
    assert "direction" in refused.text_content()
    assert page.page.locator("#compare-history").count() == 0


def test_a_comparison_from_the_form_reaches_its_page(page: Any, server: LiveServer) -> None:
    """The form starts a comparison of two optimizers; its page has one row per optimizer, a
    link to the compare page of its studies, one line of advice with the only line to paste
    once every family is confirmed, and Delete takes it all away."""
    page.goto("#/comparisons")
    page.page.wait_for_selector("#comparison-form")
    page.page.select_option("#cmp-task", "quadratic_deep")
    boxes = page.page.locator("#cmp-optimizers input[type=checkbox]")
    ticked = {boxes.nth(i).get_attribute("value"): boxes.nth(i).is_checked()
              for i in range(boxes.count())}  # fmt: skip
    # the tuning-free families start unticked: the default is the four a comparison may take
    assert ticked == {"adam": True, "adamw": True, "sgd_nesterov": True, "adam_lr_only": True,
                      "schedule_free_adamw": False, "prodigy": False}  # fmt: skip
    for i in range(boxes.count()):
        value = boxes.nth(i).get_attribute("value")
        boxes.nth(i).set_checked(value in ("adam", "sgd_nesterov"))
    page.page.fill("#cmp-trials", "2")
    page.page.fill("#cmp-epochs", "2")
    page.page.fill("#cmp-seed", "3")
    page.page.fill("#cmp-validate-seeds", "2")
    page.page.fill("#cmp-confirm-seeds", "2")
    page.page.click("#cmp-submit")
    page.page.wait_for_function("() => /^#\\/comparisons\\/\\d+$/.test(location.hash)")
    comparison_id = int(page.page.evaluate("() => location.hash.split('/').pop()"))
    rows = page.page.locator("#comparison-table tbody tr")
    rows.first.wait_for()
    assert [rows.nth(i).get_attribute("data-optimizer") for i in range(rows.count())] == [
        "adam",
        "sgd_nesterov",
    ]
    listed = server.api("GET", f"/api/comparisons/{comparison_id}").json()
    ids = [s["study_id"] for s in listed["studies"]]
    href = page.page.get_attribute("#cmp-compare-link", "href")
    assert href == f"#/compare?ids={ids[0]},{ids[1]}"

    # once both families are confirmed: one line of advice, the page's only line to paste
    page.page.wait_for_selector("#cmp-advice:not([hidden])", timeout=180_000)
    done = server.api("GET", f"/api/comparisons/{comparison_id}").json()
    assert done["advice"] and page.page.text_content("#cmp-advice") == done["advice"]
    assert done["advice"].startswith(("Use ", "Keep "))
    assert page.page.evaluate("() => document.body.innerText.split('torch.optim.').length") == 2
    assert "by 0" not in page.page.text_content("#cmp-verdicts")
    # each family's compute: epochs of its search and validation
    for row in done["studies"]:
        cell = f"#comparison-table tr[data-optimizer={row['optimizer']}] .compute-epochs"
        assert page.page.text_content(cell) == str(row["total_epochs"])
        assert row["total_epochs"] > row["epochs_trained"] > 0
    # the time to result: each search's best so far against its compute, each validated pick at
    # its search + validation compute (no one-shot family here: no target), and the sentences
    budget = server.api("GET", f"/api/comparisons/{comparison_id}/budget").json()
    page.page.wait_for_function(BUDGET_PICKS_DRAWN_JS, arg="epochs")
    drawn = page.page.evaluate(BUDGET_TRACES_JS)
    expected = []
    for family, row in zip(budget["families"], done["studies"], strict=True):
        curve = family["curve"]
        first = next(i for i, b in enumerate(curve["best"]) if b is not None)
        expected += [["search", row["optimizer"], curve["epochs"][first:]],
                     ["validated", row["optimizer"], [row["total_epochs"]]]]  # fmt: skip
    assert sorted(drawn) == sorted(expected)
    lines = page.page.locator("#cmp-time-to-result li").all_text_contents()
    assert lines == budget["time_to_result"] and lines[0].startswith("No target")
    assert "own seed" in page.page.text_content("#cmp-budget-note")
    page.page.select_option("#cmp-budget-x", "seconds")
    page.page.wait_for_function(BUDGET_PICKS_DRAWN_JS, arg="seconds")
    seconds = {o: x for role, o, x in page.page.evaluate(BUDGET_TRACES_JS) if role == "validated"}
    assert seconds == {r["optimizer"]: [pytest.approx(r["total_s"])] for r in done["studies"]}

    # the compare page of its studies links back to it; its subtitle is text, no "null" below
    # it, and the validated chart names what a validation measures (it said "validated
    # validation loss" over held-out test losses)
    page.page.click("#cmp-compare-link")
    back = page.page.wait_for_selector("#compare-comparison")
    assert back.get_attribute("href") == f"#/comparisons/{comparison_id}"
    page.page.wait_for_selector("#compare-table tbody tr")
    words = page.page.evaluate("() => document.querySelector('.page').innerText")
    assert not re.search(r"\bnull\b", words), words
    page.page.wait_for_function(
        "() => (document.getElementById('compare-validated')?.data || []).length > 0",
        timeout=240_000,
    )
    title = page.page.text_content("#compare-validated .ytitle")
    assert title == "held-out test loss", title
    back.click()
    page.page.wait_for_selector("#comparison-table tbody tr")

    page.page.once("dialog", lambda dialog: dialog.accept())
    page.page.click("#cmp-delete")
    page.page.wait_for_function("() => location.hash === '#/comparisons'")
    assert server.api("GET", f"/api/comparisons/{comparison_id}").status_code == 404


NO_SIDEWAYS_JS = (
    "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
)


def test_narrow_pages_fit_their_width(browser: Any, server: LiveServer) -> None:
    """At 390 px the studies list with its ticks, the compare page and the comparisons page fit
    the screen (wide tables scroll inside their panel)."""
    a = write_study(server.database_url, "narrow one", sweep(4, 3), seed=3)
    b = write_study(server.database_url, "narrow two", sweep(4, 3), seed=4)
    context, page = open_page(browser, server.url, viewport={"width": 390, "height": 800})
    try:
        for route, ready in (
            ("#/", "input.pick"),
            (f"#/compare?ids={a},{b}", "#compare-table tbody tr"),
            ("#/comparisons", "#comparison-form"),
        ):
            page.goto(route)
            page.page.wait_for_selector(ready)
            if route.startswith("#/compare?"):
                page.page.wait_for_function(
                    "() => (document.getElementById('compare-curves')?.data || []).length === 2"
                )
            assert page.page.evaluate(NO_SIDEWAYS_JS), route
    finally:
        context.close()
    page.console.check()


# a table fits its panel, no cell clips its content or sits off-screen, no name column is a
# sliver (names broke letter by letter at 390 px): what is wrong, as text (empty: it fits)
FIT_JS = """(sel) => {
  const t = document.querySelector(sel);
  const bad = [];
  if (t.scrollWidth > t.parentElement.clientWidth + 1) bad.push(`table ${t.scrollWidth}px`);
  for (const c of t.querySelectorAll('td, th')) {
    if (c.offsetParent === null) continue;
    const name = c.dataset.label || c.textContent.slice(0, 20);
    const box = c.getBoundingClientRect();
    if (c.scrollWidth > c.clientWidth + 1) bad.push(`${name} clipped`);
    if (box.right > innerWidth + 1) bad.push(`${name} off-screen`);
    if (c.classList.contains('name') && box.width < 80) bad.push(`name ${box.width}px wide`);
  }
  return bad;
}"""


@pytest.mark.parametrize("width", [1280, 800, 390])
def test_tables_fit_or_reflow(browser: Any, server: LiveServer, width: int) -> None:
    """The studies list and the compare table fit their panel at 1280, 800 and 390 px, or
    reflow to one card per row: at 800 px their last columns were off-screen with no hint the
    table scrolls, at 390 px names broke letter by letter beside a clipped STATUS."""
    a = write_study(server.database_url, f"a long study name at {width}", sweep(4, 3), seed=3)
    b = write_study(server.database_url, f"another at {width}", sweep(4, 3), seed=4)
    context, page = open_page(browser, server.url, viewport={"width": width, "height": 800})
    try:
        page.goto("#/")
        page.page.wait_for_selector(f".studies-table tr[data-study-id='{a}']")
        assert page.page.evaluate(FIT_JS, ".studies-table") == []
        page.goto(f"#/compare?ids={a},{b}")
        page.page.wait_for_selector("#compare-table tbody tr")
        assert page.page.evaluate(FIT_JS, "#compare-table") == []
    finally:
        context.close()
    page.console.check()
