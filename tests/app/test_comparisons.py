"""Comparisons in-process: one study per optimizer, run interleaved, each winner validated on
the same fresh seeds and compared with the first optimizer's; stop and delete take all."""

from __future__ import annotations

from typing import Any

import pytest

from optim.optimizers import FAMILIES
from optim.tasks import get_task
from optim.training import train
from tests.app.conftest import Api
from tests.conftest import both_databases, query

COMPARISON = {"task": "logreg_breast_cancer", "optimizers": ["adam", "sgd_nesterov"],
              "n_trials": 3, "epochs": 2, "pruner": "none", "validate_seeds": 3,
              "confirm_seeds": 4}  # fmt: skip


@both_databases
def test_a_comparison_runs_interleaved_and_compares_validated_winners(api: Api) -> None:
    created = api.post("/api/comparisons", json=COMPARISON)
    assert created.status_code == 201, created.text
    comparison = created.json()
    assert created.headers["location"] == f"/api/comparisons/{comparison['id']}"
    ids = [s["study_id"] for s in comparison["studies"]]
    assert [s["optimizer"] for s in comparison["studies"]] == ["adam", "sgd_nesterov"]
    api.work()

    # interleaved: the two searches took turns, trial by trial
    started = query(
        api.settings.database_url,
        "SELECT study_id FROM adamtune_events WHERE kind = 'trial_started' AND study_id IN "
        f"({ids[0]}, {ids[1]}) ORDER BY id",
    )
    assert [sid for (sid,) in started] == [ids[0], ids[1]] * 3

    done = api.get(f"/api/comparisons/{comparison['id']}").json()
    assert done["complete"]
    adam, sgd = done["studies"]
    assert adam["status"] == sgd["status"] == "completed"
    # each family's answer on the same confirmation seeds
    assert adam["seeds"] == sgd["seeds"] and len(adam["seeds"]) == 4
    for row in (adam, sgd):
        assert row["winner"]["n"] == 4 and row["epochs_trained"] == 3 * 2
        assert row["confirmed"] and row["torch_line"].startswith("torch.optim.")
    assert "nesterov=True" in sgd["torch_line"]
    assert sgd["gain"] is not None and (len(done["verdicts"]) == 1)
    verdict = done["verdicts"][0]
    assert "SGD with Nesterov momentum" in verdict and "Adam" in verdict
    assert "by 0" not in verdict
    # one line of advice, naming one family and its line
    assert done["recommended"] in ("adam", "sgd_nesterov")
    chosen = adam if done["recommended"] == "adam" else sgd
    assert done["advice"].startswith(("Use ", "Keep ")) and chosen["torch_line"] in done["advice"]
    listed = api.get("/api/comparisons").json()["comparisons"]
    assert [c["id"] for c in listed] == [comparison["id"]]
    studies = {s["id"]: s for s in api.get("/api/studies").json()["studies"]}
    assert {studies[i]["comparison_id"] for i in ids} == {comparison["id"]}


def test_tuning_free_families_are_one_shot_baselines_with_their_compute(api: Api) -> None:
    """Schedule-Free AdamW and Prodigy train once at their published defaults (no search), are
    validated and confirmed on the same seeds as Adam's pick, compared seed by seed, and each
    family's compute (epochs and seconds of search and validation) is reported."""
    body = {**COMPARISON, "optimizers": ["adam", "schedule_free_adamw", "prodigy"]}
    created = api.post("/api/comparisons", json=body)
    assert created.status_code == 201, created.text
    rows = created.json()["studies"]
    assert [(r["optimizer"], r["one_shot"], r["tuned"]) for r in rows] == [
        ("adam", False, 4), ("schedule_free_adamw", True, 0), ("prodigy", True, 0)
    ]  # fmt: skip
    api.work()

    done = api.get(f"/api/comparisons/{created.json()['id']}").json()
    assert done["complete"], done
    adam, free, prodigy = done["studies"]
    assert adam["seeds"] == free["seeds"] == prodigy["seeds"] and len(adam["seeds"]) == 4
    # Adam: 3 trials, then 2 configs on 3 selection and 4 confirmation seeds, 2 epochs each
    assert (adam["epochs_trained"], adam["validation_epochs"]) == (3 * 2, (2 * 3 + 2 * 4) * 2)
    for row, family in ((free, "schedule_free_adamw"), (prodigy, "prodigy")):
        # one trial, then the defaults alone on the same 3 and 4 seeds
        assert (row["epochs_trained"], row["validation_epochs"]) == (2, (3 + 4) * 2)
        assert row["confirmed"] and row["winner"]["label"] == "default"
        assert row["winner"]["params"] == FAMILIES[family].params(FAMILIES[family].baseline)
        assert row["gain"] is not None and row["wins"] is not None
    for row in (adam, free, prodigy):
        assert row["total_epochs"] == row["epochs_trained"] + row["validation_epochs"]
        assert row["search_s"] > 0 and row["validation_s"] > 0
        assert row["total_s"] == pytest.approx(row["search_s"] + row["validation_s"])
    assert free["torch_line"].startswith("optimizer = schedulefree.AdamWScheduleFree(")
    assert "optimizer.eval()" in free["torch_line"]
    assert prodigy["torch_line"].startswith("prodigyopt.Prodigy(model.parameters(), lr=1,")
    # the served value is the family's defaults trained on that seed (Schedule-Free evaluated
    # on its averaged weights)
    task = get_task("logreg_breast_cancer")
    seed = free["seeds"][0]
    direct = train(task, FAMILIES["schedule_free_adamw"].baseline, epochs=2, seed=seed,
                   optimizer="schedule_free_adamw")  # fmt: skip
    assert free["winner"]["values"][0] == pytest.approx(direct[-1].test_loss, rel=1e-6)
    # each one-shot family against Adam, then whether tuning Adam was worth its compute: its
    # 34 epochs of search and validation are 17 runs of 2 epochs
    assert len(done["verdicts"]) == 4 and done["advice"] is not None
    worth = [v for v in done["verdicts"] if v.startswith("Tuning Adam for 3 trials")]
    assert [w.split(") ", 1)[0] for w in worth] == [
        "Tuning Adam for 3 trials (≈ 17x the compute of one run"
    ] * 2
    assert (
        "Schedule-Free AdamW at its defaults" in worth[0] and "Prodigy at its defaults" in worth[1]
    )


def test_a_comparison_may_tune_the_tuning_free_families(api: Api) -> None:
    body = {**COMPARISON, "optimizers": ["adam", "prodigy"], "tune_tuning_free": True}
    created = api.post("/api/comparisons", json=body)
    assert created.status_code == 201, created.text
    prodigy = created.json()["studies"][1]
    assert (prodigy["one_shot"], prodigy["tuned"]) == (False, 1)
    study = api.get(f"/api/studies/{prodigy['study_id']}").json()
    assert study["n_trials"] == 3 and study["space"]["lr"]["low"] == 0.1


def test_stop_and_delete_take_every_study_of_the_comparison(api: Api) -> None:
    comparison = api.post("/api/comparisons", json=COMPARISON).json()
    ids = [s["study_id"] for s in comparison["studies"]]
    stopped = api.post(f"/api/comparisons/{comparison['id']}/stop")
    assert stopped.status_code == 200
    assert {s["status"] for s in stopped.json()["studies"]} == {"stopped"}
    assert api.delete(f"/api/comparisons/{comparison['id']}").status_code == 204
    assert api.get(f"/api/comparisons/{comparison['id']}").status_code == 404
    for study_id in ids:
        assert api.get(f"/api/studies/{study_id}").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"task": "logreg_breast_cancer", "optimizers": ["adam", "lion"]}, "optimizers"),
        ({"task": "logreg_breast_cancer", "optimizers": ["adam", "adam"]}, "optimizers"),
        ({"task": "logreg_breast_cancer", "optimizers": ["adam"]}, "optimizers"),
        ({"task": "imagenet"}, "task"),
        ({"task": "logreg_breast_cancer", "sampler": "bogus"}, "sampler"),
        ({"task": "logreg_breast_cancer", "validate_seeds": 1}, "validate_seeds"),
        ({"task": "logreg_breast_cancer", "n_trials": 10**9}, "n_trials"),
        ({"task": "logreg_breast_cancer", "tune_tuning_free": "yes"}, "tune_tuning_free"),
    ],
)
def test_bad_comparisons_name_the_field(api: Api, body: dict[str, Any], field: str) -> None:
    response = api.post("/api/comparisons", json=body)
    assert response.status_code == 422, response.text
    assert field in [str(part) for part in response.json()["detail"][0]["loc"]]
    assert api.get("/api/studies").json()["studies"] == []  # nothing half made
    assert api.get("/api/comparisons").json()["comparisons"] == []


def test_too_many_studies_for_a_comparison_is_a_conflict(make_api: Any) -> None:
    api: Api = make_api(max_concurrent_studies=3)
    body = {**COMPARISON, "optimizers": ["adam", "adamw", "sgd_nesterov", "adam_lr_only"]}
    response = api.post("/api/comparisons", json=body)
    assert response.status_code == 409 and "ADAMTUNE_MAX_CONCURRENT_STUDIES" in response.text
