"""Scale-out on PostgreSQL: lone `adamtune worker` processes (as on other machines) share one
database with an API server that runs no workers (`adamtune serve --workers 0`).

Each test gets a fresh database (`postgres_url`), dropped afterwards. The claim lock on PostgreSQL
is `pg_advisory_xact_lock` (app/claims.py); these tests check what it promises: exactly n_trials
trials, none run twice, and a killed worker's trial retried once with the same parameters.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT, Process, Server, query, trial_param_rows, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

FAST_STUDY = {"task": "quadratic_deep", "epochs": 2, "pruner": "none"}
# cnn_digits with 20 epochs is a trial of seconds: long enough to kill a worker in the middle
LONG_STUDY = {"task": "cnn_digits", "epochs": 20, "pruner": "none"}


def start_workers(start_worker: Any, url: str, n: int) -> list[Process]:
    """n lone workers, returned once each has opened the database and waits for work."""
    workers: list[Process] = [start_worker(url) for _ in range(n)]
    for worker in workers:
        wait_for(lambda: "serving" in worker.log(), timeout=90)  # noqa: B023 - called at once
        assert worker.proc.poll() is None, worker.log()
    return workers


def trial_rows(url: str, study_id: int) -> list[tuple[Any, ...]]:
    """(trial_id, number, state, datetime_start, datetime_complete) of every trial, by number."""
    return query(
        url,
        "SELECT trial_id, number, state, datetime_start, datetime_complete FROM trials"
        " WHERE study_id = :id ORDER BY number",
        id=study_id,
    )


def events_per_trial(url: str, study_id: int, kind: str) -> dict[int, int]:
    rows = query(
        url,
        "SELECT trial_number, COUNT(*) FROM adamtune_events"
        " WHERE study_id = :id AND kind = :kind GROUP BY trial_number",
        id=study_id,
        kind=kind,
    )
    return dict(rows)


def most_at_once(intervals: list[tuple[datetime, datetime]]) -> int:
    """The largest number of the (start, end) intervals that overlap at one moment."""
    edges = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    running = most = 0
    for _, step in edges:  # at equal times an end (-1) sorts before a start (+1)
        running += step
        most = max(most, running)
    return most


def assert_clean(*processes: Process) -> None:
    for process in processes:
        assert "Traceback" not in process.log(), process.log()[-3000:]


def test_three_workers_run_each_of_30_trials_exactly_once(
    postgres_url: str, start_server: Any, start_worker: Any
) -> None:
    server: Server = start_server(workers=0, database_url=postgres_url)
    workers = start_workers(start_worker, postgres_url, 3)
    study = server.create_study(**FAST_STUDY, n_trials=30, name="three-workers")

    done = server.wait_status(study["id"], "completed", timeout=300)

    assert done["progress"] == {
        "complete": 30, "pruned": 0, "failed": 0, "running": 0, "reserved": 0, "waiting": 0,
        "finished": 30, "interrupted": 0,
    }  # fmt: skip
    rows = trial_rows(postgres_url, study["id"])
    # exactly 30 trials were asked for, not one more: the claim lock keeps n_trials across workers
    assert [number for _, number, *_ in rows] == list(range(30))
    assert {state for _, _, state, *_ in rows} == {"COMPLETE"}
    # each trial was started once, finished once and trained its 2 epochs once
    for kind, times in (("trial_started", 1), ("trial_finished", 1), ("epoch", 2)):
        assert events_per_trial(postgres_url, study["id"], kind) == dict.fromkeys(range(30), times)
    # and the workers really shared the study: trials ran side by side
    assert most_at_once([(start, end) for *_, start, end in rows]) >= 2
    assert all(worker.proc.poll() is None for worker in workers)
    assert_clean(server, *workers)


def test_idle_workers_racing_for_small_studies_never_exceed_n_trials(
    postgres_url: str, start_server: Any, start_worker: Any
) -> None:
    """Three idle workers see each new 2-trial study at once: at every study's last free trial
    they race, and only the claim lock keeps a third trial from being asked for."""
    server: Server = start_server(workers=0, database_url=postgres_url)
    workers = start_workers(start_worker, postgres_url, 3)
    ids = [server.create_study(**FAST_STUDY, n_trials=2, name=f"burst-{i}")["id"] for i in range(8)]

    for sid in ids:
        done = server.wait_status(sid, "completed", timeout=180)
        assert done["progress"]["finished"] == 2
    per_study = query(
        postgres_url,
        "SELECT study_id, COUNT(*) FROM trials WHERE study_id = ANY(:ids) GROUP BY study_id",
        ids=ids,
    )
    assert dict(per_study) == dict.fromkeys(ids, 2)
    assert_clean(server, *workers)


def test_sigkilled_worker_mid_trial_study_still_completes_exactly(
    postgres_url: str, start_server: Any, start_worker: Any
) -> None:
    server: Server = start_server(workers=0, database_url=postgres_url)
    workers = start_workers(start_worker, postgres_url, 3)
    study = server.create_study(**LONG_STUDY, n_trials=5, name="sigkill")
    sid = study["id"]

    def all_mid_trial() -> bool:
        running = server.api("GET", f"/api/studies/{sid}/trials?state=RUNNING").json()["trials"]
        return len(running) == 3 and all(t["epochs_done"] >= 1 for t in running)

    wait_for(all_mid_trial, timeout=120)  # each worker is in the middle of a trial
    workers[0].kill()  # SIGKILL: no cleanup; only the missing heartbeat tells
    done = server.wait_status(sid, "completed", timeout=300)

    assert done["progress"]["finished"] == 5
    assert done["progress"]["complete"] == 5
    rows = trial_rows(postgres_url, sid)
    assert Counter(state for _, _, state, *_ in rows) == {"COMPLETE": 5, "FAIL": 1}
    assert [number for _, number, *_ in rows] == list(range(6))  # 5 + the one retry
    [(failed_id, failed_number)] = [(tid, n) for tid, n, state, *_ in rows if state == "FAIL"]
    # it was caught mid-trial: some epochs reported, not all
    [(epochs,)] = query(
        postgres_url,
        "SELECT COUNT(*) FROM trial_intermediate_values WHERE trial_id = :id",
        id=failed_id,
    )
    assert 1 <= epochs < 20
    # retried exactly once, with the same parameters, and the retry completed
    retries = query(
        postgres_url,
        "SELECT trial_id FROM trial_system_attributes"
        " WHERE key = 'failed_trial' AND value_json = :number",
        number=json.dumps(failed_number),
    )
    assert len(retries) == 1

    assert trial_param_rows(postgres_url, retries[0][0]) == trial_param_rows(
        postgres_url, failed_id
    )
    assert {tid: state for tid, _, state, *_ in rows}[retries[0][0]] == "COMPLETE"
    assert events_per_trial(postgres_url, sid, "trial_started") == dict.fromkeys(range(6), 1)
    assert all(worker.proc.poll() is None for worker in workers[1:])
    assert_clean(server, *workers[1:])


def test_api_serves_reads_from_postgres_while_workers_write(
    postgres_url: str, start_server: Any, start_worker: Any
) -> None:
    server: Server = start_server(workers=0, database_url=postgres_url)
    start_workers(start_worker, postgres_url, 2)
    n_trials, epochs = 10, 8
    study = server.create_study(
        task="mlp_digits", epochs=epochs, n_trials=n_trials, pruner="none", name="readers"
    )
    base = f"{server.url}/api/studies/{study['id']}"
    statuses: Counter[int] = Counter()
    curve_points: list[tuple[int, int]] = []  # read incrementally with the cursor
    sse_points: list[tuple[int, int]] = []
    sse_ids: list[int] = []
    stop = threading.Event()

    def poll_pages() -> None:
        with httpx.Client(timeout=30) as client:
            while not stop.is_set():
                for path in (
                    "",
                    "/trials?sort=value",
                    "/trials?sort=duration&order=desc",
                    "/trials/0",
                    "/figures/history",
                    "/export.csv",
                ):
                    statuses[client.get(base + path).status_code] += 1
                statuses[client.get(f"{server.url}/api/studies").status_code] += 1

    def read_curves() -> None:
        cursor = 0
        with httpx.Client(timeout=30) as client:
            while True:
                last = stop.is_set()  # one more read after the study completed
                response = client.get(f"{base}/curves?after={cursor}")
                statuses[response.status_code] += 1
                if response.status_code == 200:
                    page = response.json()
                    points = page["points"]
                    curve_points.extend(zip(points["trial"], points["epoch"], strict=True))
                    cursor = page["cursor"]
                if last:
                    return
                stop.wait(0.1)

    def read_stream() -> None:
        with (
            httpx.Client(timeout=60) as client,
            client.stream("GET", f"{base}/events") as response,
        ):
            statuses[response.status_code] += 1
            event: dict[str, str] = {}
            for line in response.iter_lines():
                if line:
                    key, _, value = line.partition(":")
                    event[key] = value.strip()
                    continue
                if event.get("event") == "epoch":
                    data = json.loads(event["data"])
                    sse_points.append((data["trial"], data["epoch"]))
                if "id" in event:
                    sse_ids.append(int(event["id"]))
                if event.get("event") == "study_status" and "completed" in event["data"]:
                    return
                event = {}

    threads = [threading.Thread(target=target) for target in (poll_pages, poll_pages)]
    threads += [threading.Thread(target=read_curves), threading.Thread(target=read_stream)]
    for thread in threads:
        thread.start()
    try:
        done = server.wait_status(study["id"], "completed", timeout=300)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=90)
    assert not any(thread.is_alive() for thread in threads)

    assert done["progress"]["finished"] == n_trials
    assert sum(statuses.values()) > 50
    assert set(statuses) <= {200, 409}, statuses  # 409: a figure before enough trials; no 5xx
    every_point = {(t, e) for t in range(n_trials) for e in range(1, epochs + 1)}
    # the cursor never skips a point committed by another worker, and never repeats one
    assert sorted(curve_points) == sorted(every_point)
    assert len(curve_points) == len(every_point)
    assert sorted(sse_points) == sorted(every_point)
    assert sse_ids == sorted(set(sse_ids))
    assert_clean(server)


# what an API process does first (app.main.create_app): Optuna's storage, then adamtune's tables
OPEN_DATABASE = (
    "import sys; from optim.storage import make_storage; from app.db import Database; "
    "make_storage(sys.argv[1], heartbeat_interval=2, grace_period=10); Database.open(sys.argv[1])"
)


def test_processes_opening_a_fresh_database_at_once_all_start(postgres_url: str) -> None:
    """A Deployment's API replicas (and its workers) start together on an empty database: each
    creates the tables it finds missing. Without a lock, Optuna's table creation collided
    ("duplicate key value violates unique constraint pg_type_typname_nsp_index", "relation
    already exists") and all but one process exited."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN_DATABASE, postgres_url],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    errors = [p.communicate(timeout=120)[1] for p in processes]
    assert [p.returncode for p in processes] == [0] * 4, "\n".join(errors)[-3000:]
    assert query(postgres_url, "SELECT COUNT(*) FROM studies") == [(0,)]


def test_two_api_processes_on_one_port_hand_out_exactly_n_trials(
    postgres_url: str, start_server: Any
) -> None:
    """`adamtune serve --processes 2` (`ADAMTUNE_PROCESSES`): uvicorn's two worker processes
    share the port, each with its own runner cache, and external runners on their own
    connections land on either; the claim lock in PostgreSQL keeps the study exact: n_trials
    COMPLETE, numbers unique, each told once."""
    server: Server = start_server(
        workers=0, database_url=postgres_url, env={"ADAMTUNE_PROCESSES": "2"}
    )
    wait_for(lambda: server.log().count("Application startup complete") >= 2, timeout=90)
    study = server.create_study(task="external", n_trials=16, epochs=3, pruner="none")
    told: list[int] = []

    def runner() -> None:
        with httpx.Client(base_url=server.url, timeout=60) as http:  # its own connection
            while True:
                answer = http.post(f"/api/studies/{study['id']}/ask", json={"host": "t"}).json()
                if answer["state"] == "done":
                    return
                if answer["state"] == "wait":
                    time.sleep(answer["retry_after_s"])
                    continue
                trial = f"/api/studies/{study['id']}/trials/{answer['trial']['number']}"
                for step in range(3):
                    body = {"lease": answer["lease"], "step": step, "value": 1.0 / (step + 1)}
                    assert http.post(f"{trial}/report", json=body).status_code == 200
                body = {"lease": answer["lease"], "state": "complete", "value": 0.5}
                assert http.post(f"{trial}/tell", json=body).json()["state"] == "COMPLETE"
                told.append(answer["trial"]["number"])

    threads = [threading.Thread(target=runner) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert sorted(told) == list(range(16))
    rows = trial_rows(postgres_url, study["id"])
    assert [(n, state) for _, n, state, *_ in rows] == [(n, "COMPLETE") for n in range(16)]
    assert server.wait_status(study["id"], "completed")["progress"]["complete"] == 16
    assert len(set(re.findall(r"Started server process \[(\d+)\]", server.log()))) == 2
    assert_clean(server)
