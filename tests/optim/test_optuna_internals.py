"""The one module that knows Optuna's internals, checked against the installed Optuna: its
table mirror, encodings and times match Optuna's, the check that gates the fast paths says
why it fails, and with the fast paths off everything still works through Optuna's own methods.

CI runs this file (with test_storage.py and test_runner.py) against the oldest and the newest
Optuna of the supported range (`make test-optuna-range`)."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import optuna
import pytest
import sqlalchemy
import sqlalchemy.orm
from optuna.storages._rdb import models  # the test compares our mirror with Optuna's own

from optim import optuna_internals as oi
from optim.runner import Lease, NoTrial, Outcome, TrialRunner
from optim.storage import make_storage, study_storage
from optim.study import StudyConfig, create_study
from tests.conftest import both_databases

TrialState = optuna.trial.TrialState


def test_the_installed_optuna_is_supported_and_the_fast_paths_are_on() -> None:
    assert oi.SUPPORTED_OPTUNA[0] <= oi.optuna_major() < oi.SUPPORTED_OPTUNA[1]
    assert oi.FAST_PATHS, oi._WHY_NOT  # noqa: SLF001


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
    assert oi._check_internals() == (False, "Optuna 6.0.0 is outside the supported range")  # noqa: SLF001
    monkeypatch.setattr(optuna, "__version__", "5.0.0")
    monkeypatch.delattr(optuna.storages.RDBStorage, "_get_trials")
    ok, why = oi._check_internals()  # noqa: SLF001
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
    assert not storage._fast_path()  # noqa: SLF001
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
    expected = storage._get_trials(oi.study_id_of(study), None, {ids[3]}, ids[2])  # noqa: SLF001
    original = oi.read_trials

    def refuse_in_lists(conn: Any, where: list[Any]) -> list[Any]:
        if len(where) > 1:
            raise sqlalchemy.exc.OperationalError("SELECT", {}, Exception("too many SQL variables"))
        return original(conn, where)

    monkeypatch.setattr(oi, "read_trials", refuse_in_lists)
    got = storage._get_trials(oi.study_id_of(study), None, {ids[3]}, ids[2])  # noqa: SLF001
    assert [t.number for t in got] == [t.number for t in expected] == [3, 4]


# --- the service's reads, against Optuna's public API ---------------------------------------


def service_study(storage: optuna.storages.RDBStorage, name: str, direction: str) -> int:
    """Through Optuna's public API only: trials in every state, a tie for the best value,
    flagged trials (reported and not), system attributes, study attributes, a waiting trial."""
    study = optuna.create_study(storage=storage, study_name=name, direction=direction)
    study_id = storage.get_study_id_from_name(name)
    study.set_user_attr("config", {"seed": 1})
    study.set_user_attr("origin", "script")
    storage.set_study_system_attr(study_id, "note:3", {"text": "hello"})
    for number in range(12):
        trial = study.ask()
        trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, number)
        trial.suggest_float("lr", 1e-5, 1e-1, log=True)
        trial.suggest_categorical("act", ["relu", "tanh"])
        for step in range(number % 3):
            trial.report(float(number + step), step)
        if number % 3 != 1:
            trial.set_user_attr("flag", {"n": number})
        if number == (4 if direction == "minimize" else 3):  # a COMPLETE one, a RUNNING one
            trial.set_user_attr("baseline", True)
        if number % 2:
            storage.set_trial_system_attr(trial_id, "history", [number - 1])
        kind = number % 4
        if kind == 0:
            study.tell(trial, 1.0 if number in (0, 8) else float(number))  # 0 and 8 tie
        elif kind == 1:
            study.tell(trial, state=TrialState.PRUNED)
        elif kind == 2:
            study.tell(trial, state=TrialState.FAIL)
        # kind 3 stays RUNNING
    study.enqueue_trial({"lr": 1e-3, "act": "relu"})  # WAITING
    return study_id


def public_ids(storage: optuna.storages.BaseStorage, study_id: int) -> dict[int, int]:
    """trial number -> trial id, through Optuna's public API."""
    return {
        t.number: storage.get_trial_id_from_study_id_trial_number(study_id, t.number)
        for t in storage.get_all_trials(study_id)
    }


def flagged(trials: list[optuna.trial.FrozenTrial], state: str, unreported: bool = False) -> int:
    """Trials in `state` with user attribute "flag" (and, `unreported`, no intermediate value)."""
    return sum(
        1
        for t in trials
        if t.state.name == state
        and "flag" in t.user_attrs
        and not (unreported and t.intermediate_values)
    )


def frozen_fields(trial: optuna.trial.FrozenTrial) -> tuple[Any, ...]:
    return (trial.number, trial.state, trial.values, trial.datetime_start,
            trial.datetime_complete, trial.params, trial.distributions, trial.user_attrs,
            trial.system_attrs, trial.intermediate_values)  # fmt: skip


@both_databases
def test_the_service_reads_agree_with_optunas_public_api(database_url: str) -> None:
    """Every read of `optuna_internals` the service makes, on a study Optuna wrote, against
    what Optuna's public API says of the same study."""
    storage = optuna.storages.RDBStorage(database_url)
    sids = {d: service_study(storage, d, d) for d in ("minimize", "maximize")}
    with sqlalchemy.orm.Session(storage.engine) as session, storage.engine.connect() as conn:
        for direction, sid in sids.items():
            trials = storage.get_all_trials(sid)
            ids = public_ids(storage, sid)
            by_id = {ids[t.number]: t for t in trials}
            states = [t.state.name for t in trials]
            assert oi.state_counts(session, [sid, 10_000]) == {
                sid: {s: states.count(s) for s in set(states)},
                10_000: {},
            }
            assert oi.directions(conn, [sid]) == {sid: direction}
            assert oi.trial_count(conn, sid) == len(trials) == 13
            assert oi.trial_count(session, sid, [1, 2, 99]) == 2
            assert oi.trial_by_number(conn, sid, 3) == (ids[3], "RUNNING")
            assert oi.trial_by_number(conn, sid, 99) is None

            # counts of flagged trials by state, and flagged running ones never reported
            for state in ("RUNNING", "FAIL", "COMPLETE"):
                got = oi.counts_with_user_attr(session, [sid], state, "flag")
                assert got == ({sid: flagged(trials, state)} if flagged(trials, state) else {}), (
                    state
                )
            assert oi.counts_with_user_attr(conn, [sid], "RUNNING", "flag", unreported=True) == {
                sid: flagged(trials, "RUNNING", unreported=True)
            }
            assert flagged(trials, "RUNNING", unreported=True) < flagged(trials, "RUNNING")

            # best COMPLETE value (the lowest number of a tie), the baseline's value
            complete = [t for t in trials if t.state == TrialState.COMPLETE]
            pick = min if direction == "minimize" else max
            best_value = pick(t.value for t in complete)
            best = min(t.number for t in complete if t.value == best_value)
            got_best = oi.best_values(session, [sid], {sid: direction})
            assert got_best == {sid: (best, best_value, ids[best])}
            baseline = (4, 4.0) if direction == "minimize" else (3, None)
            assert oi.values_of_flagged(conn, [sid], "baseline") == {sid: baseline}
            ranked = oi.best_trials(conn, sid, direction, 3)
            assert [by_id[k.trial_id].value for k in ranked] == sorted(
                (t.value for t in complete), reverse=direction == "maximize"
            )[:3]
            assert all(ids[k.number] == k.trial_id for k in ranked)

            newest = sorted(trials, key=lambda t: -t.number)
            assert oi.recent_trials(conn, sid, 4) == [(ids[t.number], t.number) for t in newest[:4]]
            finished = [t for t in newest if t.state.name in ("COMPLETE", "PRUNED")]
            assert oi.recent_trials(session, sid, 3, states=("COMPLETE", "PRUNED")) == [
                (ids[t.number], t.number) for t in finished[:3]
            ]
            done = [ids[t.number] for t in trials if t.state.is_finished()]
            assert oi.finished_version(conn, sid) == (len(done), max(done))

            # attributes
            histories = [(t.number, t.system_attrs["history"]) for t in trials
                         if "history" in t.system_attrs]  # fmt: skip
            assert sorted(oi.system_attr_by_number(conn, sid, "history")) == histories
            study_attrs = storage.get_study_user_attrs(sid)
            assert oi.study_user_attrs(session, [sid], leave_out=["config"]) == {
                sid: {k: v for k, v in study_attrs.items() if k != "config"}
            }
            assert json.loads(oi.study_attr_json(conn, sid, "config") or "") == {"seed": 1}
            assert oi.study_attr_json(conn, sid, "absent") is None
            note = oi.study_attr_json(conn, sid, "note:3", system=True)
            assert json.loads(note or "") == storage.get_study_system_attrs(sid)["note:3"]
            keys = ("flag", "baseline")
            assert oi.trial_user_attrs(session, list(by_id), keys) == {
                i: {k: v for k, v in t.user_attrs.items() if k in keys}
                for i, t in by_id.items()
                if any(k in t.user_attrs for k in keys)
            }
            assert oi.trial_params(conn, list(by_id)) == {
                i: {n: t.distributions[n].to_internal_repr(v) for n, v in t.params.items()}
                for i, t in by_id.items()
                if t.params
            }

            # intermediate values: counts, last steps, the curve points after a cursor
            reported = {i: len(t.intermediate_values) for i, t in by_id.items()}
            assert oi.steps_by_study(conn, [sid]) == {sid: sum(reported.values())}
            # seconds trained: the finished trials', start to finish
            finished = [t for t in trials if t.datetime_start and t.datetime_complete]
            assert finished and len(finished) < len(trials)  # a running one is left out
            seconds = sum(
                (t.datetime_complete - t.datetime_start).total_seconds()  # type: ignore[operator]
                for t in finished
            )
            assert oi.trial_seconds_by_study(conn, [sid]).get(sid, 0.0) == pytest.approx(seconds)
            assert oi.trial_seconds_by_study(conn, []) == {}
            # the same finished trials one by one, in completion order, with their steps and,
            # when complete, their value and a user attribute
            in_order = sorted(finished, key=lambda t: (t.datetime_complete, t.number))
            done_ = TrialState.COMPLETE
            assert oi.finished_trials_spent(session, [sid], "flag") == [
                (sid, t.number, t.state.name,
                 pytest.approx((t.datetime_complete - t.datetime_start).total_seconds()),  # type: ignore[operator]
                 len(t.intermediate_values),
                 t.value if t.state == done_ else None,
                 t.user_attrs.get("flag") if t.state == done_ else None)
                for t in in_order
            ]  # fmt: skip
            assert {t.state.name for t in in_order} == {"COMPLETE", "PRUNED", "FAIL"}
            assert any(t.state == done_ and "flag" in t.user_attrs for t in in_order)
            assert any(t.state != done_ and "flag" in t.user_attrs for t in in_order)
            assert {r.attr for r in oi.finished_trials_spent(conn, [sid])} == {None}
            assert oi.finished_trials_spent(conn, []) == []
            assert oi.steps_by_trial(session, list(by_id)) == {
                i: n for i, n in reported.items() if n
            }
            for i, t in by_id.items():
                assert oi.last_step(conn, i) == max(t.intermediate_values, default=None)
            points = oi.intermediate_points(conn, sid, 0, [])
            assert sorted((n, s, v) for _, n, s, v in points) == sorted(
                (t.number, s, v) for t in trials for s, v in t.intermediate_values.items()
            )
            cursors = [p[0] for p in points]
            assert cursors == sorted(cursors)
            assert oi.intermediate_points(conn, sid, cursors[2], []) == points[3:]
            assert [p[1] for p in oi.intermediate_points(conn, sid, 0, [5])] == [5, 5]

            # trials pages
            total, rows = oi.trials_page(conn, sid, offset=0, limit=100, sort="number",
                                         order="asc", state=None, numbers=None)  # fmt: skip
            assert total == len(trials)
            assert [(r.trial_id, r.number, r.state) for r in rows] == [
                (ids[t.number], t.number, t.state.name) for t in trials
            ]
            assert [r.value for r in rows] == [t.values[0] if t.values else None for t in trials]
            for r in rows:
                t = by_id[r.trial_id]
                assert oi.as_local_naive(r.datetime_start) == t.datetime_start
                assert oi.as_local_naive(r.datetime_complete) == t.datetime_complete
            for order in ("asc", "desc"):
                _, page = oi.trials_page(session, sid, offset=0, limit=100, sort="value",
                                         order=order, state=None, numbers=None)  # fmt: skip
                first = [r for r in page if r.state == "COMPLETE"]
                assert len(first) == len(complete) and page[: len(first)] == first
                values = [r.value for r in first]
                assert values == sorted(values, reverse=order == "desc")
            total, page = oi.trials_page(conn, sid, offset=1, limit=2, sort="number", order="desc",
                                         state="RUNNING", numbers=[3, 7, 9])  # fmt: skip
            assert (total, [r.number for r in page]) == (2, [3])

            # heartbeats: RUNNING trials that never beat are orphans once old enough
            running = [ids[t.number] for t in trials if t.state == TrialState.RUNNING]
            storage.record_heartbeat(running[0])
            later = oi.optuna_now() + dt.timedelta(seconds=1)
            assert oi.orphan_trial_ids(conn, sid, later) == running[1:]
            assert oi.orphan_trial_ids(conn, sid, later - dt.timedelta(hours=1)) == []

            # whole trials
            assert [frozen_fields(t) for t in oi.study_trials(session, sid)] == [
                frozen_fields(t) for t in trials
            ]
            chosen = [ids[2], ids[5]]
            assert [frozen_fields(t) for t in oi.trials_by_id(conn, chosen)] == [
                frozen_fields(by_id[i]) for i in chosen
            ]
        names = set(session.execute(sqlalchemy.select(oi.STUDY_NAMES)).all())
        assert names == {(sid, name) for name, sid in sids.items()}
    storage.engine.dispose()


@both_databases
def test_bulk_inserted_trials_read_back_through_optuna(database_url: str) -> None:
    """`bulk_insert_trials` writes what Optuna reads back as the same trials."""
    storage = optuna.storages.RDBStorage(database_url)
    study = optuna.create_study(storage=storage, study_name="bulk")
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)  # ids already taken
    study_id = storage.get_study_id_from_name("bulk")
    start = dt.datetime(2026, 1, 1, 12, 0, 0, 123456)
    dists = {
        "lr": optuna.distributions.FloatDistribution(1e-5, 1e-1, log=True),
        "act": optuna.distributions.CategoricalDistribution(["relu", None]),
    }
    written = [
        optuna.trial.FrozenTrial(
            number=2 + n,
            state=TrialState.COMPLETE if n < 2 else TrialState.PRUNED,
            value=[0.5, math.inf, None][n],
            datetime_start=oi.as_local_naive(start + dt.timedelta(seconds=n)),
            datetime_complete=oi.as_local_naive(start + dt.timedelta(seconds=n + 0.5)),
            params={"lr": 1e-3 * (n + 1), "act": [None, "relu", None][n]},
            distributions=dists,
            user_attrs={"adam": {"lr": 1e-3}, "baseline": n == 0},
            system_attrs={"rung": n},
            intermediate_values={1: 2.0, 2: [math.inf, -math.inf, 1.5][n]},
            trial_id=0,
        )
        for n in range(3)
    ]
    with storage.engine.begin() as conn:
        oi.bulk_insert_trials(conn, study_id, written)
    read = optuna.load_study(study_name="bulk", storage=storage).trials[2:]
    assert [frozen_fields(t) for t in read] == [frozen_fields(t) for t in written]
    ids = [storage.get_trial_id_from_study_id_trial_number(study_id, t.number) for t in read]
    assert ids == sorted(ids) and len(set(ids)) == 3
    storage.engine.dispose()
