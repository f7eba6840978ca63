"""Trials trained by external code, through the REST lifecycle in-process: ask, report, beat,
tell; exactly n_trials; every bad report a 4xx naming why; dead leases re-asked; the search's
validation handed out after it."""

from __future__ import annotations

from typing import Any

import pytest
from optuna.trial import TrialState

from app.admission import classify
from app.external import ExternalTrials
from optim import optuna_internals as oi
from tests.app.conftest import Api
from tests.conftest import both_databases, wait_for

EXTERNAL = {"task": "external", "metric": "accuracy", "direction": "maximize", "epochs": 8,
            "n_trials": 3, "pruner": "none", "sampler": "random", "validate_seeds": 0}  # fmt: skip


def ask(api: Api, study_id: int, host: str = "gpu-box") -> dict[str, Any]:
    response = api.post(f"/api/studies/{study_id}/ask", json={"host": host})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def call(api: Api, handout: dict[str, Any], verb: str, **body: Any) -> Any:
    number = handout["trial"]["number"]
    url = f"/api/studies/{handout['study_id']}/trials/{number}/{verb}"
    return api.post(url, json={"lease": handout["lease"], **body})


def run_trial(api: Api, handout: dict[str, Any], values: list[float]) -> None:
    for step, value in enumerate(values):
        answer = call(api, handout, "report", step=step, value=value, metrics={"loss": 1 - value})
        assert answer.status_code == 200, answer.text
    told = call(api, handout, "tell", state="complete", value=values[-1])
    assert told.status_code == 200, told.text


@both_databases
def test_clients_train_exactly_n_trials_over_http(api: Api) -> None:
    study = api.create_study(**EXTERNAL)
    assert api.work() == 0  # the built-in workers leave it alone
    seen = []
    while (handout := ask(api, study["id"]))["state"] == "trial":
        trial = handout["trial"]
        assert handout["study_id"] == study["id"] and handout["heartbeat_interval_s"] > 0
        assert trial["optimizer"] == "adam" and set(trial["params"]) >= {"lr", "beta1", "eps"}
        assert trial["steps"] == 8 and trial["metric"] == "accuracy" and len(trial["seeds"]) == 1
        assert trial["torch_line"].startswith("torch.optim.Adam(")
        seen.append(trial["number"])
        run_trial(api, handout, [0.5, 0.6, 0.7 + 0.01 * trial["number"]])
    assert handout == {**handout, "state": "done"} and "completed" in handout["reason"]
    assert seen == [0, 1, 2]
    done = api.study(study["id"])
    assert (done["status"], done["progress"]["complete"]) == ("completed", 3)
    assert done["direction"] == "maximize" and done["metric"] == "accuracy"
    assert done["best"]["trial"] == 2  # the highest accuracy
    trials = api.trials(study["id"])
    assert {t["runner"] for t in trials} == {"gpu-box"}
    assert [t["epochs_done"] for t in trials] == [3, 3, 3]
    curves = api.get(f"/api/studies/{study['id']}/curves?after=0").json()
    assert len(curves["points"]["epoch"]) == 9


def test_every_bad_report_gets_a_4xx_naming_why(api: Api) -> None:
    study = api.create_study(**EXTERNAL)
    other = api.create_study(**{**EXTERNAL, "name": "other"})
    first = ask(api, study["id"])
    theirs = ask(api, other["id"])
    assert call(api, first, "report", step=2, value=0.5).status_code == 200
    assert call(api, first, "report", step=2, value=0.9).status_code == 200  # idempotent
    back = call(api, first, "report", step=1, value=0.5)
    assert back.status_code == 422 and "goes back" in back.text
    nan = api.client.post(
        f"/api/studies/{study['id']}/trials/0/report",
        content=f'{{"lease": "{first["lease"]}", "step": 3, "value": NaN}}',
        headers={"content-type": "application/json"},
    )
    assert nan.status_code == 422
    unknown = api.post(f"/api/studies/{study['id']}/trials/99/report",
                       json={"lease": first["lease"], "step": 0, "value": 1.0})  # fmt: skip
    assert unknown.status_code == 404 and "no trial 99" in unknown.text
    # another study's lease on this study's trial 0: the lease does not hold it
    mixed = api.post(f"/api/studies/{study['id']}/trials/0/report",
                     json={"lease": theirs["lease"], "step": 3, "value": 1.0})  # fmt: skip
    assert mixed.status_code == 409 and "does not hold" in mixed.text
    assert call(api, {**first, "lease": "x" * 32}, "heartbeat").status_code == 409
    no_value = call(api, first, "tell", state="complete")
    assert no_value.status_code == 422 and "needs its value" in no_value.text
    assert call(api, first, "tell", state="complete", value=0.5).status_code == 200
    after = call(api, first, "report", step=9, value=0.5)
    assert after.status_code == 409 and "COMPLETE" in after.text
    assert call(api, first, "tell", state="complete", value=0.5).status_code == 409
    builtin = api.create_study(task="rosenbrock", n_trials=1, name="builtin")
    refused = api.post(f"/api/studies/{builtin['id']}/ask", json={})
    assert refused.status_code == 409 and "built-in workers" in refused.text
    assert api.post("/api/studies/12345/ask", json={}).status_code == 404


def test_reports_in_one_request_keep_every_step_in_order(api: Api) -> None:
    """What a runner sends when its steps are shorter than a round trip: each step kept, a step
    already kept changes nothing, one going back is refused naming it (those before it kept)."""
    study = api.create_study(**EXTERNAL)
    handout = ask(api, study["id"])

    def batch(*steps: tuple[int, float]) -> Any:
        reports = [{"step": s, "value": v, "metrics": {"loss": 1 - v}} for s, v in steps]
        return call(api, handout, "reports", reports=reports)

    answer = batch((0, 0.5), (1, 0.6), (2, 0.7))
    assert answer.status_code == 200 and answer.json() == {"prune": False, "stop": False}
    assert batch((2, 0.9), (3, 0.8)).status_code == 200  # step 2 again: kept as it was
    back = batch((4, 0.8), (1, 0.1), (5, 0.9))
    assert back.status_code == 422 and "step 1 goes back" in back.text
    empty = batch()
    assert empty.status_code == 422 and "reports" in empty.text
    nan = api.client.post(
        f"/api/studies/{study['id']}/trials/0/reports",
        content=f'{{"lease": "{handout["lease"]}", "reports": [{{"step": 6, "value": NaN}}]}}',
        headers={"content-type": "application/json"},
    )
    assert nan.status_code == 422
    curves = api.get(f"/api/studies/{study['id']}/curves?after=0").json()["points"]
    assert curves["epoch"] == [0, 1, 2, 3, 4]
    assert curves["val_loss"] == [0.5, 0.6, 0.7, 0.8, 0.8]
    assert classify({"path": f"/api/studies/{study['id']}/trials/0/reports"}) == "runners"


@both_databases
def test_reports_sent_again_after_their_process_died_keep_every_point(api: Api) -> None:
    """An API process SIGKILLed after it kept steps' values but before it wrote their events
    (the live curves' points): the runner, never answered, sends the same reports again, to
    another process behind the load balancer, which writes the missing points; a step that was
    never kept still cannot come back."""
    study = api.create_study(**EXTERNAL)
    handout = ask(api, study["id"])
    assert call(api, handout, "report", step=0, value=0.5).status_code == 200
    state = api.client.app.state.adamtune
    with state.db.session(write=False) as session:
        trial_id, _ = oi.trial_by_number(session, study["id"], 0)
    for step, value in ((1, 0.6), (2, 0.7)):  # what the dead process kept: values, no events
        state.storage.set_trial_intermediate_value(trial_id, step, value)
    again = [{"step": s, "value": v, "metrics": {"loss": 1 - v}} for s, v in ((1, 0.6), (2, 0.7))]
    assert call(api, handout, "reports", reports=again).status_code == 200
    assert call(api, handout, "reports", reports=again).status_code == 200  # no change now
    curves = api.get(f"/api/studies/{study['id']}/curves?after=0").json()["points"]
    assert (curves["epoch"], curves["val_loss"]) == ([0, 1, 2], [0.5, 0.6, 0.7])
    state.storage.set_trial_intermediate_value(trial_id, 4, 0.8)  # 3 was never kept
    back = call(api, handout, "reports", reports=[{"step": 3, "value": 0.75}])
    assert back.status_code == 422 and "step 3 goes back" in back.text


def test_a_silent_lease_is_failed_and_its_params_asked_again(make_api: Any) -> None:
    api: Api = make_api(grace_period=1, heartbeat_interval=1)
    study = api.create_study(**{**EXTERNAL, "n_trials": 1})
    dead = ask(api, study["id"], host="dies")
    assert ask(api, study["id"])["state"] == "wait"  # the one trial is taken
    # once the grace period passes without a beat, the next ask gets the dead lease's params
    again = wait_for(lambda: (a := ask(api, study["id"], host="lives"))["state"] == "trial" and a)
    assert again["trial"]["params"] == dead["trial"]["params"]
    assert again["trial"]["seeds"] == dead["trial"]["seeds"]
    assert call(api, dead, "report", step=0, value=0.1).status_code == 409
    run_trial(api, again, [0.9])
    assert ask(api, study["id"])["state"] == "done"
    (lapsed,) = api.trials(study["id"], state="FAIL")
    assert lapsed["number"] == dead["trial"]["number"]
    assert "no heartbeat within the grace period" in (lapsed["reason"] or "")


def test_steps_past_the_horizon_are_refused_naming_it(api: Api) -> None:
    """A study of 8 epochs keeps steps 0 to 8; step 9 is a 422 naming the horizon, and a batch
    keeps the steps before the first one past it (2,000 points were kept on a 500-epoch study)."""
    study = api.create_study(**EXTERNAL)  # epochs 8
    handout = ask(api, study["id"])
    assert call(api, handout, "report", step=8, value=0.5).status_code == 200
    past = call(api, handout, "report", step=9, value=0.5)
    assert past.status_code == 422, past.text
    assert "step 9" in past.text and "epochs is 8" in past.text
    other = ask(api, study["id"])
    batch = [{"step": step, "value": 0.5} for step in (6, 7, 8, 9, 10)]
    refused = call(api, other, "reports", reports=batch)
    assert refused.status_code == 422 and "epochs is 8" in refused.text
    curve = api.get(f"/api/studies/{study['id']}/trials/{other['trial']['number']}").json()
    assert curve["curve"]["epoch"] == [6, 7, 8]


def test_a_report_racing_the_dead_trial_check_is_a_409(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lease checks out, then (before the value is written) another runner's ask fails the
    trial as dead: the report is refused with why, not a 500."""
    study = api.create_study(**{**EXTERNAL, "n_trials": 1})
    handout = ask(api, study["id"])
    held = ExternalTrials._held  # noqa: SLF001

    def held_then_failed_as_dead(self: ExternalTrials, *args: Any) -> Any:
        runner, lease, *rest = held(self, *args)
        self._optuna_storage.set_trial_state_values(lease.trial_id, TrialState.FAIL)
        return runner, lease, *rest

    monkeypatch.setattr(ExternalTrials, "_held", held_then_failed_as_dead)
    raced = call(api, handout, "report", step=0, value=0.5)
    assert raced.status_code == 409 and "ended meanwhile" in raced.text


def test_asks_wait_in_a_lane_apart_from_the_beats_that_keep_leases() -> None:
    """200 runners' asks queued in one lane with their reports and heartbeats starved the beats:
    leases of live runners lapsed (docs/BENCHMARKS.md, finding 8)."""
    lanes = {verb: classify({"type": "http", "method": "POST",
                             "path": f"/api/studies/7/trials/3/{verb}"})
             for verb in ("report", "heartbeat", "tell")}  # fmt: skip
    assert lanes == dict.fromkeys(lanes, "runners")
    assert classify({"type": "http", "method": "POST", "path": "/api/studies/7/ask"}) == "asks"


def test_a_runner_failing_again_and_again_fails_the_trial_for_good(api: Api) -> None:
    study = api.create_study(**{**EXTERNAL, "n_trials": 1})
    for attempt in range(4):
        handout = ask(api, study["id"])
        assert handout["state"] == "trial", attempt
        told = call(api, handout, "tell", state="failed", reason="CUDA out of memory")
        assert told.status_code == 200
    assert ask(api, study["id"])["state"] == "done"
    failed = api.trials(study["id"], state="FAIL")
    assert len(failed) == 4 and "not re-run again" in failed[-1]["reason"]


def test_a_stop_reaches_the_runner_and_resume_asks_its_params_again(api: Api) -> None:
    study = api.create_study(**{**EXTERNAL, "n_trials": 2})
    handout = ask(api, study["id"])
    assert call(api, handout, "report", step=0, value=0.5).json() == {"prune": False, "stop": False}
    assert api.post(f"/api/studies/{study['id']}/stop").status_code == 200
    assert call(api, handout, "report", step=1, value=0.6).json()["stop"] is True
    assert call(api, handout, "heartbeat").json() == {"stop": True}
    assert call(api, handout, "tell", state="stopped").status_code == 200
    assert ask(api, study["id"])["state"] == "done"
    assert api.study(study["id"])["status"] == "stopped"
    assert api.post(f"/api/studies/{study['id']}/resume").status_code == 200
    rerun = ask(api, study["id"])
    assert rerun["trial"]["params"] == handout["trial"]["params"]


def test_a_stop_with_nothing_running_ends_at_once(api: Api) -> None:
    """No runner will ask again to notice the stop: with nothing running it is `stopped` at
    once (it stayed `stopping` for good, and resume was a 409)."""
    study = api.create_study(**{**EXTERNAL, "n_trials": 3, "epochs": 2})
    run_trial(api, ask(api, study["id"]), [0.5, 0.6])
    stopped = api.post(f"/api/studies/{study['id']}/stop")
    assert stopped.status_code == 200 and stopped.json()["status"] == "stopped"
    assert api.post(f"/api/studies/{study['id']}/resume").status_code == 200
    assert ask(api, study["id"])["state"] == "trial"


def test_a_stopping_study_ends_when_its_last_trial_is_told_and_can_be_resumed(api: Api) -> None:
    study = api.create_study(**{**EXTERNAL, "n_trials": 3})
    first, second = ask(api, study["id"]), ask(api, study["id"])
    assert api.post(f"/api/studies/{study['id']}/stop").json()["status"] == "stopping"
    resumed = api.post(f"/api/studies/{study['id']}/resume")
    assert resumed.status_code == 200 and resumed.json()["status"] == "running"
    assert call(api, first, "heartbeat").json() == {"stop": False}  # trains on
    assert api.post(f"/api/studies/{study['id']}/stop").json()["status"] == "stopping"
    assert call(api, first, "tell", state="stopped").status_code == 200
    assert api.study(study["id"])["status"] == "stopping"  # the second one still runs
    assert call(api, second, "tell", state="stopped").status_code == 200
    assert api.study(study["id"])["status"] == "stopped"  # nobody has to ask again


def test_a_trial_asked_ahead_is_reserved_not_running_until_its_first_report(api: Api) -> None:
    """One runner training one trial and holding the next it asked ahead: 1 running, 1
    reserved (it showed "2 running", and Stop "would interrupt 2 trials")."""
    study = api.create_study(**EXTERNAL)
    current = ask(api, study["id"])
    assert call(api, current, "report", step=0, value=0.5).status_code == 200
    response = api.post(f"/api/studies/{study['id']}/ask", json={"host": "gpu-box", "ahead": True})
    ahead = response.json()
    progress = api.study(study["id"])["progress"]
    assert (progress["running"], progress["reserved"]) == (1, 1)
    flags = {t["number"]: t["reserved"] for t in api.trials(study["id"], state="RUNNING")}
    assert flags == {current["trial"]["number"]: False, ahead["trial"]["number"]: True}
    assert call(api, current, "tell", state="complete", value=0.6).status_code == 200
    assert call(api, ahead, "report", step=0, value=0.5).status_code == 200  # the loop took it
    progress = api.study(study["id"])["progress"]
    assert (progress["running"], progress["reserved"]) == (1, 0)
    assert [t["reserved"] for t in api.trials(study["id"], state="RUNNING")] == [False]


def test_the_pruner_decides_through_report(api: Api) -> None:
    study = api.create_study(**{**EXTERNAL, "n_trials": 7, "pruner": "median"})
    for _ in range(6):  # the median pruner starts judging after 5 complete trials
        run_trial(api, ask(api, study["id"]), [0.8, 0.85, 0.9, 0.92])
    weak = ask(api, study["id"])
    decisions = [call(api, weak, "report", step=s, value=0.1).json()["prune"] for s in range(4)]
    assert decisions[:2] == [False, False] and decisions[3] is True  # past the warm-up of 2
    assert call(api, weak, "tell", state="pruned").json()["state"] == "PRUNED"


def test_an_external_search_hands_out_its_validation_runs(api: Api) -> None:
    study = api.create_study(
        **{**EXTERNAL, "validate_seeds": 2, "validate_top_k": 1, "confirm_seeds": 3}
    )
    for _ in range(3):
        handout = ask(api, study["id"])
        run_trial(api, handout, [0.5, 0.6 + 0.1 * handout["trial"]["number"]])
    purposes, rounds = [], []
    while (handout := ask(api, study["id"]))["state"] == "trial":
        assert handout["study_id"] != study["id"]  # a validation round's own study
        purposes.append(handout["trial"]["purpose"])
        rounds.append(handout["study_id"])
        # the defaults (lr 1e-3) score lower on every seed: a significant, confirmed gain
        lr = handout["trial"]["params"]["lr"]
        run_trial(api, handout, [0.7 if lr == 1e-3 else 0.9 + 0.001 * len(purposes)])
    # the selection, (the winner + the defaults) x 2 seeds, then its confirmation x 3 seeds
    assert purposes == ["validation"] * (4 + 6)
    assert len(set(rounds[:4])) == 1 and len(set(rounds[4:])) == 1 and rounds[0] != rounds[4]
    validation = api.study(study["id"])["validation"]
    assert validation["complete"] and validation["confirmed"]
    assert validation["confirmation"]["study_id"] == rounds[4]
    assert validation["recommended"] != "default" and validation["verdict"].startswith("+")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"task": "external", "metric": "val loss!"}, "metric"),
        ({"task": "external", "direction": "up"}, "direction"),
        ({"task": "rosenbrock", "direction": "maximize"}, "direction"),
    ],
)
def test_bad_external_studies_name_the_field(api: Api, body: dict[str, Any], field: str) -> None:
    response = api.post("/api/studies", json=body)
    assert response.status_code == 422
    assert field in response.text


def test_the_token_guards_every_runner_route(make_api: Any) -> None:
    api: Api = make_api(api_token="runner-token")
    good = {"Authorization": "Bearer runner-token"}
    study = api.post("/api/studies", json=EXTERNAL, headers=good).json()
    assert api.post(f"/api/studies/{study['id']}/ask", json={}).status_code == 401
    handout = api.post(f"/api/studies/{study['id']}/ask", json={}, headers=good).json()
    for verb, body in (("report", {"step": 0, "value": 1.0}),
                       ("reports", {"reports": [{"step": 1, "value": 1.0}]}), ("heartbeat", {}),
                       ("tell", {"state": "complete", "value": 1.0})):  # fmt: skip
        url = f"/api/studies/{study['id']}/trials/{handout['trial']['number']}/{verb}"
        assert api.post(url, json={"lease": handout["lease"], **body}).status_code == 401
        assert (
            api.post(url, json={"lease": handout["lease"], **body}, headers=good).status_code == 200
        )
