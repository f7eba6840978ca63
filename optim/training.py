"""The training loop shared by every task: build, then per epoch train, evaluate and report.

It knows nothing of Optuna: the objective passes `on_epoch`, which may raise to end the run early
(pruning, a stop request). Divergence is detected here because every caller needs it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import torch

from optim.adam import Adam
from optim.params import AdamParams
from optim.tasks.base import EpochMetrics, Task


class DivergedError(RuntimeError):
    """The loss became NaN or infinite: the trial cannot recover, so it ends early."""

    def __init__(self, epoch: int, value: float) -> None:
        super().__init__(f"loss diverged to {value} in epoch {epoch}")
        self.epoch = epoch
        self.value = value


def resolve_device(device: str | torch.device) -> torch.device:
    """'auto' picks CUDA when present; an explicit 'cuda' without CUDA is an error."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    resolved = torch.device(device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but CUDA is not available")
    return resolved


def train(
    task: Task,
    params: AdamParams,
    *,
    epochs: int | None = None,
    seed: int = 0,
    device: str | torch.device = "cpu",
    on_epoch: Callable[[EpochMetrics], None] | None = None,
) -> list[EpochMetrics]:
    """Train `task` with Adam(`params`) and return one record per finished epoch.

    The same task, params, epochs and seed give the same curve on the same device: the model
    is initialised and the batches are shuffled from generators seeded with `seed`.

    Raises:
        DivergedError: the training or validation loss stopped being finite.
    """
    epochs = task.default_epochs if epochs is None else epochs
    dev = resolve_device(device)
    torch.manual_seed(seed)
    problem = task.build(seed, dev)
    model = problem.model.to(dev)
    optimizer = Adam(
        model.parameters(),
        lr=params.lr,
        betas=(params.beta1, params.beta2),
        eps=params.eps,
        weight_decay=params.weight_decay,
    )
    shuffle = torch.Generator().manual_seed(seed)
    history: list[EpochMetrics] = []
    started = time.perf_counter()
    for epoch in range(1, epochs + 1):
        # train one epoch; summing on the device avoids a host sync per step
        model.train()
        total = torch.zeros((), device=dev)
        steps = 0
        for batch in problem.train_batches(shuffle):
            optimizer.zero_grad(set_to_none=True)
            loss = problem.loss(model, batch)
            loss.backward()
            optimizer.step()
            total += loss.detach()
            steps += 1
        train_loss = float(total) / max(steps, 1)

        # evaluate
        model.eval()
        with torch.no_grad():
            val_loss, val_accuracy = problem.evaluate(model)

        # stop on divergence: nothing after a NaN is worth training
        for value in (train_loss, val_loss):
            if not math.isfinite(value):
                raise DivergedError(epoch, value)

        # report
        metrics = EpochMetrics(
            epoch=epoch,
            train_loss=train_loss,
            val_loss=val_loss,
            val_accuracy=val_accuracy,
            elapsed_s=time.perf_counter() - started,
        )
        history.append(metrics)
        if on_epoch is not None:
            on_epoch(metrics)
    return history
