"""What the dashboard builds its form and its study page from: each optimizer family's defaults
and ranges in GET /api/options, a study's options and its best line of PyTorch in the summary
(the dashboard writes no optimizer default of its own)."""

from __future__ import annotations

from typing import Any

import optuna
import pytest

from tests.app.conftest import Api

FAST = {"task": "logreg_breast_cancer", "epochs": 2, "pruner": "none", "validate_seeds": 0}


def test_options_give_each_familys_defaults_and_ranges(api: Api) -> None:
    options = api.get("/api/options").json()
    families = {f["name"]: f for f in options["optimizers"]}
    assert set(families) == {
        "adam", "adamw", "sgd_nesterov", "adam_lr_only", "schedule_free_adamw", "prodigy"
    }  # fmt: skip
    # the tuning-free families, at their packages' published defaults
    free, prodigy = families["schedule_free_adamw"], families["prodigy"]
    assert free["tuning_free"] and prodigy["tuning_free"] and not families["adam"]["tuning_free"]
    assert free["baseline"] == {
        "lr": 0.0025, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0
    }  # fmt: skip
    assert prodigy["baseline"]["lr"] == 1.0 and prodigy["ranges"]["default"]["lr"] == [0.1, 10.0]
    assert (free["torch_class"], prodigy["torch_class"]) == (
        "schedulefree.AdamWScheduleFree", "prodigyopt.Prodigy"
    )  # fmt: skip
    assert not free["decays"] and free["presets"]["schedule"]["decay"] == {
        "choices": None, "value": "constant"
    }  # fmt: skip
    assert free["tunable"] == prodigy["tunable"] == ["lr", "weight_decay"]
    adam = families["adam"]
    assert adam["baseline"] == {
        "lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0
    }  # fmt: skip
    assert families["adamw"]["baseline"]["weight_decay"] == 1e-2
    assert families["sgd_nesterov"]["baseline"] == {"lr": 1e-3, "momentum": 0.9, "weight_decay": 0}
    # a range for every parameter, tuned by default or not: weight decay switched to "range"
    # starts from one
    assert adam["ranges"]["default"]["weight_decay"] == [1e-5, 1e-1]
    assert adam["ranges"]["wide"]["lr"] == [1e-8, 10.0]
    assert families["sgd_nesterov"]["ranges"]["default"]["lr"] == [1e-4, 1.0]
    # and the learning-rate schedule's fractions, every family's
    assert set(families["sgd_nesterov"]["ranges"]["default"]) == {
        "lr", "momentum", "weight_decay", "warmup", "final_fraction"
    }  # fmt: skip
    assert families["adam_lr_only"]["tunable"] == ["lr", "weight_decay"]
    assert adam["tunable"] == adam["dims"]
    assert options["eps_modes"] == ["pytorch", "tf"]
    assert options["study_defaults"] == {
        "n_trials": 30, "seed": 0, "eps_mode": "pytorch", "seeds_per_trial": 1,
        "validate_top_k": 3, "validate_seeds": 5, "confirm_seeds": 10, "metric": "val_loss",
        "direction": "minimize",
    }  # fmt: skip
    assert options["external_task"] == "external"
    assert {c["name"] for c in options["pruner_choices"]} == set(options["pruners"])


@pytest.mark.parametrize(
    ("optimizer", "line"),
    [
        ("adam", "torch.optim.Adam(model.parameters(), lr="),
        ("sgd_nesterov", "torch.optim.SGD(model.parameters(), lr="),
    ],
)
def test_summary_has_the_studys_options_and_its_best_line(
    api: Api, optimizer: str, line: str
) -> None:
    created = api.create_study(
        **FAST, n_trials=2, optimizer=optimizer, preset="wide", eps_mode="tf", seeds_per_trial=2
    )
    assert api.work() == 2
    study = api.study(created["id"])
    assert (study["optimizer"], study["preset"], study["eps_mode"], study["seeds_per_trial"]) == (
        optimizer, "wide", "tf", 2
    )  # fmt: skip
    best = study["best"]
    assert best["torch_line"].startswith(line)
    assert f"lr={best['params']['lr']:.6g}" in best["torch_line"]
    if optimizer == "sgd_nesterov":
        assert "nesterov=True" in best["torch_line"] and "betas" not in best["torch_line"]


def test_a_plain_optuna_study_gets_adams_line_only_for_adams_params(
    make_api: Any, database_url: str
) -> None:
    """A script that sampled Adam as adamtune does (betas as 1 - beta) gets the line; one that
    tuned something else gets none."""
    storage = optuna.storages.RDBStorage(database_url)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    adam = optuna.create_study(study_name="their adam", storage=storage)
    adam.enqueue_trial({"lr": 0.01, "one_minus_beta1": 0.2, "one_minus_beta2": 0.01, "eps": 1e-6})
    adam.optimize(
        lambda t: (
            t.suggest_float("lr", 1e-4, 1, log=True)
            + t.suggest_float("one_minus_beta1", 1e-3, 0.5, log=True)
            + t.suggest_float("one_minus_beta2", 1e-4, 0.1, log=True)
            + t.suggest_float("eps", 1e-9, 1e-3, log=True)
        ),
        n_trials=1,
    )
    other = optuna.create_study(study_name="their x", storage=storage)
    other.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2, n_trials=2)
    storage.engine.dispose()
    api: Api = make_api()

    listed = {s["name"]: s for s in api.get("/api/studies").json()["studies"]}
    assert listed["their adam"]["best"]["torch_line"] == (
        "torch.optim.Adam(model.parameters(), lr=0.01, betas=(0.8, 0.99), eps=1e-06)"
    )
    assert listed["their x"]["best"]["torch_line"] is None
