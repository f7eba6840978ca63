"""SearchSpace and StudyConfig: validation that names the field, and the mapping to Optuna."""

from __future__ import annotations

import inspect
import math
from typing import Any

import numpy as np
import optuna
import pytest
import torch
from pydantic import ValidationError

from optim.params import OptimizerParams
from optim.samplers import PRUNERS, SAMPLERS
from optim.space import BASELINE, DIMENSIONS, Dimension, SearchSpace
from optim.study import StudyConfig, read_config
from optim.tasks import list_tasks


def space_of(**dimensions: Any) -> SearchSpace:
    """A SearchSpace from plain dicts, as the API and the CLI receive it."""
    return SearchSpace.model_validate(dimensions)


TUNE_LR_ONLY: dict[str, Any] = {
    "beta1": {"value": 0.9},
    "beta2": {"value": 0.999},
    "eps": {"value": 1e-8},
}


def only_error(exc: pytest.ExceptionInfo[ValidationError]) -> tuple[tuple[int | str, ...], str]:
    """The location and message of the single error a ValidationError carries."""
    errors = exc.value.errors()
    assert len(errors) == 1, errors
    return tuple(errors[0]["loc"]), str(errors[0]["msg"])


# --- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "low", "high"),
    [("lr", 1e-2, 1e-3), ("lr", 1e-3, 1e-3), ("beta1", 0.9, 0.5), ("eps", 1e-6, 1e-9)],
)
def test_low_not_below_high_is_rejected_naming_the_field(
    field: str, low: float, high: float
) -> None:
    with pytest.raises(ValidationError) as exc:
        space_of(**{field: {"low": low, "high": high}})
    loc, msg = only_error(exc)
    assert loc == (field,)
    assert "low" in msg and "less than high" in msg


@pytest.mark.parametrize(
    "dimension",
    [{"low": 0.0, "high": 1e-1}, {"low": -1e-3, "high": 1e-1}, {"value": 0.0}, {"value": -1e-3}],
)
def test_non_positive_lr_is_rejected(dimension: dict[str, float]) -> None:
    with pytest.raises(ValidationError) as exc:
        space_of(lr=dimension)
    loc, msg = only_error(exc)
    assert loc == ("lr",)
    assert "lr must be > 0" in msg


@pytest.mark.parametrize("beta", ["beta1", "beta2"])
@pytest.mark.parametrize(
    "dimension",
    [
        {"low": 0.5, "high": 1.0},
        {"low": -0.1, "high": 0.9},
        {"value": 1.0},
        {"value": -0.5},
        {"value": 1.5},
        {"low": 0.5, "high": 1.0, "log": False},
    ],
)
def test_beta_outside_zero_one_is_rejected(beta: str, dimension: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as exc:
        space_of(**{beta: dimension})
    loc, msg = only_error(exc)
    assert loc == (beta,)
    assert f"0 <= {beta} < 1" in msg


@pytest.mark.parametrize(
    "dimension", [{"low": 0.0, "high": 1e-8}, {"value": 0.0}, {"value": -1e-8}]
)
def test_non_positive_eps_is_rejected(dimension: dict[str, float]) -> None:
    with pytest.raises(ValidationError) as exc:
        space_of(eps=dimension)
    loc, msg = only_error(exc)
    assert loc == ("eps",)
    assert "eps must be > 0" in msg


@pytest.mark.parametrize(
    "dimension", [{"value": -1e-4}, {"low": -1e-3, "high": 1e-2, "log": False}]
)
def test_negative_weight_decay_is_rejected(dimension: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as exc:
        space_of(weight_decay=dimension)
    loc, msg = only_error(exc)
    assert loc == ("weight_decay",)
    assert "weight_decay must be >= 0" in msg


def test_log_weight_decay_range_from_zero_is_rejected_but_linear_is_fine() -> None:
    with pytest.raises(ValidationError) as exc:
        space_of(weight_decay={"low": 0.0, "high": 1e-2})
    loc, msg = only_error(exc)
    assert loc == ("weight_decay",)
    assert "log-scale weight_decay" in msg
    space = space_of(weight_decay={"low": 0.0, "high": 1e-2, "log": False})
    assert space.distributions()["weight_decay"] == optuna.distributions.FloatDistribution(
        0.0, 1e-2, log=False
    )


@pytest.mark.parametrize("field", DIMENSIONS)
def test_value_and_range_together_are_rejected(field: str) -> None:
    with pytest.raises(ValidationError) as exc:
        space_of(**{field: {"value": 0.5, "low": 0.1, "high": 0.9, "log": False}})
    loc, msg = only_error(exc)
    assert loc == (field,)
    assert "not both" in msg


def test_range_needs_both_ends() -> None:
    with pytest.raises(ValidationError) as exc:
        space_of(lr={"low": 1e-4})
    loc, msg = only_error(exc)
    assert loc == ("lr",)
    assert "'low' and 'high'" in msg


def test_unknown_dimension_is_rejected_by_name() -> None:
    with pytest.raises(ValidationError) as exc:
        SearchSpace.model_validate({"nesterov": {"low": 0.1, "high": 0.9}})
    loc, msg = only_error(exc)
    assert loc == ("nesterov",)
    assert "Extra inputs are not permitted" in msg


def test_unknown_key_inside_a_dimension_is_rejected() -> None:
    with pytest.raises(ValidationError) as exc:
        SearchSpace.model_validate({"lr": {"lo": 1e-4, "high": 1e-1}})
    locs = [tuple(error["loc"]) for error in exc.value.errors()]
    assert ("lr", "lo") in locs


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("key", ["low", "high", "value"])
def test_nan_and_inf_are_rejected(bad: float, key: str) -> None:
    dimension: dict[str, float] = {"value": bad} if key == "value" else {"low": 1e-4, "high": 1e-1}
    dimension[key] = bad
    with pytest.raises(ValidationError) as exc:
        space_of(lr=dimension)
    locs = [tuple(error["loc"]) for error in exc.value.errors()]
    assert ("lr", key) in locs
    assert any(error["type"] == "finite_number" for error in exc.value.errors())


def test_nan_is_rejected_inside_a_study_config() -> None:
    with pytest.raises(ValidationError) as exc:
        StudyConfig.model_validate(
            {"task": "rosenbrock", "space": {"eps": {"low": "nan", "high": 1e-2}}}
        )
    locs = [tuple(error["loc"]) for error in exc.value.errors()]
    assert ("space", "eps", "low") in locs


@pytest.mark.parametrize(
    ("field", "bad", "choices"),
    [
        ("task", "imagenet", [t.name for t in list_tasks()]),
        ("sampler", "hillclimb", sorted(SAMPLERS)),
        ("pruner", "guillotine", sorted(PRUNERS)),
    ],
)
def test_unknown_task_sampler_pruner_are_named(field: str, bad: str, choices: list[str]) -> None:
    fields: dict[str, str] = {"task": "rosenbrock", field: bad}
    with pytest.raises(ValidationError) as exc:
        StudyConfig(**fields)  # type: ignore[arg-type]
    loc, msg = only_error(exc)
    assert loc == (field,)
    assert f"unknown {field} {bad!r}" in msg
    assert all(choice in msg for choice in choices)


@pytest.mark.parametrize(("field", "bad"), [("n_trials", 0), ("epochs", 0), ("seed", -1)])
def test_study_config_rejects_non_positive_counts(field: str, bad: int) -> None:
    fields: dict[str, Any] = {"task": "rosenbrock", field: bad}
    with pytest.raises(ValidationError) as exc:
        StudyConfig(**fields)
    loc, _ = only_error(exc)
    assert loc == (field,)


def test_study_config_rejects_unknown_fields_and_bad_space_by_path() -> None:
    with pytest.raises(ValidationError) as exc:
        StudyConfig.model_validate({"task": "rosenbrock", "trials": 5})
    assert [tuple(e["loc"]) for e in exc.value.errors()] == [("trials",)]
    with pytest.raises(ValidationError) as exc:
        StudyConfig.model_validate({"task": "rosenbrock", "space": {"lr": {"value": -1}}})
    loc, msg = only_error(exc)
    assert loc == ("space", "lr")
    assert "lr must be > 0" in msg


def test_study_config_round_trips_through_json() -> None:
    config = StudyConfig(
        task="mlp_digits",
        n_trials=7,
        epochs=2,
        sampler="random",
        pruner="median",
        seed=3,
        space=space_of(beta2={"value": 0.99}, weight_decay={"low": 1e-6, "high": 1e-2}),
    )
    assert read_config({"adamtune": config.model_dump(mode="json")}) == config
    assert read_config({}) is None
    assert config.resolved_epochs() == 2
    assert StudyConfig(task="mlp_digits").resolved_epochs() == list_tasks()[3].default_epochs


# --- mapping to Optuna -------------------------------------------------------------------------


def test_default_ranges_contain_torch_defaults() -> None:
    signature = inspect.signature(torch.optim.Adam)
    torch_defaults = {name: p.default for name, p in signature.parameters.items()}
    beta1, beta2 = torch_defaults["betas"]
    torch_params = OptimizerParams(
        lr=torch_defaults["lr"],
        beta1=beta1,
        beta2=beta2,
        eps=torch_defaults["eps"],
        weight_decay=torch_defaults["weight_decay"],
    )
    assert torch_params == BASELINE
    space = SearchSpace()
    assert space.contains(torch_params)
    for name in ("lr", "beta1", "beta2", "eps"):
        low, high = space.dimension(name).bounds()
        assert low < getattr(torch_params, name) < high, name
    assert space.weight_decay.fixed and space.weight_decay.value == 0.0
    # and the Optuna view of the defaults lies inside the distributions
    optuna_params = space.to_optuna_params(torch_params)
    for param, dist in space.distributions().items():
        assert dist.low <= optuna_params[param] <= dist.high, param


def test_default_space_tunes_four_dimensions_with_betas_as_one_minus() -> None:
    space = SearchSpace()
    assert space.tuned() == ["lr", "beta1", "beta2", "eps"]
    dists = space.distributions()
    assert list(dists) == ["lr", "one_minus_beta1", "one_minus_beta2", "eps"]
    assert all(dist.log for dist in dists.values())
    assert dists["one_minus_beta1"].low == pytest.approx(1e-3)
    assert dists["one_minus_beta1"].high == pytest.approx(0.5)
    assert dists["one_minus_beta2"].low == pytest.approx(1e-5)
    assert dists["one_minus_beta2"].high == pytest.approx(0.1)


def test_tune_lr_only_suggests_exactly_one_optuna_param() -> None:
    space = space_of(lr={"low": 1e-4, "high": 1e-2}, **TUNE_LR_ONLY)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(5):
        trial = study.ask()
        params = space.suggest(trial)
        assert list(trial.params) == ["lr"]
        assert 1e-4 <= trial.params["lr"] <= 1e-2
        assert params == OptimizerParams(lr=trial.params["lr"], beta1=0.9, beta2=0.999, eps=1e-8)
        study.tell(trial, params.lr)
    assert space.to_optuna_params(BASELINE) == {"lr": 1e-3}


def test_fully_fixed_space_suggests_nothing() -> None:
    space = space_of(lr={"value": 3e-4}, **TUNE_LR_ONLY)
    assert space.tuned() == [] and space.distributions() == {}
    trial = optuna.create_study().ask()
    assert space.suggest(trial) == OptimizerParams(lr=3e-4)
    assert trial.params == {}


def test_log_beta_is_suggested_as_one_minus_beta_and_mapped_back() -> None:
    space = SearchSpace()
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    for _ in range(20):
        trial = study.ask()
        params = space.suggest(trial)
        assert "beta1" not in trial.params and "beta2" not in trial.params
        assert params.beta1 == 1.0 - trial.params["one_minus_beta1"]
        assert params.beta2 == 1.0 - trial.params["one_minus_beta2"]
        assert 0.5 <= params.beta1 <= 0.999
        assert 0.9 <= params.beta2 <= 0.99999
        assert space.contains(params)
        study.tell(trial, 0.0)


def test_linear_beta_is_suggested_under_its_own_name() -> None:
    space = space_of(beta1={"low": 0.8, "high": 0.95, "log": False})
    assert space.distributions()["beta1"] == optuna.distributions.FloatDistribution(
        0.8, 0.95, log=False
    )
    trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=2)).ask()
    params = space.suggest(trial)
    assert params.beta1 == trial.params["beta1"]
    assert "one_minus_beta1" not in trial.params


@pytest.mark.parametrize(
    "params",
    [
        BASELINE,
        OptimizerParams(lr=3e-2, beta1=0.5, beta2=0.99999, eps=1e-10),
        OptimizerParams(lr=1e-5, beta1=0.95, beta2=0.9, eps=1e-2),
    ],
)
def test_optuna_params_round_trip(params: OptimizerParams) -> None:
    space = SearchSpace()
    optuna_params = space.to_optuna_params(params)
    assert optuna_params["one_minus_beta1"] == pytest.approx(1.0 - params.beta1)
    back = space.to_params(optuna_params)
    for name in DIMENSIONS:
        assert getattr(back, name) == pytest.approx(getattr(params, name), rel=1e-12), name


def test_enqueued_params_come_back_through_a_real_trial() -> None:
    """What create_study enqueues for the baseline is what the objective then trains with."""
    space = space_of(weight_decay={"low": 1e-6, "high": 1e-2})
    wanted = OptimizerParams(lr=2e-3, beta1=0.95, beta2=0.9999, eps=1e-7, weight_decay=1e-4)
    study = optuna.create_study()
    study.enqueue_trial(space.to_optuna_params(wanted))
    got = space.suggest(study.ask())
    for name in DIMENSIONS:
        assert getattr(got, name) == pytest.approx(getattr(wanted, name), rel=1e-12), name


def test_grid_shape_and_spacing() -> None:
    space = space_of(beta2={"value": 0.999}, weight_decay={"low": 0.0, "high": 0.1, "log": False})
    grid = space.grid(5)
    dists = space.distributions()
    assert list(grid) == ["lr", "one_minus_beta1", "eps", "weight_decay"] == list(dists)
    for param, axis in grid.items():
        dist = dists[param]
        assert len(axis) == 5
        assert axis[0] == pytest.approx(dist.low) and axis[-1] == pytest.approx(dist.high)
        assert all(a < b for a, b in zip(axis, axis[1:], strict=False))
        steps = np.diff(np.log(axis)) if dist.log else np.diff(axis)
        assert np.allclose(steps, steps[0]), param  # even on the dimension's own scale
    assert grid["weight_decay"] == pytest.approx([0.0, 0.025, 0.05, 0.075, 0.1])
    assert len(SearchSpace().grid(3)) == 4


def test_contains_rejects_values_outside_a_range_or_off_a_fixed_value() -> None:
    space = space_of(lr={"low": 1e-4, "high": 1e-2}, **TUNE_LR_ONLY)
    assert space.contains(OptimizerParams(lr=1e-3))
    assert not space.contains(OptimizerParams(lr=1e-1))
    assert not space.contains(OptimizerParams(lr=1e-3, beta1=0.8))
    assert not space.contains(OptimizerParams(lr=1e-3, weight_decay=1e-4))


def test_dimension_is_frozen() -> None:
    dim = Dimension(low=1e-4, high=1e-2)
    with pytest.raises(ValidationError):
        dim.low = 1e-5  # type: ignore[misc]
    assert dim.bounds() == (1e-4, 1e-2)
    assert Dimension(value=0.5).bounds() == (0.5, 0.5)


@pytest.mark.parametrize(
    "beta1",
    [{"low": 0.0, "high": 0.3}, {"low": 0.1, "high": 0.45}, {"low": 0.5, "high": 0.999}],
)
def test_every_grid_point_maps_into_the_space(beta1: dict[str, float]) -> None:
    """1 - (1 - beta) is not exact for beta < 0.5: the ends of the grid must still count as in."""
    space = space_of(beta1=beta1)
    grid = space.grid(3)
    for point in np.array(np.meshgrid(*grid.values())).T.reshape(-1, len(grid)):
        params = space.to_params(dict(zip(grid, map(float, point), strict=True)))
        assert space.contains(params), params


# --- the learning-rate schedule as dimensions ----------------------------------------------------

SCHEDULE_SPACE: dict[str, Any] = {
    "warmup": {"low": 0.0, "high": 0.2},
    "decay": {"choices": ["constant", "cosine", "linear"]},
    "final_fraction": {"low": 0.0, "high": 0.5},
}


def test_the_schedule_is_fixed_at_none_unless_asked_for() -> None:
    space = SearchSpace()
    assert space.warmup.value == 0.0 and space.decay.value == "constant"
    assert "warmup" not in space.tuned() and "decay" not in space.tuned()
    assert space.to_params({"lr": 1e-3, "one_minus_beta1": 0.1, "one_minus_beta2": 1e-3,
                            "eps": 1e-8}).schedule.none  # fmt: skip


def test_schedule_dimensions_map_to_optuna_with_decay_categorical() -> None:
    space = space_of(**SCHEDULE_SPACE)
    assert space.tuned()[-3:] == ["warmup", "decay", "final_fraction"]
    dists = space.distributions()
    # fractions that may be 0 sample on a linear scale unless told otherwise
    assert dists["warmup"] == optuna.distributions.FloatDistribution(0.0, 0.2, log=False)
    assert dists["final_fraction"] == optuna.distributions.FloatDistribution(0.0, 0.5)
    assert dists["decay"] == optuna.distributions.CategoricalDistribution(
        ("constant", "cosine", "linear")
    )
    assert space.grid(3)["decay"] == ["constant", "cosine", "linear"]


def test_tpe_samples_every_decay_shape_and_params_hold_the_schedule() -> None:
    space = space_of(**SCHEDULE_SPACE)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = set()
    for _ in range(30):
        trial = study.ask()
        params = space.suggest(trial)
        assert 0.0 <= params.warmup <= 0.2 and 0.0 <= params.final_fraction <= 0.5
        assert trial.params["decay"] == params.decay
        assert space.contains(params)
        seen.add(params.decay)
        study.tell(trial, 1.0)
    assert seen == {"constant", "cosine", "linear"}


def test_the_baseline_trains_without_a_schedule_in_a_schedule_space() -> None:
    """The defaults are enqueued where the ranges hold them (no warmup, constant) and come
    back as exactly the defaults: torch.optim.Adam() with no scheduler."""
    space = space_of(**SCHEDULE_SPACE)
    study = optuna.create_study()
    study.enqueue_trial(space.to_optuna_params(BASELINE, inside_only=True))
    trial = study.ask()
    assert space.suggest(trial, fixed=BASELINE) == BASELINE
    assert trial.params["warmup"] == 0.0 and trial.params["decay"] == "constant"


def test_a_fixed_schedule_round_trips() -> None:
    space = space_of(warmup={"value": 0.05}, decay={"value": "cosine"},
                     final_fraction={"value": 0.1})  # fmt: skip
    assert space.tuned() == ["lr", "beta1", "beta2", "eps"]
    params = space.suggest(optuna.create_study().ask())
    assert (params.warmup, params.decay, params.final_fraction) == (0.05, "cosine", 0.1)


@pytest.mark.parametrize(
    ("dimensions", "field", "message"),
    [
        ({"warmup": {"low": 0.0, "high": 1.0}}, "warmup", "0 <= warmup < 1"),
        ({"warmup": {"value": -0.1}}, "warmup", "0 <= warmup < 1"),
        ({"warmup": {"low": 0.0, "high": 0.1, "log": True}}, "warmup", "log-scale warmup"),
        ({"final_fraction": {"low": 0.0, "high": 1.5}}, "final_fraction", "in [0, 1]"),
        ({"decay": {"value": "step"}}, "decay", "'constant', 'cosine' or 'linear'"),
        ({"decay": {"choices": []}}, "decay", "give 'choices'"),
        ({"decay": {"choices": ["cosine", "cosine"]}}, "decay", "once"),
        ({"decay": {"choices": ["cosine"], "value": "cosine"}}, "decay", "not both"),
        ({"decay": {"low": 0, "high": 1}}, "decay", "Extra inputs"),
    ],
)
def test_bad_schedule_dimensions_name_the_field(
    dimensions: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(ValidationError) as exc:
        space_of(**dimensions)
    errors = exc.value.errors()
    assert errors and all(e["loc"][0] == field for e in errors), errors
    assert any(message in str(e["msg"]) for e in errors), errors


def test_grid_size_counts_each_decay_shape() -> None:
    with pytest.raises(ValidationError, match="the grid has 48 points"):
        StudyConfig(task="rosenbrock", sampler="grid", n_trials=50,
                    space={"lr": {"low": 1e-4, "high": 1e-1}, **TUNE_LR_ONLY,
                           "warmup": {"low": 0.0, "high": 0.1}, "decay": {"choices":
                           ["constant", "cosine", "linear"]}})  # fmt: skip
