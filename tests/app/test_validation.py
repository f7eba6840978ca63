"""Validation of a search's result, in-process: queued when a search ends, run by the workers
like trials, reported with CIs and a verdict; on demand, with fresh seeds each round."""

from __future__ import annotations

from typing import Any

import pytest

from tests.app.conftest import Api
from tests.conftest import both_databases

STUDY = {"task": "logreg_breast_cancer", "epochs": 3, "pruner": "none", "sampler": "random"}


@both_databases
def test_a_finished_search_is_validated_on_fresh_seeds(api: Api) -> None:
    study = api.create_study(**STUDY, n_trials=6, validate_top_k=2, validate_seeds=3)
    assert api.work() == 6 + 3 * 3  # the search, then (2 configs + the defaults) x 3 seeds
    done = api.study(study["id"])
    validation = done["validation"]
    assert validation["status"] == "completed" and validation["complete"]
    assert (validation["runs_done"], validation["runs_total"]) == (9, 9)
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
    best = min(configs, key=lambda c: c["mean"])
    assert validation["recommended"] == best["label"]
    assert validation["verdict"]  # a sentence either way; its rules are tested in optim
    # the seeds are fresh: none is a seed any search trial trained with
    search_seeds = {s for t in api.trials(study["id"]) for s in t["seeds"]}
    assert len(search_seeds) == 6 and len(set(validation["seeds"])) == 3
    assert not set(validation["seeds"]) & search_seeds
    assert api.get(f"/api/studies/{study['id']}/validation").json() == validation
    # the validation is not a study of its own in the list, but its runs are readable
    listed = [s["id"] for s in api.get("/api/studies").json()["studies"]]
    assert listed == [study["id"]]
    runs = api.get(f"/api/studies/{validation['study_id']}/trials").json()
    assert runs["total"] == 9


def test_validation_on_demand_uses_new_seeds_and_refuses_a_second_at_once(api: Api) -> None:
    study = api.create_study(**STUDY, n_trials=4, validate_seeds=0)
    api.work()
    assert api.study(study["id"])["validation"] is None
    assert api.get(f"/api/studies/{study['id']}/validation").status_code == 404
    url = f"/api/studies/{study['id']}/validate"
    first = api.post(url, json={"top_k": 1, "seeds": 2})
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "queued" and first.json()["runs_total"] == 4
    assert api.post(url, json={"top_k": 1, "seeds": 2}).status_code == 409
    api.work()
    second = api.post(url, json={"top_k": 1, "seeds": 2})
    assert second.status_code == 201
    assert not set(first.json()["seeds"]) & set(second.json()["seeds"])
    api.work()
    assert api.study(study["id"])["validation"]["round"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [({"top_k": 0}, "top_k"), ({"seeds": 1}, "seeds"), ({"seeds": "5"}, "seeds"),
     ({"other": 1}, "other")],
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
