"""Faults: a worker killed mid-trial, a server restarted mid-study, readers beside writers; on
SQLite and on PostgreSQL (`both_databases`)."""

from __future__ import annotations

import json
import signal
import threading
from typing import Any

import httpx
import pytest

from tests.conftest import both_databases, query, trial_param_rows, trial_states, wait_for

pytestmark = [pytest.mark.slow, both_databases]

LONG_STUDY = {"task": "cnn_digits", "epochs": 12, "pruner": "none"}


def test_sigkilled_worker_trial_is_failed_and_retried(start_server: Any, start_worker: Any) -> None:
    server = start_server(workers=0)
    workers = [start_worker(server.database_url) for _ in range(2)]
    study = server.create_study(**LONG_STUDY, n_trials=4)

    def both_mid_trial() -> bool:  # past their parameter suggestions, training
        running = server.api("GET", f"/api/studies/{study['id']}/trials?state=RUNNING").json()
        return len(running["trials"]) == 2 and all(t["epochs_done"] for t in running["trials"])

    wait_for(both_mid_trial, timeout=90)

    workers[0].kill()  # SIGKILL: no chance to clean up; only the heartbeat tells
    done = server.wait_status(study["id"], "completed", timeout=240)

    url = server.database_url
    assert done["progress"]["finished"] == 4
    assert trial_states(url, study["id"]) == {"COMPLETE": 4, "FAIL": 1}
    [(failed_id, failed_number)] = query(
        url,
        "SELECT trial_id, number FROM trials WHERE study_id = :id AND state = 'FAIL'",
        id=study["id"],
    )
    retry = query(
        url,
        "SELECT trial_id FROM trial_system_attributes"
        " WHERE key = 'failed_trial' AND value_json = :v",
        v=json.dumps(failed_number),
    )
    assert len(retry) == 1, "the failed trial is retried exactly once"

    assert trial_param_rows(url, retry[0][0]) == trial_param_rows(url, failed_id)
    assert query(url, "SELECT state FROM trials WHERE trial_id = :id", id=retry[0][0]) == [
        ("COMPLETE",)
    ]


def test_server_restart_mid_study_carries_on_and_keeps_everything(start_server: Any) -> None:
    first = start_server(workers=1)
    study = first.create_study(**LONG_STUDY, n_trials=3)
    base = f"/api/studies/{study['id']}"
    wait_for(lambda: first.study(study["id"])["progress"]["finished"] >= 1, timeout=120)
    wait_for(lambda: first.study(study["id"])["progress"]["running"] == 1, timeout=60)
    before = first.api("GET", f"{base}/curves?after=0").json()["points"]
    finished_before = {
        (t["number"], t["value"])
        for t in first.api("GET", f"{base}/trials").json()["trials"]
        if t["state"] == "COMPLETE"
    }

    first.stop(signal.SIGKILL)  # the embedded worker notices its parent is gone and exits
    second = start_server(workers=1, database_url=first.database_url)
    done = second.wait_status(study["id"], "completed", timeout=240)

    assert done["progress"]["finished"] == 3
    after = second.api("GET", f"{base}/curves?after=0").json()["points"]
    old = set(zip(before["trial"], before["epoch"], before["val_loss"], strict=True))
    assert old <= set(zip(after["trial"], after["epoch"], after["val_loss"], strict=True))
    trials = second.api("GET", f"{base}/trials").json()["trials"]
    assert finished_before <= {(t["number"], t["value"]) for t in trials}


def test_two_workers_and_concurrent_readers_never_lock(start_server: Any) -> None:
    server = start_server(workers=2)
    # the study once both workers are up: started with the readers, their imports (torch,
    # optuna) took the 2 cores from the readers and writers for ~10 s, before any trial ran
    wait_for(lambda: server.log().count(" serving ") == 2, timeout=90)
    study = server.create_study(task="mlp_digits", epochs=8, n_trials=6, pruner="none")
    base = f"{server.url}/api/studies/{study['id']}"
    statuses: list[int] = []
    stop = threading.Event()

    def read_loop() -> None:
        with httpx.Client(timeout=30) as client:
            cursor = 0
            while not stop.is_set():
                for path in (
                    "",
                    "/trials?sort=value",
                    f"/curves?after={cursor}",
                    "/figures/history",
                ):
                    response = client.get(base + path)
                    statuses.append(response.status_code)
                    if path.startswith("/curves") and response.status_code == 200:
                        cursor = response.json()["cursor"]
                statuses.append(client.get(f"{server.url}/api/studies").status_code)

    readers = [threading.Thread(target=read_loop) for _ in range(4)]
    for reader in readers:
        reader.start()
    try:
        done = server.wait_status(study["id"], "completed", timeout=240)
    finally:
        stop.set()
        for reader in readers:
            reader.join()

    assert done["progress"]["finished"] == 6
    assert len(statuses) > 50
    assert all(code in (200, 409) for code in statuses), sorted(set(statuses))
    assert "database is locked" not in server.log()
    assert "Traceback" not in server.log()


def test_a_validation_survives_a_sigkilled_worker(start_server: Any, start_worker: Any) -> None:
    """Validation runs are trials of their own study: a worker killed during one loses it to
    the next worker's ask, which re-runs its config and seed; the report has every run."""
    server = start_server(workers=0)
    first = start_worker(server.database_url)  # alone: the run it trains is the one killed
    study = server.create_study(
        **LONG_STUDY,
        n_trials=2,
        validate_top_k=1,
        validate_seeds=2,
        confirm_seeds=0,  # the selection round is enough to kill a worker in
    )

    def validation_mid_run() -> dict[str, Any] | None:
        validation = server.study(study["id"])["validation"]
        if validation is None:
            return None
        runs = server.api("GET", f"/api/studies/{validation['study_id']}/trials").json()
        busy = [t for t in runs["trials"] if t["state"] == "RUNNING" and t["epochs_done"]]
        return validation if busy else None

    validation = wait_for(validation_mid_run, timeout=180)
    first.kill()
    start_worker(server.database_url)  # the next worker's ask re-runs the killed run
    report = wait_for(
        lambda: (v := server.study(study["id"])["validation"])["complete"] and v, timeout=240
    )
    assert report["runs_done"] == report["runs_total"] == 4
    assert all(c["n"] == 2 for c in report["configs"]) and report["verdict"]
    states = trial_states(server.database_url, validation["study_id"])
    assert states == {"COMPLETE": 4, "FAIL": 1}, states  # the killed run, re-run once
