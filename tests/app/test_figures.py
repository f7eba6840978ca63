"""Figures in-process: concurrent requests for one figure (in any parameter order) build it
once, a full set of build slots answers 503 with Retry-After instead of queueing, and a
watched study's importances are built when its trials finish, before anyone asks."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from app import figure_cache
from tests.app.conftest import Api
from tests.conftest import wait_for

STUDY = {"task": "logreg_breast_cancer", "epochs": 2, "pruner": "none", "sampler": "random"}


def test_concurrent_requests_for_one_figure_build_it_once(api: Api, monkeypatch: Any) -> None:
    study = api.create_study(**STUDY, n_trials=6)
    api.work()
    cache = api.client.app.state.adamtune.figures  # type: ignore[attr-defined]
    release = threading.Event()
    original = figure_cache.build_figure

    def slow_build(*args: Any) -> str:
        release.wait(timeout=30)  # every request arrives while the first build runs
        return original(*args)

    monkeypatch.setattr(figure_cache, "build_figure", slow_build)
    orders = ["lr,one_minus_beta1", "one_minus_beta1,lr"] * 4
    url = f"/api/studies/{study['id']}/figures/slice?params="
    with ThreadPoolExecutor(len(orders)) as pool:
        futures = [pool.submit(api.get, url + order) for order in orders]
        wait_for(lambda: sum(1 for f in futures if not f.done()) == len(orders), timeout=10)
        release.set()
        answers = [f.result(timeout=60) for f in futures]
    assert [a.status_code for a in answers] == [200] * len(orders)
    assert len({a.text for a in answers}) == 1
    assert cache.builds == 1


def test_busy_build_slots_answer_503_with_retry_after(make_api: Any, monkeypatch: Any) -> None:
    api: Api = make_api(figures_in_flight=1)
    study = api.create_study(**STUDY, n_trials=4)
    api.work()
    cache = api.client.app.state.adamtune.figures  # type: ignore[attr-defined]
    cache._max_wait_s = 0.5  # noqa: SLF001
    release = threading.Event()
    original = figure_cache.build_figure
    monkeypatch.setattr(
        figure_cache, "build_figure", lambda *a: (release.wait(timeout=30), original(*a))[1]
    )
    base = f"/api/studies/{study['id']}/figures"
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(api.get, f"{base}/history")
        wait_for(lambda: cache.builds == 1, timeout=10)
        busy = api.get(f"{base}/edf")  # another figure: no slot within the wait
        release.set()
        assert first.result(timeout=60).status_code == 200
    assert busy.status_code == 503 and int(busy.headers["retry-after"]) > 0


def test_a_watched_studys_importances_are_built_before_anyone_asks(api: Api) -> None:
    study = api.create_study(**STUDY, n_trials=5)
    cache = api.client.app.state.adamtune.figures  # type: ignore[attr-defined]
    with api.client.stream("GET", f"/api/studies/{study['id']}/events") as stream:
        lines = stream.iter_lines()
        next(lines)  # the stream (and its feed) is open
        api.work()
        wait_for(lambda: cache.cached(study["id"], "importances"), timeout=60)
    built = cache.builds
    answer = api.get(f"/api/studies/{study['id']}/figures/importances")
    assert answer.status_code == 200 and "data" in answer.json()
    assert cache.builds == built  # served from the cache: no build on the click


def test_every_figure_of_a_study_tuning_a_schedule_draws_its_decay_shapes(api: Api) -> None:
    """The decay shape is categorical: each figure draws it by name (the parallel coordinates
    with one tick per shape), the numbers as numbers."""
    space = {"warmup": {"low": 0.0, "high": 0.2}, "decay": {"choices": ["cosine", "linear"]}}
    study = api.create_study(task="rosenbrock", epochs=2, pruner="none", validate_seeds=0,
                             n_trials=6, sampler="random", space=space)  # fmt: skip
    assert api.work() == 6
    kinds = ("history", "parallel_coordinate", "importances", "slice", "edf", "timeline", "contour")
    for kind in kinds:
        response = api.get(f"/api/studies/{study['id']}/figures/{kind}")
        assert response.status_code == 200, (kind, response.text)
        names = [p["name"] for p in response.json()["layout"]["meta"]["params"]]
        assert {"warmup", "decay"} <= set(names), (kind, names)
    parcoords = api.get(f"/api/studies/{study['id']}/figures/parallel_coordinate").json()
    dims = {d["label"]: d for d in parcoords["data"][0]["dimensions"]}
    assert dims["decay"]["ticktext"] == ["cosine", "linear"]
    assert set(dims["decay"]["values"]) <= {0, 1} and dims["warmup"]["values"]
    contour = api.get(f"/api/studies/{study['id']}/figures/contour?params=warmup,decay")
    assert contour.status_code == 200, contour.text
