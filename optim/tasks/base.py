"""The contract every training task implements, its metadata, and the per-epoch record.

A task knows its data and model, nothing about Optuna or the web service: the training loop in
`optim.training` turns a `Problem` plus Adam hyper-parameters into a list of `EpochMetrics`.

This module does not import torch (torch appears in annotations only), so that `TaskInfo` and the
registry can be used by the API process, which lists and validates tasks but never trains one.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import torch

Batch = Any
"""Whatever one step of a task consumes (a tuple of tensors for most tasks)."""


@dataclass(frozen=True)
class TaskInfo:
    """What is known about a task without importing its implementation (nor torch).

    The service lists tasks and validates studies with this alone; `implementation` says where
    the `Task` itself lives, as "module:attribute".
    """

    name: str
    description: str  # one line, shown in the CLI and the dashboard
    default_epochs: int
    batch_size: int
    implementation: str
    metric: str = "val_loss"  # what the study minimises
    has_accuracy: bool = False


@dataclass(frozen=True)
class EpochMetrics:
    """What one finished epoch of one trial measured."""

    epoch: int  # 1-based
    train_loss: float  # mean loss over the epoch's training steps
    val_loss: float  # the task's objective; DeepOBS's "test loss" for the DeepOBS problems
    val_accuracy: float | None  # None where the task has no notion of accuracy
    elapsed_s: float  # seconds since the trial started training
    val_loss_std: float | None = None  # spread of val_loss over a trial's seeds (k > 1)
    # the held-out test split, measured after the last epoch only (None on other epochs)
    test_loss: float | None = None
    test_accuracy: float | None = None


@dataclass
class Problem:
    """A task instantiated for one trial: a fresh model and the functions the loop calls.

    Attributes:
        model: holds every parameter the optimizer updates.
        train_batches: yields one epoch of batches; it is given a seeded generator so the batch
            order is a function of the trial's seed and the epoch alone.
        loss: the training loss of one batch (a scalar tensor that requires grad).
        evaluate: (validation loss, validation accuracy or None), computed without grad. The
            validation split is what a search selects on.
        test: the same on a held-out test split that no search sees: what a validated result
            reports. None: the task has no separate test split (its validation split is used).
    """

    model: torch.nn.Module
    train_batches: Callable[[torch.Generator], Iterator[Batch]]
    loss: Callable[[torch.nn.Module, Batch], torch.Tensor]
    evaluate: Callable[[torch.nn.Module], tuple[float, float | None]]
    test: Callable[[torch.nn.Module], tuple[float, float | None]] | None = None


class Task(abc.ABC):
    """A selectable training task.

    Subclasses set the class attributes and implement `build`. Third-party tasks set the
    attributes directly and are exposed through the `adamtune.tasks` entry-point group. Built-in
    tasks take them from their `TaskInfo` in `optim.tasks.catalog`, which the registry lists
    without importing the task's module: `class MyTask(Task, info=catalog.MY_TASK)`.
    """

    name: ClassVar[str]
    description: ClassVar[str]  # one line, shown in the CLI and the dashboard
    metric: ClassVar[str] = "val_loss"  # what the study minimises
    has_accuracy: ClassVar[bool] = False
    default_epochs: ClassVar[int]
    batch_size: ClassVar[int]

    def __init_subclass__(cls, *, info: TaskInfo | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if info is not None:
            cls.name = info.name
            cls.description = info.description
            cls.metric = info.metric
            cls.has_accuracy = info.has_accuracy
            cls.default_epochs = info.default_epochs
            cls.batch_size = info.batch_size

    def info(self) -> TaskInfo:
        """This task's metadata; `implementation` names its class."""
        cls = type(self)
        return TaskInfo(
            name=self.name,
            description=self.description,
            default_epochs=self.default_epochs,
            batch_size=self.batch_size,
            implementation=f"{cls.__module__}:{cls.__qualname__}",
            metric=self.metric,
            has_accuracy=self.has_accuracy,
        )

    def prepare(self) -> None:  # noqa: B027 - an optional hook: most tasks have nothing to load
        """Load, once per process, what every trial of this task shares (its data, the library
        it comes from), before a trial's clock starts: the worker calls it, so the first trial's
        time limit and duration are its own. Default: nothing to load."""

    @abc.abstractmethod
    def build(self, seed: int, device: torch.device) -> Problem:
        """Make the data (cached is fine: it must not depend on `seed` unless stated) and a
        freshly initialised model whose weights depend on `seed` only."""
