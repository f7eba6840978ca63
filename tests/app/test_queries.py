"""Trials pages straight from the query layer, on both databases."""

from __future__ import annotations

from datetime import datetime, timedelta

import optuna
import pytest

from app.db import Database
from app.queries import trials_page
from tests.conftest import both_databases


@both_databases
def test_trials_sort_by_duration_to_the_microsecond(database_url: str) -> None:
    """Durations a fraction of a millisecond apart sort in their true order (SQLite's own date
    functions round to milliseconds, which once swapped two trials of a real study)."""
    database = Database.open(database_url)
    storage = optuna.storages.RDBStorage(database_url)
    study = optuna.create_study(storage=storage, study_name="durations")
    trials_table = optuna.storages._rdb.models.TrialModel.__table__
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
        trial_id = storage.get_trial_id_from_study_id_trial_number(study._study_id, number)
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
            _, rows = trials_page(session, study._study_id, sort="duration", order=order)
            got = [row["duration_s"] for row in rows]
            expected = sorted((m / 1e6 for m in durations_us), reverse=order == "desc")
            assert got == pytest.approx(expected, abs=1e-7), order
    database.dispose()
    storage.engine.dispose()
