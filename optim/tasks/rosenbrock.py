"""DeepOBS `two_d_rosenbrock`: the noisy 2-D Rosenbrock function, reproduced from DeepOBS 1.1.

Sources (github.com/fsschneider/DeepOBS):
    deepobs/tensorflow/testproblems/two_d_rosenbrock.py: the loss of one example is
        (1 - u)^2 + 100 (v - u^2)^2 + u x + v y, averaged over the batch; (u, v) starts at
        (-0.5, 1.5).
    deepobs/tensorflow/datasets/two_d.py: 10000 training pairs (x, y), x then y drawn from
        np.random.RandomState(42).normal(0, 1.0, 10000), cast to float32; batches drop the
        remainder; the test set is all zeros, so the test loss is the noise-free function.
DeepOBS gives no default batch size or epoch count for this problem (deepobs/config.py lists
none); 128 matches its other small problems. In 50 epochs (3900 steps, about 2 s) untuned Adam
(lr 1e-3) only gets into the valley (f ~ 3.9 near u = -1), while lr 1e-2 to 3e-2 reaches f ~ 1e-2
to 1e-4: room to tune. The unreleased PyTorch port on DeepOBS's develop branch
(deepobs/datasets/pytorch/two_d.py) draws a noisy test set from seed 43 instead; this follows the
released version.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

import numpy as np
import torch

from optim.tasks.base import Problem, Task
from optim.tasks.catalog import ROSENBROCK
from optim.tasks.common import shuffled_batches

TRAIN_SIZE = 10_000
NOISE_LEVEL = 1.0
DATA_SEED = 42
START = (-0.5, 1.5)


@functools.cache
def _train_noise() -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.RandomState(DATA_SEED)
    x = np.float32(rng.normal(0.0, NOISE_LEVEL, TRAIN_SIZE))
    y = np.float32(rng.normal(0.0, NOISE_LEVEL, TRAIN_SIZE))
    return torch.from_numpy(x), torch.from_numpy(y)


def rosenbrock(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return (1 - u) ** 2 + 100 * (v - u**2) ** 2


class _Point(torch.nn.Module):
    """The two scalar weights (u, v) DeepOBS optimises; called on noise, gives the losses."""

    def __init__(self) -> None:
        super().__init__()
        self.u = torch.nn.Parameter(torch.tensor(START[0]))
        self.v = torch.nn.Parameter(torch.tensor(START[1]))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return rosenbrock(self.u, self.v) + self.u * x + self.v * y


class RosenbrockTask(Task, info=ROSENBROCK):
    def build(self, seed: int, device: torch.device) -> Problem:
        # the start point is fixed, so the seed only changes the batch order
        model = _Point().to(device)
        noise = tuple(t.to(device) for t in _train_noise())
        zero = torch.zeros(1, device=device)
        batch_size = self.batch_size

        def train_batches(generator: torch.Generator) -> Iterator[tuple[torch.Tensor, ...]]:
            return shuffled_batches(noise, batch_size, generator, drop_last=True)

        def loss(model: torch.nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
            x, y = batch
            return model(x, y).mean()

        def evaluate(model: torch.nn.Module) -> tuple[float, float | None]:
            # DeepOBS's test set is all zeros: its test loss is the noise-free function
            return float(model(zero, zero).mean()), None

        # validation and test are the same noise-free function: it has no noise of its own for a
        # search to overfit, so the test split a validated result reports is DeepOBS's
        return Problem(
            model=model, train_batches=train_batches, loss=loss, evaluate=evaluate, test=evaluate
        )
