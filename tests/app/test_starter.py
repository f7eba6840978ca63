"""The five-trial starter (optim/starter.py) from the REST API and the CLI: a study whose
trials are exactly the five configs, in the schedule preset's space, validated like any study;
a combination that cannot train the five is a client error naming its field."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna
import pytest
import torch

from app.cli import main
from optim.attrs import BASELINE_ATTR, PARAMS_ATTR
from optim.optimizers import FAMILIES
from optim.params import ParamValue
from optim.starter import CONFIGS, STARTER_TRIALS
from optim.storage import make_storage
from optim.study import read_config
from tests.app.conftest import Api

FAST = {"task": "logreg_breast_cancer", "epochs": 2, "starter": True}
EXPECTED = [FAMILIES["adam"].params(p) for p in CONFIGS]


def same_params(got: dict[str, ParamValue], want: dict[str, ParamValue]) -> bool:
    """Equal names, equal decay, floats equal to 12 digits (betas go through Optuna as
    1 - beta and back)."""

    def same(a: ParamValue, b: ParamValue) -> bool:
        return a == b if isinstance(b, str) else a == pytest.approx(b, rel=1e-12)

    return set(got) == set(want) and all(same(got[k], want[k]) for k in want)


@pytest.fixture(autouse=True)
def keep_torch_threads() -> Iterator[None]:
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_the_options_list_the_starter_and_where_it_comes_from(api: Api) -> None:
    starter = api.get("/api/options").json()["starter"]
    assert (starter["trials"], starter["optimizer"], starter["preset"]) == (5, "adam", "schedule")
    assert starter["configs"] == EXPECTED
    assert {"command", "date", "chosen_on"} <= set(starter["provenance"])


def test_a_starter_study_trains_exactly_the_five_then_validates(api: Api) -> None:
    study = api.create_study(**FAST, validate_top_k=1, validate_seeds=2, confirm_seeds=2)
    assert (study["n_trials"], study["preset"], study["pruner"]) == (5, "schedule", "none")
    assert study["starter"] is True
    # the five, then the selection (the best and the defaults on 2 seeds), then the confirmation
    assert api.work() == STARTER_TRIALS + 2 * 2 + 2 * 2
    done = api.study(study["id"])
    assert (done["status"], done["progress"]["complete"]) == ("completed", 5)
    trials = api.trials(study["id"], sort="number")
    assert [t["number"] for t in trials] == list(range(5))
    for trial, want in zip(trials, EXPECTED, strict=True):
        assert trial["baseline"] is False
        assert same_params(trial["params"], want), (trial["params"], want)
    validation = done["validation"]
    assert validation is not None and validation["confirmation"]["verdict"]
    assert validation["confirmation"]["configs"][0]["label"] == "default"


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"optimizer": "adamw"}, "optimizer"),
        ({"n_trials": 7}, "n_trials"),
        ({"preset": "default"}, "preset"),
        ({"pruner": "hyperband"}, "pruner"),
        ({"space": {"lr": {"low": 1e-5, "high": 1e-4}}}, "space"),
        ({"task": "external"}, "starter"),
        ({"starter": "yes"}, "starter"),
    ],
)
def test_a_starter_that_cannot_train_the_five_is_a_422_naming_the_field(
    api: Api, extra: dict[str, Any], field: str
) -> None:
    response = api.post("/api/studies", json={**FAST, **extra})
    assert response.status_code == 422, response.text
    errors = response.json()["detail"]
    assert any(
        field in e["loc"] or e["msg"].removeprefix("Value error, ").startswith(f"{field}: ")
        for e in errors
    ), errors
    assert api.get("/api/studies").json()["studies"] == []


def test_tune_starter_trains_the_five(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    args = ["tune", "--task", "logreg_breast_cancer", "--starter", "--epochs", "2"]
    code = main([*args, "--validate-seeds", "0", "--storage", url, "--quiet"])
    assert code == 0
    (name,) = optuna.get_all_study_names(storage=url)
    study = optuna.load_study(study_name=name, storage=make_storage(url))
    config = read_config(study.user_attrs)
    assert config is not None and config.starter
    assert (config.n_trials, config.preset, config.pruner) == (5, "schedule", "none")
    trials = sorted(study.trials, key=lambda t: t.number)
    assert [t.state.name for t in trials] == ["COMPLETE"] * 5
    for trial, want in zip(trials, EXPECTED, strict=True):
        assert not trial.user_attrs.get(BASELINE_ATTR)
        assert same_params(trial.user_attrs[PARAMS_ATTR], want)


@pytest.mark.parametrize(
    ("args", "option"),
    [(["--trials", "7"], "--trials"), (["--optimizer", "sgd_nesterov"], "--optimizer"),
     (["--preset", "wide"], "--preset")],
)  # fmt: skip
def test_tune_starter_rejects_what_cannot_train_the_five(
    args: list[str], option: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "never.sqlite"
    code = main(["tune", "--task", "rosenbrock", "--starter", *args, "--storage",
                 f"sqlite:///{db}", "--quiet"])  # fmt: skip
    assert code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert errors and all(line.startswith(f"error: {option}: ") for line in errors), errors
    assert not db.exists()
