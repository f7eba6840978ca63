"""The contract every training task implements, and the per-epoch record it produces.

A task knows its data and model, nothing about Optuna or the web service: the training loop in
`optim.training` turns a `Problem` plus Adam hyper-parameters into a list of `EpochMetrics`.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import torch

Batch = Any
"""Whatever one step of a task consumes (a tuple of tensors for most tasks)."""


@dataclass(frozen=True)
class EpochMetrics:
    """What one finished epoch of one trial measured."""

    epoch: int  # 1-based
    train_loss: float  # mean loss over the epoch's training steps
    val_loss: float  # the task's objective; DeepOBS's "test loss" for the DeepOBS problems
    val_accuracy: float | None  # None where the task has no notion of accuracy
    elapsed_s: float  # seconds since the trial started training


@dataclass
class Problem:
    """A task instantiated for one trial: a fresh model and the functions the loop calls.

    Attributes:
        model: holds every parameter the optimizer updates.
        train_batches: yields one epoch of batches; it is given a seeded generator so the batch
            order is a function of the trial's seed and the epoch alone.
        loss: the training loss of one batch (a scalar tensor that requires grad).
        evaluate: (validation loss, validation accuracy or None), computed without grad.
    """

    model: torch.nn.Module
    train_batches: Callable[[torch.Generator], Iterator[Batch]]
    loss: Callable[[torch.nn.Module, Batch], torch.Tensor]
    evaluate: Callable[[torch.nn.Module], tuple[float, float | None]]


class Task(abc.ABC):
    """A selectable training task.

    Subclasses set the class attributes and implement `build`. They are listed once in
    `optim.tasks.registry` (built-ins) or exposed through the `adamtune.tasks` entry-point group
    (third-party packages).
    """

    name: ClassVar[str]
    description: ClassVar[str]  # one line, shown in the CLI and the dashboard
    metric: ClassVar[str] = "val_loss"  # what the study minimises
    has_accuracy: ClassVar[bool] = False
    default_epochs: ClassVar[int]
    batch_size: ClassVar[int]

    @abc.abstractmethod
    def build(self, seed: int, device: torch.device) -> Problem:
        """Make the data (cached is fine: it must not depend on `seed` unless stated) and a
        freshly initialised model whose weights depend on `seed` only."""
