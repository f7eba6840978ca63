"""The dashboard in a real browser against a real `adamtune serve` (one worker, SQLite).

The tests share one server; each makes the studies it looks at. Screenshots for the docs come
from `make screenshots`, not from here.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

XSS_NAME = "<img src=x onerror=window.__xss=1>"
SWEEP = {"name": "rosenbrock sweep", "task": "rosenbrock", "n_trials": 6, "epochs": 30}

CURVES_JS = """() => {
  const data = document.getElementById('curves-plot')?.data || [];
  return {curves: data.length, points: data.reduce((n, t) => n + t.x.length, 0)};
}"""
POINT_JS = """(trial) => {
  const gd = document.getElementById('curves-plot');
  const trace = gd.data.find((t) => t.hovertemplate.includes(`trial ${trial}`));
  const i = Math.floor(trace.x.length / 2);
  const size = gd._fullLayout._size;
  const box = gd.getBoundingClientRect();
  return [box.left + size.l + gd._fullLayout.xaxis.d2p(trace.x[i]),
          box.top + size.t + gd._fullLayout.yaxis.d2p(trace.y[i])];
}"""
PLOTTED_JS = "(id) => document.getElementById(id)?.data?.length > 0"
STATUS_JS = "() => document.querySelector('#study-status [data-status]')?.dataset.status"


def wait_status(page: Any, *statuses: str, timeout: float = 60_000) -> str:
    page.page.wait_for_function(
        f"(s) => s.includes(({STATUS_JS})())", arg=list(statuses), timeout=timeout
    )
    return str(page.page.evaluate(STATUS_JS))


def test_create_study_from_form_and_watch_curves_grow(page: Any, server: Any) -> None:
    page.goto("#/new")
    page.page.wait_for_selector("#f-task option[value=rosenbrock]", state="attached")
    page.screenshot("new_study")
    page.page.select_option("#f-task", "rosenbrock")
    assert "Rosenbrock" in page.page.text_content(".task-info")
    page.page.fill("#f-name", SWEEP["name"])
    page.page.fill("#f-n_trials", str(SWEEP["n_trials"]))
    page.page.fill("#f-epochs", str(SWEEP["epochs"]))
    page.page.fill("#f-validate_seeds", "0")  # the module's one worker goes on to the next test
    page.page.click("#f-submit")
    page.page.wait_for_url("**/#/studies/*")
    study_id = int(page.page.url.rsplit("/", 1)[1])
    assert page.page.text_content("#study-name") == SWEEP["name"]

    # the curves grow live: more points, then more trials, without reloading the page
    seen: list[dict[str, int]] = []
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        seen.append(page.page.evaluate(CURVES_JS))
        grew = sum(1 for a, b in zip(seen, seen[1:], strict=False) if b["points"] > a["points"])
        if seen[-1]["curves"] >= 3 and grew >= 3:
            break
        page.page.wait_for_timeout(300)
    assert seen[-1]["curves"] >= 3, seen
    assert grew >= 3, seen
    assert page.page.evaluate("() => performance.getEntriesByType('navigation').length") == 1

    # once the study is over, the plot holds exactly the points the API has
    wait_status(page, "completed", timeout=120_000)
    curves = server.api("GET", f"/api/studies/{study_id}/curves", params={"after": 0}).json()
    trials = curves["points"]["trial"]
    expected = {"curves": len(set(trials)), "points": len(trials)}
    same = f"(e) => JSON.stringify(({CURVES_JS})()) === JSON.stringify(e)"
    page.page.wait_for_function(same, arg=expected, timeout=60_000)
    assert page.page.text_content("#best-value") != "–"


HISTORY_JS = """() => {
  const gd = document.getElementById('figure-plot');
  if (!gd || gd.hidden || gd.dataset.kind !== 'history') return -1;
  const complete = (gd.data || []).find((t) => t.meta && t.meta.role === 'complete');
  return complete ? complete.x.length : 0;
}"""
PANEL_IN_VIEW_JS = """() => {
  const box = document.querySelector('.panel.figures').getBoundingClientRect();
  return box.top < innerHeight && box.bottom > 0;
}"""


def test_history_follows_trials_on_a_page_left_open(page: Any, server: Any) -> None:
    """A study created from the form lands on its page before any trial has completed; the
    History figure there redraws as trials finish, wherever the page is scrolled (it kept
    "appears once a trial has completed" after every trial had, until a reload)."""
    page.goto("#/new")
    page.page.wait_for_selector("#f-task option[value=rosenbrock]", state="attached")
    page.page.select_option("#f-task", "rosenbrock")
    page.page.fill("#f-name", "history left open")
    page.page.fill("#f-n_trials", "4")
    page.page.fill("#f-epochs", "5")
    page.page.fill("#f-validate_seeds", "0")
    page.page.click("#f-submit")
    page.page.wait_for_url("**/#/studies/*")
    page.page.wait_for_function(
        "() => /once a trial has completed/.test("
        "document.querySelector('.figure-message')?.textContent || '')"
    )
    assert wait_status(page, "completed", timeout=120_000) == "completed"
    assert not page.page.evaluate(PANEL_IN_VIEW_JS)  # below the fold, never scrolled to
    page.page.wait_for_function(f"() => ({HISTORY_JS})() === 4", timeout=30_000)
    assert page.page.is_hidden(".figure-message")


def test_study_page_by_url_after_reload(page: Any, server: Any) -> None:
    sweep = {**SWEEP, "name": "rosenbrock sweep, reloaded", "n_trials": 4, "epochs": 10}
    study_id = server.create_study(**sweep)["id"]
    page.goto(f"#/studies/{study_id}")
    page.page.reload()
    page.page.wait_for_function(f"() => ({CURVES_JS})().curves > 0")
    assert page.page.text_content("#study-name") == sweep["name"]
    assert wait_status(page, "completed") == "completed"
    study = server.study(study_id)
    api_curves = server.api("GET", f"/api/studies/{study_id}/curves", params={"after": 0}).json()
    # the page reads the curves' tail 2 s after the study ends (StudyPage.finishStream): the
    # badge can say "completed" before the last trial's curve is drawn
    every_trial = f"(n) => ({CURVES_JS})().curves === n"
    page.page.wait_for_function(every_trial, arg=len(set(api_curves["points"]["trial"])))

    # the default-Adam baseline and the best trial are highlighted and named in the legend
    names = page.page.evaluate(
        "() => document.getElementById('curves-plot').data"
        ".filter(t => t.showlegend).map(t => t.name)"
    )
    assert any("default Adam" in n for n in names), names

    # hovering a curve names the trial, its value and its hyper-parameters
    x, y = page.page.evaluate(POINT_JS, 0)
    page.page.mouse.move(x, y)
    page.page.wait_for_selector("#curves-plot .hoverlayer .hovertext")
    hover = page.page.text_content("#curves-plot .hoverlayer")
    for word in ("trial 0", "default Adam", "value", "lr 0.001", "β1 0.9", "β2 0.999", "eps 1e-8"):
        assert word in hover, hover

    # best parameters as a line of Python, copied to the clipboard
    page.page.click("#btn-copy")
    copied = page.page.evaluate("() => navigator.clipboard.readText()")
    best = study["best"]["params"]
    assert copied.startswith("torch.optim.Adam(model.parameters(), lr=")
    assert "betas=(" in copied and "eps=" in copied and "weight_decay" not in copied
    assert abs(float(copied.split("lr=")[1].split(",")[0]) - best["lr"]) <= 1e-5 * best["lr"]

    # the trials table opens a trial's detail with its curve
    rows = page.page.locator("#trials-table tbody tr")
    assert rows.count() == sweep["n_trials"]
    page.page.click("#trials-table tbody tr[data-trial='0']")
    page.page.wait_for_function(PLOTTED_JS, arg="trial-detail-plot")
    assert "Trial 0" in page.page.text_content("#trial-detail")
    page.page.select_option("#trials-state", "COMPLETE")
    page.page.wait_for_function("() => !document.querySelector('#trials-table tr.row-pruned')")
    page.page.click("th[data-sort=value] button")
    first_row = "(n) => document.querySelector('#trials-table tbody tr')?.dataset.trial == n"
    page.page.wait_for_function(first_row, arg=str(study["best"]["trial"]))

    # analysis figures come from the API, drawn with Plotly once they scroll into view
    page.page.locator(".figures").scroll_into_view_if_needed()
    page.page.wait_for_function(PLOTTED_JS, arg="figure-plot")
    page.page.click(".tab[data-kind=importances]")
    page.page.wait_for_function(
        "() => /importance/i.test(document.getElementById('figure-plot').layout?.title?.text)"
    )


def test_stop_running_study(page: Any, server: Any) -> None:
    page.goto("#/")
    page.page.wait_for_selector(".studies-table", state="attached")  # hidden while empty
    created = server.create_study(name="to stop", task="rosenbrock", n_trials=40, epochs=50)
    # the list refreshes by itself
    row = page.page.locator(f"tr[data-study-id='{created['id']}']")
    row.wait_for(timeout=60_000)
    row.locator("a").click()
    page.page.wait_for_url(f"**/#/studies/{created['id']}")
    assert wait_status(page, "running") == "running"
    page.page.wait_for_function(f"() => ({CURVES_JS})().points > 0")
    page.page.click("#btn-stop")
    assert wait_status(page, "stopping", "stopped", timeout=60_000) in ("stopping", "stopped")
    assert wait_status(page, "stopped", timeout=90_000) == "stopped"
    page.page.wait_for_selector("#btn-resume", state="visible")
    assert page.page.is_hidden("#btn-stop")


def test_delete_study_asks_first(page: Any, server: Any) -> None:
    created = server.create_study(name="to delete", task="rosenbrock", n_trials=1, epochs=2)
    page.goto(f"#/studies/{created['id']}")
    page.page.wait_for_selector("#btn-delete")
    page.page.once("dialog", lambda dialog: dialog.dismiss())
    page.page.click("#btn-delete")
    assert server.api("GET", f"/api/studies/{created['id']}").status_code == 200
    # a figure or trials request already in flight may come back 404 once the study is gone
    page.console.allow("404", rf"/api/studies/{created['id']}/")
    page.page.once("dialog", lambda dialog: dialog.accept())
    page.page.click("#btn-delete")
    page.page.wait_for_url("**/#/")
    page.page.wait_for_selector(".studies-table", state="attached")
    assert server.api("GET", f"/api/studies/{created['id']}").status_code == 404


def test_validation_errors_next_to_their_fields(page: Any, server: Any) -> None:
    page.console.allow("422", r"/api/studies$")  # the answer the form displays
    before = len(server.api("GET", "/api/studies").json()["studies"])
    page.goto("#/new")
    page.page.wait_for_selector("#f-task option", state="attached")
    page.page.fill("#f-n_trials", "0")
    page.page.fill("#f-lr-low", "0.1")
    page.page.fill("#f-lr-high", "0.001")
    page.page.click("#f-submit")
    lr_error = page.page.locator("[data-error-for='space.lr']")
    lr_error.wait_for()
    assert "less than" in lr_error.text_content()
    assert page.page.text_content("[data-error-for='n_trials']").strip()
    assert page.page.is_hidden("[data-error-for='form']")
    assert "/new" in page.page.url
    page.screenshot("new_study_errors", full_page=True)

    # fixing the fields clears the errors and creates the study
    page.page.fill("#f-n_trials", "2")
    page.page.fill("#f-epochs", "3")
    page.page.fill("#f-lr-low", "0.0001")
    page.page.click("#f-submit")
    page.page.wait_for_url("**/#/studies/*")
    assert len(server.api("GET", "/api/studies").json()["studies"]) == before + 1


SCALE_JS = """async ([nTrials, nEpochs]) => {
  const { LiveCurves } = await import('./js/curves.js');
  const { ensurePlotly } = await import('./js/plot.js');
  await ensurePlotly();
  const div = document.createElement('div');
  div.style.cssText = 'width: 1200px; height: 430px';
  document.getElementById('main').prepend(div);
  const points = {trial: [], epoch: [], train_loss: [], val_loss: [], val_accuracy: []};
  const trials = [];
  for (let t = 0; t < nTrials; t++) {
    trials.push({number: t, state: t % 4 ? 'COMPLETE' : 'PRUNED', value: 1, baseline: t === 0,
                 params: {lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0}});
    for (let e = 1; e <= nEpochs; e++) {
      const v = Math.exp(-e * (0.01 + 0.05 * t / nTrials));
      points.trial.push(t); points.epoch.push(e);
      points.train_loss.push(v); points.val_loss.push(v); points.val_accuracy.push(null);
    }
  }
  const curves = new LiveCurves(div, {metric: 'val_loss'});
  curves.best = 7;
  const start = performance.now();
  await curves.load({cursor: 1, points, trials, total_trials: nTrials, trials_shown: nTrials});
  const built = performance.now() - start;
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  const painted = performance.now() - start;
  const data = div.data;
  curves.destroy();
  div.remove();
  const curvesOf = (t) => (t.meta.trials ? t.meta.trials.length : 1);
  return {built, painted, traces: data.length,
          curves: data.reduce((n, t) => n + curvesOf(t), 0),
          points: data.reduce((n, t) => n + t.x.filter((x) => x !== null).length, 0),
          types: [...new Set(data.map((t) => t.type))]};
}"""


def test_curves_of_1000_trials_are_one_svg_trace_per_kind(page: Any, record_property: Any) -> None:
    """1000 curves of 100 epochs: the finished ones one SVG trace per kind (complete, pruned),
    the baseline and the best each their own (how long they take to build is
    bench/curves_build.py's and bench/first_view.py's business, not a test's)."""
    page.goto("#/no-such-page")  # a page that makes no API calls
    page.page.wait_for_selector("main h1")
    result = page.page.evaluate(SCALE_JS, [1000, 100])
    record_property("curves_1000x100", result)
    print("1000 trials x 100 epochs:", result)
    assert result["types"] == ["scatter"]
    assert result["curves"] == 1000 and result["points"] == 100_000
    assert result["traces"] == 4


BULK_LIVE_JS = """async () => {
  const { LiveCurves } = await import('./js/curves.js');
  const { ensurePlotly } = await import('./js/plot.js');
  await ensurePlotly();
  const div = document.createElement('div');
  div.style.cssText = 'width: 1200px; height: 430px';
  document.getElementById('main').prepend(div);
  const points = {trial: [], epoch: [], train_loss: [], val_loss: [], val_accuracy: []};
  const trials = [];
  for (let t = 0; t < 300; t++) {
    trials.push({number: t, state: t === 299 ? 'RUNNING' : 'COMPLETE', value: 1,
                 params: {lr: 1e-3}});
    for (let e = 1; e <= 5; e++) {
      points.trial.push(t); points.epoch.push(e); points.train_loss.push(1 / e);
      points.val_loss.push(1 / e + t / 1e4); points.val_accuracy.push(null);
    }
  }
  const curves = new LiveCurves(div, {metric: 'val_loss', epochs: 20});
  await curves.load({cursor: 1, points, trials, total_trials: 300, trials_shown: 300});
  const own = (n) => div.data.find((t) => t.meta.trial === n);
  const inBulk = (n) => div.data.some((t) => t.meta.trials && t.meta.trials.includes(n));
  const first = {traces: div.data.length, running: own(299).x.length, bulk10: inBulk(10)};
  const settle = () => new Promise((r) => { const wait = () => (curves.busy || curves.timer ||
    curves.pendingPoints.size || curves.pendingStyle.size ? setTimeout(wait, 20) : r());
    setTimeout(wait, 20); });
  curves.onEpoch({trial: 299, epoch: 6, val_loss: 0.1});  // the running trial's own trace grows
  await settle();
  const grown = {traces: div.data.length, running: own(299).x.length};
  curves.highlight(10);  // a bulk trial highlighted: drawn on its own, on top
  await settle();
  const top = div.data[div.data.length - 1].meta.trial;
  const highlighted = {bulk10: inBulk(10), top, width: own(10).line.width};
  curves.onTrialFinished({trial: 299, state: 'PRUNED', value: 0.1});
  await settle();
  const pruned = own(299).legendgroup;
  const hover = div.data[0].hovertemplate;
  curves.destroy();
  div.remove();
  return {first, grown, highlighted, pruned, hover};
}"""


def test_bulk_traces_keep_live_updates_highlight_and_hover(page: Any) -> None:
    """A big study's finished curves share a trace per kind; the running trial keeps its own,
    which new epochs extend; a highlighted trial leaves the bulk trace for one of its own, on
    top; the bulk trace's hover names each point's trial."""
    page.goto("#/no-such-page")
    page.page.wait_for_selector("main h1")
    r = page.page.evaluate(BULK_LIVE_JS)
    assert r["first"] == {"traces": 2, "running": 5, "bulk10": True}
    assert r["grown"] == {"traces": 2, "running": 6}
    assert r["highlighted"]["bulk10"] is False and r["highlighted"]["top"] == 10
    assert r["highlighted"]["width"] == 4
    assert r["pruned"] == "pruned"
    assert "%{customdata[1]}" in r["hover"] and "epoch %{x}" in r["hover"]


def test_untrusted_study_name_is_text(page: Any, server: Any) -> None:
    page.goto("#/new")
    page.page.wait_for_selector("#f-task option[value=rosenbrock]", state="attached")
    page.page.select_option("#f-task", "rosenbrock")
    page.page.fill("#f-name", XSS_NAME)
    page.page.fill("#f-n_trials", "1")
    page.page.fill("#f-epochs", "2")
    page.page.click("#f-submit")
    page.page.wait_for_url("**/#/studies/*")
    study_id = int(page.page.url.rsplit("/", 1)[1])
    page.page.wait_for_selector("#study-name")
    assert page.page.text_content("#study-name") == XSS_NAME
    page.goto("#/")
    link = page.page.locator(f"tr[data-study-id='{study_id}'] td.name a")
    link.wait_for()
    assert link.text_content() == XSS_NAME
    page.console.allow("404", r"/x\?\d+$")  # the broken image below
    # markup in the name would have made an <img> whose failed load runs the handler: the
    # name is text, so there is none; a broken image of our own, once its error has fired,
    # shows that such a handler would have run by now
    assert page.page.evaluate("() => document.querySelectorAll('main img').length") == 0
    page.page.evaluate(
        "() => new Promise((done) => { const img = new Image(); img.onerror = done;"
        " img.src = 'x?' + Date.now(); })"
    )
    assert page.page.evaluate("() => window.__xss") is None
