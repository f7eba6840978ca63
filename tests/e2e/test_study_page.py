"""The study page of studies beyond a plain search: one trained by the user's own code (the
host of each trial's runner), and a search's validation on fresh seeds."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import LiveServer

pytestmark = pytest.mark.e2e

ROWS_JS = """() => [...document.querySelectorAll('#trials-table tbody tr')].map((tr) => ({
  trial: Number(tr.dataset.trial), state: tr.dataset.state,
  runner: tr.querySelector('td.runner')?.textContent}))"""


def _run_trial(server: LiveServer, study_id: int, host: str, values: list[float]) -> int:
    """Ask for a trial as a runner on `host`, report `values` step by step, tell complete."""
    asked = server.api("POST", f"/api/studies/{study_id}/ask", json={"host": host}).json()
    assert asked["state"] == "trial", asked
    number, lease = asked["trial"]["number"], asked["lease"]
    for step, value in enumerate(values):
        body = {"lease": lease, "step": step, "value": value, "metrics": {"train_loss": 1 - value}}
        answer = server.api("POST", f"/api/studies/{study_id}/trials/{number}/report", json=body)
        assert answer.status_code == 200, answer.text
    told = server.api(
        "POST",
        f"/api/studies/{study_id}/trials/{number}/tell",
        json={"lease": lease, "state": "complete", "value": values[-1]},
    )
    assert told.status_code == 200, told.text
    return int(number)


def test_external_study_shows_its_runners(page: Any, server: LiveServer) -> None:
    """A study trained by the user's code reads like any other (its own metric on the chart
    and the cards) and the trials table names the host each trial ran on."""
    study = server.create_study(
        name="own code", task="external", metric="accuracy", direction="maximize",
        n_trials=2, epochs=3,
    )  # fmt: skip
    first = _run_trial(server, study["id"], "gpu-box-1", [0.5, 0.6, 0.7])
    second = _run_trial(server, study["id"], "gpu-box-2", [0.6, 0.8, 0.9])
    # the next ask hears "done", as a runner's loop does, and the study ends
    done = server.api("POST", f"/api/studies/{study['id']}/ask", json={"host": "gpu-box-1"})
    assert done.json()["state"] == "done", done.text
    server.wait_status(study["id"], "completed")

    page.goto(f"#/studies/{study['id']}")
    page.page.wait_for_function(f"() => ({ROWS_JS})().length === 2")
    rows = {r["trial"]: r for r in page.page.evaluate(ROWS_JS)}
    assert rows[first]["runner"] == "gpu-box-1" and rows[second]["runner"] == "gpu-box-2"
    assert page.page.text_content("#trials-table th.runner") == "runner"
    assert "trained by your own code" in page.page.text_content(".meta")
    assert "maximise accuracy" in page.page.text_content(".meta")
    assert page.page.text_content("#best-value") == "0.9"
    label = page.page.evaluate(
        "() => document.querySelector('#curves-metric option[value=val_loss]').textContent"
    )
    assert label == "accuracy"
    page.page.wait_for_function(
        "() => (document.getElementById('curves-plot')?.data || []).length", timeout=60_000
    )

    # a trial's detail names its runner too
    page.page.click(f"#trials-table tbody tr[data-trial='{second}']")
    page.page.wait_for_selector("#trial-detail dl")
    assert "gpu-box-2" in page.page.text_content("#trial-detail dl")


X_RANGE_JS = """(id) => {
  const ax = document.getElementById(id)?._fullLayout?.xaxis;
  return ax ? [ax.range[0], ax.range[1]] : null;
}"""


def test_external_steps_start_at_zero(page: Any, server: LiveServer) -> None:
    """A runner reports steps 0..N-1 (the pasted snippet and both examples do): the chart
    starts at step 0 (it started at 1), and a trial of one step shows its point."""
    study = server.create_study(
        name="steps from zero", task="external", metric="loss", direction="minimize",
        n_trials=2, epochs=3,
    )  # fmt: skip
    _run_trial(server, study["id"], "box", [0.9, 0.5, 0.3])
    single = _run_trial(server, study["id"], "box", [0.7])
    page.goto(f"#/studies/{study['id']}")
    page.page.wait_for_function(
        "() => (document.getElementById('curves-plot')?.data || [])"
        ".filter((t) => t.meta && t.meta.trial !== undefined).length === 2"
    )
    low, high = page.page.evaluate(X_RANGE_JS, "curves-plot")
    assert low < 0 < high, (low, high)
    ticks = page.page.evaluate(
        "() => [...document.querySelectorAll('#curves-plot .xtick text')].map((t) => t.textContent)"
    )
    assert ticks[0] == "0", ticks

    page.page.click(f"#trials-table tbody tr[data-trial='{single}']")
    page.page.wait_for_function(
        "() => (document.getElementById('trial-detail-plot')?.data || []).length > 0"
    )
    low, high = page.page.evaluate(X_RANGE_JS, "trial-detail-plot")
    assert low < 0 < high, (low, high)


def test_cards_never_go_back_behind_the_table(page: Any, server: LiveServer) -> None:
    """The summary cards and the trials table move on the same event: a summary read before
    trial 0 ended that comes back after a newer one is dropped (it put the cards back to 0/12
    and "–" beside a complete row until the next poll)."""
    study = server.create_study(
        name="cards keep up", task="external", metric="loss", direction="minimize",
        n_trials=12, epochs=2,
    )  # fmt: skip
    summary = f"{server.url}/api/studies/{study['id']}"
    held: list[Any] = []

    def hold_first(route: Any) -> None:
        # answer the first summary read after the ask at once, but deliver it last
        if not held and state["armed"]:
            held.append((route, route.fetch()))
        else:
            route.continue_()

    state = {"armed": False}
    page.page.route(summary, hold_first)
    page.goto(f"#/studies/{study['id']}")
    page.page.wait_for_function("() => document.getElementById('live-mode')?.dataset.mode")
    state["armed"] = True
    asked = server.api("POST", f"/api/studies/{study['id']}/ask", json={"host": "box"}).json()
    while not held:  # the trial's start makes the page read its summary: hold that answer
        page.page.wait_for_timeout(100)
    number, lease = asked["trial"]["number"], asked["lease"]
    for step, value in enumerate([0.8, 0.4]):
        server.api(
            "POST",
            f"/api/studies/{study['id']}/trials/{number}/report",
            json={"lease": lease, "step": step, "value": value},
        )
    server.api(
        "POST",
        f"/api/studies/{study['id']}/trials/{number}/tell",
        json={"lease": lease, "state": "complete", "value": 0.4},
    )
    page.page.wait_for_function(
        "() => document.querySelector('#trials-table tr[data-trial=\"0\"]')?.dataset.state"
        " === 'COMPLETE' && document.querySelector('.progress-text')?.textContent === '1/12'"
    )
    route, stale = held[0]
    with page.page.expect_event("requestfinished"):
        route.fulfill(response=stale)
    page.page.evaluate("() => new Promise((r) => setTimeout(r, 0))")  # its handlers ran
    assert page.page.text_content(".progress-text") == "1/12"
    assert page.page.text_content("#best-value") == "0.4"


GAIN_KIND_JS = "() => document.getElementById('study-gain')?.dataset.kind"


def rows_js(table: str) -> str:
    """The rows of a validation round's table, with the numbers its cells carry."""
    return f"""() => [...document.querySelectorAll('#{table} tbody tr')]
  .map((tr) => ({{label: tr.dataset.label, mean: Number(tr.querySelector('td.mean').dataset.mean),
                 low: Number(tr.querySelector('td.mean').dataset.low),
                 high: Number(tr.querySelector('td.mean').dataset.high),
                 wins: tr.querySelector('td.wins').textContent,
                 tag: tr.querySelector('.tag')?.textContent || ''}}))"""


def _same_numbers(rows: list[dict[str, Any]], configs: list[dict[str, Any]]) -> None:
    by_label = {r["label"]: r for r in rows}
    assert set(by_label) == {c["label"] for c in configs}
    for config in configs:
        row = by_label[config["label"]]
        assert (row["mean"], row["low"], row["high"]) == (
            config["mean"], config["ci_low"], config["ci_high"]
        )  # fmt: skip
        if config["label"] != "default":
            assert row["wins"] == f"{config['wins']}/{config['n']}"


def test_validate_from_the_page_shows_both_rounds_and_one_line(
    page: Any, server: LiveServer
) -> None:
    """Before a validation the gain is the search estimate and the line to paste is marked
    unvalidated; Validate picks on selection seeds and confirms the pick on others, and then
    the page shows both rounds with the API's numbers, the confirmed gain with its CI and the
    verdict, the search value labelled as an estimate, one line to paste (the confirmed
    answer's, with no warning), and the confirmation runs' curves."""
    study = server.create_study(
        name="to validate", task="rosenbrock", n_trials=4, epochs=6, pruner="none"
    )
    server.wait_status(study["id"], "completed")
    page.goto(f"#/studies/{study['id']}")
    page.page.wait_for_function(f"() => ({GAIN_KIND_JS})() === 'search'")
    assert "search estimate" in page.page.text_content("#gain-note")
    assert "Not validated" in page.page.text_content("#validation-status")
    warning = page.page.text_content("#paste-warning")
    assert page.page.is_visible("#paste-warning") and warning.startswith("Unvalidated:")
    assert "can be worse than the defaults" in warning
    assert page.page.evaluate("() => document.getElementById('adam-line').dataset.validated") == (
        "false"
    )

    page.page.fill("#v-top_k", "2")
    page.page.fill("#v-seeds", "2")
    page.page.fill("#v-confirm_seeds", "3")
    page.page.click("#btn-validate")
    page.page.wait_for_function(f"() => ({GAIN_KIND_JS})() === 'confirmed'", timeout=180_000)
    report = server.api("GET", f"/api/studies/{study['id']}/validation").json()
    assert report["complete"] and report["confirmed"] and report["runs_total"] == 3 * 2 + 2 * 3
    assert not set(report["selection_seeds"]) & set(report["confirmation_seeds"])

    assert page.page.text_content("#gain-verdict") == report["verdict"]
    assert page.page.text_content("#validation-verdict") == report["verdict"]
    note = page.page.text_content("#gain-note")
    assert "confirmed on 3 fresh seeds" in note and "95 % CI" in note and "search estimate" in note
    status = page.page.text_content("#validation-status")
    assert "Selection seeds " + ", ".join(map(str, report["selection_seeds"])) in status
    assert "confirmation seeds " + ", ".join(map(str, report["confirmation_seeds"])) in status
    # round 1: the picked config tagged; round 2: the pick and the defaults, the answer tagged
    selection = page.page.evaluate(rows_js("validation-table"))
    _same_numbers(selection, report["configs"])
    assert [r["label"] for r in selection if r["tag"] == "picked"] == [report["picked"]]
    confirmation = page.page.evaluate(rows_js("confirmation-table"))
    _same_numbers(confirmation, report["confirmation"]["configs"])
    assert [r["label"] for r in confirmation if r["tag"]] == [report["recommended"]]
    assert "search estimate" in page.page.text_content("#validation-table thead")
    # exactly one line to paste: the confirmed answer's, no warning
    assert (
        page.page.evaluate("() => document.getElementById('adam-line').dataset.copy")
        == (report["torch_line"])
    )
    assert page.page.is_hidden("#paste-warning")
    assert page.page.locator("code", has_text="torch.optim.").count() == 1
    # the confirmation's runs: one curve per config and seed, one legend entry per config
    page.page.wait_for_function(
        "() => (document.getElementById('validation-plot')?.data || []).length === 6"
    )
    legend = page.page.evaluate(
        "() => document.getElementById('validation-plot').data"
        ".filter((t) => t.showlegend).map((t) => t.name).sort()"
    )
    assert legend == sorted("defaults" if c["label"] == "default" else c["label"]
                            for c in report["confirmation"]["configs"])  # fmt: skip


STATE_CELLS_JS = """() => Object.fromEntries(
  [...document.querySelectorAll('#trials-table tbody tr')]
    .map((tr) => [tr.dataset.trial, tr.querySelector('.state').textContent]))"""


def test_a_trial_asked_ahead_shows_reserved_not_running(page: Any, server: LiveServer) -> None:
    """One client runner: the trial it trains is running, the one it asked ahead is reserved,
    and Stop would interrupt only the first."""
    study = server.create_study(name="asked ahead", task="external", n_trials=4, epochs=5)
    url = f"/api/studies/{study['id']}"
    first = server.api("POST", f"{url}/ask", json={"host": "box"}).json()
    body = {"lease": first["lease"], "step": 0, "value": 0.9}
    number = first["trial"]["number"]
    assert server.api("POST", f"{url}/trials/{number}/report", json=body).status_code == 200
    ahead = server.api("POST", f"{url}/ask", json={"host": "box", "ahead": True}).json()
    assert ahead["state"] == "trial", ahead

    page.goto(f"#/studies/{study['id']}")
    page.page.wait_for_function(f"() => Object.keys(({STATE_CELLS_JS})()).length === 2")
    states = page.page.evaluate(STATE_CELLS_JS)
    assert states == {str(number): "running", str(ahead["trial"]["number"]): "reserved"}
    progress = page.page.text_content("#study-progress-text")
    assert "1 running" in progress and "1 reserved" in progress
    assert "Stop would interrupt 1 trial " in page.page.text_content("#stop-note")
