"""Third-party tasks: entry-point loading rules, and the example plugin installed for real."""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from optim.tasks import Problem, Task, UnknownTaskError, get_task, list_tasks, registry
from optim.testing import TaskContract

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "adamtune-task-sine"
BUILTIN_COUNT = len(registry.BUILTIN_TASKS)


class DummyTask(Task):
    name = "dummy"
    description = "a task for registry tests"
    default_epochs = 1
    batch_size = 1

    def build(self, seed: int, device: torch.device) -> Problem:
        raise NotImplementedError


class AbstractTask(Task):
    name = "abstract"  # no build(): cannot be instantiated


class ClashingTask(DummyTask):
    name = "mlp_digits"


class NamelessTask(DummyTask):
    name = ""


@dataclass
class FakeEntryPoint:
    """Stands in for importlib.metadata.EntryPoint: `load` returns or raises `target`."""

    name: str
    target: object

    @property
    def value(self) -> str:
        return f"fake_module:{self.name}"

    def load(self) -> object:
        if isinstance(self.target, BaseException):
            raise self.target
        return self.target


@pytest.fixture
def entry_points(monkeypatch: pytest.MonkeyPatch) -> list[FakeEntryPoint]:
    installed: list[FakeEntryPoint] = []
    monkeypatch.setattr(registry, "_entry_points", lambda: installed)
    return installed


def test_a_plugin_class_is_listed_after_the_builtins(entry_points: list[FakeEntryPoint]) -> None:
    entry_points.append(FakeEntryPoint("dummy", DummyTask))
    tasks = list_tasks()
    assert len(tasks) == BUILTIN_COUNT + 1
    assert tasks[-1] == DummyTask().info()
    assert tasks[-1].implementation == f"{__name__}:DummyTask"
    assert isinstance(get_task("dummy"), DummyTask)


def test_a_plugin_instance_is_used_as_is(entry_points: list[FakeEntryPoint]) -> None:
    instance = DummyTask()
    entry_points.append(FakeEntryPoint("dummy", instance))
    assert get_task("dummy") is instance


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        (ImportError("no module named fake_module"), "failed to load"),
        (AbstractTask, "failed to load"),
        (object(), "is not a Task"),
        (ClashingTask, "already taken"),
        (NamelessTask, "does not set name"),
    ],
)
def test_a_bad_plugin_is_skipped_with_a_warning(
    entry_points: list[FakeEntryPoint],
    caplog: pytest.LogCaptureFixture,
    target: object,
    reason: str,
) -> None:
    entry_points.extend([FakeEntryPoint("bad", target), FakeEntryPoint("dummy", DummyTask)])
    with caplog.at_level(logging.WARNING, logger=registry.__name__):
        names = [task.name for task in list_tasks()]
    assert names == [cls.name for cls in registry.BUILTIN_TASKS] + ["dummy"]
    assert any("bad" in r.getMessage() and reason in r.getMessage() for r in caplog.records)
    assert type(get_task("mlp_digits")).__module__ == "optim.tasks.mlp_digits"


def test_the_first_plugin_to_claim_a_name_wins(entry_points: list[FakeEntryPoint]) -> None:
    first = DummyTask()
    entry_points.extend([FakeEntryPoint("one", first), FakeEntryPoint("two", DummyTask())])
    assert get_task("dummy") is first
    assert len(list_tasks()) == BUILTIN_COUNT + 1


def test_unknown_task_lists_plugins_too(entry_points: list[FakeEntryPoint]) -> None:
    entry_points.append(FakeEntryPoint("dummy", DummyTask))
    with pytest.raises(UnknownTaskError, match="dummy"):
        get_task("no_such_task")


CHILD = """
import json, math
from optim.tasks import get_task, list_tasks
from optim.params import OptimizerParams
from optim.training import train
names = [task.name for task in list_tasks()]
history = train(get_task("sine_regression"), OptimizerParams(), epochs=2, seed=0)
print(json.dumps({"names": names, "val_losses": [m.val_loss for m in history]}))
"""


@pytest.mark.slow  # pip installs the example into a fresh venv
def test_the_example_plugin_installs_and_trains(tmp_path: Path) -> None:
    # pip builds a local project in place: build from a copy so the repository stays clean
    source = shutil.copytree(EXAMPLE, tmp_path / "source")
    target = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation"]
    pip += ["--no-index", "--disable-pip-version-check", "--quiet", "--target", str(target)]
    installed = subprocess.run(
        [*pip, str(source)], capture_output=True, text=True, timeout=300, check=False
    )
    assert installed.returncode == 0, installed.stderr
    (dist_info,) = target.glob("adamtune_task_sine-*.dist-info")
    assert "adamtune.tasks" in (dist_info / "entry_points.txt").read_text()

    path = [str(target), str(ROOT), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in path if p)}
    child = subprocess.run(
        [sys.executable, "-W", "error", "-c", CHILD],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    assert child.returncode == 0, child.stderr
    report = json.loads(child.stdout.strip().splitlines()[-1])
    assert report["names"][-1] == "sine_regression"
    assert report["names"][:BUILTIN_COUNT] == [cls.name for cls in registry.BUILTIN_TASKS]
    assert len(report["val_losses"]) == 2
    assert all(math.isfinite(v) for v in report["val_losses"])

    # the plugin's own tests: adamtune's task contract (adamtune.testing), run by pytest
    contract = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error",
         str(source / "test_sine.py")],
        capture_output=True, text=True, env=env, cwd=source, timeout=300, check=False,
    )  # fmt: skip
    assert contract.returncode == 0, contract.stdout + contract.stderr
    checks = [name for name in dir(TaskContract) if name.startswith("test_")]
    assert f"{len(checks)} passed" in contract.stdout, contract.stdout
