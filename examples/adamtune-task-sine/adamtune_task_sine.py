"""An example third-party adamtune task: fit a small MLP to a noisy sine wave.

It uses only the public contract (`optim.tasks.Task` and `Problem`) and is found through the
`adamtune.tasks` entry point declared in this package's pyproject.toml.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import ClassVar

import numpy as np
import torch
from torch.nn import functional as F

from optim.tasks import Problem, Task

TRAIN_SIZE = 512
VAL_SIZE = 256
NOISE = 0.1
DATA_SEED = 0  # the data are part of the task: fixed, whatever the trial's seed


@functools.cache
def _data() -> tuple[torch.Tensor, ...]:
    """(x_train, y_train, x_val, y_val), drawn once per process and reused by every trial."""
    rng = np.random.RandomState(DATA_SEED)
    x = rng.uniform(-np.pi, np.pi, (TRAIN_SIZE + VAL_SIZE, 1))
    y = np.sin(x) + rng.normal(0.0, NOISE, x.shape)
    x_t, y_t = torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)
    return x_t[:TRAIN_SIZE], y_t[:TRAIN_SIZE], x_t[TRAIN_SIZE:], y_t[TRAIN_SIZE:]


class SineRegressionTask(Task):
    name: ClassVar[str] = "sine_regression"
    description: ClassVar[str] = "Example plugin: MLP 1-32-32-1 fitted to a noisy sine wave"
    metric: ClassVar[str] = "val_loss"
    has_accuracy: ClassVar[bool] = False
    default_epochs: ClassVar[int] = 50
    batch_size: ClassVar[int] = 32

    def build(self, seed: int, device: torch.device) -> Problem:
        x_train, y_train, x_val, y_val = (t.to(device) for t in _data())
        # weights from `seed` alone, whatever the global RNG went through (the task contract)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = torch.nn.Sequential(
                torch.nn.Linear(1, 32),
                torch.nn.Tanh(),
                torch.nn.Linear(32, 32),
                torch.nn.Tanh(),
                torch.nn.Linear(32, 1),
            ).to(device)
        batch_size = self.batch_size

        def train_batches(generator: torch.Generator) -> Iterator[tuple[torch.Tensor, ...]]:
            # the batch order must come from `generator` only, for reproducible trials
            order = torch.randperm(TRAIN_SIZE, generator=generator).to(device)
            for index in order.split(batch_size):
                yield x_train[index], y_train[index]

        def loss(model: torch.nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
            x, y = batch
            return F.mse_loss(model(x), y)

        def evaluate(model: torch.nn.Module) -> tuple[float, float | None]:
            return float(F.mse_loss(model(x_val), y_val)), None

        return Problem(model=model, train_batches=train_batches, loss=loss, evaluate=evaluate)
