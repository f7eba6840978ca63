"""The new-study form as a new user meets it, and the API documentation with no network."""

from __future__ import annotations

import re
from typing import Any

import httpx
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


DIMS_JS = "() => [...document.querySelectorAll('.space-rows .dim')].map((d) => d.dataset.dim)"


def test_optimizer_family_preset_and_eps_mode_reach_the_study(
    page: Any, server: LiveServer
) -> None:
    """The optimizer family decides the space's rows and starting values (its own defaults and
    the preset's ranges, from GET /api/options); what is picked is what the study runs."""
    options = server.api("GET", "/api/options").json()
    families = {f["name"]: f for f in options["optimizers"]}
    page.goto("#/new")
    page.page.wait_for_selector("#f-optimizer option[value=sgd_nesterov]", state="attached")
    assert page.page.evaluate(DIMS_JS) == families["adam"]["dims"]
    assert page.page.is_disabled("#f-eps_mode") is False

    page.page.select_option("#f-optimizer", "sgd_nesterov")
    assert page.page.evaluate(DIMS_JS) == ["lr", "momentum", "weight_decay"]
    sgd = families["sgd_nesterov"]
    assert float(page.page.input_value("#f-lr-low")) == sgd["presets"]["default"]["lr"]["low"]
    assert float(page.page.input_value("#f-weight_decay-value")) == sgd["baseline"]["weight_decay"]
    assert page.page.is_disabled("#f-eps_mode")  # SGD has no eps
    assert "torch.optim.SGD" in page.page.text_content("#f-optimizer-about")

    page.page.select_option("#f-optimizer", "adam_lr_only")
    assert page.page.is_disabled("#f-beta1-range")  # only lr (and weight decay) are searched
    assert float(page.page.input_value("#f-beta2-value")) == families["adam"]["baseline"]["beta2"]

    page.page.select_option("#f-optimizer", "adamw")
    page.page.select_option("#f-preset", "wide")
    wide = families["adamw"]["presets"]["wide"]
    assert float(page.page.input_value("#f-lr-low")) == wide["lr"]["low"]
    assert float(page.page.input_value("#f-eps-high")) == wide["eps"]["high"]
    page.page.select_option("#f-eps_mode", "tf")
    page.page.select_option("#f-task", "rosenbrock")
    page.page.fill("#f-name", "adamw wide tf")
    page.page.fill("#f-n_trials", "2")
    page.page.fill("#f-epochs", "2")
    page.page.select_option("#f-pruner", "none")
    page.page.fill("#f-seeds_per_trial", "2")
    page.page.fill("#f-validate_seeds", "0")
    page.page.click("#f-submit")
    page.page.wait_for_url("**/#/studies/*")
    study_id = int(page.page.url.rsplit("/", 1)[1])
    study = server.wait_status(study_id, "completed")
    assert (study["optimizer"], study["preset"], study["eps_mode"], study["seeds_per_trial"]) == (
        "adamw", "wide", "tf", 2
    )  # fmt: skip
    assert study["validate_seeds"] == 0
    assert study["space"]["lr"]["low"] == wide["lr"]["low"]
    # the page names the family's defaults and pastes its class
    page.page.wait_for_function(
        "() => document.getElementById('adam-line').dataset.copy.startsWith('torch.optim.AdamW(')"
    )
    baseline = page.page.text_content(".cards")
    assert "Default AdamW" in baseline and "weight decay 0.01" in baseline


def test_a_schedule_is_tuned_from_the_form_and_drawn_beside_a_trial(
    page: Any, server: LiveServer
) -> None:
    """The schedule rows start at none; the schedule preset fills them from GET /api/options;
    the decay shapes ticked are what the study searches; a trial with a schedule shows its
    learning rate over the run beside its curve, and the line to paste carries its scheduler."""
    options = server.api("GET", "/api/options").json()
    ranges = next(f for f in options["optimizers"] if f["name"] == "adam")["ranges"]["schedule"]
    page.goto("#/new")
    page.page.wait_for_selector("#f-preset option[value=schedule]", state="attached")
    assert page.page.evaluate(DIMS_JS)[-1] != "warmup"  # the schedule has rows of its own
    assert page.page.is_checked("#f-warmup-fixed") and page.page.is_checked("#f-decay-constant")
    assert not page.page.is_checked("#f-decay-cosine")
    page.page.select_option("#f-preset", "schedule")
    assert float(page.page.input_value("#f-warmup-high")) == ranges["warmup"][1]
    assert not page.page.is_checked("#f-warmup-log")  # a fraction that may be 0: linear
    assert all(page.page.is_checked(f"#f-decay-{s}") for s in ("constant", "cosine", "linear"))
    page.page.uncheck("#f-decay-constant")
    page.page.select_option("#f-task", "rosenbrock")
    page.page.fill("#f-name", "scheduled")
    page.page.fill("#f-n_trials", "3")
    page.page.fill("#f-epochs", "2")
    page.page.select_option("#f-pruner", "none")
    page.page.fill("#f-validate_seeds", "0")
    page.page.click("#f-submit")
    page.page.wait_for_url("**/#/studies/*")
    study_id = int(page.page.url.rsplit("/", 1)[1])
    study = server.wait_status(study_id, "completed")
    assert study["preset"] == "schedule"
    assert study["space"]["decay"]["choices"] == ["cosine", "linear"]
    trial = server.api("GET", f"/api/studies/{study_id}/trials/1").json()
    assert trial["params"]["decay"] in ("cosine", "linear")
    page.page.click("#trials-table tbody tr[data-trial='1']")
    page.page.wait_for_selector("#trial-detail-lr .main-svg")
    assert page.page.locator("#trial-detail-plot .main-svg").count() >= 1
    header = page.page.text_content("#trials-table thead")
    assert "warmup" in header and "decay" in header
    if study["best"]["trial"] != 0:
        page.page.wait_for_function(
            "() => document.getElementById('adam-line').dataset.copy.includes("
            "'torch.optim.lr_scheduler.')"
        )


def test_a_pruner_on_a_budget_too_small_to_judge_is_flagged(page: Any) -> None:
    page.goto("#/new")
    page.page.wait_for_selector("#f-task option[value=rosenbrock]", state="attached")
    page.page.select_option("#f-task", "rosenbrock")
    page.page.select_option("#f-pruner", "hyperband")
    page.page.fill("#f-epochs", "2")
    page.page.wait_for_selector("#f-pruner-warning", state="visible")
    assert "2 epochs" in page.page.text_content("#f-pruner-warning")
    page.page.select_option("#f-pruner", "none")
    page.page.wait_for_selector("#f-pruner-warning", state="hidden")
    page.page.select_option("#f-pruner", "median")
    page.page.wait_for_selector("#f-pruner-warning", state="visible")
    page.page.fill("#f-epochs", "30")
    page.page.wait_for_selector("#f-pruner-warning", state="hidden")


def test_own_training_code_study_gives_the_lines_to_paste(page: Any, server: LiveServer) -> None:
    """The task "your own training code" asks for a metric and a direction (a bad metric name
    shows with the other errors on the first submit), then shows the two lines to paste; the
    client line really reaches the study."""
    from adamtune.client import Study

    page.console.allow("422", r"/api/studies\?dry_run=true$")
    page.goto("#/new")
    page.page.wait_for_selector("#f-task option[value=external]", state="attached")
    assert page.page.is_hidden("#f-metric")
    page.page.select_option("#f-task", "external")
    page.page.fill("#f-metric", "1 accuracy")
    page.page.fill("#f-n_trials", "abc")
    page.page.click("#f-submit")
    page.page.wait_for_function(f"() => ({ERROR_JS})('metric') !== ''")
    assert "not a number" in page.page.evaluate(ERROR_JS, "n_trials")
    assert (
        page.page.evaluate("() => document.getElementById('f-metric').getAttribute('aria-invalid')")
        == "true"
    )

    page.page.fill("#f-metric", "accuracy")
    page.page.select_option("#f-direction", "maximize")
    page.page.fill("#f-n_trials", "3")
    page.page.fill("#f-name", "my own model")
    page.page.click("#f-submit")
    page.page.wait_for_selector("#external-next")
    client = page.page.text_content("#snippet-client")
    agent = page.page.text_content("#snippet-agent")
    match = re.search(r'Study\("([^"]+)", (\d+)\)', client)
    assert match, client
    url, study_id = match.group(1), int(match.group(2))
    assert url == server.url
    assert agent == f"adamtune agent {server.url} {study_id} -- python train.py"
    assert "trial.report(step, accuracy)" in client
    # what to install on the training machine: the server's own wheel of the client, which works
    hint = page.page.text_content("#external-next")
    wheel = re.search(r"pip install (\S+\.whl)", hint)
    assert wheel and wheel.group(1).startswith(f"{server.url}/client/adamtune_client-"), hint
    assert "pip install adamtune on" not in hint
    assert httpx.get(wheel.group(1), timeout=30).status_code == 200
    study = server.study(study_id)
    assert (study["task"], study["metric"], study["direction"]) == (
        "external", "accuracy", "maximize"
    )  # fmt: skip
    try:
        trial = Study(url, study_id, host="e2e-runner").ask()
        assert trial is not None and trial.number == 0
        trial.report(0, 0.5)
        trial.complete()  # ends its heartbeats too
    finally:
        server.api("POST", f"/api/studies/{study_id}/stop")
    page.page.click("#open-study")
    page.page.wait_for_url(f"**/#/studies/{study_id}")


def test_the_five_trial_starter_is_started_from_the_form(page: Any, server: LiveServer) -> None:
    """Ticking the starter lists its five configs (GET /api/options), holds the fields it
    decides (trials, optimizer, preset, pruner) and hides the space; the study created trains
    exactly the five."""
    starter = server.api("GET", "/api/options").json()["starter"]
    page.goto("#/new")
    page.page.wait_for_selector("#f-starter:not([disabled])")
    assert page.page.is_hidden("#f-starter-configs")
    page.page.check("#f-starter")
    page.page.wait_for_selector("#f-starter-configs", state="visible")
    assert page.page.locator("#f-starter-configs li").count() == len(starter["configs"])
    assert page.page.input_value("#f-n_trials") == str(starter["trials"])
    assert page.page.is_disabled("#f-n_trials") and page.page.is_disabled("#f-preset")
    assert page.page.input_value("#f-preset") == "schedule"
    assert page.page.input_value("#f-pruner") == "none"
    page.page.select_option("#f-task", "rosenbrock")
    page.page.fill("#f-name", "starter")
    page.page.fill("#f-epochs", "2")
    page.page.fill("#f-validate_seeds", "0")
    page.page.click("#f-submit")
    page.page.wait_for_url("**/#/studies/*")
    study_id = int(page.page.url.rsplit("/", 1)[1])
    study = server.wait_status(study_id, "completed")
    assert (study["starter"], study["n_trials"], study["preset"]) == (True, 5, "schedule")
    trials = server.api("GET", f"/api/studies/{study_id}/trials", params={"sort": "number"})
    lrs = [t["params"]["lr"] for t in trials.json()["trials"]]
    assert lrs == pytest.approx([c["lr"] for c in starter["configs"]], rel=1e-12)
