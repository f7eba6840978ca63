"""A small CNN on scikit-learn's bundled 8x8 digits, seen as 1x8x8 images.

Pixels are scaled with one mean and deviation over all of them (fit on the train split), not per
pixel: per-pixel scaling would blow up rarely-inked border pixels and hide the spatial structure
the convolutions are there to use. Train and validation rows are the same as `mlp_digits`'s.
"""

from __future__ import annotations

import torch

from optim.tasks.base import Problem, Task
from optim.tasks.catalog import CNN_DIGITS
from optim.tasks.common import classification_problem, seeded_model
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
    def prepare(self) -> None:
        digits(per_feature=False)  # imports scikit-learn (~2.5 s) and splits once per process

    def build(self, seed: int, device: torch.device) -> Problem:
        split = digits(per_feature=False).to(device)
        model = seeded_model(seed, _cnn).to(device)
        return classification_problem(model, split, self.batch_size)
