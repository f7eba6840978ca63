"""`optim.verdict.judge`: what a report means (stop, prune, go on), on a real Optuna study in
an SQLite file with a pruner whose answer is known (ThresholdPruner: above 1.0 prunes)."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from optim.verdict import STOPPED_REASON, Decision, Verdict, judge


@pytest.fixture
def study(tmp_path: Path) -> optuna.Study:
    return optuna.create_study(
        storage=f"sqlite:///{tmp_path / 'verdict.db'}",
        pruner=optuna.pruners.ThresholdPruner(upper=1.0),
    )


def test_a_value_the_pruner_rejects_prunes_before_the_horizon(study: optuna.Study) -> None:
    trial = study.ask()
    trial.report(0.5, 0)
    assert judge(trial, 0, 3, None) == Decision(Verdict.GO_ON)
    trial.report(2.0, 1)
    assert judge(trial, 1, 3, None) == Decision(Verdict.PRUNE, "pruned at epoch 1")


def test_the_last_step_is_never_pruned(study: optuna.Study) -> None:
    trial = study.ask()
    trial.report(2.0, 3)
    assert trial.should_prune()  # the pruner would
    assert judge(trial, 3, 3, None) == Decision(Verdict.GO_ON)


def test_a_stop_wins_over_the_pruner(study: optuna.Study) -> None:
    trial = study.ask()
    trial.report(2.0, 1)
    assert judge(trial, 1, 3, STOPPED_REASON) == Decision(Verdict.STOP, STOPPED_REASON)
    assert judge(trial, 3, 3, "worker shut down") == Decision(Verdict.STOP, "worker shut down")


def test_without_a_pruner_only_a_stop_ends_the_trial() -> None:
    """A study whose pruner never prunes gives no trial to ask (an external runner's report
    then builds none): it goes on, unless a stop is asked."""
    assert judge(None, 1, 3, None) == Decision(Verdict.GO_ON)
    assert judge(None, 1, 3, STOPPED_REASON) == Decision(Verdict.STOP, STOPPED_REASON)
