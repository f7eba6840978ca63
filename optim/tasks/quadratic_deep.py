"""DeepOBS `quadratic_deep`: a 100-d noisy quadratic with a deep-learning-like eigenspectrum.

Reproduced from github.com/fsschneider/DeepOBS so results compare with published DeepOBS runs:
    deepobs/pytorch/testproblems/quadratic_deep.py: a module-level np.random.RandomState(42) draws
        90 eigenvalues from U(0, 1), then 10 from U(30, 60), then the rotation R by the
        Diaconis-Shahshahani subgroup algorithm (`random_rotation`); Hessian Q = R^T diag(e) R.
        (DeepOBS's generator is module-global, so this is the Hessian of the first instance in a
        process, which is what every DeepOBS run uses.)
    deepobs/pytorch/testproblems/testproblems_modules.py (`net_quadratic_deep`): theta starts at
        ones; loss 0.5 (theta - x)^T Q (theta - x), via torch.bmm, averaged over the batch.
    deepobs/pytorch/datasets/quadratic.py: 1000 points from N(0, 0.6^2) in 100-d, float32, from
        RandomState(42) for training and RandomState(43) for the test set; batches drop the
        remainder (test set included), and the runner's test loss is the mean of the batch losses.
    deepobs/config.py: batch size 128, 100 epochs.
The test loss is 353.45 at the start and 87.05 at the minimiser of the training loss (theta = the
training mean), the floor a well-tuned optimiser approaches; untuned Adam (lr 1e-3) ends near 107.

The test set is DeepOBS's, so test losses compare with published DeepOBS runs. What a search
selects on is a separate validation set of the same size drawn from RandomState(44): DeepOBS has
none for this problem, and selecting on the test set would make the reported result optimistic.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

import numpy as np
import torch

from optim.tasks.base import Problem, Task
from optim.tasks.catalog import QUADRATIC_DEEP
from optim.tasks.common import shuffled_batches

DIM = 100
DATA_SIZE = 1000
NOISE_LEVEL = 0.6
HESSIAN_SEED = 42
TRAIN_SEED = 42
TEST_SEED = 43
VALIDATION_SEED = 44  # ours: DeepOBS has no validation set for this problem


def random_rotation(dim: int, rng: np.random.RandomState) -> np.ndarray:
    """A Haar-uniform rotation in SO(dim), drawn exactly as DeepOBS's `random_rotation` draws it
    (same order of calls on `rng`), so the Hessian matches DeepOBS bit for bit in float64."""
    t = 2 * np.pi * rng.uniform()
    rotation = np.array([[np.cos(t), np.sin(t)], [-np.sin(t), np.cos(t)]])
    for d in range(2, dim):
        v = rng.normal(size=(d + 1, 1))
        v = v / np.sqrt(v.T @ v)  # a point on the unit sphere S^d
        e = np.concatenate((np.array([[1.0]]), np.zeros((d, 1))), axis=0)
        x = (e - v) / np.sqrt((e - v).T @ (e - v))  # random coset of SO(d-1) in SO(d)
        block = np.vstack(
            [np.hstack([[[1.0]], np.zeros((1, d))]), np.hstack([np.zeros((d, 1)), rotation])]
        )
        rotation = block - 2 * np.outer(x, x.T @ block)
    return -rotation  # DeepOBS negates to fix the determinant


@functools.cache
def hessian() -> torch.Tensor:
    rng = np.random.RandomState(HESSIAN_SEED)
    eigenvalues = np.concatenate((rng.uniform(0.0, 1.0, 90), rng.uniform(30.0, 60.0, 10)))
    rotation = random_rotation(DIM, rng)
    q = rotation.T @ (np.diag(eigenvalues) @ rotation)
    return torch.from_numpy(q).to(torch.float32)


@functools.cache
def data(seed: int) -> torch.Tensor:
    rng = np.random.RandomState(seed)
    return torch.from_numpy(np.float32(rng.normal(0.0, NOISE_LEVEL, (DATA_SIZE, DIM))))


class _Quadratic(torch.nn.Module):
    hessian: torch.Tensor  # a buffer, so it follows the model to its device

    def __init__(self) -> None:
        super().__init__()
        self.theta = torch.nn.Parameter(torch.ones(DIM))
        self.register_buffer("hessian", hessian().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = self.theta - x
        z = torch.mm(q, self.hessian)
        return 0.5 * torch.bmm(q.unsqueeze(1), z.unsqueeze(2)).mean()


class QuadraticDeepTask(Task, info=QUADRATIC_DEEP):
    def build(self, seed: int, device: torch.device) -> Problem:
        # theta starts at ones, so the seed only changes the batch order
        model = _Quadratic().to(device)
        train = data(TRAIN_SEED).to(device)
        batch_size = self.batch_size
        full = DATA_SIZE - DATA_SIZE % batch_size
        # evaluated as DeepOBS's runner does: whole batches, the mean of the batch losses
        test_batches = data(TEST_SEED)[:full].to(device).split(batch_size)
        val_batches = data(VALIDATION_SEED)[:full].to(device).split(batch_size)

        def train_batches(generator: torch.Generator) -> Iterator[tuple[torch.Tensor, ...]]:
            return shuffled_batches((train,), batch_size, generator, drop_last=True)

        def loss(model: torch.nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
            return model(batch[0])

        def mean_loss(model: torch.nn.Module, batches: tuple[torch.Tensor, ...]) -> float:
            return float(torch.stack([model(x) for x in batches]).mean())

        return Problem(
            model=model,
            train_batches=train_batches,
            loss=loss,
            evaluate=lambda model: (mean_loss(model, val_batches), None),
            test=lambda model: (mean_loss(model, test_batches), None),
        )
