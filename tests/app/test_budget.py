"""A comparison's budget curves and time to result, on a real comparison run in-process (SQLite):
each search's best test loss against the compute it spent so far, the validated points, the
target (the one-shot baseline's validated mean, or a given one) and where each search reached
it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.app.conftest import Api

# Adam searched (median pruner: epochs of pruned trials count too) against Schedule-Free AdamW,
# one-shot at its defaults; the cheapest task
COMPARISON = {"task": "logreg_breast_cancer", "optimizers": ["adam", "schedule_free_adamw"],
              "n_trials": 6, "epochs": 4, "pruner": "median", "validate_seeds": 2,
              "confirm_seeds": 3}  # fmt: skip


def test_budget_curves_and_time_to_result(api: Api) -> None:
    created = api.post("/api/comparisons", json=COMPARISON)
    assert created.status_code == 201, created.text
    comparison_id = created.json()["id"]
    early = api.get(f"/api/comparisons/{comparison_id}/budget").json()
    assert early["target"] is None and early["families"][0]["curve"]["trial"] == []
    assert early["time_to_result"][0].startswith("No target")
    api.work()

    report = api.get(f"/api/comparisons/{comparison_id}").json()
    assert report["complete"], report
    response = api.get(f"/api/comparisons/{comparison_id}/budget")
    assert response.status_code == 200, response.text
    budget = response.json()
    assert budget["run_epochs"] == 4 and "optimistic" in budget["note"]
    adam, free = budget["families"]
    adam_row, free_row = report["studies"]

    # the curve: every finished search trial in completion order, the compute spent so far
    # (epochs and seconds, pruned trials' included) and the best test loss so far
    trials = api.trials(adam["study_id"])
    curve = adam["curve"]
    assert sorted(curve["trial"]) == sorted(t["number"] for t in trials) and len(trials) == 6
    by_number = {t["number"]: t for t in trials}
    assert curve["state"] == [by_number[n]["state"] for n in curve["trial"]]
    ends = [by_number[n]["datetime_complete"] for n in curve["trial"]]
    assert ends == sorted(ends)
    steps = [by_number[n]["epochs_done"] for n in curve["trial"]]
    assert curve["epochs"] == [sum(steps[: i + 1]) for i in range(len(steps))]
    assert curve["epochs"][-1] == adam_row["epochs_trained"]
    pruned = [
        by_number[n]["epochs_done"] for n in curve["trial"] if by_number[n]["state"] == "PRUNED"
    ]
    assert all(0 < e < 4 for e in pruned)
    durations = [by_number[n]["duration_s"] for n in curve["trial"]]
    assert curve["seconds"] == pytest.approx([sum(durations[: i + 1]) for i in range(6)])
    assert curve["seconds"][-1] == pytest.approx(adam_row["search_s"])
    test_losses = [
        by_number[n]["metrics"]["test_loss"] if by_number[n]["state"] == "COMPLETE" else None
        for n in curve["trial"]
    ]
    expected, best = [], None
    for loss in test_losses:
        best = loss if best is None or (loss is not None and loss < best) else best
        expected.append(best)
    assert curve["best"] == pytest.approx(expected)
    bests = [b for b in curve["best"] if b is not None]
    assert bests == sorted(bests, reverse=True)  # monotone non-increasing
    assert adam["search_best"] == bests[-1]

    # the validated points: a tuned pick at its search + validation compute, a one-shot
    # baseline at its one run's
    assert adam["validated"]["mean"] == adam_row["winner"]["mean"]
    assert (adam["validated"]["epochs"], adam["validated"]["seconds"]) == (
        adam_row["total_epochs"], pytest.approx(adam_row["total_s"])
    )  # fmt: skip
    assert free["one_shot"] and free["curve"]["trial"] == []
    assert free["validated"]["epochs"] == 4 == free_row["epochs_trained"]
    assert free["validated"]["ci_low"] <= free["validated"]["mean"] <= free["validated"]["ci_high"]

    # the target: Schedule-Free's validated mean; the search reached it where its curve first
    # got to it, or never
    target = budget["target"]
    assert target == {"value": free_row["winner"]["mean"], "source": "one_shot",
                      "optimizer": "schedule_free_adamw", "label": free_row["label"]}  # fmt: skip
    baseline = next(t["number"] for t in trials if t["baseline"])
    assert_reach_agrees(adam, target["value"], baseline)
    lines = budget["time_to_result"]
    assert lines[0].startswith("Target: test loss") and free_row["label"] in lines[0]
    assert lines[1] == adam["sentence"] and lines[1].startswith("Adam: its search")
    assert "optimistic" in lines[1] or "did not reach" in lines[1]
    assert lines[2] == free["sentence"] and lines[2].endswith("the target.")

    # a given target: one the search met at its first complete trial, and one no trial met
    for given, reached in ((bests[0] * 1.01, True), (bests[-1] * 0.5, False)):
        other = api.get(f"/api/comparisons/{comparison_id}/budget", params={"target": given})
        family = other.json()["families"][0]
        assert other.json()["target"]["source"] == "given"
        assert_reach_agrees(family, given, baseline)
        assert (family["reached"] is not None) == reached
        assert ("did not reach" in family["sentence"]) != reached
    assert api.get(f"/api/comparisons/{comparison_id}/budget?target=nan").status_code == 422
    assert api.get("/api/comparisons/999/budget").status_code == 404


def assert_reach_agrees(family: dict[str, Any], target: float, baseline: int) -> None:
    """The reach is the curve's first point at or under the target, with its compute, and says
    whether the search's baseline trial (the family's defaults) did it."""
    curve = family["curve"]
    under = [i for i, b in enumerate(curve["best"]) if b is not None and b <= target]
    if not under:
        assert family["reached"] is None
        return
    i = under[0]
    assert family["reached"] == {
        "trial": curve["trial"][i],
        "best": curve["best"][i],
        "epochs": curve["epochs"][i],
        "seconds": pytest.approx(curve["seconds"][i]),
        "runs": pytest.approx(curve["epochs"][i] / 4),
        "defaults": curve["trial"][i] == baseline,
    }
    defaults = " (its defaults)" if curve["trial"][i] == baseline else ""
    after = f"trial {curve['trial'][i]}{defaults}, after {curve['epochs'][i]} epochs"
    assert after in family["sentence"]
