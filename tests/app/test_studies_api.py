"""Study lifecycle over HTTP against a real `adamtune serve` with real workers, on SQLite and on
PostgreSQL (`both_databases`)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import optuna
import pytest

from tests.conftest import both_databases, query, trial_states, wait_for

pytestmark = [pytest.mark.slow, both_databases]

FAST_STUDY = {"task": "logreg_breast_cancer", "epochs": 3, "pruner": "none"}
# cnn_digits with 40 epochs is a trial of several seconds: long enough to catch it running
LONG_STUDY = {"task": "cnn_digits", "epochs": 40, "pruner": "none"}


def test_submitted_study_completes_with_exactly_n_trials(start_server: Any) -> None:
    server = start_server(workers=2)
    response = server.api(
        "POST", "/api/studies", json={**FAST_STUDY, "n_trials": 7, "name": "exact"}
    )
    assert response.status_code == 201
    study = response.json()
    assert response.headers["location"] == f"/api/studies/{study['id']}"
    assert study["status"] == "queued"

    done = server.wait_status(study["id"], "completed")
    assert done["progress"]["finished"] == 7
    assert trial_states(server.database_url, study["id"]) in (
        {"COMPLETE": 7},
        {"COMPLETE": 7 - done["progress"]["pruned"], "PRUNED": done["progress"]["pruned"]},
    )
    # the baseline is trial 0 with torch's defaults, and the gain is measured against it
    assert done["baseline"]["trial"] == 0
    trials = server.api("GET", f"/api/studies/{study['id']}/trials?sort=number").json()
    assert trials["total"] == 7
    baseline = trials["trials"][0]
    assert baseline["baseline"] is True
    assert baseline["params"] == {
        "lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0
    }  # fmt: skip
    best = min(t["value"] for t in trials["trials"] if t["state"] == "COMPLETE")
    assert done["best"]["value"] == pytest.approx(best)
    assert done["gain"] == pytest.approx((baseline["value"] - best) / baseline["value"])
    assert all(t["epochs_done"] == 3 for t in trials["trials"])
    for sort in ("value", "duration"):
        page = server.api("GET", f"/api/studies/{study['id']}/trials?sort={sort}&order=desc")
        key = "value" if sort == "value" else "duration_s"
        values = [t[key] for t in page.json()["trials"] if t[key] is not None]
        assert values == sorted(values, reverse=True), sort


def test_same_seed_gives_the_same_trials_whichever_worker_asks(
    start_server: Any, tmp_path: Path
) -> None:
    """Each trial's sampler is seeded from the study's seed and the trial's number, so two
    studies with one seed propose the same parameters trial for trial, though two workers take
    their trials in whatever order, and `adamtune tune` with that seed proposes them too."""
    server = start_server(workers=2)
    payload = {**FAST_STUDY, "sampler": "random", "seed": 7, "n_trials": 6}
    ids = [server.create_study(**payload, name=f"seeded-{i}")["id"] for i in range(2)]
    params = []
    for study_id in ids:
        server.wait_status(study_id, "completed")
        page = server.api("GET", f"/api/studies/{study_id}/trials?sort=number").json()
        params.append([t["params"] for t in page["trials"]])
    assert len(params[0]) == 6
    assert params[0] == params[1]
    assert len({json.dumps(p, sort_keys=True) for p in params[0]}) == 6  # distinct proposals

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "tune", "--task", FAST_STUDY["task"], "--trials", "6",
         "--epochs", "3", "--pruner", "none", "--sampler", "random", "--seed", "7",
         "--storage", url, "--quiet"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (name,) = optuna.get_all_study_names(storage=url)
    cli_trials = optuna.load_study(study_name=name, storage=url).trials
    cli_params = [t.user_attrs["adam"] for t in cli_trials]
    assert cli_params == params[0]


def test_trial_times_are_utc_in_any_server_time_zone(start_server: Any) -> None:
    """Optuna 5 keeps trial times as naive UTC: the API returns them as aware UTC, and a running
    trial's duration counts from its real start, whatever the server's local time zone."""
    server = start_server(workers=1, env={"TZ": "America/New_York"})
    before = datetime.now(UTC)
    study = server.create_study(**LONG_STUDY, n_trials=1)
    page = f"/api/studies/{study['id']}/trials?sort=number"

    def running() -> dict[str, Any] | None:
        trial = server.api("GET", page).json()["trials"][0]
        return trial if trial["state"] == "RUNNING" and trial["epochs_done"] >= 1 else None

    trial = wait_for(running, timeout=120)
    start = datetime.fromisoformat(trial["datetime_start"])
    assert start.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=5) <= start <= datetime.now(UTC)
    assert 0 <= trial["duration_s"] < 120
    server.api("POST", f"/api/studies/{study['id']}/stop")
    server.wait_status(study["id"], "stopped")


def test_stop_then_resume(start_server: Any) -> None:
    server = start_server(workers=1)
    study = server.create_study(**LONG_STUDY, n_trials=3)
    wait_for(lambda: server.study(study["id"])["progress"]["running"] == 1, timeout=60)

    stopped = server.api("POST", f"/api/studies/{study['id']}/stop")
    assert stopped.status_code == 200
    assert stopped.json()["status"] in ("stopping", "stopped")
    after = server.wait_status(study["id"], "stopped", timeout=60)
    assert after["progress"]["running"] == 0
    trials = server.api("GET", f"/api/studies/{study['id']}/trials?state=PRUNED").json()
    assert [t["reason"] for t in trials["trials"]] == ["stopped"]
    assert trials["trials"][0]["epochs_done"] < 40

    # a stopped study cannot be stopped into anything else, but it can resume
    resumed = server.api("POST", f"/api/studies/{study['id']}/resume")
    assert resumed.status_code == 200
    assert resumed.json()["status"] == "queued"
    done = server.wait_status(study["id"], "completed", timeout=180)
    assert done["progress"]["finished"] == 3

    conflict = server.api("POST", f"/api/studies/{study['id']}/resume")
    assert conflict.status_code == 409
    assert "completed" in conflict.json()["detail"]


def test_delete_removes_study_trials_and_metrics(start_server: Any) -> None:
    server = start_server(workers=1)
    study = server.create_study(**FAST_STUDY, n_trials=2)
    server.wait_status(study["id"], "completed")

    assert server.api("DELETE", f"/api/studies/{study['id']}").status_code == 204
    assert server.api("GET", f"/api/studies/{study['id']}").status_code == 404
    assert server.api("DELETE", f"/api/studies/{study['id']}").status_code == 404
    for table in ("trials", "adamtune_jobs", "adamtune_events"):
        count = f"SELECT COUNT(*) FROM {table} WHERE study_id = :id"
        assert query(server.database_url, count, id=study["id"]) == [(0,)], table


def test_curves_cursor_returns_only_new_points(start_server: Any) -> None:
    server = start_server(workers=1)
    study = server.create_study(**LONG_STUDY, n_trials=2)
    base = f"/api/studies/{study['id']}/curves"
    wait_for(lambda: len(server.api("GET", f"{base}?after=0").json()["points"]["epoch"]) >= 2)

    first = server.api("GET", f"{base}?after=0").json()
    seen = list(zip(first["points"]["trial"], first["points"]["epoch"], strict=True))
    cursor = first["cursor"]
    while len(seen) < 80:  # two trials of 40 epochs, read incrementally
        page = server.api("GET", f"{base}?after={cursor}").json()
        new = list(zip(page["points"]["trial"], page["points"]["epoch"], strict=True))
        assert not set(new) & set(seen), "a point was sent twice"
        assert page["cursor"] >= cursor
        seen += new
        cursor = page["cursor"]
    server.wait_status(study["id"], "completed")
    tail = server.api("GET", f"{base}?after={cursor}").json()
    assert tail["points"]["epoch"] == []
    assert sorted(seen) == [(t, e) for t in range(2) for e in range(1, 41)]
    # the full load agrees with what was read incrementally
    full = server.api("GET", f"{base}?after=0").json()
    assert sorted(zip(full["points"]["trial"], full["points"]["epoch"], strict=True)) == sorted(
        seen
    )


def test_events_stream_epochs_and_resumes_from_last_event_id(start_server: Any) -> None:
    server = start_server(workers=1)
    study = server.create_study(**FAST_STUDY, n_trials=2)
    url = f"{server.url}/api/studies/{study['id']}/events"

    def read_events(headers: dict[str, str], until: int) -> list[dict[str, str]]:
        events: list[dict[str, str]] = []
        current: dict[str, str] = {}
        with server.client.stream("GET", url, headers=headers, timeout=60) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            for line in response.iter_lines():
                if line == "" and current:
                    if "event" in current:  # skip the `retry:` preamble and keep-alives
                        events.append(current)
                    current = {}
                    if len(events) >= until:
                        break
                elif ":" in line and not line.startswith(":"):
                    key, _, value = line.partition(":")
                    current[key] = value.strip()
        return events

    events = read_events({}, until=12)
    kinds = [e["event"] for e in events]
    assert "epoch" in kinds and "trial_started" in kinds
    ids = [int(e["id"]) for e in events]
    assert ids == sorted(ids)

    resumed = read_events({"Last-Event-ID": str(ids[4])}, until=3)
    assert [int(e["id"]) for e in resumed] == ids[5:8]


def test_plain_optuna_study_is_listed_read_only(start_server: Any, database_url: str) -> None:
    import optuna

    storage = optuna.storages.RDBStorage(database_url)
    theirs = optuna.create_study(study_name="their-study", storage=storage)

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", -3, 3)
        for step in range(4):
            trial.report(x * x + 1.0 / (step + 1), step)
        return x * x

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    theirs.optimize(objective, n_trials=5)
    best_value = theirs.best_value
    first_curve = [theirs.trials[0].intermediate_values[s] for s in range(4)]
    storage.engine.dispose()  # the script is done: no connection of it stays open
    server = start_server(workers=0)

    listed = server.api("GET", "/api/studies").json()["studies"]
    assert [(s["name"], s["read_only"]) for s in listed] == [("their-study", True)]
    study_id = listed[0]["id"]
    assert listed[0]["best"]["value"] == pytest.approx(best_value)
    curves = server.api("GET", f"/api/studies/{study_id}/curves?after=0").json()
    assert len(curves["points"]["epoch"]) == 20
    assert curves["points"]["val_loss"][:4] == pytest.approx(first_curve)
    assert server.api("POST", f"/api/studies/{study_id}/stop").status_code == 409
    figure = server.api("GET", f"/api/studies/{study_id}/figures/history")
    assert figure.status_code == 200 and "data" in figure.json()
