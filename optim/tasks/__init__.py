"""Selectable training tasks: the contract (`Task`, `Problem`, `EpochMetrics`), the tasks'
metadata (`TaskInfo`) and the registry. Importing this package does not import torch."""

from __future__ import annotations

from optim.tasks.base import EpochMetrics, Problem, Task, TaskInfo
from optim.tasks.registry import UnknownTaskError, get_task, list_tasks, task_info

__all__ = [
    "EpochMetrics",
    "Problem",
    "Task",
    "TaskInfo",
    "UnknownTaskError",
    "get_task",
    "list_tasks",
    "task_info",
]
