"""A comparison's budget curves and time to result (AlgoPerf's view of tuning: how much compute
until a target loss is reached), computed in this one place for the API, the CLI and the page.

Per tuned family: its search's best test loss so far against the compute spent so far, its
finished trials in completion order, each adding the epochs it trained (pruned and failed ones
count theirs) and its seconds; then its validated pick (confirmed mean, 95 % CI) at the compute
of the search and the validation. Per one-shot family (a tuning-free one at its defaults): its
validated mean at the compute of its run. The target is the best one-shot family's validated
mean, or one the user gives; for each tuned family, the compute at which its curve first reached
it, or "not reached".

The curve is optimistic and says so: each point is one trial's test loss on the search's own
seed, and the best of many noisy draws is lower than what its config gives on fresh seeds (a
comparison's searches select on the validation loss; the curve takes the test loss each trial
recorded, so it shares the validated points' metric). Only the validated points are the answer.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy.orm import Session

from app import queries
from app.comparisons import comparison_jobs, comparison_report
from app.jobs import study_config
from app.models import Comparison

NOTE = (
    "Each search's curve is the best test loss its trials reached so far, each on the search's "
    "own seed: the best of many noisy draws, so optimistic. Only the validated points (each "
    "family's pick retrained on fresh seeds, mean and 95 % CI) are the answer."
)


def budget_report(
    session: Session, comparison: Comparison, target: float | None = None
) -> dict[str, Any]:
    """The comparison's budget curves, one-shot points, target and time to result (shaped for
    `app.schemas.ComparisonBudget`); `target` overrides the best one-shot family's mean."""
    report = comparison_report(session, comparison)
    rows = report["studies"]
    jobs = comparison_jobs(session, comparison.id)
    tuned = [r["study_id"] for r in rows if not r["one_shot"]]
    spent = queries.spent_in_order(session, tuned)
    defaults = {sid: number for sid, (number, _) in queries.baseline_values(session, tuned).items()}
    run_epochs = study_config(jobs[0]).resolved_epochs() if jobs else 0
    chosen = _target(rows, target)
    families = []
    for row in rows:
        curve = _curve(spent.get(row["study_id"], []))
        point = _validated_point(row)
        reached = None
        if chosen is not None and not row["one_shot"]:
            reached = _first_reach(curve, chosen["value"], run_epochs)
            if reached is not None:  # a search's baseline trial trains the family's defaults
                reached["defaults"] = reached["trial"] == defaults.get(row["study_id"])
        family = {
            "optimizer": row["optimizer"],
            "label": row["label"],
            "study_id": row["study_id"],
            "one_shot": row["one_shot"],
            "status": row["status"],
            "curve": curve,
            "search_best": next((b for b in reversed(curve["best"]) if b is not None), None),
            "validated": point,
            "reached": reached,
            "validated_reaches": (
                point["mean"] <= chosen["value"] if chosen is not None and point else None
            ),
        }
        family["sentence"] = _sentence(family, chosen, run_epochs)
        families.append(family)
    lines = [_target_line(chosen)] + [f["sentence"] for f in families if f["sentence"]]
    return {
        "comparison_id": comparison.id,
        "run_epochs": run_epochs,
        "note": NOTE,
        "target": chosen,
        "families": families,
        "time_to_result": lines,
    }


def _curve(trials: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Columnar: each finished trial in completion order, the compute spent up to and including
    it (cumulative epochs and seconds) and the best test loss so far (None before the first
    complete trial); a trial's test loss is the one it recorded, else its value."""
    curve: dict[str, list[Any]] = {"trial": [], "state": [], "epochs": [], "seconds": [],
                                   "best": []}  # fmt: skip
    epochs, seconds, best = 0, 0.0, None
    for t in trials:
        epochs += t["epochs"]
        seconds += t["seconds"]
        loss = t["test_loss"] if t["test_loss"] is not None else t["value"]
        if t["state"] == "COMPLETE" and _finite(loss) and (best is None or loss < best):
            best = float(loss)
        curve["trial"].append(t["number"])
        curve["state"].append(t["state"])
        curve["epochs"].append(epochs)
        curve["seconds"].append(seconds)
        curve["best"].append(best)
    return curve


def _validated_point(row: dict[str, Any]) -> dict[str, Any] | None:
    """A family's validated result at the compute it took: a tuned family's search and
    validation (the selection round picks, the confirmation measures); a one-shot family's run
    (its validation's runs measured that run's mean; a user trains it once)."""
    winner = row["winner"]
    if not winner or winner.get("mean") is None:
        return None
    one_shot = row["one_shot"]
    return {
        "label": winner["label"],
        "mean": winner["mean"],
        "ci_low": winner["ci_low"],
        "ci_high": winner["ci_high"],
        "n": winner["n"],
        "confirmed": row["confirmed"],
        "epochs": row["epochs_trained"] if one_shot else row["total_epochs"],
        "seconds": row["search_s"] if one_shot else row["total_s"],
    }


def _target(rows: list[dict[str, Any]], given: float | None) -> dict[str, Any] | None:
    if given is not None:
        return {"value": given, "source": "given", "optimizer": None, "label": None}
    baselines = [
        (point["mean"], row)
        for row in rows
        if row["one_shot"] and (point := _validated_point(row)) is not None
    ]
    if not baselines:
        return None
    mean, row = min(baselines, key=lambda b: b[0])
    return {"value": mean, "source": "one_shot", "optimizer": row["optimizer"],
            "label": row["label"]}  # fmt: skip


def _first_reach(
    curve: dict[str, list[Any]], target: float, run_epochs: int
) -> dict[str, Any] | None:
    """Where the best so far first got to `target` or below: the trial that did it, its test
    loss and the compute spent by then (also in runs of the comparison's epochs); None if it
    never did."""
    for i, best in enumerate(curve["best"]):
        if best is not None and best <= target:
            epochs = curve["epochs"][i]
            return {"trial": curve["trial"][i], "best": best, "epochs": epochs,
                    "seconds": curve["seconds"][i], "runs": _runs(epochs, run_epochs)}  # fmt: skip
    return None


def _runs(epochs: int, run_epochs: int) -> float | None:
    return epochs / run_epochs if run_epochs > 0 else None


def _target_line(target: dict[str, Any] | None) -> str:
    if target is None:
        return "No target: no one-shot baseline was validated, and none was given."
    if target["source"] == "given":
        return f"Target: test loss {_num(target['value'])} (given)."
    return (
        f"Target: test loss {_num(target['value'])}, {target['label']}'s validated mean at its "
        "defaults (the best one-shot baseline)."
    )


def _sentence(family: dict[str, Any], target: dict[str, Any] | None, run_epochs: int) -> str:
    """One family's time to result in words: its search's (optimistic) and its validated."""
    label, point = family["label"], family["validated"]
    if family["one_shot"]:
        if point is None:
            return f"{label} at its defaults: not validated yet."
        where = f"after one run ({_compute(point['epochs'], point['seconds'], None)})"
        if target is not None and target["optimizer"] == family["optimizer"]:
            verdict = "the target"
        elif family["validated_reaches"] is None:
            verdict = "no target to reach"
        else:
            verdict = "reaches the target" if family["validated_reaches"] else "misses the target"
        return f"{label} at its defaults: validated mean {_interval(point)} {where}: {verdict}."
    curve = family["curve"]
    so_far = "" if family["status"] == "completed" else " so far"
    spent = (
        _compute(curve["epochs"][-1], curve["seconds"][-1], run_epochs) if curve["trial"] else ""
    )
    best = _num(family["search_best"]) if family["search_best"] is not None else "none"
    reached = family["reached"]
    if not curve["trial"]:
        search = f"{label}: no search trial has finished yet"
    elif target is None:
        search = f"{label}: its search's best test loss {best} after {spent}{so_far}"
    elif reached is not None:
        at = _compute(reached["epochs"], reached["seconds"], run_epochs)
        search = (
            f"{label}: its search reached the target at trial {reached['trial']}"
            f"{' (its defaults)' if reached['defaults'] else ''}, after {at} "
            "(on the search's own seed: optimistic)"
        )
    else:
        search = (
            f"{label}: its search did not reach the target in {spent}{so_far} "
            f"(best {best}, on its own seed)"
        )
    if point is None:
        return f"{search}; its pick is not validated yet."
    verdict = ""
    if family["validated_reaches"] is not None:
        verdict = ": reaches the target" if family["validated_reaches"] else ": misses the target"
    at = _compute(point["epochs"], point["seconds"], run_epochs)
    return f"{search}; its validated pick {_interval(point)} after {at} with validation{verdict}."


def _compute(epochs: int, seconds: float, run_epochs: int | None) -> str:
    runs = _runs(epochs, run_epochs) if run_epochs else None
    times = f" (≈ {runs:.0f} runs)" if runs is not None and runs >= 10 else (
        f" (≈ {runs:.1f} runs)" if runs is not None else "")  # fmt: skip
    return f"{epochs} epochs{times}, {seconds:.1f} s of training"


def _interval(point: dict[str, Any]) -> str:
    if point["ci_low"] is None or point["ci_high"] is None:
        return f"{_num(point['mean'])} (1 seed, no CI)"
    return (f"{_num(point['mean'])} (95 % CI {_num(point['ci_low'])} to "
            f"{_num(point['ci_high'])}, {point['n']} seeds)")  # fmt: skip


def _num(value: float) -> str:
    return f"{value:.4g}"


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)
