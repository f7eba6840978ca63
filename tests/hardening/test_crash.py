"""Crash anywhere, lose nothing: the API and separate workers are SIGKILLed at random moments
of a running study, round after round, and restarted. Every trial finished before a kill keeps
its state, value and curve; every interrupted trial is failed (Optuna's heartbeat, grace period
3 s in tests) and retried with the same parameters; the study ends with exactly n_trials
finished; and SQLite's integrity check passes."""

from __future__ import annotations

import json
import os
import random
import time
from collections import defaultdict
from functools import partial
from typing import Any

import optuna
import pytest

from tests.conftest import Process, Server, wait_for
from tests.hardening.helpers import db_path, sqlite_rows

pytestmark = pytest.mark.slow

SEED = int(os.environ.get("ADAMTUNE_CRASH_SEED", "20261126"))
ROUNDS = 2
WORKERS = 2
EPOCHS = 100
# quadratic_deep trains 100 epochs in about 1-2 s here: kills land mid-trial and between trials,
# and 18 trials on two workers outlast the two rounds of kills (a round finishes 2-6 trials; at
# 20 epochs, once the per-epoch database work got cheaper, the study could end early). 40 trials
# of 150 epochs and three rounds made this the suite's longest test (about 100 s quiet, then 52).
STUDY = {"task": "quadratic_deep", "n_trials": 18, "epochs": EPOCHS, "pruner": "none"}
FINISHED = ("COMPLETE", "PRUNED", "FAIL")

Point = tuple[int, int, float | None, float | None]


def finished_trials(server: Server, study_id: int) -> dict[int, tuple[str, float | None]]:
    trials = server.api("GET", f"/api/studies/{study_id}/trials?limit=1000").json()["trials"]
    return {t["number"]: (t["state"], t["value"]) for t in trials if t["state"] in FINISHED}


def completed(server: Server, study_id: int) -> int:
    return int(server.study(study_id)["progress"]["finished"])


def completed_more(server: Server, study_id: int, than: int) -> bool:
    return completed(server, study_id) > than


def curve_points(server: Server, study_id: int, numbers: set[int]) -> set[Point]:
    points = server.api("GET", f"/api/studies/{study_id}/curves?after=0").json()["points"]
    rows = zip(
        points["trial"], points["epoch"], points["train_loss"], points["val_loss"], strict=True
    )
    return {row for row in rows if row[0] in numbers}


def test_random_sigkills_of_api_and_workers_lose_nothing(
    start_server: Any, start_worker: Any
) -> None:
    rng = random.Random(SEED)
    where = f"(ADAMTUNE_CRASH_SEED={SEED})"
    server: Server = start_server(workers=0)
    url = server.database_url
    study_id = server.create_study(**STUDY)["id"]
    seen: dict[int, tuple[str, float | None]] = {}  # trial -> (state, value) before some kill
    seen_points: set[Point] = set()
    kills = 0

    for round_ in range(ROUNDS):
        if round_:
            server = start_server(workers=0, database_url=url)
        before = completed(server, study_id)
        workers: list[Process] = [start_worker(url) for _ in range(WORKERS)]
        # kill once this round has completed a trial, at a random moment of the ones after it
        wait_for(partial(completed_more, server, study_id, before), timeout=180)
        time.sleep(rng.uniform(0.0, 2.5))

        trials = finished_trials(server, study_id)  # first the trials, then their curves
        seen_points |= curve_points(server, study_id, set(trials))
        for number, outcome in trials.items():
            assert seen.setdefault(number, outcome) == outcome, (number, where)
        seen.update(trials)

        victims: list[Process] = [server, *workers]
        rng.shuffle(victims)
        for victim in victims:
            victim.kill()
            kills += 1
            time.sleep(rng.uniform(0.0, 1.0))

    server = start_server(workers=0, database_url=url)
    for _ in range(WORKERS):
        start_worker(url)
    done = server.wait_status(study_id, "completed", timeout=300)

    # exactly n_trials finished, nothing left running or waiting
    progress = done["progress"]
    assert progress["complete"] + progress["pruned"] == STUDY["n_trials"], (progress, where)
    assert progress["running"] == progress["waiting"] == 0, (progress, where)
    # everything seen finished before a kill is still there, with the same curve
    final = finished_trials(server, study_id)
    for number, outcome in seen.items():
        assert final.get(number) == outcome, (number, outcome, final.get(number), where)
    after = curve_points(server, study_id, set(seen))
    assert after == seen_points, (sorted(after ^ seen_points)[:10], where)
    # a complete trial has each epoch exactly once
    points = server.api("GET", f"/api/studies/{study_id}/curves?after=0").json()["points"]
    for number, (state, _) in final.items():
        if state == "COMPLETE":
            epochs = [
                e for t, e in zip(points["trial"], points["epoch"], strict=True) if t == number
            ]
            assert sorted(epochs) == list(range(1, EPOCHS + 1)), (number, where)

    # the interrupted trials: failed by the heartbeat, each retried once with its parameters
    path = db_path(server)
    failed = sqlite_rows(
        path,
        "SELECT trial_id, number FROM trials WHERE study_id = ? AND state = 'FAIL'",
        (study_id,),
    )
    assert failed, f"no kill caught a trial running {where}"
    assert all(final[number][1] is None for _, number in failed)
    # Optuna's retry callback records the chain of failed attempts in `retry_history`
    retried_by: dict[int, list[int]] = defaultdict(list)  # failed number -> its retries
    for trial_id, history in sqlite_rows(
        path,
        "SELECT a.trial_id, a.value_json FROM trial_system_attributes a JOIN trials t"
        " ON t.trial_id = a.trial_id WHERE t.study_id = ? AND a.key = 'retry_history'",
        (study_id,),
    ):
        retried_by[json.loads(history)[-1]].append(trial_id)
    params = "SELECT param_name, param_value FROM trial_params WHERE trial_id = ? ORDER BY 1"
    for trial_id, number in failed:
        assert len(retried_by[number]) == 1, (number, retried_by[number], where)
        retry = retried_by[number][0]
        # the same parameters (a trial killed before it sampled them all gets the rest anew)
        retry_params = set(sqlite_rows(path, params, (retry,)))
        assert set(sqlite_rows(path, params, (trial_id,))) <= retry_params, (number, where)
    assert sqlite_rows(path, "PRAGMA integrity_check") == [("ok",)]
    assert sqlite_rows(path, "PRAGMA foreign_key_check") == []
    assert kills == ROUNDS * (WORKERS + 1)
    print(f"{where}: {len(seen)} trials seen before kills, {len(failed)} interrupted and retried")


def test_the_last_trial_killed_is_retried_not_dropped(start_server: Any, start_worker: Any) -> None:
    """The retry of a study's last trial holds the last of the n_trials: it must run."""
    server: Server = start_server(workers=0)
    url = server.database_url
    study_id = server.create_study(**{**STUDY, "n_trials": 2, "epochs": 150})["id"]
    worker = start_worker(url)

    def last_trial_running() -> bool:
        progress = server.study(study_id)["progress"]
        return bool(progress["finished"] == 1 and progress["running"] == 1)

    wait_for(last_trial_running, timeout=180, interval=0.1)
    worker.kill()
    start_worker(url)
    done = server.wait_status(study_id, "completed", timeout=180)
    assert done["progress"]["complete"] == 2
    assert done["progress"]["failed"] == 1

    # and a one-trial study runs its one trial (the baseline, enqueued as WAITING)
    one = server.create_study(task="quadratic_deep", n_trials=1, epochs=2, pruner="none")
    finished = server.wait_status(one["id"], "completed", timeout=120)
    assert finished["progress"]["complete"] == 1
    assert finished["baseline"]["value"] is not None


def test_a_trial_orphaned_before_its_first_heartbeat_is_retried(
    start_server: Any, start_worker: Any
) -> None:
    """A worker killed between `study.ask()` and its first heartbeat leaves a RUNNING trial that
    Optuna's stale check never sees (it only looks at trials with a heartbeat): the next worker
    fails it after the grace period and retries it, so the study still ends."""
    server: Server = start_server(workers=0)
    study = server.create_study(
        task="quadratic_deep", n_trials=2, epochs=2, pruner="none", name="orphan"
    )
    storage = optuna.storages.RDBStorage(server.database_url)  # no heartbeat, like a dead worker
    orphan = optuna.load_study(study_name="orphan", storage=storage).ask()  # pops the baseline
    storage.engine.dispose()
    start_worker(server.database_url)
    done = server.wait_status(study["id"], "completed", timeout=180)
    trials = server.api("GET", f"/api/studies/{study['id']}/trials").json()["trials"]
    assert done["progress"]["complete"] == 2, trials
    assert [(t["number"], t["state"]) for t in trials][0] == (orphan.number, "FAIL")
    # its retry is the baseline again: the default Adam, marked as such
    assert [t["params"]["lr"] for t in trials if t["baseline"] and t["state"] == "COMPLETE"] == [
        1e-3
    ]
