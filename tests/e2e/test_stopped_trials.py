"""A study stopped and resumed, written straight into the server's database as adamtune's runner
leaves it (two trials interrupted by the stop, FAIL with an interrupt reason, and their re-runs):
the history keeps the trial numbers, and the interrupted trials read as stopped, not failed."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.conftest import LiveServer
from tests.e2e.factories import Trial, decaying, write_study

pytestmark = pytest.mark.e2e

FIGURE_JS = """(kind) => {
  const gd = document.getElementById('figure-plot');
  return gd && gd.dataset.kind === kind && !gd.hidden && (gd.data || []).length > 0;
}"""
TEXTS_JS = "(sel) => [...document.querySelectorAll(sel)].map((e) => e.textContent)"
STOPPED = (11, 12)  # interrupted by the stop; 13 and 14 re-run them on Resume


@pytest.fixture(scope="module")
def studies(server: LiveServer) -> dict[str, int]:
    def trial(i: int) -> Trial:
        if i in STOPPED:
            return Trial(curve=decaying(3, 0.5), stopped=True)
        return Trial(
            curve=decaying(3 if i != 2 else 1, 0.2 + 0.01 * i),
            pruned=i == 2,
            baseline=i == 0,
            rerun_of={13: 11, 14: 12}.get(i),
        )

    url = server.database_url
    return {
        "resumed": write_study(url, "stopped and resumed", [trial(i) for i in range(15)]),
        "four": write_study(
            url, "four trials", [Trial(curve=decaying(3, 0.3 - 0.01 * i)) for i in range(4)]
        ),
    }


def open_history(page: Any, study_id: int) -> None:
    page.goto(f"#/studies/{study_id}")
    page.page.locator(".figures").scroll_into_view_if_needed()
    page.page.wait_for_function(FIGURE_JS, arg="history")


def test_history_is_drawn_by_trial_number(page: Any, studies: dict) -> None:
    """Trial 13 is drawn at 13 after two interrupted trials (it was at 11: the figure numbered
    the trials it loaded anew), and the axis has integer ticks (4 trials read "0 1 1 2 2 3 3")."""
    open_history(page, studies["resumed"])
    complete = page.page.evaluate(
        "() => document.getElementById('figure-plot').data.find((t) => t.meta?.role === 'complete')"
    )
    expected = [i for i in range(15) if i not in (2, *STOPPED)]
    assert complete["x"] == expected, complete["x"]
    assert "trial 13 ·" in complete["hovertext"][expected.index(13)]
    ticks = page.page.evaluate(TEXTS_JS, "#figure-plot .xtick text")
    assert ticks and all(re.fullmatch(r"\d+", t) for t in ticks), ticks
    assert len(set(ticks)) == len(ticks), ticks

    open_history(page, studies["four"])
    page.page.wait_for_function(
        "() => document.querySelectorAll('#figure-plot .xtick text').length > 0"
    )
    assert page.page.evaluate(TEXTS_JS, "#figure-plot .xtick text") == ["0", "1", "2", "3"]


def test_stopped_trials_read_as_stopped_not_failed(page: Any, studies: dict) -> None:
    """After Stop and Resume the interrupted trials are grey "stopped · re-run as #13" rows,
    not red "fail" ones; the progress says 0 failed with no red bar, in the list too."""
    study_id = studies["resumed"]
    page.goto(f"#/studies/{study_id}")
    row = "#trials-table tr[data-trial='11']"
    page.page.wait_for_selector(row)
    assert page.page.text_content(f"{row} .state") == "stopped"
    assert page.page.text_content(f"{row} td.note") == "stopped · re-run as #13"
    assert page.page.text_content("#trials-table tr[data-trial='12'] td.note") == (
        "stopped · re-run as #14"
    )
    assert page.page.locator("#trials-table .state-fail, #trials-table tr.row-fail").count() == 0
    progress = page.page.text_content(".cards .card .muted.small")
    assert "0 failed" in progress and "2 stopped" in progress, progress
    assert page.page.evaluate("() => document.querySelector('.cards .seg.failed').style.width") in (
        "0%",
        "",
    )
    # the curves of the stopped trials are grey, named for what happened
    page.page.wait_for_function(
        "() => (document.getElementById('curves-plot')?.data || []).length === 15"
    )
    names = page.page.evaluate(
        "() => Object.fromEntries(document.getElementById('curves-plot').data"
        ".map((t) => [t.meta?.trial, t.name]))"
    )
    assert names["11"] == names["12"] == "stopped, re-run", names

    page.goto("#/")
    listed = f"tr[data-study-id='{study_id}']"
    page.page.wait_for_selector(listed)
    bar = page.page.locator(f"{listed} .progress")
    assert "0 failed" in (bar.get_attribute("title") or "")
    assert page.page.evaluate(
        f'() => document.querySelector("{listed} .seg.failed").style.width'
    ) in ("0%", "")
