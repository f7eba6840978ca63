"""The one module that knows Optuna's internals, checked against the installed Optuna: its
table mirror, encodings and times match Optuna's, the check that gates the fast paths says
why it fails, and with the fast paths off everything still works through Optuna's own methods.

CI runs this file (with test_storage.py and test_runner.py) against the oldest and the newest
Optuna of the supported range (`make test-optuna-range`)."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import optuna
import pytest
import sqlalchemy
from optuna.storages._rdb import models  # the test compares our mirror with Optuna's own

from optim import optuna_internals as oi
from optim.runner import Lease, NoTrial, Outcome, TrialRunner
from optim.storage import make_storage, study_storage
from optim.study import StudyConfig, create_study
from tests.conftest import both_databases

TrialState = optuna.trial.TrialState


def test_the_installed_optuna_is_supported_and_the_fast_paths_are_on() -> None:
    assert oi.SUPPORTED_OPTUNA[0] <= oi.optuna_major() < oi.SUPPORTED_OPTUNA[1]
    assert oi.FAST_PATHS, oi._WHY_NOT


def test_the_mirror_names_only_columns_optuna_has() -> None:
    for table in oi.metadata.tables.values():
        theirs = models.BaseModel.metadata.tables[table.name]
        assert set(table.columns.keys()) <= set(theirs.columns.keys()), table.name
        for column in table.columns:
            assert column.primary_key == theirs.columns[column.name].primary_key


@pytest.mark.parametrize("value", [1.5, -0.0, math.inf, -math.inf, math.nan])
def test_values_are_encoded_as_optuna_encodes_them(value: float) -> None:
    ours = oi.stored_value(value)
    theirs = models.TrialIntermediateValueModel.intermediate_value_to_stored_repr(value)
    assert (ours[0], ours[1]) == (theirs[0], theirs[1].name)
    back = oi.value_from_stored(*ours)
    assert (math.isnan(back) and math.isnan(value)) or back == value
    if not math.isnan(value):
        stored, kind = models.TrialValueModel.value_to_stored_repr(value)
        assert oi.value_from_stored(stored, kind.name) == value


def test_times_are_naive_utc_as_optuna_5_stores_them(tmp_path: Path) -> None:
    storage = make_storage(f"sqlite:///{tmp_path / 'times.db'}")
    study = optuna.create_study(storage=storage)
    before = oi.optuna_now()
    trial = study.ask()
    with storage.engine.connect() as conn:
        (stored,) = conn.execute(sqlalchemy.select(oi.TRIALS.c.datetime_start)).one()
    assert before - dt.timedelta(seconds=1) <= stored <= oi.optuna_now()
    frozen = storage.get_trial(oi.trial_id_of(trial))
    assert frozen.datetime_start == oi.as_local_naive(stored)
    aware = oi.as_utc(stored)
    assert aware is not None and aware.utcoffset() == dt.timedelta(0)


def test_the_check_says_why_the_fast_paths_are_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(optuna, "__version__", "6.0.0")
    assert oi._check_internals() == (False, "Optuna 6.0.0 is outside the supported range")
    monkeypatch.setattr(optuna, "__version__", "5.0.0")
    monkeypatch.delattr(optuna.storages.RDBStorage, "_get_trials")
    ok, why = oi._check_internals()
    assert not ok and "_get_trials" in why


def test_private_ids_have_public_fallbacks(tmp_path: Path) -> None:
    storage = make_storage(f"sqlite:///{tmp_path / 'ids.db'}")
    study = optuna.create_study(storage=storage, study_name="ids")
    trial = study.ask()
    study_id, trial_id = oi.study_id_of(study), oi.trial_id_of(trial)

    class Hidden:  # what a future Optuna might give: no private ids on its objects
        study_name = "ids"
        number = trial.number
        _storage = storage

    assert oi.study_id_of(Hidden()) == study_id  # type: ignore[arg-type]
    assert oi.trial_id_of(Hidden(), Hidden()) == trial_id  # type: ignore[arg-type]


@both_databases
def test_without_the_fast_paths_everything_goes_through_optuna(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With Optuna's internals not as expected, the storage takes Optuna's own methods and the
    runner still hands out exactly n trials (slower, correct)."""
    monkeypatch.setattr(oi, "FAST_PATHS", False)
    monkeypatch.setattr("optim.storage.FAST_PATHS", False)
    storage = make_storage(database_url, heartbeat_interval=1, grace_period=2)
    assert not storage._fast_path()
    assert study_storage(storage) is storage  # no private cache wrapper
    calls: list[str] = []
    original = oi.read_trials
    monkeypatch.setattr(oi, "read_trials", lambda *a: calls.append("core") or original(*a))
    create_study(StudyConfig(task="rosenbrock", n_trials=3, epochs=1), storage, "slow-path")
    runner = TrialRunner(storage, "slow-path", grace_period=2)
    numbers = []
    while isinstance(lease := runner.ask(3), Lease):
        runner.trial(lease).report(1.0, 1)
        runner.finish(lease, Outcome.complete(float(lease.number)))
        numbers.append(lease.number)
    assert runner.ask(3) is NoTrial.DONE
    assert numbers == [0, 1, 2]
    assert calls == []  # no Core read ran
    assert [t.intermediate_values for t in runner.study.get_trials()] == [{1: 1.0}] * 3
    storage.engine.dispose()


def test_too_many_ids_for_one_query_fall_back_as_optuna_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Optuna reads a study whole when its IN list is too long for the database; so do we."""
    storage = make_storage(f"sqlite:///{tmp_path / 'in.db'}")
    study = optuna.create_study(storage=storage)
    trials = [study.ask() for _ in range(5)]
    for trial in trials[:3]:
        study.tell(trial, 1.0)
    ids = [oi.trial_id_of(t) for t in trials]
    expected = storage._get_trials(oi.study_id_of(study), None, {ids[3]}, ids[2])
    original = oi.read_trials

    def refuse_in_lists(conn: Any, where: list[Any]) -> list[Any]:
        if len(where) > 1:
            raise sqlalchemy.exc.OperationalError("SELECT", {}, Exception("too many SQL variables"))
        return original(conn, where)

    monkeypatch.setattr(oi, "read_trials", refuse_in_lists)
    got = storage._get_trials(oi.study_id_of(study), None, {ids[3]}, ids[2])
    assert [t.number for t in got] == [t.number for t in expected] == [3, 4]
