"""Optimizer families and presets: each family trains, its baseline trial is its library's
defaults, a space tunes only what its family takes, presets start a space and a space's own
dimensions override them, and a grid never asks for more trials than it has."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import prodigyopt
import pytest
import schedulefree
import torch
from pydantic import ValidationError

from optim.attrs import BASELINE_ATTR, PARAMS_ATTR
from optim.objective import train_lease
from optim.optimizers import FAMILIES
from optim.params import OptimizerParams
from optim.runner import Lease, TrialRunner
from optim.space import fixed_space, preset_space
from optim.storage import make_storage
from optim.study import StudyConfig, create_study
from optim.tasks import get_task
from optim.training import make_optimizer

# DeepOBS's published tuned Adam for quadratic_deep (Schmidt et al. 2021)
DEEPOBS_TUNED = OptimizerParams(lr=0.01104, beta1=0.6675, beta2=0.8405)


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_each_family_trains_and_its_baseline_is_the_library_default(
    family: str, tmp_path: Path
) -> None:
    storage = make_storage(f"sqlite:///{tmp_path / 'f.db'}")
    config = StudyConfig(task="logreg_breast_cancer", optimizer=family, n_trials=2, epochs=2)
    create_study(config, storage, "family")
    runner = TrialRunner(storage, "family", grace_period=10)
    task = get_task("logreg_breast_cancer")
    leases = []
    while isinstance(lease := runner.ask(2), Lease):
        outcome = train_lease(runner, lease, task, epochs=2)
        assert outcome.value is not None and math.isfinite(outcome.value), outcome
        runner.finish(lease, outcome)
        leases.append(lease)
    baseline, tuned = runner.study.get_trials()
    spec = FAMILIES[family]
    assert baseline.user_attrs[BASELINE_ATTR] and leases[0].params == spec.baseline
    assert set(baseline.user_attrs[PARAMS_ATTR]) == set(spec.dims)
    one_minus = ("beta1", "beta2", "momentum")
    assert set(tuned.params) == {
        f"one_minus_{d}" if d in one_minus else d for d in spec.tuned_by_default
    }


def test_the_library_defaults() -> None:
    adamw = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))]).defaults
    assert FAMILIES["adamw"].baseline.weight_decay == adamw["weight_decay"] == 1e-2
    adam = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))]).defaults
    for family in ("adam", "adam_lr_only"):
        base = FAMILIES[family].baseline
        assert (base.lr, (base.beta1, base.beta2), base.eps, base.weight_decay) == (
            adam["lr"], adam["betas"], adam["eps"], adam["weight_decay"]
        )  # fmt: skip
    sgd = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))]).defaults
    assert FAMILIES["sgd_nesterov"].baseline.lr == sgd["lr"]
    assert FAMILIES["sgd_nesterov"].baseline.momentum == 0.9  # Nesterov needs momentum > 0
    weight = [torch.nn.Parameter(torch.zeros(1))]
    for family, defaults in (
        ("schedule_free_adamw", schedulefree.AdamWScheduleFree(weight).defaults),
        ("prodigy", prodigyopt.Prodigy(weight).defaults),
    ):
        base = FAMILIES[family].baseline
        assert (base.lr, (base.beta1, base.beta2), base.eps, base.weight_decay) == (
            defaults["lr"], defaults["betas"], defaults["eps"], defaults["weight_decay"]
        )  # fmt: skip
        assert base.schedule.none and FAMILIES[family].tuning_free


def test_the_families_build_their_optimizers() -> None:
    weights = [torch.nn.Parameter(torch.zeros(2))]
    sgd = make_optimizer("sgd_nesterov", OptimizerParams(momentum=0.8), weights, "pytorch")
    assert isinstance(sgd, torch.optim.SGD)
    assert sgd.defaults["nesterov"] and sgd.defaults["momentum"] == 0.8
    adamw = make_optimizer("adamw", OptimizerParams(weight_decay=0.1), weights, "tf")
    assert adamw.defaults["decoupled_weight_decay"] and adamw.defaults["eps_mode"] == "tf"
    assert not make_optimizer("adam", OptimizerParams(), weights, "pytorch").defaults[
        "decoupled_weight_decay"
    ]
    free = make_optimizer("schedule_free_adamw", OptimizerParams(lr=0.01), weights, "pytorch")
    assert isinstance(free, schedulefree.AdamWScheduleFree) and free.defaults["lr"] == 0.01
    prodigy = make_optimizer("prodigy", OptimizerParams(lr=0.5, beta1=0.8), weights, "pytorch")
    assert isinstance(prodigy, prodigyopt.Prodigy)
    assert (prodigy.defaults["lr"], prodigy.defaults["betas"]) == (0.5, (0.8, 0.999))


@pytest.mark.parametrize(
    ("family", "line"),
    [
        ("adam", "torch.optim.Adam(model.parameters(), lr=0.001, betas=(0.9, 0.999), eps=1e-08)"),
        ("adamw", "torch.optim.AdamW(model.parameters(), lr=0.001, betas=(0.9, 0.999), "
                  "eps=1e-08, weight_decay=0.01)"),
        ("sgd_nesterov", "torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9, "
                         "nesterov=True)"),
        ("prodigy", "prodigyopt.Prodigy(model.parameters(), lr=1, betas=(0.9, 0.999), "
                    "eps=1e-08)"),
        ("schedule_free_adamw",
         "optimizer = schedulefree.AdamWScheduleFree(model.parameters(), lr=0.0025, "
         "betas=(0.9, 0.999), eps=1e-08)\n"
         "# Schedule-Free: call optimizer.train() before training steps (with model.train()) and\n"
         "# optimizer.eval() before evaluating or saving the model (with model.eval())"),
    ],
)  # fmt: skip
def test_the_line_to_paste_is_the_familys(family: str, line: str) -> None:
    spec = FAMILIES[family]
    assert spec.torch_line(spec.baseline) == line


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ({"optimizer": "adam", "space": {"momentum": {"low": 0.1, "high": 0.9}}}, "momentum"),
        ({"optimizer": "sgd_nesterov", "space": {"beta1": {"low": 0.5, "high": 0.9}}}, "beta1"),
        ({"optimizer": "adam_lr_only", "space": {"eps": {"low": 1e-9, "high": 1e-6}}}, "eps"),
        ({"optimizer": "lion"}, "unknown optimizer 'lion'"),
        ({"optimizer": "prodigy", "space": {"beta2": {"low": 0.9, "high": 0.99}}}, "beta2"),
        ({"task": "external", "optimizer": "prodigy"}, "not offered for external studies"),
        ({"optimizer": "schedule_free_adamw", "space": {"decay": {"value": "cosine"}}},
         "replaces the decay schedule"),
        ({"optimizer": "schedule_free_adamw", "space": {"decay": {"choices": ["constant",
          "linear"]}}}, "replaces the decay schedule"),
        ({"preset": "narrow"}, "unknown preset 'narrow'"),
        ({"sampler": "grid", "n_trials": 18, "space": {"beta2": {"value": 0.999},
          "eps": {"value": 1e-8}}}, "the grid has 16 points"),  # lr x beta1: 4 x 4
    ],
)  # fmt: skip
def test_what_a_family_or_grid_cannot_do_is_refused(config: dict, words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        StudyConfig.model_validate({"task": "rosenbrock", **config})
    assert words in str(caught.value)


def test_a_grid_as_large_as_n_trials_is_fine() -> None:
    fixed = {"beta2": {"value": 0.999}, "eps": {"value": 1e-8}}
    config = StudyConfig(task="rosenbrock", sampler="grid", n_trials=17, space=fixed)
    assert config.n_trials == 17


def test_presets_start_a_space_that_its_own_dimensions_override() -> None:
    wide = StudyConfig(task="quadratic_deep", preset="wide")
    assert wide.space.lr.bounds() == (1e-8, 10.0)
    assert wide.space.eps.bounds() == (1e-10, 1e3)  # large eps: Adam turns into momentum SGD
    assert wide.space.contains(DEEPOBS_TUNED)
    assert not StudyConfig(task="quadratic_deep").space.contains(DEEPOBS_TUNED)  # beta2 0.84
    mixed = StudyConfig.model_validate(
        {"task": "quadratic_deep", "preset": "wide", "space": {"lr": {"low": 1e-4, "high": 1.0}}}
    )
    assert mixed.space.lr.bounds() == (1e-4, 1.0) and mixed.space.beta2 == wide.space.beta2
    again = StudyConfig.model_validate(mixed.model_dump(mode="json"))  # as stored, read back
    assert again == mixed
    sgd = preset_space(FAMILIES["sgd_nesterov"], "default")
    assert sgd.tuned() == ["lr", "momentum"] and sgd.lr.bounds() == (1e-4, 1.0)
    for preset in ("default", "wide"):  # Prodigy's lr multiplies its own estimate of the step
        prodigy = preset_space(FAMILIES["prodigy"], preset)
        assert prodigy.tuned() == ["lr"] and prodigy.lr.bounds() == (0.1, 10.0)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_each_family_tunes_a_schedule_with_its_peak_lr(family: str, tmp_path: Path) -> None:
    """The schedule preset tunes the family's own dimensions and the schedule; its trials
    record and train with their schedule, the baseline with none (its library's defaults)."""
    storage = make_storage(f"sqlite:///{tmp_path / 's.db'}")
    config = StudyConfig(task="logreg_breast_cancer", optimizer=family, preset="schedule",
                         n_trials=4, epochs=2, sampler="random")  # fmt: skip
    spec = FAMILIES[family]
    # Schedule-Free replaces the decay: only its warmup is tuned
    schedule = ["warmup", "decay", "final_fraction"] if spec.decays else ["warmup"]
    assert config.space.tuned() == [*spec.tuned_by_default, *schedule]
    create_study(config, storage, "scheduled")
    runner = TrialRunner(storage, "scheduled", grace_period=10)
    task = get_task("logreg_breast_cancer")
    while isinstance(lease := runner.ask(4), Lease):
        outcome = train_lease(runner, lease, task, epochs=2)
        assert outcome.value is not None and math.isfinite(outcome.value), outcome
        runner.finish(lease, outcome)
    baseline, *tuned = runner.study.get_trials()
    assert baseline.user_attrs[PARAMS_ATTR] == spec.params(spec.baseline)
    assert OptimizerParams(**baseline.user_attrs[PARAMS_ATTR]) == spec.baseline
    assert spec.baseline.schedule.none and "scheduler" not in spec.torch_line(spec.baseline)
    for trial in tuned:
        recorded = trial.user_attrs[PARAMS_ATTR]
        params = OptimizerParams(**recorded)
        assert params.warmup == trial.params["warmup"]
        assert params.decay == trial.params.get("decay", "constant")
        if not spec.decays:
            assert f"warmup_steps=int({params.warmup:.6g} * total_steps)" in spec.torch_line(params)
        elif not params.schedule.none:
            assert {"warmup", "decay", "final_fraction"} <= set(recorded)
            assert "torch.optim.lr_scheduler." in spec.torch_line(params)


def test_a_schedule_may_be_tuned_with_lr_alone() -> None:
    config = StudyConfig.model_validate(
        {"task": "rosenbrock", "optimizer": "adam_lr_only",
         "space": {"warmup": {"low": 0.0, "high": 0.1}, "decay": {"value": "cosine"}}}
    )  # fmt: skip
    assert config.space.tuned() == ["lr", "warmup"]
    assert config.baseline_params().schedule.none


def test_a_space_that_tunes_nothing_plans_the_defaults_alone() -> None:
    """A one-shot baseline's study (as a comparison makes it): one trial, its defaults, then
    the defaults alone on the selection and confirmation seeds."""
    spec = FAMILIES["prodigy"]
    config = StudyConfig(task="rosenbrock", optimizer="prodigy", n_trials=1, validate_top_k=1,
                         space=fixed_space(spec.baseline))  # fmt: skip
    assert config.space.tuned() == [] and config.space.contains(spec.baseline)
    assert config.training_runs() == {"search": 1, "selection": 5, "confirmation": 10}
    tuned = StudyConfig(task="rosenbrock", optimizer="prodigy", n_trials=1, validate_top_k=1)
    assert tuned.training_runs() == {"search": 1, "selection": 10, "confirmation": 20}
