"""Logistic regression on scikit-learn's bundled breast-cancer set (569 samples, 30 features).

The smallest convex classification task: it isolates Adam's behaviour on a well-conditioned,
nearly separable problem.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

import torch
from torch.nn import functional as F

from optim.tasks.base import Problem, Task
from optim.tasks.catalog import LOGREG_BREAST_CANCER
from optim.tasks.common import Split, seeded_model, shuffled_batches, standardised_split


@functools.cache
def _data() -> Split:
    from sklearn.datasets import load_breast_cancer  # lazy: listing tasks stays fast

    bunch = load_breast_cancer()
    split = standardised_split(bunch.data, bunch.target)
    return split.map_targets(lambda y: y.float())  # BCEWithLogits wants float targets


class LogRegBreastCancerTask(Task, info=LOGREG_BREAST_CANCER):
    def prepare(self) -> None:
        _data()  # imports scikit-learn (~2.5 s) and splits once per process

    def build(self, seed: int, device: torch.device) -> Problem:
        split = _data().to(device)
        model = seeded_model(seed, lambda: torch.nn.Linear(30, 1)).to(device)
        batch_size = self.batch_size

        def train_batches(generator: torch.Generator) -> Iterator[tuple[torch.Tensor, ...]]:
            return shuffled_batches((split.x_train, split.y_train), batch_size, generator)

        def loss(model: torch.nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
            x, y = batch
            return F.binary_cross_entropy_with_logits(model(x).squeeze(-1), y)

        def metrics(
            model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor
        ) -> tuple[float, float | None]:
            logits = model(x).squeeze(-1)
            value = F.binary_cross_entropy_with_logits(logits, y)
            accuracy = ((logits > 0).float() == y).float().mean()
            return float(value), float(accuracy)

        return Problem(
            model=model,
            train_batches=train_batches,
            loss=loss,
            evaluate=lambda model: metrics(model, split.x_val, split.y_val),
            test=lambda model: metrics(model, split.x_test, split.y_test),
        )
