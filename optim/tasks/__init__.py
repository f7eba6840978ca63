"""Selectable training tasks: the contract (`Task`, `Problem`, `EpochMetrics`) and the registry."""

from __future__ import annotations

from optim.tasks.base import EpochMetrics, Problem, Task
from optim.tasks.registry import UnknownTaskError, get_task, list_tasks

__all__ = ["EpochMetrics", "Problem", "Task", "UnknownTaskError", "get_task", "list_tasks"]
