"""A small CNN on scikit-learn's bundled 8x8 digits, seen as 1x8x8 images.

Pixels are scaled with one mean and deviation over all of them (fit on the train split), not per
pixel: per-pixel scaling would blow up rarely-inked border pixels and hide the spatial structure
the convolutions are there to use. Train and validation rows are the same as `mlp_digits`'s.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.nn import functional as F

from optim.tasks.base import Problem, Task
from optim.tasks.catalog import CNN_DIGITS
from optim.tasks.common import classification_metrics, seeded_model, shuffled_batches
from optim.tasks.mlp_digits import digits


def _cnn() -> torch.nn.Module:
    return torch.nn.Sequential(
        torch.nn.Unflatten(1, (1, 8, 8)),
        torch.nn.Conv2d(1, 16, kernel_size=3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Conv2d(16, 32, kernel_size=3, padding=1),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(32 * 4 * 4, 10),
    )


class CNNDigitsTask(Task, info=CNN_DIGITS):
    def build(self, seed: int, device: torch.device) -> Problem:
        split = digits(per_feature=False).to(device)
        model = seeded_model(seed, _cnn).to(device)
        batch_size = self.batch_size

        def train_batches(generator: torch.Generator) -> Iterator[tuple[torch.Tensor, ...]]:
            return shuffled_batches((split.x_train, split.y_train), batch_size, generator)

        def loss(model: torch.nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
            x, y = batch
            return F.cross_entropy(model(x), y)

        def evaluate(model: torch.nn.Module) -> tuple[float, float | None]:
            return classification_metrics(model(split.x_val), split.y_val)

        return Problem(model=model, train_batches=train_batches, loss=loss, evaluate=evaluate)
