"""A running study seen live in Chromium against a real `adamtune serve` with one worker: the
trials table keeps up with the chart, "Best parameters" waits for a result, Stop ends the live
view, and a trial's own chart reads at a glance."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.conftest import LiveServer

pytestmark = pytest.mark.e2e

STATUS_JS = "() => document.querySelector('#study-status [data-status]')?.dataset.status"
CHART_EPOCHS_JS = """(n) => {
  const t = (document.getElementById('curves-plot')?.data || []).find((d) => d.meta?.trial === n);
  return t ? t.x.length : 0;
}"""
ROW_EPOCHS_JS = """(n) => Number(document.querySelector(
  `#trials-table tr[data-trial="${n}"] td.epochs`)?.textContent || -1)"""


def test_running_study_stays_current_and_stops(page: Any, server: LiveServer) -> None:
    """While a trial runs, its row shows its betas and eps and counts its epochs with the chart
    (it said "running, 0 epochs" beside a chart of 12); before a trial completes there is no
    line to paste; after Stop the page is no longer live and no row is left running."""
    study = server.create_study(
        name="live table", task="rosenbrock", n_trials=3, epochs=400, pruner="none"
    )
    try:
        _watch_running_study(page, study["id"])
    finally:
        server.api("POST", f"/api/studies/{study['id']}/stop")  # the next test's worker is free


def _watch_running_study(page: Any, study_id: int) -> None:
    page.goto(f"#/studies/{study_id}")
    page.page.wait_for_function(f"() => ({CHART_EPOCHS_JS})(0) >= 3")
    # no trial has completed: no torch.optim.Adam line for the default parameters
    assert page.page.text_content("#best-value") == "–"
    assert page.page.is_hidden("#adam-line")
    assert "No complete trial yet" in page.page.text_content(".best-params")

    # the running row has every parameter (it had lr only), while the trial still runs
    row = "#trials-table tr[data-trial='0'][data-state='RUNNING']"
    cells_js = (
        f'() => Object.fromEntries([...document.querySelectorAll("{row} td[data-param]")]'
        ".map((td) => [td.dataset.param, td.textContent]))"
    )
    expected = {"lr": "0.001", "beta1": "0.9", "beta2": "0.999", "eps": "1e-8"}
    page.page.wait_for_function(
        f"(want) => JSON.stringify(({cells_js})()) === JSON.stringify(want)", arg=expected
    )
    # the row's epochs follow the chart, with no reload of the table
    chart = page.page.evaluate(CHART_EPOCHS_JS, 0)
    page.page.wait_for_function(
        f"(n) => ({ROW_EPOCHS_JS})(0) >= n && ({CHART_EPOCHS_JS})(0) > n", arg=chart + 20
    )
    assert page.page.evaluate(ROW_EPOCHS_JS, 0) >= page.page.evaluate(CHART_EPOCHS_JS, 0) - 10

    page.page.click("#btn-stop")
    page.page.wait_for_function(f"() => ({STATUS_JS})() === 'stopped'", timeout=90_000)
    page.page.wait_for_function(
        "() => document.getElementById('live-mode').dataset.mode === 'off'"
        " && !document.querySelector('#trials-table tr[data-state=\"RUNNING\"]')"
        " && document.querySelector('#trials-table tr[data-trial=\"0\"]')?.dataset.state"
        " === 'FAIL'",
        timeout=60_000,
    )
    assert page.page.text_content("#live-mode") == ""
    assert "stopped" in page.page.text_content("#trials-table tr[data-trial='0'] td.note")


def test_stop_then_resume_re_runs_every_interrupted_trial(page: Any, server: LiveServer) -> None:
    """What Stop does is on the page before the click; the trial it interrupts is queued again,
    and Resume runs it first with the same parameters: none is discarded (Stop at 17/20 then
    Resume used to end the two running trials for good). Exactly n_trials in the end is the
    in-process API test's (tests/app/test_studies_api.py); here the trials are long, so that
    the stop always lands mid-trial."""
    study = server.create_study(
        name="stop and resume", task="rosenbrock", n_trials=2, epochs=400, pruner="none"
    )
    try:
        _stop_then_resume(page, server, study["id"])
    finally:
        server.api("POST", f"/api/studies/{study['id']}/stop")  # the next test's worker is free


def _stop_then_resume(page: Any, server: LiveServer, study_id: int) -> None:
    page.goto(f"#/studies/{study_id}")
    page.page.wait_for_function(
        "() => (document.getElementById('stop-note')?.textContent || '')"
        ".startsWith('Stop would interrupt 1 trial')"
    )
    assert "same parameters" in (page.page.text_content("#stop-note") or "")
    page.page.click("#btn-stop")
    page.page.wait_for_function(f"() => ({STATUS_JS})() === 'stopped'", timeout=90_000)
    page.page.wait_for_function(
        "() => (document.getElementById('stop-note')?.textContent || '')"
        ".includes('1 trial interrupted by the stop waits to be re-run')"
    )
    page.page.wait_for_function(
        "() => [...document.querySelectorAll('#trials-table tr[data-state=\"FAIL\"]')]"
        ".map((tr) => tr.dataset.trial).join() === '0'"
    )

    page.page.click("#btn-resume")
    page.page.wait_for_function(
        "() => document.querySelector('#trials-table tr[data-trial=\"1\"]')?.dataset.state"
        " === 'RUNNING'",
        timeout=90_000,
    )
    trials = server.api("GET", f"/api/studies/{study_id}/trials").json()["trials"]
    interrupted, rerun = trials[0], trials[1]
    assert interrupted["state"] == "FAIL" and interrupted["reason"].startswith("stopped")
    assert rerun["baseline"] and rerun["params"] == interrupted["params"]


def test_trial_detail_chart_reads_at_a_glance(page: Any, server: LiveServer) -> None:
    """A trial's own chart: the legend on one line above the plot (it took 40 % of the height)
    and accuracy ticks at 0, 0.2 ... 1 (they read 0.032, 0.135 ... 0.924); integer epochs."""
    study = server.create_study(
        name="accuracy", task="logreg_breast_cancer", n_trials=1, epochs=4, pruner="none"
    )
    server.wait_status(study["id"], "completed", timeout=90)
    page.goto(f"#/studies/{study['id']}")
    page.page.click("#trials-table tbody tr[data-trial='0']")
    page.page.wait_for_function(
        "() => document.getElementById('trial-detail-plot')?._fullLayout?.yaxis2 !== undefined"
    )
    ticks = page.page.evaluate(
        "() => [...document.querySelectorAll('#trial-detail-plot .y2tick text')]"
        ".map((t) => t.textContent)"
    )
    assert ticks == ["0", "0.2", "0.4", "0.6", "0.8", "1"], ticks
    # the entries above the plot, none over another (Plotly's legend, in thirds of the width,
    # overlapped them; before that it took 40 % of the height)
    boxes = page.page.evaluate(
        "() => [...document.querySelectorAll('#trial-detail-legend .entry')].map((e) => {"
        " const r = e.getBoundingClientRect(); return [r.left, r.right, r.top, r.bottom]; })"
    )
    assert len(boxes) == 3, boxes
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert a[1] <= b[0] or b[1] <= a[0] or a[3] <= b[2] or b[3] <= a[2], boxes
    legend_box = page.page.evaluate(
        "() => [document.getElementById('trial-detail-legend').getBoundingClientRect().bottom,"
        " document.getElementById('trial-detail-plot').getBoundingClientRect().top]"
    )
    assert legend_box[0] <= legend_box[1] + 1, legend_box
    xticks = page.page.evaluate(
        "() => [...document.querySelectorAll('#trial-detail-plot .xtick text')]"
        ".map((t) => t.textContent)"
    )
    assert xticks and all(re.fullmatch(r"\d+", t) for t in xticks), xticks
