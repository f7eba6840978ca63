"""Every sampler and pruner on offer, run for real: a study on an SQLite file, real training."""

from __future__ import annotations

import math
import re
import statistics
from pathlib import Path
from typing import Any

import optuna
import pytest

from optim.attrs import BASELINE_ATTR, PARAMS_ATTR, PRUNE_REASON_ATTR
from optim.objective import train_lease
from optim.params import OptimizerParams
from optim.runner import Lease, TrialRunner
from optim.samplers import PRUNERS, SAMPLERS, make_pruner, make_sampler
from optim.space import BASELINE, SearchSpace
from optim.storage import make_storage
from optim.study import StudyConfig, create_study
from optim.tasks import get_task

TrialState = optuna.trial.TrialState


def space_of(**dimensions: Any) -> SearchSpace:
    """A SearchSpace from plain dicts, as the API and the CLI receive it."""
    return SearchSpace.model_validate(dimensions)


CONTRACT_TASK = "logreg_breast_cancer"
CONTRACT_EPOCHS = 3
CONTRACT_TRIALS = 6


def run_study(config: StudyConfig, db: Path, name: str) -> list[optuna.trial.FrozenTrial]:
    """Create `config`'s study in the SQLite file `db`, run it through the trial runner (as
    workers do), and read its trials back."""
    url = f"sqlite:///{db}"
    storage = make_storage(url)
    create_study(config, storage, name)
    runner = TrialRunner(storage, name, grace_period=10)
    task = get_task(config.task)
    while isinstance(lease := runner.ask(config.n_trials), Lease):
        outcome = train_lease(runner, lease, task, epochs=config.resolved_epochs())
        runner.finish(lease, outcome)
    # read back through a fresh storage: what the file holds, not what this process remembers
    return optuna.load_study(study_name=name, storage=make_storage(url)).trials


def contract_config(sampler: str, seed: int) -> StudyConfig:
    return StudyConfig(
        task=CONTRACT_TASK,
        n_trials=CONTRACT_TRIALS,
        epochs=CONTRACT_EPOCHS,
        sampler=sampler,
        pruner="none",
        seed=seed,
    )


def params_sequence(trials: list[optuna.trial.FrozenTrial]) -> list[dict[str, float]]:
    return [trial.params for trial in trials]


@pytest.mark.parametrize("sampler", sorted(SAMPLERS))
def test_sampler_contract(sampler: str, tmp_path: Path) -> None:
    config = contract_config(sampler, seed=0)
    space = config.space
    dists = space.distributions()
    trials = run_study(config, tmp_path / "study.db", "contract")

    assert len(trials) == CONTRACT_TRIALS
    assert [t.state for t in trials] == [TrialState.COMPLETE] * CONTRACT_TRIALS
    assert all(t.value is not None and math.isfinite(t.value) for t in trials)

    # the first trial is torch's default Adam, marked as the baseline; no other trial is
    baseline = trials[0]
    assert baseline.user_attrs[BASELINE_ATTR] is True
    assert baseline.user_attrs[PARAMS_ATTR] == pytest.approx(
        {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0}
    )
    assert space.to_params(baseline.params) == BASELINE
    assert not any(BASELINE_ATTR in t.user_attrs for t in trials[1:])

    # every trial stays inside the space, and what it trained with is what Optuna stored
    for trial in trials:
        assert set(trial.params) == set(dists)
        for param, dist in dists.items():
            assert dist.low <= trial.params[param] <= dist.high, (trial.number, param)
        adam = OptimizerParams(**trial.user_attrs[PARAMS_ATTR])
        assert adam == space.to_params(trial.params)
        assert space.contains(adam)

    # the sampler really sampled: no two trials share their params
    distinct = {tuple(sorted(t.params.items())) for t in trials}
    assert len(distinct) == CONTRACT_TRIALS


@pytest.mark.parametrize("sampler", sorted(set(SAMPLERS) - {"grid"}))
def test_seeded_sampler_is_reproducible(sampler: str, tmp_path: Path) -> None:
    first = run_study(contract_config(sampler, seed=7), tmp_path / "a.db", "seeded")
    again = run_study(contract_config(sampler, seed=7), tmp_path / "b.db", "seeded")
    other = run_study(contract_config(sampler, seed=8), tmp_path / "c.db", "seeded")

    assert params_sequence(first) == params_sequence(again)
    assert [t.value for t in first] == [t.value for t in again]
    # the baseline is the same whatever the seed; the sampled trials after it are not
    assert first[0].params == other[0].params
    assert all(a.params != b.params for a, b in zip(first[1:], other[1:], strict=True))


def test_grid_sampler_walks_the_space_grid(tmp_path: Path) -> None:
    space = space_of(
        lr={"low": 1e-4, "high": 1e-1},
        beta1={"value": 0.9},
        beta2={"value": 0.999},
        eps={"value": 1e-8},
    )
    config = StudyConfig(
        task="rosenbrock", n_trials=5, epochs=2, sampler="grid", pruner="none", space=space
    )
    trials = run_study(config, tmp_path / "grid.db", "grid")
    grid = space.grid(4)["lr"]
    assert trials[0].params == {"lr": 1e-3}  # the enqueued baseline, off the grid
    assert sorted(t.params["lr"] for t in trials[1:]) == pytest.approx(grid)


def test_unknown_names_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown sampler 'annealing'"):
        make_sampler("annealing", seed=0, space=SearchSpace())
    with pytest.raises(ValueError, match="unknown pruner 'patience'"):
        make_pruner("patience", epochs=10)


# --- pruners -----------------------------------------------------------------------------------

PRUNE_EPOCHS = 6
PRUNE_TRIALS = 16
PRUNED_AT = re.compile(r"pruned at epoch (\d+)")
# mostly learning rates far too small to get anywhere in a few epochs
BAD_LR_SPACE = space_of(
    lr={"low": 1e-7, "high": 1e-1},
    beta1={"value": 0.9},
    beta2={"value": 0.999},
    eps={"value": 1e-8},
)


@pytest.mark.slow
@pytest.mark.parametrize("pruner", sorted(PRUNERS))
def test_pruner_prunes_bad_trials_or_none_at_all(pruner: str, tmp_path: Path) -> None:
    config = StudyConfig(
        task=CONTRACT_TASK,
        n_trials=PRUNE_TRIALS,
        epochs=PRUNE_EPOCHS,
        sampler="random",
        pruner=pruner,
        seed=0,
        space=BAD_LR_SPACE,
    )
    trials = run_study(config, tmp_path / "prune.db", f"prune-{pruner}")
    assert len(trials) == PRUNE_TRIALS
    pruned = [t for t in trials if t.state == TrialState.PRUNED]
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(pruned) + len(complete) == PRUNE_TRIALS

    if pruner == "none":
        assert pruned == []
        assert all(PRUNE_REASON_ATTR not in t.user_attrs for t in trials)
        assert all(len(t.intermediate_values) == PRUNE_EPOCHS for t in trials)
        return

    assert pruned, f"{pruner} pruned nothing"
    for trial in pruned:
        match = PRUNED_AT.fullmatch(trial.user_attrs[PRUNE_REASON_ATTR])
        assert match, trial.user_attrs[PRUNE_REASON_ATTR]
        epoch = int(match.group(1))
        # pruned before the last epoch, right after reporting that epoch
        assert 1 <= epoch < PRUNE_EPOCHS
        assert sorted(trial.intermediate_values) == list(range(1, epoch + 1))
    # and it is the slow learners it cuts
    assert statistics.median(t.params["lr"] for t in pruned) < statistics.median(
        t.params["lr"] for t in complete
    )
    for trial in complete:
        assert PRUNE_REASON_ATTR not in trial.user_attrs
        assert sorted(trial.intermediate_values) == list(range(1, PRUNE_EPOCHS + 1))
        assert trial.value == trial.intermediate_values[PRUNE_EPOCHS]


def test_every_sampler_and_pruner_is_described() -> None:
    from optim.samplers import PRUNER_DESCRIPTIONS, PRUNERS, SAMPLER_DESCRIPTIONS

    assert list(SAMPLER_DESCRIPTIONS) == list(SAMPLERS)
    assert list(PRUNER_DESCRIPTIONS) == list(PRUNERS)
    assert all(len(text) > 20 for text in [*SAMPLER_DESCRIPTIONS.values(),
                                           *PRUNER_DESCRIPTIONS.values()])  # fmt: skip
