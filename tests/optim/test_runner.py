"""The trial runner in-process, on SQLite and PostgreSQL: exactly n_trials, baseline first,
re-runs of interrupted and dead trials, seeds, and `train_lease` on real tasks."""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import optuna
import pytest

from optim.attrs import (
    FAIL_REASON_ATTR,
    INTERRUPT_REASON_ATTR,
    PARAMS_ATTR,
    PRUNE_REASON_ATTR,
    RETRY_OF_ATTR,
    SEEDS_ATTR,
)
from optim.objective import train_lease
from optim.optimizers import ADAM_DIMS
from optim.params import OptimizerParams
from optim.runner import Lease, NoTrial, Outcome, StudyGoneError, TrialRunner, count_trials
from optim.space import SearchSpace
from optim.storage import AdamtuneStorage, make_storage
from optim.study import StudyConfig, create_study
from optim.tasks import EpochMetrics, get_task
from tests.conftest import both_databases

TrialState = optuna.trial.TrialState
GRACE_S = 2
FIXED_REST = {"beta1": {"value": 0.9}, "beta2": {"value": 0.999}, "eps": {"value": 1e-8}}


def lr_space(low: float = 1e-4, high: float = 1e-2) -> SearchSpace:
    return SearchSpace.model_validate({"lr": {"low": low, "high": high}, **FIXED_REST})


@pytest.fixture
def storage(database_url: str) -> Iterator[AdamtuneStorage]:
    storage = make_storage(database_url, heartbeat_interval=1, grace_period=GRACE_S)
    yield storage
    storage.engine.dispose()


def new_runner(storage: AdamtuneStorage, name: str = "study", **config: Any) -> TrialRunner:
    config.setdefault("task", "rosenbrock")
    config.setdefault("epochs", 2)
    config.setdefault("pruner", "none")
    create_study(StudyConfig(**config), storage, name)
    return TrialRunner(storage, name, grace_period=GRACE_S)


def run_all(runner: TrialRunner, n_trials: int, **train: Any) -> list[Outcome]:
    """Ask and train until the runner says DONE, as a worker does."""
    outcomes = []
    task = get_task(runner.config.task)
    while (lease := runner.ask(n_trials)) is not NoTrial.DONE:
        assert isinstance(lease, Lease), lease
        outcome = train_lease(runner, lease, task, epochs=runner.config.resolved_epochs(), **train)
        runner.finish(lease, outcome)
        outcomes.append(outcome)
    return outcomes


def states(runner: TrialRunner) -> dict[str, int]:
    with runner.storage.engine.connect() as conn:
        return count_trials(conn, runner.study_id).by_state


@both_databases
def test_exactly_n_trials_baseline_first(storage: AdamtuneStorage) -> None:
    runner = new_runner(storage, n_trials=4, sampler="random")
    outcomes = run_all(runner, 4)
    assert [o.state for o in outcomes] == [TrialState.COMPLETE] * 4
    trials = runner.study.get_trials()
    assert len(trials) == 4
    baseline = trials[0]
    assert baseline.user_attrs["baseline"] is True
    assert baseline.user_attrs[PARAMS_ATTR] == OptimizerParams().as_dict(ADAM_DIMS)
    assert len({t.params["lr"] for t in trials}) == 4
    assert runner.ask(4) is NoTrial.DONE  # and stays done


@both_databases
def test_a_log_scale_range_without_the_default_still_runs_the_baseline(
    storage: AdamtuneStorage,
) -> None:
    """Default Adam has weight_decay 0, which a log range cannot hold: the baseline trains with
    0 all the same and records only the params its ranges hold."""
    space = {**lr_space().model_dump(), "weight_decay": {"low": 1e-6, "high": 1e-2, "log": True}}
    runner = new_runner(storage, n_trials=3, space=space)
    outcomes = run_all(runner, 3)
    assert [o.state for o in outcomes] == [TrialState.COMPLETE] * 3
    baseline, *others = runner.study.get_trials()
    assert baseline.user_attrs[PARAMS_ATTR]["weight_decay"] == 0.0
    assert baseline.params == {"lr": 1e-3}
    assert all(1e-6 <= t.params["weight_decay"] <= 1e-2 for t in others)


@both_databases
def test_interrupted_trials_are_re_run_with_their_params_and_seeds(
    storage: AdamtuneStorage,
) -> None:
    runner = new_runner(storage, n_trials=3, sampler="random", seeds_per_trial=2)
    first = runner.ask(3)
    assert isinstance(first, Lease) and len(first.seeds) == 2
    second = runner.ask(3)
    assert isinstance(second, Lease)
    runner.finish(second, Outcome.interrupted("stopped: re-run with the same params on resume"))
    runner.finish(first, Outcome.complete(1.0))
    assert states(runner) == {"COMPLETE": 1, "FAIL": 1, "WAITING": 1}

    rerun = runner.ask(3)
    assert isinstance(rerun, Lease)
    assert (rerun.params, rerun.seeds) == (second.params, second.seeds)
    trial = runner.study.get_trials()[rerun.number]
    assert trial.system_attrs[RETRY_OF_ATTR] == second.number
    assert INTERRUPT_REASON_ATTR not in trial.user_attrs  # the re-run has no reason of its own
    runner.finish(rerun, Outcome.complete(0.5))
    last = runner.ask(3)
    assert isinstance(last, Lease)
    runner.finish(last, Outcome.complete(0.7))
    assert runner.ask(3) is NoTrial.DONE
    assert states(runner) == {"COMPLETE": 3, "FAIL": 1}
    interrupted = runner.study.get_trials()[second.number]
    assert interrupted.user_attrs[INTERRUPT_REASON_ATTR].startswith("stopped")


@both_databases
def test_a_failure_of_the_training_code_counts(storage: AdamtuneStorage) -> None:
    runner = new_runner(storage, n_trials=2)
    lease = runner.ask(2)
    assert isinstance(lease, Lease)
    runner.finish(lease, Outcome.failed("ValueError: boom"))
    other = runner.ask(2)
    assert isinstance(other, Lease)
    runner.finish(other, Outcome.complete(1.0))
    assert runner.ask(2) is NoTrial.DONE
    failed = runner.study.get_trials()[lease.number]
    assert failed.user_attrs[FAIL_REASON_ATTR] == "ValueError: boom"


@both_databases
def test_a_dead_runners_trial_is_failed_and_re_run(storage: AdamtuneStorage) -> None:
    """A runner that stops beating (killed) loses its trial to the next ask after the grace
    period; a runner killed before its first beat too (its trial has no heartbeat at all)."""
    runner = new_runner(storage, n_trials=2, sampler="random")
    dead = runner.ask(2)
    assert isinstance(dead, Lease)
    assert runner.ask(2) is not NoTrial.DONE  # the second trial: runs beside the first
    assert runner.ask(2) is NoTrial.BUSY  # both taken, both running
    time.sleep(GRACE_S + 1.5)  # no beats: both are past the grace period
    rerun = runner.ask(2)
    assert isinstance(rerun, Lease)
    assert rerun.params == dead.params and rerun.seeds == dead.seeds
    assert states(runner) == {"FAIL": 2, "RUNNING": 1, "WAITING": 1}


@both_databases
def test_two_runners_in_threads_take_exactly_n_trials(storage: AdamtuneStorage) -> None:
    """Two runners of one study, as two workers: the claim lock keeps the count exact."""
    new_runner(storage, n_trials=6, sampler="tpe", epochs=1)
    runners = [TrialRunner(storage, "study", grace_period=GRACE_S) for _ in range(2)]
    numbers: list[int] = []

    def work(runner: TrialRunner) -> None:
        while (lease := runner.ask(6)) is not NoTrial.DONE:
            if lease is NoTrial.BUSY:
                time.sleep(0.05)
                continue
            numbers.append(lease.number)
            runner.finish(lease, Outcome.complete(float(lease.number)))

    threads = [threading.Thread(target=work, args=(r,)) for r in runners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(numbers) == list(range(6))
    assert states(runners[0]) == {"COMPLETE": 6}


@both_databases
def test_threads_sharing_one_runner_each_get_their_own_trial_and_params(
    storage: AdamtuneStorage,
) -> None:
    """As the API's request threads share one runner per study: a trial's params are suggested
    after the claim lock is released, by its own study object and sampler, so asks overlap;
    still exactly n_trials, numbers unique, and each lease's params are its trial's own."""
    runner = new_runner(storage, n_trials=12, sampler="tpe", epochs=1)
    leases: list[Lease] = []

    def work() -> None:
        while (lease := runner.ask(12)) is not NoTrial.DONE:
            if lease is NoTrial.BUSY:
                time.sleep(0.05)
                continue
            leases.append(lease)
            runner.finish(lease, Outcome.complete(lease.params.lr))

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(lease.number for lease in leases) == list(range(12))
    assert states(runner) == {"COMPLETE": 12}
    trials = {t.number: t for t in runner.study.get_trials()}
    for lease in leases:
        trial = trials[lease.number]
        assert trial.params["lr"] == lease.params.lr and trial.value == lease.params.lr
        assert trial.user_attrs[PARAMS_ATTR]["lr"] == lease.params.lr
        assert tuple(trial.user_attrs[SEEDS_ATTR]) == lease.seeds
    assert len({lease.params.lr for lease in leases}) == 12  # no two share a proposal


def test_asks_look_for_dead_trials_a_tenth_of_the_grace_period_apart(
    storage: AdamtuneStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Failing dead trials takes two queries under the claim lock: a runner's asks run it at
    most every grace_period / 10 (a dead trial is failed that much later at worst)."""
    runner = new_runner(storage, n_trials=5)
    clock = [1000.0]
    checks: list[float] = []
    monkeypatch.setattr("optim.runner.time.monotonic", lambda: clock[0])
    original = runner.fail_dead_trials
    monkeypatch.setattr(runner, "fail_dead_trials", lambda: checks.append(clock[0]) or original())
    for step in (0.0, 0.05, 0.1, 0.1, 0.05, 0.0):  # seconds between asks; grace 2 s: 0.2 s
        clock[0] += step
        runner.ask(5)
    assert checks == [1000.0, 1000.25]


@both_databases
def test_parallelism_and_closing(storage: AdamtuneStorage) -> None:
    runner = new_runner(storage, n_trials=5)
    lease = runner.ask(5, parallelism=1)
    assert isinstance(lease, Lease)
    assert runner.ask(5, parallelism=1) is NoTrial.BUSY
    assert runner.ask(5, closing=True) is NoTrial.BUSY  # closing, but a trial still runs
    runner.finish(lease, Outcome.complete(1.0))
    assert runner.ask(5, closing=True) is NoTrial.DONE


def test_same_seed_same_trials_other_seed_nothing_shared(tmp_path: Any) -> None:
    """Sampler and training seeds come from (study seed, trial number) through a mixer: the
    same seed proposes the same trials, two seeds share no configuration and no seed."""

    def proposals(seed: int, name: str) -> list[tuple[float, tuple[int, ...]]]:
        storage = make_storage(f"sqlite:///{tmp_path / f'{name}.db'}")
        runner = new_runner(storage, n_trials=30, sampler="random", seed=seed, space=SearchSpace())
        out = []
        while isinstance(lease := runner.ask(30), Lease):
            out.append((lease.params.lr, lease.seeds))
            runner.finish(lease, Outcome.complete(1.0))
        return out[1:]  # the baseline is the same everywhere by design

    first, again, other = proposals(0, "a"), proposals(0, "b"), proposals(1, "c")
    assert first == again
    assert not {lr for lr, _ in first} & {lr for lr, _ in other}
    assert not {s for _, seeds in first for s in seeds} & {s for _, seeds in other for s in seeds}


@both_databases
def test_a_deleted_study_is_gone_for_its_runner(storage: AdamtuneStorage) -> None:
    runner = new_runner(storage, n_trials=3)
    lease = runner.ask(3)
    assert isinstance(lease, Lease)
    optuna.delete_study(study_name="study", storage=storage)
    with pytest.raises(StudyGoneError):
        runner.finish(lease, Outcome.complete(1.0))
    with pytest.raises(StudyGoneError):
        runner.ask(3)
    with pytest.raises(StudyGoneError):
        TrialRunner(storage, "study", grace_period=GRACE_S)


# --- train_lease on real tasks ------------------------------------------------------------------


@pytest.mark.parametrize(("task", "huge_lr"), [("rosenbrock", 1e10), ("quadratic_deep", 1e20)])
def test_a_diverging_trial_is_pruned_with_the_reason(
    task: str, huge_lr: float, tmp_path: Any
) -> None:
    """Adam's step is bounded by lr, so only an absurd lr overflows float32 on these tasks."""
    storage = make_storage(f"sqlite:///{tmp_path / 'diverge.db'}")
    runner = new_runner(storage, task=task, n_trials=2, epochs=3, space=lr_space(1e-4, 1e21))
    runner.study.enqueue_trial({"lr": huge_lr})  # after the baseline
    outcomes = run_all(runner, 2)
    assert outcomes[0].state == TrialState.COMPLETE
    assert outcomes[1].state == TrialState.PRUNED
    reason = outcomes[1].reason or ""
    assert re.fullmatch(r"diverged: loss diverged to (nan|-?inf) in epoch \d", reason), reason
    diverged = runner.study.get_trials()[1]
    assert diverged.user_attrs[PRUNE_REASON_ATTR] == reason
    assert all(math.isfinite(v) for v in diverged.intermediate_values.values())


def test_on_epoch_sees_what_optuna_got_and_interrupt_ends_the_trial(tmp_path: Any) -> None:
    storage = make_storage(f"sqlite:///{tmp_path / 'epochs.db'}")
    runner = new_runner(storage, task="logreg_breast_cancer", n_trials=2, epochs=4)
    seen: list[EpochMetrics] = []
    lease = runner.ask(2)
    assert isinstance(lease, Lease)
    task = get_task("logreg_breast_cancer")
    outcome = train_lease(runner, lease, task, epochs=4, on_epoch=seen.append)
    runner.finish(lease, outcome)
    trial = runner.study.get_trials()[0]
    assert [m.epoch for m in seen] == [1, 2, 3, 4]
    assert {m.epoch: m.val_loss for m in seen} == trial.intermediate_values
    assert trial.value == seen[-1].val_loss

    polls: list[int] = []
    lease = runner.ask(2)
    assert isinstance(lease, Lease)

    def interrupt() -> str | None:
        polls.append(1)
        return "stopped" if len(polls) >= 2 else None

    outcome = train_lease(runner, lease, task, epochs=4, interrupt=interrupt)
    assert outcome == Outcome.interrupted("stopped")
    runner.finish(lease, outcome)
    assert sorted(runner.study.get_trials()[1].intermediate_values) == [1, 2]


def test_a_pruned_trial_stops_after_the_epoch_it_was_judged_on(tmp_path: Any) -> None:
    storage = make_storage(f"sqlite:///{tmp_path / 'prune.db'}")
    runner = new_runner(storage, n_trials=1, epochs=4)
    runner.study.pruner = optuna.pruners.ThresholdPruner(upper=1e-12)  # prunes at once
    lease = runner.ask(1)
    assert isinstance(lease, Lease)
    seen: list[int] = []
    outcome = train_lease(
        runner, lease, get_task("rosenbrock"), epochs=4, on_epoch=lambda m: seen.append(m.epoch)
    )
    assert outcome == Outcome.pruned("pruned at epoch 1")
    assert seen == [1]


def test_k_seeds_per_trial_average_into_the_value(tmp_path: Any) -> None:
    storage = make_storage(f"sqlite:///{tmp_path / 'k.db'}")
    runner = new_runner(storage, task="logreg_breast_cancer", n_trials=1, seeds_per_trial=3)
    seen: list[EpochMetrics] = []
    lease = runner.ask(1)
    assert isinstance(lease, Lease) and len(set(lease.seeds)) == 3
    outcome = train_lease(
        runner, lease, get_task("logreg_breast_cancer"), epochs=2, on_epoch=seen.append
    )
    assert outcome.state == TrialState.COMPLETE
    assert all(m.val_loss_std is not None and m.val_loss_std > 0 for m in seen)
    assert runner.study.get_trials()[0].user_attrs[SEEDS_ATTR] == list(lease.seeds)
