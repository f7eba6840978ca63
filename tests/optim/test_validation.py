"""The statistics of a validation: intervals, paired gains, the selection's pick, the
confirmation's verdict and the one answer, on constructed results (a tie must read "no
significant gain"); the seeds of the rounds."""

from __future__ import annotations

import math
from typing import Any

import optuna
import pytest
from scipy import stats

from optim.attrs import BASELINE_ATTR, PARAMS_ATTR, RUN_ATTR
from optim.params import OptimizerParams
from optim.seeds import training_seeds
from optim.validation import (
    CONFIRMATION,
    SELECTION,
    Interval,
    candidates,
    conclude,
    confirmation_candidates,
    confirmation_seeds,
    report,
    selection_seeds,
)

TUNED = OptimizerParams(lr=3e-3, beta1=0.8)


def runs(values: dict[int, list[float]]) -> list[optuna.trial.FrozenTrial]:
    """Complete validation runs: config index -> its values on seeds 0, 1, 2, ..."""
    return [
        optuna.trial.create_trial(
            value=v, user_attrs={RUN_ATTR: {"config": index, "label": "", "seed": seed}}
        )
        for index, per_seed in values.items()
        for seed, v in enumerate(per_seed)
    ]


def plan(n_seeds: int, phase: str = CONFIRMATION, tuned: int = 1) -> dict[str, Any]:
    """A round's plan: the defaults and `tuned` configs ("trial 7", "trial 8", ...)."""
    return {
        "round": 0,
        "phase": phase,
        "seeds": list(range(n_seeds)),
        "configs": [
            {"label": "default", "params": OptimizerParams().as_dict(), "trial": None,
             "search_value": None},
            *({"label": f"trial {7 + k}", "params": OptimizerParams(lr=3e-3 + k).as_dict(),
               "trial": 7 + k, "search_value": 0.05} for k in range(tuned)),
        ],
    }  # fmt: skip


def test_interval_is_students_t() -> None:
    values = [1.0, 2.0, 4.0, 3.0]
    got = Interval.of(values)
    low, high = stats.t.interval(0.95, 3, loc=2.5, scale=stats.sem(values))
    assert (got.mean, got.n) == (2.5, 4)
    assert got.low == pytest.approx(low) and got.high == pytest.approx(high)
    assert Interval.of([2.0]).low is None


def test_a_clear_gain_is_reported_with_its_interval_and_wins() -> None:
    found = report(plan(5), runs({0: [1.0, 1.1, 0.9, 1.0, 1.05], 1: [0.75, 0.85, 0.7, 0.76, 0.8]}))
    tuned = found.configs[1]
    assert tuned.gain is not None and tuned.gain.low is not None and tuned.gain.low > 0
    assert tuned.wins == 5 and found.recommended == "trial 7"
    assert found.verdict.startswith(f"{tuned.gain.mean:+.0%} over default Adam (95 % CI")
    assert found.verdict.endswith("5/5 seeds)")


def test_a_tie_reads_no_significant_gain() -> None:
    same = [1.0, 1.2, 0.9]
    found = report(plan(3), runs({0: same, 1: same}))
    assert found.verdict == (
        "no significant gain over default Adam (+0% ± 0%, 0/3 seeds): keep the defaults"
    )
    assert found.recommended == "default"


def test_noise_around_the_defaults_is_no_significant_gain() -> None:
    found = report(plan(4), runs({0: [1.0, 1.0, 1.0, 1.0], 1: [0.8, 1.2, 0.9, 1.1]}))
    assert found.verdict.startswith("no significant gain over default Adam (+0% ± ")
    assert found.recommended == "default"  # the pick's gain is not significant: keep them


def test_a_worse_config_says_keep_the_defaults() -> None:
    found = report(plan(3), runs({0: [1.0, 1.0, 1.1], 1: [1.5, 1.6, 1.7]}))
    assert found.recommended == "default"
    assert "worse than default Adam" in found.verdict
    assert found.verdict.endswith("keep the defaults")


def test_an_unfinished_validation_counts_what_it_has() -> None:
    found = report(plan(3), runs({0: [1.0], 1: [0.5]}))
    assert (found.runs_done, found.runs_total, found.complete) == (2, 6, False)
    assert found.configs[0].values == [1.0, None, None]
    assert "too few seeds" in found.verdict


def test_candidates_are_the_defaults_then_the_best_distinct_trials() -> None:
    def trial(value: float, params: OptimizerParams, **attrs: Any) -> optuna.trial.FrozenTrial:
        return optuna.trial.create_trial(
            value=value, user_attrs={PARAMS_ATTR: params.as_dict(), **attrs}
        )

    trials = [
        trial(0.9, OptimizerParams(), **{BASELINE_ATTR: True}),
        trial(0.2, TUNED),
        trial(0.2, TUNED),  # the same params again: validated once
        trial(0.5, OptimizerParams(lr=1e-2)),
        trial(0.1, OptimizerParams(lr=5e-3)),
    ]
    for number, t in enumerate(trials):
        t.number = number
    got = candidates(trials, top_k=2, baseline=OptimizerParams())
    assert [(c.label, c.trial) for c in got] == [("default", None), ("trial 4", 4), ("trial 1", 1)]
    assert got[1].search_value == 0.1 and math.isclose(got[2].params.lr, 3e-3)


def test_the_selection_picks_the_best_gain_and_reports_no_verdict_of_its_own() -> None:
    # trial 8 has the lower mean, trial 7 the larger mean gain (its wins are on the seeds where
    # the defaults do badly): the pick follows the gain, the number the verdict speaks of
    values = {0: [1.0, 2.0, 1.0], 1: [0.8, 1.0, 0.9], 2: [0.7, 1.9, 0.6]}
    found = report(plan(3, SELECTION, tuned=2), runs(values))
    gains = {c.label: c.gain.mean for c in found.configs if c.gain}
    assert gains["trial 7"] > gains["trial 8"]
    assert found.recommended == "trial 7"
    assert "picked on 3 selection seeds" in found.verdict and "an estimate" in found.verdict
    chosen = confirmation_candidates(found)
    assert chosen is not None and [c.label for c in chosen] == ["default", "trial 7"]


def test_the_answer_is_the_confirmations_and_unconfirmed_before() -> None:
    selection = report(
        plan(3, SELECTION, tuned=2), runs({0: [1.0] * 3, 1: [0.5] * 3, 2: [0.9] * 3})
    )
    early = conclude(selection, None)
    assert early is not None and (early.label, early.confirmed) == ("trial 7", False)
    running = report(plan(3), runs({0: [1.0], 1: [0.5]}))
    assert conclude(selection, running) == early  # an unfinished confirmation changes nothing
    # the pick does not hold up on the confirmation seeds: the answer is the defaults
    confirmed = report(plan(3), runs({0: [1.0, 1.0, 1.1], 1: [1.0, 1.1, 1.0]}))
    answer = conclude(selection, confirmed)
    assert answer is not None and (answer.label, answer.confirmed) == ("default", True)
    assert answer.verdict == confirmed.verdict and "keep the defaults" in answer.verdict


def test_confirmation_seeds_are_disjoint_from_the_search_and_the_selection() -> None:
    search = {s for n in range(30) for s in training_seeds(7, n, 1)}
    picked = selection_seeds(7, 0, 5, exclude=search)
    confirmed = confirmation_seeds(7, 0, 10, exclude=search | set(picked))
    assert len(set(picked)) == 5 and len(set(confirmed)) == 10
    assert not (set(confirmed) & (search | set(picked))) and not (set(picked) & search)
    # a seed that collides is passed over, the stream stays reproducible
    assert confirmation_seeds(7, 0, 3, exclude={confirmed[0]}) == confirmed[1:4]
    assert confirmation_seeds(7, 1, 10) != confirmed  # another round, other seeds


def test_a_one_shot_baseline_is_its_defaults_confirmed_alone() -> None:
    """A selection of the defaults alone (a space tuning nothing) answers the defaults once its
    seeds are done, and its confirmation trains them alone; the answer is then confirmed."""
    waiting = report(plan(3, SELECTION, tuned=0), runs({0: [1.0, 1.1]}))
    assert confirmation_candidates(waiting) is None and conclude(waiting, None) is None
    selection = report(plan(3, SELECTION, tuned=0), runs({0: [1.0, 1.1, 0.9]}))
    assert selection.recommended == "default" and "one-shot" in selection.verdict
    chosen = confirmation_candidates(selection)
    assert chosen is not None and [c.label for c in chosen] == ["default"]
    assert chosen[0].params == OptimizerParams()
    confirmation = report(plan(4, CONFIRMATION, tuned=0), runs({0: [1.0, 1.2, 0.9, 1.1]}))
    answer = conclude(selection, confirmation)
    assert answer is not None and answer.confirmed and answer.label == "default"
    assert confirmation.verdict == "default Adam, untuned (a one-shot baseline): 1.05 on 4 seeds"
