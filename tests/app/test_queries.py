"""Trials pages straight from the query layer, on both databases."""

from __future__ import annotations

from datetime import datetime, timedelta

import optuna
import pytest
from optuna.storages._rdb import models

from app.db import Database
from app.queries import trials_page
from optim.optuna_internals import study_id_of
from tests.conftest import both_databases


@both_databases
def test_trials_sort_by_duration_to_the_microsecond(database_url: str) -> None:
    """Durations a fraction of a millisecond apart sort in their true order (SQLite's own date
    functions round to milliseconds, which once swapped two trials of a real study)."""
    database = Database.open(database_url)
    storage = optuna.storages.RDBStorage(database_url)
    study = optuna.create_study(storage=storage, study_name="durations")
    trials_table = models.TrialModel.__table__  # the test writes exact times
    start = datetime(2026, 11, 26, 9, 0, 0, 0)
    durations_us = [48_707, 49_520, 48_999, 1_000_001, 999_999, 49_001]
    for number, micros in enumerate(durations_us):
        study.add_trial(
            optuna.trial.create_trial(
                value=float(number),
                params={"x": 0.5},
                distributions={"x": optuna.distributions.FloatDistribution(0, 1)},
            )
        )
        begun = start + timedelta(seconds=number)
        trial_id = storage.get_trial_id_from_study_id_trial_number(study_id_of(study), number)
        with database.session() as session:
            session.execute(
                trials_table.update()
                .where(trials_table.c.trial_id == trial_id)
                .values(
                    datetime_start=begun, datetime_complete=begun + timedelta(microseconds=micros)
                )
            )
    with database.session(write=False) as session:
        for order in ("asc", "desc"):
            _, rows = trials_page(session, study_id_of(study), sort="duration", order=order)
            got = [row["duration_s"] for row in rows]
            expected = sorted((m / 1e6 for m in durations_us), reverse=order == "desc")
            assert got == pytest.approx(expected, abs=1e-7), order
    database.dispose()
    storage.engine.dispose()


@both_databases
def test_sort_by_value_ranks_complete_trials_only(database_url: str) -> None:
    """A pruned trial's value is its last intermediate value, not a result: sorted by value,
    complete trials come first in order of value, and every other trial after them, whichever
    the direction (a pruned trial at 0.01 once ranked above the best complete one)."""
    database = Database.open(database_url)
    storage = optuna.storages.RDBStorage(database_url)
    study = optuna.create_study(storage=storage, study_name="values")
    dist = {"x": optuna.distributions.FloatDistribution(0, 1)}
    states = [
        (optuna.trial.TrialState.COMPLETE, 0.5),
        (optuna.trial.TrialState.PRUNED, 0.01),  # lower than every complete value
        (optuna.trial.TrialState.COMPLETE, 0.2),
        (optuna.trial.TrialState.PRUNED, 9.0),  # higher than every complete value
        (optuna.trial.TrialState.COMPLETE, 0.3),
    ]
    for state, value in states:
        study.add_trial(
            optuna.trial.create_trial(
                state=state,
                value=value,
                params={"x": 0.5},
                distributions=dist,
                intermediate_values={1: value},
            )
        )
    with database.session(write=False) as session:
        _, rows = trials_page(session, study_id_of(study), sort="value", order="asc")
        assert [row["number"] for row in rows] == [2, 4, 0, 1, 3]
        _, rows = trials_page(session, study_id_of(study), sort="value", order="desc")
        assert [row["number"] for row in rows] == [0, 4, 2, 3, 1]
    database.dispose()
    storage.engine.dispose()
