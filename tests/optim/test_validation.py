"""The statistics of a validation: intervals, paired gains, the recommendation and the verdict,
on constructed results (a tie must read "no significant gain")."""

from __future__ import annotations

import math
from typing import Any

import optuna
import pytest
from scipy import stats

from optim.attrs import BASELINE_ATTR, PARAMS_ATTR, RUN_ATTR
from optim.params import OptimizerParams
from optim.validation import Interval, candidates, report

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


def plan(n_seeds: int) -> dict[str, Any]:
    return {
        "round": 0,
        "seeds": list(range(n_seeds)),
        "configs": [
            {"label": "default", "params": OptimizerParams().as_dict(), "trial": None,
             "search_value": None},
            {"label": "trial 7", "params": TUNED.as_dict(), "trial": 7, "search_value": 0.05},
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
    assert found.verdict == "no significant gain over default Adam (+0% ± 0%, 0/3 seeds)"


def test_noise_around_the_defaults_is_no_significant_gain() -> None:
    found = report(plan(4), runs({0: [1.0, 1.0, 1.0, 1.0], 1: [0.8, 1.2, 0.9, 1.1]}))
    assert found.verdict.startswith("no significant gain over default Adam (+0% ± ")
    assert found.recommended is not None


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
