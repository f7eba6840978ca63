"""Validation of a search's result, in-process: a selection round queued when a search ends and
its confirmation round when the selection ends, run by the workers like trials, reported with
CIs and a verdict from the confirmation alone; on demand, with fresh seeds each round."""

from __future__ import annotations

from typing import Any

import pytest

from tests.app.conftest import Api
from tests.conftest import both_databases

STUDY = {"task": "logreg_breast_cancer", "epochs": 3, "pruner": "none", "sampler": "random"}


@both_databases
def test_a_finished_search_is_validated_on_fresh_seeds(api: Api) -> None:
    study = api.create_study(
        **STUDY, n_trials=6, validate_top_k=2, validate_seeds=3, confirm_seeds=4
    )
    # the search, (2 configs + the defaults) x 3 selection seeds, (pick + defaults) x 4
    assert api.work() == 6 + 3 * 3 + 2 * 4
    done = api.study(study["id"])
    validation = done["validation"]
    assert validation["status"] == "completed" and validation["complete"]
    assert validation["phase"] == "done" and validation["confirmed"]
    assert (validation["runs_done"], validation["runs_total"]) == (17, 17)
    configs = validation["configs"]
    assert [c["label"] for c in configs][0] == "default"
    assert len(configs) == 3 and all(c["n"] == 3 for c in configs)
    trials = {t["number"]: t for t in api.trials(study["id"])}
    for config in configs[1:]:
        searched = trials[config["trial"]]
        assert config["params"] == searched["params"]
        assert config["search_value"] == pytest.approx(searched["value"])
        assert config["ci_low"] < config["mean"] < config["ci_high"]
        assert config["gain"] is not None and 0 <= config["wins"] <= 3
    # the selection picks the best gain; the confirmation retrains the pick and the defaults
    picked = max(configs[1:], key=lambda c: c["gain"])
    assert validation["picked"] == picked["label"]
    confirmation = validation["confirmation"]
    assert [c["label"] for c in confirmation["configs"]] == ["default", picked["label"]]
    assert confirmation["configs"][1]["params"] == picked["params"]
    assert all(c["n"] == 4 for c in confirmation["configs"])
    # the verdict and the one line come from the confirmation runs alone
    assert validation["verdict"] == confirmation["verdict"]
    confirmed = confirmation["configs"][1]
    significant = confirmed["gain_low"] > 0
    assert validation["recommended"] == (picked["label"] if significant else "default")
    assert validation["torch_line"].startswith("torch.optim.Adam(")
    if significant:
        assert f"lr={picked['params']['lr']:.6g}" in validation["torch_line"]
    # three disjoint sets of seeds: the search's, the selection's, the confirmation's
    search_seeds = {s for t in api.trials(study["id"]) for s in t["seeds"]}
    selection, confirming = (
        set(validation["selection_seeds"]),
        set(validation["confirmation_seeds"]),
    )
    assert len(search_seeds) == 6 and len(selection) == 3 and len(confirming) == 4
    assert not selection & search_seeds and not confirming & (search_seeds | selection)
    assert validation["seeds"] == validation["selection_seeds"]
    assert confirmation["seeds"] == validation["confirmation_seeds"]
    assert api.get(f"/api/studies/{study['id']}/validation").json() == validation
    # the rounds are not studies of their own in the list, but their runs are readable
    listed = [s["id"] for s in api.get("/api/studies").json()["studies"]]
    assert listed == [study["id"]]
    assert api.get(f"/api/studies/{validation['study_id']}/trials").json()["total"] == 9
    assert api.get(f"/api/studies/{confirmation['study_id']}/trials").json()["total"] == 8


def test_without_confirmation_seeds_the_pick_is_marked_unconfirmed(api: Api) -> None:
    study = api.create_study(**STUDY, n_trials=4, validate_top_k=1, validate_seeds=2,
                             confirm_seeds=0)  # fmt: skip
    assert api.work() == 4 + 2 * 2
    validation = api.study(study["id"])["validation"]
    assert validation["complete"] and not validation["confirmed"]
    assert validation["confirmation"] is None and validation["confirmation_seeds"] == []
    assert validation["recommended"] == validation["picked"] != "default"
    assert "picked on 2 selection seeds" in validation["verdict"]


def test_the_cost_is_shown_before_a_study_starts(api: Api) -> None:
    body = {**STUDY, "n_trials": 6, "validate_top_k": 2, "validate_seeds": 3, "confirm_seeds": 4}
    response = api.post("/api/studies?dry_run=true", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["training_runs"] == {"search": 6, "selection": 9, "confirmation": 8}


def test_validation_on_demand_uses_new_seeds_and_refuses_a_second_at_once(api: Api) -> None:
    study = api.create_study(**STUDY, n_trials=4, validate_seeds=0)
    api.work()
    assert api.study(study["id"])["validation"] is None
    assert api.get(f"/api/studies/{study['id']}/validation").status_code == 404
    url = f"/api/studies/{study['id']}/validate"
    ask = {"top_k": 1, "seeds": 2, "confirm_seeds": 2}
    first = api.post(url, json=ask)
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "queued" and first.json()["runs_total"] == 4 + 4
    assert api.post(url, json=ask).status_code == 409
    assert api.work() == 8  # both rounds
    assert api.post(url, json=ask).status_code == 201
    api.work()
    second_round = api.study(study["id"])["validation"]
    assert second_round["round"] == 1 and second_round["complete"]
    seen = set(first.json()["selection_seeds"])
    assert not seen & set(second_round["selection_seeds"])
    assert not set(second_round["confirmation_seeds"]) & set(second_round["selection_seeds"])


@pytest.mark.parametrize(
    ("body", "field"),
    [({"top_k": 0}, "top_k"), ({"seeds": 1}, "seeds"), ({"seeds": "5"}, "seeds"),
     ({"confirm_seeds": 1}, "confirm_seeds"), ({"other": 1}, "other")],
)  # fmt: skip
def test_bad_validation_requests_name_the_field(api: Api, body: dict[str, Any], field: str) -> None:
    study = api.create_study(**STUDY, n_trials=2)
    response = api.post(f"/api/studies/{study['id']}/validate", json=body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == field


def test_a_search_without_a_complete_trial_cannot_be_validated(api: Api) -> None:
    study = api.create_study(**STUDY, n_trials=2)
    response = api.post(f"/api/studies/{study['id']}/validate")
    assert response.status_code == 409 and "no complete trial" in response.json()["detail"]


def test_deleting_a_study_deletes_its_validations(api: Api) -> None:
    study = api.create_study(**STUDY, n_trials=3, validate_top_k=1, validate_seeds=2)
    api.work()
    child = api.study(study["id"])["validation"]["study_id"]
    assert api.delete(f"/api/studies/{study['id']}").status_code == 204
    assert api.get(f"/api/studies/{child}").status_code == 404
