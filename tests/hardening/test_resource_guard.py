"""A bad trial costs one trial, never the worker: a diverging study is recorded with the reason,
a task that raises fails its trials for good (the study still ends), a trial past the time limit
is stopped, and each time the worker goes on to serve the study queued beside it.

The misbehaving tasks are a real plugin: a module plus a `*.dist-info` with `entry_points.txt`
in the `adamtune.tasks` group, put on the server's PYTHONPATH.
"""

from __future__ import annotations

import os
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Server, launch_server, wait_for

pytestmark = pytest.mark.slow

TIME_LIMIT_S = 3
HANG_S = 300  # the hanging task sleeps this long inside its first epoch
# the study beside the misbehaving ones: rosenbrock trains in milliseconds, so even a worker
# just restarted on a loaded machine finishes its trials well inside the 3 s time limit
# (quadratic_deep's first trial after a restart took longer under load)
NORMAL = {"task": "rosenbrock", "n_trials": 2, "epochs": 2, "pruner": "none"}

PLUGIN = f'''
"""Tasks that misbehave on purpose (tests/hardening/test_resource_guard.py)."""

import time

import torch

from optim.tasks.base import Problem, Task


def _problem(*, per_epoch_s=0.0, hang_s=0.0):
    model = torch.nn.Linear(1, 1)
    x = torch.ones(8, 1)

    def train_batches(generator):
        if hang_s:
            time.sleep(hang_s)  # stuck inside an epoch: should_stop is not polled meanwhile
        yield (x,)

    def loss(model, batch):
        return (model(batch[0]) ** 2).mean()

    def evaluate(model):
        time.sleep(per_epoch_s)
        with torch.no_grad():
            return float((model(x) ** 2).mean()), None

    return Problem(model=model, train_batches=train_batches, loss=loss, evaluate=evaluate)


class BoomTask(Task):
    name = "boom"
    description = "build() raises"
    default_epochs = 3
    batch_size = 8

    def build(self, seed, device):
        raise RuntimeError("boom")


class SlowEpochsTask(Task):
    name = "slow_epochs"
    description = "half a second per epoch"
    default_epochs = 60
    batch_size = 8

    def build(self, seed, device):
        return _problem(per_epoch_s=0.5)


class HangTask(Task):
    name = "hang"
    description = "hangs inside its first epoch"
    default_epochs = 3
    batch_size = 8

    def build(self, seed, device):
        return _problem(hang_s={HANG_S})
'''


def install_plugin(directory: Path) -> Path:
    """The plugin as an installed distribution would lay it out; returns the path entry."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "hardening_tasks.py").write_text(PLUGIN)
    dist_info = directory / "hardening_tasks-0.1.dist-info"
    dist_info.mkdir(exist_ok=True)
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: hardening-tasks\nVersion: 0.1\n"
    )
    (dist_info / "entry_points.txt").write_text(
        textwrap.dedent(
            """\
            [adamtune.tasks]
            boom = hardening_tasks:BoomTask
            slow_epochs = hardening_tasks:SlowEpochsTask
            hang = hardening_tasks:HangTask
            """
        )
    )
    return directory


def plugin_env(directory: Path, *, time_limit: bool = False) -> dict[str, str]:
    """The plugin on the path; with `time_limit`, a per-trial limit of TIME_LIMIT_S (only for
    the tests of that limit: on a busy machine a normal trial could reach it too)."""
    path = [str(install_plugin(directory)), os.environ.get("PYTHONPATH", "")]
    env = {"PYTHONPATH": os.pathsep.join(p for p in path if p)}
    if time_limit:
        env["ADAMTUNE_TRIAL_TIME_LIMIT"] = str(TIME_LIMIT_S)
    return env


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One embedded worker, the plugin installed."""
    directory = tmp_path_factory.mktemp("guard")
    started = launch_server(directory, workers=1, env=plugin_env(directory / "plugins"))
    yield started
    started.stop()


def trials(server: Server, study_id: int) -> list[dict[str, Any]]:
    response = server.api("GET", f"/api/studies/{study_id}/trials?limit=1000")
    return response.json()["trials"]  # type: ignore[no-any-return]


def run_beside_a_normal_study(server: Server, payload: dict[str, Any]) -> dict[str, Any]:
    """Queue `payload` and a normal study behind it; both must end. Returns the first."""
    bad = server.create_study(**payload)
    normal = server.create_study(**NORMAL)
    done = server.wait_status(bad["id"], "completed", "failed", timeout=240)
    after = server.wait_status(normal["id"], "completed", timeout=240)
    assert after["progress"]["complete"] == NORMAL["n_trials"]
    return done


def test_the_plugin_tasks_are_installed(server: Server) -> None:
    # the first listing imports the plugin (and torch with it) in the API: seconds when busy
    names = [task["name"] for task in server.api("GET", "/api/tasks", timeout=120).json()]
    assert names[-3:] == ["boom", "slow_epochs", "hang"]


def test_a_diverging_study_is_recorded_and_the_worker_goes_on(server: Server) -> None:
    # Adam moves each weight by about lr per step: at 1e10 the Rosenbrock loss is NaN at once
    fixed = {"lr": 1e10, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
    payload = {
        "task": "rosenbrock",
        "n_trials": 3,
        "epochs": 5,
        "pruner": "none",
        "space": {name: {"value": value} for name, value in fixed.items()},
    }
    done = run_beside_a_normal_study(server, payload)
    assert done["progress"]["pruned"] == 2
    assert done["progress"]["finished"] == 3
    baseline, *diverged = trials(server, done["id"])
    # the baseline trains with the defaults, whatever the space fixes: the gain's reference
    assert baseline["baseline"] and baseline["state"] == "COMPLETE"
    assert done["best"]["trial"] == baseline["number"]
    assert [t["state"] for t in diverged] == ["PRUNED"] * 2
    for trial in diverged:
        assert trial["reason"].startswith("diverged"), trial
        assert "nan" in trial["reason"] or "inf" in trial["reason"]
        assert trial["params"]["lr"] == 1e10


def test_a_task_that_raises_fails_its_trials_and_the_study_still_ends(server: Server) -> None:
    done = run_beside_a_normal_study(server, {"task": "boom", "n_trials": 3})
    assert done["progress"]["failed"] == 3
    found = trials(server, done["id"])
    assert len(found) == 3, "a trial whose task raised is not retried"
    for trial in found:
        assert trial["state"] == "FAIL"
        assert "boom" in trial["reason"], trial
        assert trial["reason"].startswith("RuntimeError")
    assert "Traceback" in server.log()  # the worker logged it, and went on


def test_a_trial_past_its_time_limit_is_stopped_and_failed(
    tmp_path: Path, start_server: Any
) -> None:
    """slow_epochs would train for 30 s; the limit stops each trial after about 3 s."""
    server = start_server(workers=1, env=plugin_env(tmp_path / "plugins", time_limit=True))
    done = run_beside_a_normal_study(
        server, {"task": "slow_epochs", "n_trials": 2, "pruner": "none"}
    )
    found = trials(server, done["id"])
    assert len(found) == 2
    for trial in found:
        assert trial["state"] == "FAIL"
        assert trial["reason"] == (
            f"TrialTimeLimitError: trial exceeded its time limit of {TIME_LIMIT_S} s"
        )
        assert trial["epochs_done"] < 60
        assert trial["duration_s"] < 30


def test_a_trial_that_hangs_inside_an_epoch_is_stopped_by_the_time_limit(
    tmp_path: Path, start_server: Any, start_worker: Any
) -> None:
    """Between epochs the limit is checked cooperatively; a task stuck inside one (here sleeping
    300 s) is failed by the worker's watchdog, which then replaces the worker process with a
    fresh one: the same `adamtune worker` (same pid) goes on to serve the next study."""
    env = plugin_env(tmp_path / "plugins", time_limit=True)
    api = start_server(workers=0, env=env)
    worker = start_worker(api.database_url, env=env)
    study = api.create_study(task="hang", n_trials=1, pruner="none")
    wait_for(lambda: api.study(study["id"])["progress"]["running"] == 1, timeout=120)
    deadline = time.monotonic() + 5 * TIME_LIMIT_S + 10  # far below HANG_S
    state = "RUNNING"
    while state == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.5)
        state = trials(api, study["id"])[0]["state"]
    assert state == "FAIL", f"the trial is still {state} well past its time limit"
    trial = trials(api, study["id"])[0]
    assert trial["reason"] == (
        f"TrialTimeLimitError: trial exceeded its time limit of {TIME_LIMIT_S} s"
        " (stuck inside an epoch)"
    )
    assert trial["duration_s"] < HANG_S
    # a failed-for-good trial is not retried: the study ends with its one trial
    done = api.wait_status(study["id"], "completed", timeout=120)
    assert (done["progress"]["failed"], done["progress"]["running"]) == (1, 0)
    normal = api.create_study(**NORMAL)
    after = api.wait_status(normal["id"], "completed", timeout=120)
    assert after["progress"]["complete"] == NORMAL["n_trials"]
    assert worker.proc.poll() is None, "the worker process exited instead of carrying on"
    assert "restarting the worker process" in worker.log()
