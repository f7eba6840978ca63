"""`optim.verdict.judge`: what a report means (stop, prune, go on), on a real Optuna study in
an SQLite file with a pruner whose answer is known (ThresholdPruner: above 1.0 prunes)."""

from __future__ import annotations

import math
import random
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from optim import optuna_internals as oi
from optim.verdict import STOPPED_REASON, Decision, TrialJudge, Verdict, judge


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


# -- TrialJudge: the same decisions, fewer should_prune calls --------------------------------------

HORIZON = 20
PRUNERS = {
    "hyperband": lambda: optuna.pruners.HyperbandPruner(
        min_resource=1, max_resource=HORIZON, reduction_factor=3
    ),
    "halving": lambda: optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3),
    "halving_rate_1": lambda: optuna.pruners.SuccessiveHalvingPruner(
        min_resource=2, reduction_factor=2, min_early_stopping_rate=1
    ),
    "median": lambda: optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=2),
}


def _run(pruner: str, judged: str, asked: list[int]) -> list[tuple[str, dict[str, object]]]:
    """40 trials of noisy curves, judged after every step by `judge` or a `TrialJudge`; every
    tenth trial is a re-run that inherits the system attributes of the trial before it (as
    `optim.storage.retry_trial` queues it). Returns each trial's state and system attributes."""
    study = optuna.create_study(study_name="same-name", pruner=PRUNERS[pruner]())
    rng = random.Random(7)
    for number in range(40):
        if number % 10 == 9:
            before = study.trials[-1]
            study.add_trial(
                optuna.trial.create_trial(
                    state=TrialState.WAITING, system_attrs=before.system_attrs
                )
            )
        trial = study.ask()
        level = rng.uniform(0.5, 2.0)
        trial_judge = TrialJudge(trial, HORIZON)
        verdict = Verdict.GO_ON
        for step in range(1, HORIZON + 1):
            value = level / step + rng.gauss(0, 0.05)
            if number == 13 and step == 4:
                value = math.nan  # a NaN at a rung prunes; elsewhere it waits for the rung
            trial.report(value, step)
            calls = _count_calls(asked)
            with calls:
                decision = (
                    judge(trial, step, HORIZON, None)
                    if judged == "judge"
                    else trial_judge(step, None)
                )
            verdict = decision.verdict
            if verdict is not Verdict.GO_ON:
                study.tell(trial, state=TrialState.PRUNED)
                break
        if verdict is Verdict.GO_ON:
            study.tell(trial, value)
    return [(t.state.name, t.system_attrs) for t in study.trials]


class _count_calls:  # noqa: N801 - used as a context manager, like a function
    """Counts the real `Trial.should_prune` calls made inside the block into `asked`."""

    def __init__(self, asked: list[int]) -> None:
        self.asked = asked

    def __enter__(self) -> None:
        self.original = optuna.Trial.should_prune
        asked = self.asked
        original = self.original

        def counted(trial: optuna.Trial) -> bool:
            asked.append(trial.number)
            return original(trial)

        optuna.Trial.should_prune = counted  # type: ignore[method-assign]

    def __exit__(self, *exc: object) -> None:
        optuna.Trial.should_prune = self.original  # type: ignore[method-assign]


@pytest.mark.parametrize("pruner", sorted(PRUNERS))
def test_a_trial_judge_decides_as_judge_does_and_skips_only_non_rung_steps(pruner: str) -> None:
    every, fewer = [], []
    assert _run(pruner, "trial_judge", fewer) == _run(pruner, "judge", every)
    if pruner == "median":  # not a halving pruner: asked at every step
        assert len(fewer) == len(every)
    else:  # asked at the rungs only (and Hyperband once before it has made its brackets)
        assert len(fewer) < len(every), (len(fewer), len(every))


def test_the_rungs_are_the_steps_where_optunas_halving_records_a_rung() -> None:
    study = optuna.create_study(pruner=PRUNERS["hyperband"]())
    pruner = study.pruner
    assert oi.rung_steps(pruner, study.study_name, 0, HORIZON) is None  # no brackets yet
    for number in range(30):
        trial = study.ask()
        recorded = []
        for step in range(1, HORIZON):
            trial.report(-float(step), step)  # always the best so far: never pruned
            before = len(study.trials[-1].system_attrs)
            assert not trial.should_prune()
            if len(study.trials[-1].system_attrs) > before:
                recorded.append(step)
        assert oi.rung_steps(pruner, study.study_name, number, HORIZON - 1) == tuple(recorded)
        study.tell(trial, -float(HORIZON))


def test_a_subclass_or_another_pruner_has_no_known_rungs() -> None:
    class Halving(optuna.pruners.SuccessiveHalvingPruner):
        pass

    assert oi.rung_steps(Halving(min_resource=1), "s", 0, HORIZON) is None

    class Bands(optuna.pruners.HyperbandPruner):
        pass

    study = optuna.create_study(pruner=Bands(min_resource=1, max_resource=HORIZON))
    trial = study.ask()
    trial.report(1.0, 1)
    trial.should_prune()  # its brackets are made
    assert oi.rung_steps(study.pruner, study.study_name, 0, HORIZON) is None
    assert oi.rung_steps(optuna.pruners.MedianPruner(), "s", 0, HORIZON) is None
    assert oi.rung_steps(optuna.pruners.SuccessiveHalvingPruner(), "s", 0, HORIZON) is None  # auto
    assert oi.rung_steps(
        optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3), "s", 0, HORIZON
    ) == (1, 3, 9)
