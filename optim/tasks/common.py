"""Helpers the built-in tasks share: a fixed standardised split, seeded init and batching.

The split and the scaling are properties of the task, not of a trial, so they use a fixed
random_state; only the model's initial weights and the batch order depend on the trial's seed.
Three parts: train (60 %), validation (20 %: what a search selects on) and test (20 %: held out,
what a validated result reports), stratified by class.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from optim.tasks.base import Problem

SPLIT_SEED = 0
VALIDATION_FRACTION = 0.2
TEST_FRACTION = 0.2


@dataclass(frozen=True)
class Split:
    """Train, validation and test tensors of one data set, on one device."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor

    def to(self, device: torch.device) -> Split:
        return Split(*(t.to(device) for t in dataclasses.astuple(self)))

    def map_targets(self, change: Callable[[torch.Tensor], torch.Tensor]) -> Split:
        return Split(self.x_train, change(self.y_train), self.x_val, change(self.y_val),
                     self.x_test, change(self.y_test))  # fmt: skip


def standardised_split(x: np.ndarray, y: np.ndarray, *, per_feature: bool = True) -> Split:
    """A stratified 60/20/20 split, scaled with statistics of the train part only.

    `per_feature=False` uses one mean and deviation for all features, which keeps the relative
    brightness of image pixels that a convolution relies on.
    """
    from sklearn.model_selection import train_test_split  # lazy: listing tasks stays fast

    x_rest, x_test, y_rest, y_test = train_test_split(
        x, y, test_size=TEST_FRACTION, random_state=SPLIT_SEED, stratify=y
    )
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest,
        y_rest,
        test_size=VALIDATION_FRACTION / (1 - TEST_FRACTION),
        random_state=SPLIT_SEED,
        stratify=y_rest,
    )
    axis = 0 if per_feature else None
    mean = x_train.mean(axis=axis)
    std = x_train.std(axis=axis)
    std = np.where(std > 0, std, 1.0)  # constant features (blank pixels) stay at zero

    def scaled(part: np.ndarray) -> torch.Tensor:
        return torch.as_tensor((part - mean) / std, dtype=torch.float32)

    return Split(
        x_train=scaled(x_train),
        y_train=torch.as_tensor(y_train),
        x_val=scaled(x_val),
        y_val=torch.as_tensor(y_val),
        x_test=scaled(x_test),
        y_test=torch.as_tensor(y_test),
    )


def seeded_model(seed: int, factory: Callable[[], torch.nn.Module]) -> torch.nn.Module:
    """Build a model whose weights depend on `seed` only, whatever the global RNG went through
    (e.g. a first, uncached data load) and without disturbing it for the caller."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return factory()


def shuffled_batches(
    tensors: tuple[torch.Tensor, ...],
    batch_size: int,
    generator: torch.Generator,
    *,
    drop_last: bool = False,
) -> Iterator[tuple[torch.Tensor, ...]]:
    """One epoch of mini-batches in an order drawn from `generator` (a CPU generator)."""
    n = tensors[0].shape[0]
    order = torch.randperm(n, generator=generator).to(tensors[0].device)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        index = order[start : start + batch_size]
        yield tuple(t[index] for t in tensors)


def classification_metrics(logits: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
    """Mean cross entropy and accuracy of multi-class `logits` against integer `labels`."""
    loss = F.cross_entropy(logits, labels)
    accuracy = (logits.argmax(dim=-1) == labels).float().mean()
    return float(loss), float(accuracy)


def classification_problem(model: torch.nn.Module, split: Split, batch_size: int) -> Problem:
    """Multi-class training of `model` on `split`: cross-entropy loss, accuracy reported."""

    def train_batches(generator: torch.Generator) -> Iterator[tuple[torch.Tensor, ...]]:
        return shuffled_batches((split.x_train, split.y_train), batch_size, generator)

    def loss(model: torch.nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        x, y = batch
        return F.cross_entropy(model(x), y)

    def evaluate(model: torch.nn.Module) -> tuple[float, float | None]:
        return classification_metrics(model(split.x_val), split.y_val)

    def test(model: torch.nn.Module) -> tuple[float, float | None]:
        return classification_metrics(model(split.x_test), split.y_test)

    return Problem(
        model=model, train_batches=train_batches, loss=loss, evaluate=evaluate, test=test
    )
