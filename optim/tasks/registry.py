"""Which tasks exist: the built-ins of `optim.tasks.catalog`, then plugins from entry points.

Listing and looking up a built-in task imports no task module, hence no torch: the API process
only needs `list_tasks` and `task_info`, and stays light. A built-in task's module is imported by
`get_task`, when a task is about to be built and trained (in a worker or the CLI).

A package adds a task by declaring, in its pyproject.toml,

    [project.entry-points."adamtune.tasks"]
    my_task = "my_package.module:MyTask"

where the object is a `Task` subclass (instantiated without arguments) or a `Task` instance. A
plugin that fails to load is logged and skipped: one broken package must not take the service
down. Built-in names win over plugins, and the first plugin to claim a name wins over later ones.
Listing plugins loads their entry points, which imports their modules (and, with them, usually
torch): only a process with a plugin installed pays for it, built-in tasks never do.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable
from importlib import metadata
from typing import Any

from optim.tasks.base import Task, TaskInfo
from optim.tasks.catalog import BUILTIN_TASKS

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "adamtune.tasks"
REQUIRED_ATTRIBUTES = ("name", "description", "default_epochs", "batch_size")


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


def _builtin(name: str) -> TaskInfo | None:
    return next((info for info in BUILTIN_TASKS if info.name == name), None)


def _load_builtin(info: TaskInfo) -> Task:
    """Import a built-in task's module (and torch with it) and instantiate its class."""
    module_name, _, attribute = info.implementation.partition(":")
    cls = getattr(importlib.import_module(module_name), attribute)
    task = cls()
    assert isinstance(task, Task) and task.name == info.name, info
    return task


def list_tasks() -> list[TaskInfo]:
    """Every available task: the built-ins in `BUILTIN_TASKS` order, then installed plugins."""
    taken = {info.name for info in BUILTIN_TASKS}
    return [*BUILTIN_TASKS, *(task.info() for task in _plugins(taken))]


def task_info(name: str) -> TaskInfo:
    """The metadata of the task called `name`; plugins are only loaded when it is not a built-in.

    Raises:
        UnknownTaskError: no such task (the message lists the known ones).
    """
    info = _builtin(name)
    if info is not None:
        return info
    tasks = list_tasks()
    for info in tasks:
        if info.name == name:
            return info
    raise UnknownTaskError(name, [info.name for info in tasks])


def get_task(name: str) -> Task:
    """The task called `name`, ready to build; plugins are only loaded when it is not a built-in.

    Raises:
        UnknownTaskError: no such task (the message lists the known ones).
    """
    info = _builtin(name)
    if info is not None:
        return _load_builtin(info)
    plugins = _plugins({info.name for info in BUILTIN_TASKS})
    for task in plugins:
        if task.name == name:
            return task
    known = [info.name for info in BUILTIN_TASKS] + [task.name for task in plugins]
    raise UnknownTaskError(name, known)
