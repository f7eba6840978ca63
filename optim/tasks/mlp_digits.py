"""A 64-128-128-10 ReLU MLP on scikit-learn's bundled 8x8 digits (1797 images, 10 classes)."""

from __future__ import annotations

import functools

import torch

from optim.tasks.base import Problem, Task
from optim.tasks.catalog import MLP_DIGITS
from optim.tasks.common import Split, classification_problem, seeded_model, standardised_split


@functools.cache
def digits(per_feature: bool) -> Split:
    """The digits split, shared with `cnn_digits` (same rows in train and validation)."""
    from sklearn.datasets import load_digits  # lazy: listing tasks stays fast

    bunch = load_digits()
    return standardised_split(bunch.data, bunch.target, per_feature=per_feature)


def _mlp() -> torch.nn.Module:
    return torch.nn.Sequential(
        torch.nn.Linear(64, 128),
        torch.nn.ReLU(),
        torch.nn.Linear(128, 128),
        torch.nn.ReLU(),
        torch.nn.Linear(128, 10),
    )


class MLPDigitsTask(Task, info=MLP_DIGITS):
    def prepare(self) -> None:
        digits(per_feature=True)  # imports scikit-learn (~2.5 s) and splits once per process

    def build(self, seed: int, device: torch.device) -> Problem:
        split = digits(per_feature=True).to(device)
        model = seeded_model(seed, _mlp).to(device)
        return classification_problem(model, split, self.batch_size)
