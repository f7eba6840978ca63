"""The built-in worker's trial lifecycle (app/worker.py), in-process on a real SQLite file."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from optim.tasks import get_task
from tests.app.conftest import Api
from tests.conftest import age_heartbeat, last_heartbeat, wait_for


def test_a_tasks_slow_first_load_is_covered_by_the_heartbeat(
    make_api: Callable[..., Api], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Loading a task's data (`Task.prepare`) can outlast the grace period: the trial beats
    meanwhile, so no other runner fails it as dead and re-runs its params. (Seen under load: a
    two-worker study lost trial 1 while mlp_digits loaded, its first beat 3 s old.)"""
    api = make_api()
    study = api.create_study(
        task="rosenbrock", n_trials=1, epochs=2, pruner="none", validate_seeds=0, name="slow load"
    )
    claim = api.worker.claim()
    assert claim is not None
    storage, trial_id = claim.runner.storage, claim.lease.trial_id
    looked: list[bool] = []

    def slow_prepare(_task: Any) -> None:
        aged = age_heartbeat(storage, trial_id)  # as if the load had taken an hour ...
        # ... the trial beats while it loads, and a runner looking for dead trials finds none
        wait_for(lambda: last_heartbeat(storage, trial_id) > aged, timeout=15)
        claim.runner.fail_dead_trials()
        looked.append(True)

    monkeypatch.setattr(type(get_task("rosenbrock")), "prepare", slow_prepare)
    api.worker.run_trial(claim)

    assert looked == [True]
    trials = api.trials(study["id"])
    assert [(t["number"], t["state"]) for t in trials] == [(0, "COMPLETE")]
