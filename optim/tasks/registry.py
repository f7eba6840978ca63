"""Which tasks exist: the built-ins listed here, then third-party ones from entry points.

A package adds a task by declaring, in its pyproject.toml,

    [project.entry-points."adamtune.tasks"]
    my_task = "my_package.module:MyTask"

where the object is a `Task` subclass (instantiated without arguments) or a `Task` instance. A
plugin that fails to load is logged and skipped: one broken package must not take the service
down. Built-in names win over plugins, and the first plugin to claim a name wins over later ones.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from importlib import metadata
from typing import Any

from optim.tasks.base import Task
from optim.tasks.char_lstm import CharLSTMTask
from optim.tasks.cnn_digits import CNNDigitsTask
from optim.tasks.logreg_breast_cancer import LogRegBreastCancerTask
from optim.tasks.mlp_digits import MLPDigitsTask
from optim.tasks.quadratic_deep import QuadraticDeepTask
from optim.tasks.rosenbrock import RosenbrockTask

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "adamtune.tasks"
REQUIRED_ATTRIBUTES = ("name", "description", "default_epochs", "batch_size")

BUILTIN_TASKS: tuple[type[Task], ...] = (
    RosenbrockTask,
    QuadraticDeepTask,
    LogRegBreastCancerTask,
    MLPDigitsTask,
    CNNDigitsTask,
    CharLSTMTask,
)
"""The one place built-in tasks are listed, in the order the CLI and dashboard show them."""


class UnknownTaskError(ValueError):
    """No built-in or installed task has this name."""

    def __init__(self, name: str, known: Iterable[str]) -> None:
        self.name = name
        self.known = list(known)
        super().__init__(f"unknown task {name!r}; known tasks: {', '.join(self.known)}")


def _entry_points() -> Iterable[Any]:
    """The installed `adamtune.tasks` entry points (a seam for tests)."""
    return metadata.entry_points(group=ENTRY_POINT_GROUP)


def _load_plugin(entry_point: Any) -> Task | None:
    """The task an entry point names, or None (logged) when it cannot be used."""
    where = f"{entry_point.name} = {entry_point.value}"
    try:
        loaded = entry_point.load()
        task = loaded() if isinstance(loaded, type) and issubclass(loaded, Task) else loaded
    except Exception:
        logger.warning("skipping task plugin %r: it failed to load", where, exc_info=True)
        return None
    if not isinstance(task, Task):
        logger.warning("skipping task plugin %r: %r is not a Task", where, task)
        return None
    missing = [attr for attr in REQUIRED_ATTRIBUTES if not getattr(task, attr, None)]
    if missing:
        logger.warning("skipping task plugin %r: it does not set %s", where, ", ".join(missing))
        return None
    return task


def _plugins(taken: set[str]) -> list[Task]:
    tasks: list[Task] = []
    for entry_point in _entry_points():
        task = _load_plugin(entry_point)
        if task is None:
            continue
        if task.name in taken:
            logger.warning(
                "skipping task plugin %r: the name %r is already taken",
                f"{entry_point.name} = {entry_point.value}",
                task.name,
            )
            continue
        taken.add(task.name)
        tasks.append(task)
    return tasks


def list_tasks() -> list[Task]:
    """Every available task: the built-ins in `BUILTIN_TASKS` order, then installed plugins."""
    builtins = [cls() for cls in BUILTIN_TASKS]
    return builtins + _plugins({task.name for task in builtins})


def get_task(name: str) -> Task:
    """The task called `name`; plugins are only loaded when it is not a built-in.

    Raises:
        UnknownTaskError: no such task (the message lists the known ones).
    """
    for cls in BUILTIN_TASKS:
        if cls.name == name:
            return cls()
    tasks = list_tasks()
    for task in tasks:
        if task.name == name:
            return task
    raise UnknownTaskError(name, [task.name for task in tasks])
