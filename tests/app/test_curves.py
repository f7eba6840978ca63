"""Long curves on a first load: thinned for the overview, then every new point by cursor."""

from __future__ import annotations

from typing import Any

import optuna
import pytest

from app.downsample import thin_points
from app.schemas import CurvesPublic
from optim.storage import make_storage


def test_thin_points_keeps_first_last_and_order() -> None:
    points = {
        "trial": [0] * 1000 + [1] * 30,
        "epoch": list(range(1, 1001)) + list(range(1, 31)),
        "val_loss": [1.0 / e for e in range(1, 1001)] + [2.0] * 30,
    }
    thin = thin_points(points, 100)
    first = [e for t, e in zip(thin["trial"], thin["epoch"], strict=True) if t == 0]
    assert len(first) == 100
    assert first[0] == 1 and first[-1] == 1000
    assert first == sorted(first)
    steps = {b - a for a, b in zip(first, first[1:], strict=False)}
    assert steps <= {10, 11}  # evenly spaced
    assert thin["epoch"][100:] == list(range(1, 31))  # a short curve keeps every point
    assert thin["val_loss"][:100] == [1.0 / e for e in first]  # columns stay aligned
    assert thin_points(points, 1000) is points
    with pytest.raises(ValueError):
        thin_points(points, 1)


def test_first_load_thins_long_curves_and_the_cursor_sends_every_new_point(
    make_api: Any, database_url: str
) -> None:
    storage = make_storage(database_url)  # tuned SQLite: 1,240 reports in well under a second
    study = optuna.create_study(study_name="long-curves", storage=storage)
    finished = study.ask()
    for step in range(1200):
        finished.report(1.0 / (step + 1), step)
    study.tell(finished, 1.0 / 1200)
    running = study.ask()
    for step in range(40):
        running.report(2.0, step)
    server = make_api()
    study_id = server.get("/api/studies").json()["studies"][0]["id"]
    base = f"/api/studies/{study_id}/curves"

    default = server.get(f"{base}?after=0").json()["points"]  # 500 points at most
    assert default["trial"].count(0) == 500 and default["trial"].count(1) == 40
    first = server.get(f"{base}?after=0&max_points=50").json()
    points = first["points"]
    by_trial = [e for t, e in zip(points["trial"], points["epoch"], strict=True) if t == 0]
    assert len(by_trial) == 50
    assert (by_trial[0], by_trial[-1]) == (0, 1199)
    assert first["trials"][0]["epochs_done"] == 1200  # the table still counts every epoch
    assert server.get(f"{base}?after=0&max_points=1").status_code == 422

    for step in range(40, 45):
        running.report(3.0, step)
    more = server.get(f"{base}?after={first['cursor']}&max_points=2").json()["points"]
    assert more["trial"] == [1] * 5
    assert more["epoch"] == [40, 41, 42, 43, 44]
    storage.engine.dispose()


def test_all_trials_answer_is_the_models_json_kept_while_finished_and_gzipped(
    make_api: Any, database_url: str
) -> None:
    """The first load is encoded without the pydantic model: it must be the model's own JSON
    (every TrialPublic field, NaN as null); a finished study's answer is kept and served
    again, a new trial makes a fresh one; a big answer goes gzipped to a client that takes it."""
    storage = make_storage(database_url)
    study = optuna.create_study(study_name="kept", storage=storage)
    for number in range(30):
        trial = study.ask({"lr": optuna.distributions.FloatDistribution(1e-5, 1e-1, log=True)})
        for step in range(400):
            trial.report(float("nan") if step == 3 else 1.0 / (step + 1 + number), step)
        study.tell(trial, 0.5 + number)
    server = make_api()
    study_id = server.get("/api/studies").json()["studies"][0]["id"]
    url = f"/api/studies/{study_id}/curves?after=0&max_trials=100000&max_points=1000000"
    cache = server.client.app.state.adamtune.curves

    plain = server.get(url, headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200 and "content-encoding" not in plain.headers
    body = plain.json()
    assert CurvesPublic.model_validate(body).model_dump(mode="json") == body
    assert len(body["trials"]) == 30 and len(body["points"]["trial"]) == 30 * 400
    assert body["points"]["val_loss"][3] is None  # NaN: a gap, as the model writes it
    assert len(cache) == 1  # finished: kept

    zipped = server.get(url, headers={"Accept-Encoding": "gzip, deflate"})
    assert zipped.headers["content-encoding"] == "gzip"  # 12,000 points: over 256 kB
    assert zipped.json() == body  # the client decoded it
    assert server.get(url).json() == body

    running = study.ask()  # the study moves: the kept answer is not served again
    running.report(0.25, 0)
    fresh = server.get(url, headers={"Accept-Encoding": "identity"}).json()
    assert fresh["total_trials"] == 31 and fresh["points"]["trial"][-1] == 30
    assert len(cache) == 0  # the old version is dropped, the running study's is not kept
    storage.engine.dispose()
