"""make_objective on real tasks: reporting, pruning, divergence, stop requests, reproducibility."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
import torch

from optim.attrs import ADAM_PARAMS_ATTR, PRUNE_REASON_ATTR, STOPPED
from optim.objective import make_objective
from optim.space import SearchSpace
from optim.storage import make_storage
from optim.tasks import EpochMetrics, get_task

TrialState = optuna.trial.TrialState

FIXED_REST = {"beta1": {"value": 0.9}, "beta2": {"value": 0.999}, "eps": {"value": 1e-8}}


def lr_space(low: float, high: float) -> SearchSpace:
    return SearchSpace.model_validate({"lr": {"low": low, "high": high}, **FIXED_REST})


def sqlite_study(
    tmp_path: Path,
    *,
    sampler: optuna.samplers.BaseSampler | None = None,
    pruner: optuna.pruners.BasePruner | None = None,
) -> optuna.Study:
    return optuna.create_study(
        storage=make_storage(f"sqlite:///{tmp_path / 'objective.db'}"),
        study_name="objective",
        sampler=sampler or optuna.samplers.RandomSampler(seed=0),
        pruner=pruner or optuna.pruners.NopPruner(),
    )


@pytest.fixture(autouse=True)
def one_torch_thread() -> Iterator[None]:
    """Tiny models train fastest on one thread (as `adamtune tune` does by default)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize(("task", "huge_lr"), [("rosenbrock", 1e10), ("quadratic_deep", 1e20)])
def test_diverging_trial_is_pruned_and_the_study_goes_on(
    task: str, huge_lr: float, tmp_path: Path
) -> None:
    """Adam's step is bounded by lr, so only an absurd lr overflows float32 on these tasks."""
    space = lr_space(1e-4, 1e21)
    study = sqlite_study(tmp_path)
    study.enqueue_trial({"lr": huge_lr})
    study.enqueue_trial({"lr": 1e-3})
    study.optimize(make_objective(get_task(task), space, epochs=3, seed=0), n_trials=3)

    trials = study.trials
    assert len(trials) == 3
    diverged, sane = trials[0], trials[1]
    assert diverged.params == {"lr": huge_lr}
    assert diverged.state == TrialState.PRUNED
    reason = diverged.user_attrs[PRUNE_REASON_ATTR]
    assert reason.startswith("diverged")
    assert re.fullmatch(r"diverged: loss diverged to (nan|-?inf) in epoch \d", reason), reason
    assert diverged.user_attrs[ADAM_PARAMS_ATTR]["lr"] == huge_lr
    # nothing non-finite reached Optuna
    assert all(math.isfinite(v) for v in diverged.intermediate_values.values())

    assert sane.state == TrialState.COMPLETE
    assert sane.value is not None and math.isfinite(sane.value)
    assert PRUNE_REASON_ATTR not in sane.user_attrs
    assert trials[2].state in (TrialState.COMPLETE, TrialState.PRUNED)  # ran, did not fail
    assert study.best_trial.number != 0


def test_should_stop_ends_the_trial_as_pruned_stopped(tmp_path: Path) -> None:
    polls: list[int] = []

    def should_stop() -> bool:
        polls.append(1)
        return len(polls) >= 2  # let the first trial finish one epoch, then stop everything

    study = sqlite_study(tmp_path)
    objective = make_objective(
        get_task("logreg_breast_cancer"),
        lr_space(1e-4, 1e-2),
        epochs=5,
        seed=0,
        should_stop=should_stop,
    )
    study.optimize(objective, n_trials=2)

    first, second = study.trials
    for trial in (first, second):
        assert trial.state == TrialState.PRUNED
        assert trial.user_attrs[PRUNE_REASON_ATTR] == STOPPED == "stopped"
        # Optuna keeps a pruned trial's last report as its value
        assert trial.value == trial.intermediate_values[max(trial.intermediate_values)]
    # the epoch that saw the stop request was still reported
    assert sorted(first.intermediate_values) == [1, 2]
    assert sorted(second.intermediate_values) == [1]
    assert len(polls) == 3


def test_should_stop_false_changes_nothing(tmp_path: Path) -> None:
    study = sqlite_study(tmp_path)
    objective = make_objective(
        get_task("rosenbrock"), lr_space(1e-4, 1e-2), epochs=2, seed=0, should_stop=lambda: False
    )
    study.optimize(objective, n_trials=2)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 2


def test_on_epoch_is_called_once_per_epoch_in_order(tmp_path: Path) -> None:
    epochs = 4
    seen: list[tuple[int, EpochMetrics]] = []

    def on_epoch(trial: optuna.Trial, metrics: EpochMetrics) -> None:
        seen.append((trial.number, metrics))

    study = sqlite_study(tmp_path)
    objective = make_objective(
        get_task("logreg_breast_cancer"),
        lr_space(1e-4, 1e-2),
        epochs=epochs,
        seed=0,
        on_epoch=on_epoch,
    )
    study.optimize(objective, n_trials=2)

    for trial in study.trials:
        mine = [metrics for number, metrics in seen if number == trial.number]
        assert [m.epoch for m in mine] == list(range(1, epochs + 1))
        # what the callback saw is what was reported to Optuna, and the last epoch is the value
        assert {m.epoch: m.val_loss for m in mine} == trial.intermediate_values
        assert trial.value == mine[-1].val_loss
        assert all(m.val_accuracy is not None and 0.0 <= m.val_accuracy <= 1.0 for m in mine)
    assert [number for number, _ in seen] == [0] * epochs + [1] * epochs


def test_pruned_trial_stops_after_the_epoch_it_was_judged_on(tmp_path: Path) -> None:
    epochs = 4
    seen: list[int] = []
    # any positive loss is over the threshold: a real pruner that prunes at the first chance
    study = sqlite_study(tmp_path, pruner=optuna.pruners.ThresholdPruner(upper=1e-12))
    objective = make_objective(
        get_task("rosenbrock"),
        lr_space(1e-4, 1e-2),
        epochs=epochs,
        seed=0,
        on_epoch=lambda _trial, metrics: seen.append(metrics.epoch),
    )
    study.optimize(objective, n_trials=1)
    (trial,) = study.trials
    assert trial.state == TrialState.PRUNED
    assert trial.user_attrs[PRUNE_REASON_ATTR] == "pruned at epoch 1"
    assert seen == [1]
    assert list(trial.intermediate_values) == [1]


def test_last_epoch_is_never_pruned(tmp_path: Path) -> None:
    """A trial that trained its whole budget completes: pruning it would waste the result."""
    study = sqlite_study(tmp_path, pruner=optuna.pruners.ThresholdPruner(upper=1e-12))
    objective = make_objective(get_task("rosenbrock"), lr_space(1e-4, 1e-2), epochs=1, seed=0)
    study.optimize(objective, n_trials=1)
    (trial,) = study.trials
    assert trial.state == TrialState.COMPLETE
    assert trial.value == trial.intermediate_values[1]


def run_tpe_study(tmp_path: Path, name: str, *, seed: int) -> list[optuna.trial.FrozenTrial]:
    study = optuna.create_study(
        storage=make_storage(f"sqlite:///{tmp_path / f'{name}.db'}"),
        study_name=name,
        sampler=optuna.samplers.TPESampler(seed=seed, n_startup_trials=2),
    )
    objective = make_objective(get_task("logreg_breast_cancer"), SearchSpace(), epochs=3, seed=seed)
    study.optimize(objective, n_trials=4)
    return study.trials


def test_same_seed_gives_the_same_values(tmp_path: Path) -> None:
    first = run_tpe_study(tmp_path, "first", seed=3)
    second = run_tpe_study(tmp_path, "second", seed=3)
    assert [t.params for t in first] == [t.params for t in second]
    assert [t.value for t in first] == [t.value for t in second]
    assert [t.intermediate_values for t in first] == [t.intermediate_values for t in second]
    assert len({t.value for t in first}) == 4  # the trials did differ from each other


def test_training_seed_alone_changes_the_value(tmp_path: Path) -> None:
    """Same hyper-parameters, different seed: a different initialisation, a different loss."""
    values: list[float | None] = []
    for seed in (0, 1):
        study = optuna.create_study(
            storage=make_storage(f"sqlite:///{tmp_path / f'seed{seed}.db'}"),
            study_name="seeded",
        )
        study.enqueue_trial({"lr": 1e-3})
        objective = make_objective(
            get_task("logreg_breast_cancer"), lr_space(1e-4, 1e-2), epochs=2, seed=seed
        )
        study.optimize(objective, n_trials=1)
        values.append(study.trials[0].value)
    assert values[0] is not None and values[1] is not None
    assert values[0] != values[1]
