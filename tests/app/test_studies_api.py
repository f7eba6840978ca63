"""Study lifecycle through the REST API in-process (TestClient, in-process worker), on SQLite
and PostgreSQL: exactly n trials, seeds, stop and resume, delete, cursors, events."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import optuna
import pytest
import torch

from app.cli import main
from tests.app.conftest import Api
from tests.conftest import both_databases, query, trial_states, wait_for

# no validation after the search (tests/app/test_validation.py has those): trial counts exact
FAST_STUDY = {"task": "logreg_breast_cancer", "epochs": 3, "pruner": "none", "validate_seeds": 0}
# cnn_digits with 12 epochs is a trial of a few seconds: long enough to catch it running
LONG_STUDY = {"task": "cnn_digits", "epochs": 12, "pruner": "none", "validate_seeds": 0}
DEFAULT_ADAM = {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0}


def points_of(curves: dict[str, Any]) -> list[tuple[int, int]]:
    return list(zip(curves["points"]["trial"], curves["points"]["epoch"], strict=True))


@both_databases
def test_submitted_study_completes_with_exactly_n_trials(api: Api) -> None:
    response = api.post("/api/studies", json={**FAST_STUDY, "n_trials": 7, "name": "exact"})
    assert response.status_code == 201
    study = response.json()
    assert response.headers["location"] == f"/api/studies/{study['id']}"
    assert study["status"] == "queued"

    assert api.work() == 7
    done = api.study(study["id"])
    assert done["status"] == "completed"
    assert done["progress"]["finished"] == 7
    assert trial_states(api.settings.database_url, study["id"]) == {"COMPLETE": 7}
    # the baseline is trial 0 with torch's defaults, and the gain is measured against it
    assert done["baseline"]["trial"] == 0
    trials = api.trials(study["id"], sort="number")
    assert len(trials) == 7
    baseline = trials[0]
    assert baseline["baseline"] is True
    assert baseline["params"] == DEFAULT_ADAM
    best = min(t["value"] for t in trials if t["state"] == "COMPLETE")
    assert done["best"]["value"] == pytest.approx(best)
    assert done["gain"] == pytest.approx((baseline["value"] - best) / baseline["value"])
    assert all(t["epochs_done"] == 3 for t in trials)
    for sort in ("value", "duration"):
        page = api.trials(study["id"], sort=sort, order="desc")
        key = "value" if sort == "value" else "duration_s"
        values = [t[key] for t in page if t[key] is not None]
        assert values == sorted(values, reverse=True), sort


def test_same_seed_gives_the_same_trials_as_the_cli(
    api: Api, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Trial n's sampler is seeded from the study's seed and n, so two studies with one seed
    propose the same parameters trial for trial, and `adamtune tune` with that seed too (run
    in this process: a fresh interpreter costs seconds of imports, and is not the point)."""
    payload = {**FAST_STUDY, "sampler": "random", "seed": 7, "n_trials": 6}
    ids = [api.create_study(**payload, name=f"seeded-{i}")["id"] for i in range(2)]
    api.work()
    params = [[t["params"] for t in api.trials(study_id, sort="number")] for study_id in ids]
    assert len(params[0]) == 6
    assert params[0] == params[1]
    assert len({json.dumps(p, sort_keys=True) for p in params[0]}) == 6  # distinct proposals

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    threads = torch.get_num_threads()  # `tune` sets its process's thread count
    try:
        code = main(["tune", "--task", FAST_STUDY["task"], "--trials", "6", "--epochs", "3",
                     "--pruner", "none", "--sampler", "random", "--seed", "7",
                     "--validate-seeds", "0", "--storage", url, "--name", "cli-seeded",
                     "--quiet"])  # fmt: skip
    finally:
        torch.set_num_threads(threads)
    assert code == 0, capsys.readouterr().err
    cli_trials = optuna.load_study(study_name="cli-seeded", storage=url).trials
    assert [t.user_attrs["adam"] for t in cli_trials] == params[0]


@both_databases
def test_stop_interrupts_running_trials_and_resume_re_runs_them(api: Api) -> None:
    """Stop ends running trials at their next epoch without counting them; Resume re-runs
    their params first, and the study still ends with exactly n_trials. 40 epochs: on a quiet
    machine 12 of cnn_digits could end before the stop lands (the trial completes, nothing to
    interrupt)."""
    study = api.create_study(**{**LONG_STUDY, "epochs": 40}, n_trials=2)
    with api.working():
        wait_for(lambda: api.study(study["id"])["progress"]["running"] == 1, timeout=60)
        running = api.trials(study["id"], state="RUNNING")[0]
        stopped = api.post(f"/api/studies/{study['id']}/stop")
        assert stopped.status_code == 200
        assert stopped.json()["status"] in ("stopping", "stopped")
        api.wait_status(study["id"], "stopped")
        # the interrupted trial's params, queued again just after its FAIL is told: a claim
        # loop that saw no running trial in between may turn the status first
        after = wait_for(
            lambda: (s := api.study(study["id"]))["progress"]["waiting"] == 1 and s, timeout=30
        )
    assert after["status"] == "stopped" and after["progress"]["running"] == 0
    (interrupted,) = api.trials(study["id"], state="FAIL")
    assert interrupted["number"] == running["number"]
    assert interrupted["reason"].startswith("stopped")
    assert interrupted["epochs_done"] < 40
    assert api.post(f"/api/studies/{study['id']}/stop").status_code == 200  # still stopped

    resumed = api.post(f"/api/studies/{study['id']}/resume")
    assert resumed.status_code == 200 and resumed.json()["status"] == "queued"
    api.work()
    done = api.study(study["id"])
    assert done["status"] == "completed"
    assert done["progress"]["finished"] == 2
    rerun = next(t for t in api.trials(study["id"]) if t["number"] > interrupted["number"])
    assert rerun["params"] == interrupted["params"]
    conflict = api.post(f"/api/studies/{study['id']}/resume")
    assert conflict.status_code == 409
    assert "completed" in conflict.json()["detail"]


@both_databases
def test_delete_removes_study_trials_and_metrics(api: Api) -> None:
    study = api.create_study(**FAST_STUDY, n_trials=2)
    api.work()
    assert api.delete(f"/api/studies/{study['id']}").status_code == 204
    assert api.get(f"/api/studies/{study['id']}").status_code == 404
    assert api.delete(f"/api/studies/{study['id']}").status_code == 404
    for table in ("trials", "adamtune_jobs", "adamtune_events"):
        count = f"SELECT COUNT(*) FROM {table} WHERE study_id = :id"
        assert query(api.settings.database_url, count, id=study["id"]) == [(0,)], table


@both_databases
def test_a_study_created_after_a_delete_runs_its_own_config(api: Api) -> None:
    """Create A, run it, delete it, create B: B gets a new id, and the worker that ran A runs
    B's own task and space for exactly B's trials (it keys studies by uid, never by id)."""
    fixed = {"lr": {"value": 0.5}, "beta1": {"value": 0.9}, "beta2": {"value": 0.999},
             "eps": {"value": 1e-8}}  # fmt: skip
    a = api.create_study(task="rosenbrock", epochs=2, n_trials=3, space=fixed, validate_seeds=0)
    api.work()
    assert api.study(a["id"])["status"] == "completed"
    assert api.delete(f"/api/studies/{a['id']}").status_code == 204

    b = api.create_study(
        task="mlp_digits", epochs=2, n_trials=3, sampler="random", pruner="none", validate_seeds=0
    )
    assert b["id"] != a["id"]
    assert api.work() == 3
    done = api.study(b["id"])
    assert (done["status"], done["progress"]["finished"]) == ("completed", 3)
    trials = api.trials(b["id"], sort="number")
    assert [t["state"] for t in trials] == ["COMPLETE"] * 3
    assert trials[0]["baseline"] and trials[0]["params"]["lr"] == 1e-3
    assert len({t["params"]["lr"] for t in trials}) == 3  # B's range, not A's fixed 0.5
    started = query(
        api.settings.database_url,
        "SELECT COUNT(*) FROM adamtune_events WHERE study_id = :id AND kind = 'trial_started'",
        id=b["id"],
    )
    assert started == [(3,)]


def test_a_watched_study_loses_no_point_when_another_is_deleted(api: Api) -> None:
    """The curves cursor is per study: deleting another study (whose events were the newest)
    never makes the watched one's new points fall behind the cursor."""
    a = api.create_study(**FAST_STUDY, n_trials=1, name="a")
    b = api.create_study(**FAST_STUDY, n_trials=2, name="b")
    claim = api.worker.claim()  # A is older: its trial runs first, its events are the newest
    assert claim is not None and claim.job.study_id == a["id"]
    api.worker.run_trial(claim)
    first = api.get(f"/api/studies/{b['id']}/curves?after=0").json()
    assert points_of(first) == []
    assert api.delete(f"/api/studies/{a['id']}").status_code == 204

    api.work()
    later = api.get(f"/api/studies/{b['id']}/curves?after={first['cursor']}").json()
    full = api.get(f"/api/studies/{b['id']}/curves?after=0").json()
    assert (
        sorted(points_of(later))
        == sorted(points_of(full))
        == [(t, e) for t in range(2) for e in range(1, 4)]
    )
    # after the cursor: running, 2 x (started, 3 epochs, finished), completed
    events = read_events(api, b["id"], {"Last-Event-ID": str(first["cursor"])}, until=12)
    assert [e["event"] for e in events].count("epoch") == 6


@both_databases
def test_a_log_scale_weight_decay_range_keeps_the_default_baseline(api: Api) -> None:
    space = {"weight_decay": {"low": 1e-6, "high": 1e-2, "log": True}}
    study = api.create_study(**FAST_STUDY, n_trials=3, space=space)
    assert api.work() == 3
    done = api.study(study["id"])
    assert (done["status"], done["progress"]["complete"]) == ("completed", 3)
    assert done["baseline"]["value"] is not None and done["gain"] is not None
    baseline = api.trials(study["id"], sort="number")[0]
    assert baseline["params"]["weight_decay"] == 0.0


@both_databases
def test_a_study_tunes_a_schedule_and_reports_it_with_its_paste_text(api: Api) -> None:
    """Schedule dimensions in the request: the study stores them, its trials train and show
    their schedule, the baseline is torch's Adam with none, and the best's line to paste
    carries its scheduler in torch.optim.lr_scheduler terms."""
    space = {
        "warmup": {"low": 0.0, "high": 0.2},
        "decay": {"choices": ["cosine", "linear"]},
        "final_fraction": {"low": 0.0, "high": 0.5},
    }
    study = api.create_study(**FAST_STUDY, n_trials=4, space=space, sampler="random")
    assert study["space"]["decay"] == {"choices": ["cosine", "linear"], "value": None}
    assert study["space"]["warmup"] == {"low": 0.0, "high": 0.2, "log": False, "value": None}
    assert api.work() == 4
    done = api.study(study["id"])
    assert (done["status"], done["progress"]["complete"]) == ("completed", 4)
    baseline, *tuned = api.trials(study["id"], sort="number")
    assert baseline["params"] == DEFAULT_ADAM  # no schedule: torch.optim.Adam() as it is
    for trial in tuned:
        assert trial["params"]["decay"] in ("cosine", "linear")
        assert 0.0 <= trial["params"]["warmup"] <= 0.2
        assert 0.0 <= trial["params"]["final_fraction"] <= 0.5
    best = done["best"]
    line = best["torch_line"]
    if best["trial"] == 0:
        assert "lr_scheduler" not in line and line.startswith("torch.optim.Adam(")
    else:
        assert line.startswith("optimizer = torch.optim.Adam(model.parameters(), lr=")
        shape = {"cosine": "CosineAnnealingLR", "linear": "LinearLR"}[best["params"]["decay"]]
        assert f"torch.optim.lr_scheduler.{shape}(" in line
        assert f"int({best['params']['warmup']:.6g} * total_steps)" in line


@pytest.mark.parametrize(
    ("space", "field"),
    [
        ({"decay": {"value": "exponential"}}, ["body", "space", "decay", "value"]),
        ({"warmup": {"low": 0.0, "high": 1.0}}, ["body", "space", "warmup"]),
        ({"final_fraction": {"value": 2.0}}, ["body", "space", "final_fraction"]),
    ],
)
def test_bad_schedule_dimensions_are_a_422_naming_the_field(
    api: Api, space: dict[str, Any], field: list[str]
) -> None:
    response = api.post("/api/studies", json={**FAST_STUDY, "space": space})
    assert response.status_code == 422, response.text
    locs = [e["loc"] for e in response.json()["detail"]]
    assert field in locs, locs


def test_the_schedule_preset_is_offered_and_tunes_the_schedule(api: Api) -> None:
    options = api.get("/api/options").json()
    assert "schedule" in options["presets"] and options["decays"] == [
        "constant",
        "cosine",
        "linear",
    ]
    adam = next(o for o in options["optimizers"] if o["name"] == "adam")
    assert adam["presets"]["default"]["decay"] == {"choices": None, "value": "constant"}
    assert adam["presets"]["schedule"]["decay"]["choices"] == ["constant", "cosine", "linear"]
    assert adam["ranges"]["default"]["warmup"] == [0.0, 0.2]
    study = api.create_study(**FAST_STUDY, n_trials=2, preset="schedule")
    assert study["space"]["warmup"]["low"] == 0.0 and study["space"]["decay"]["choices"]


def test_curves_cursor_returns_only_new_points(api: Api) -> None:
    study = api.create_study(**{**LONG_STUDY, "epochs": 10}, n_trials=2)
    base = f"/api/studies/{study['id']}/curves"
    seen: list[tuple[int, int]] = []
    cursor = 0
    with api.working():
        while len(seen) < 20:  # two trials of 10 epochs, read incrementally while they train
            page = api.get(f"{base}?after={cursor}").json()
            new = points_of(page)
            assert not set(new) & set(seen), "a point was sent twice"
            assert page["cursor"] >= cursor
            seen += new
            cursor = page["cursor"]
        api.wait_status(study["id"], "completed")
    assert points_of(api.get(f"{base}?after={cursor}").json()) == []
    assert sorted(seen) == [(t, e) for t in range(2) for e in range(1, 11)]
    assert sorted(points_of(api.get(f"{base}?after=0").json())) == sorted(seen)


def read_events(
    api: Api, study_id: int, headers: dict[str, str], until: int
) -> list[dict[str, str]]:
    """Parsed SSE events of a study until `until` of them came (the stream stays open)."""
    events: list[dict[str, str]] = []
    current: dict[str, str] = {}
    url = f"/api/studies/{study_id}/events"
    with api.client.stream("GET", url, headers=headers, timeout=60) as response:
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


@both_databases
def test_events_stream_epochs_and_resume_from_last_event_id(api: Api) -> None:
    study = api.create_study(**FAST_STUDY, n_trials=2)
    api.work()
    events = read_events(api, study["id"], {}, until=12)
    kinds = [e["event"] for e in events]
    assert kinds[:2] == ["study_status", "study_status"]  # queued, running
    assert "epoch" in kinds and "trial_started" in kinds
    ids = [int(e["id"]) for e in events]
    assert ids == sorted(ids)
    resumed = read_events(api, study["id"], {"Last-Event-ID": str(ids[4])}, until=3)
    assert [int(e["id"]) for e in resumed] == ids[5:8]


def test_plain_optuna_study_is_listed_read_only(make_api: Any, database_url: str) -> None:
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
    storage.engine.dispose()
    api: Api = make_api()

    listed = api.get("/api/studies").json()["studies"]
    assert [(s["name"], s["read_only"]) for s in listed] == [("their-study", True)]
    study_id = listed[0]["id"]
    assert listed[0]["best"]["value"] == pytest.approx(best_value)
    curves = api.get(f"/api/studies/{study_id}/curves?after=0").json()
    assert len(curves["points"]["epoch"]) == 20
    assert curves["points"]["val_loss"][:4] == pytest.approx(first_curve)
    assert api.post(f"/api/studies/{study_id}/stop").status_code == 409
    figure = api.get(f"/api/studies/{study_id}/figures/history")
    assert figure.status_code == 200 and "data" in figure.json()


def test_deleting_a_running_study_is_quiet_and_the_worker_goes_on(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    """No traceback and nothing at ERROR for a study deleted under a running trial (it logged
    two KeyError tracebacks); the worker serves the next study."""
    doomed = api.create_study(**LONG_STUDY, n_trials=3)
    after = api.create_study(**FAST_STUDY, n_trials=1)
    with caplog.at_level("INFO"), api.working():
        wait_for(lambda: api.study(doomed["id"])["progress"]["running"] == 1, timeout=60)
        wait_for(lambda: api.trials(doomed["id"])[0]["epochs_done"] >= 1, timeout=60)
        assert api.delete(f"/api/studies/{doomed['id']}").status_code == 204
        api.wait_status(after["id"], "completed")
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")], [
        r.getMessage() for r in caplog.records if r.levelname == "ERROR"
    ]
    assert not [r for r in caplog.records if r.exc_info]
    assert any("was deleted" in r.getMessage() for r in caplog.records)


def test_figures_do_not_log_a_study_per_build(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    study = api.create_study(**FAST_STUDY, n_trials=3)
    api.work()
    with caplog.at_level("INFO"):
        assert api.get(f"/api/studies/{study['id']}/figures/history").status_code == 200
    assert not [r for r in caplog.records if "new study created" in r.getMessage()]
