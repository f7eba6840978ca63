"""Long curves on a first load: thinned for the overview, then every new point by cursor."""

from __future__ import annotations

from typing import Any

import optuna
import pytest

from app.downsample import thin_points
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
