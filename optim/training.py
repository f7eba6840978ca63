"""The training loop shared by every task: build, then per epoch train, evaluate and report.

It knows nothing of Optuna: the objective passes `on_epoch`, which may raise to end the run early
(pruning, a stop request). Divergence is detected here because every caller needs it. A params'
learning-rate schedule (`optim.schedules`) is stepped after every optimizer step, over the run's
planned steps (epochs times one epoch's batches), with torch's own schedulers; Schedule-Free,
which has no decay, takes the warmup as its own `warmup_steps` instead. An optimizer with
train and eval modes (Schedule-Free: its steps move one sequence of weights, evaluation needs the
averaged one) is switched with the model: `optimizer.train()` before training steps,
`optimizer.eval()` before every evaluation.
"""

from __future__ import annotations

import math
import os
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from typing import cast

import torch

from optim.adam import Adam, EpsMode
from optim.optimizers import FAMILIES
from optim.params import OptimizerParams
from optim.schedules import make_scheduler
from optim.tasks.base import EpochMetrics, Problem, Task


class DivergedError(RuntimeError):
    """The loss became NaN or infinite: the trial cannot recover, so it ends early."""

    def __init__(self, epoch: int, value: float) -> None:
        super().__init__(f"loss diverged to {value} in epoch {epoch}")
        self.epoch = epoch
        self.value = value


def resolve_device(device: str | torch.device) -> torch.device:
    """'auto' picks CUDA when present; an explicit 'cuda' (or 'cuda:N') without CUDA, or past
    the GPUs there are, is an error."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    resolved = torch.device(device)
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {str(device)!r} was asked for but CUDA is not available")
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise ValueError(
                f"device {str(device)!r} was asked for but only "
                f"{torch.cuda.device_count()} CUDA device(s) are present"
            )
    return resolved


def make_deterministic(device: torch.device) -> None:
    """Same seed, same curve, where torch allows it. On CPU torch is deterministic already. On
    CUDA: cuDNN's autotuner off and its deterministic kernels chosen, and cuBLAS given the
    workspace its reproducible mode needs (the variable must be set before cuBLAS starts, so
    a worker calls this first). Not covered: ops torch implements with atomics on CUDA (some
    scatter/index_add backward passes), and any GPU against the CPU or another GPU model,
    whose float sums differ in order: bench/gpu.py checks those agree within a tolerance."""
    if device.type != "cuda":
        return
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True


def warm_up() -> None:
    """Pay a training process's one-time cost before its first trial, not inside it: torch's
    first optimizer imports `torch._dynamo` (~1.2 s). Inside a trial it counted against its time
    limit and its duration: a 0.08 s rosenbrock trial took 1.3 s on a quiet machine, over 3 s on
    a busy one. A task's own data (scikit-learn's, ~2.5 s more) is loaded by `Task.prepare`
    before the first trial of that task, so a process that trains none never pays for it."""
    weight = torch.nn.Parameter(torch.zeros(1))
    weight.grad = torch.zeros(1)
    make_optimizer("adam", OptimizerParams(), [weight], "pytorch").step()


def make_optimizer(
    family: str, params: OptimizerParams, weights: Iterable[torch.nn.Parameter], eps_mode: str
) -> torch.optim.Optimizer:
    """The optimizer of a family (`optim.optimizers`): this project's Adam for the Adam
    families (its parity with torch's Adam and AdamW is tested), torch's SGD for Nesterov,
    the `schedulefree` and `prodigyopt` packages' own for the tuning-free families (eps_mode
    does not apply to them). Schedule-Free is built without warmup: `train` sets its steps."""
    betas = (params.beta1, params.beta2)
    if family == "schedule_free_adamw":
        import schedulefree  # imported here: only a trial of this family pays for it

        return cast(
            torch.optim.Optimizer,
            schedulefree.AdamWScheduleFree(
                weights, lr=params.lr, betas=betas, eps=params.eps, weight_decay=params.weight_decay
            ),
        )
    if family == "prodigy":
        import prodigyopt

        return cast(
            torch.optim.Optimizer,
            prodigyopt.Prodigy(
                weights, lr=params.lr, betas=betas, eps=params.eps, weight_decay=params.weight_decay
            ),
        )
    if family == "sgd_nesterov":
        return torch.optim.SGD(
            weights,
            lr=params.lr,
            momentum=params.momentum,
            nesterov=True,
            weight_decay=params.weight_decay,
        )
    if family not in FAMILIES:
        raise ValueError(f"unknown optimizer {family!r}")
    return Adam(
        weights,
        lr=params.lr,
        betas=(params.beta1, params.beta2),
        eps=params.eps,
        weight_decay=params.weight_decay,
        decoupled_weight_decay=family == "adamw",
        eps_mode=cast(EpsMode, eps_mode),
    )


def train(
    task: Task,
    params: OptimizerParams,
    *,
    epochs: int | None = None,
    seed: int | Sequence[int] = 0,
    device: str | torch.device = "cpu",
    on_epoch: Callable[[EpochMetrics], None] | None = None,
    optimizer: str = "adam",
    eps_mode: str = "pytorch",
) -> list[EpochMetrics]:
    """Train `task` with the `optimizer` family at `params`; one record per finished epoch.

    With several seeds, one model per seed trains in lockstep and each epoch's record holds
    their means (and the spread of the validation loss), so a pruner judges the mean curve.
    The same task, params, epochs and seeds give the same curve on the same device: each model
    is initialised, and its batches shuffled, from generators seeded with its seed.

    Raises:
        DivergedError: a training or validation loss stopped being finite.
    """
    epochs = task.default_epochs if epochs is None else epochs
    seeds = [seed] if isinstance(seed, int) else list(seed)
    dev = resolve_device(device)
    runs = [
        _Run(task, s, dev, lambda w: make_optimizer(optimizer, params, w, eps_mode)) for s in seeds
    ]
    if optimizer == "schedule_free_adamw":
        if params.schedule.decay != "constant":
            raise ValueError("Schedule-Free AdamW takes no decay schedule: decay must be constant")
        warmup = params.schedule.warmup_steps(epochs * steps_per_epoch(runs[0].problem))
        for run in runs:
            for group in run.optimizer.param_groups:
                group["warmup_steps"] = warmup
    elif not params.schedule.none:
        total_steps = epochs * steps_per_epoch(runs[0].problem)
        for run in runs:
            run.scheduler = make_scheduler(params.schedule, run.optimizer, total_steps, params.lr)
    history: list[EpochMetrics] = []
    started = time.perf_counter()
    for epoch in range(1, epochs + 1):
        results = [run.epoch() for run in runs]
        tests = [run.test() for run in runs] if epoch == epochs else []

        # stop on divergence: nothing after a NaN is worth training
        for train_loss, val_loss, _ in results:
            for value in (train_loss, val_loss):
                if not math.isfinite(value):
                    raise DivergedError(epoch, value)

        # report
        val_losses = [r[1] for r in results]
        metrics = EpochMetrics(
            epoch=epoch,
            train_loss=statistics.fmean(r[0] for r in results),
            val_loss=statistics.fmean(val_losses),
            val_accuracy=_mean_or_none([r[2] for r in results]),
            elapsed_s=time.perf_counter() - started,
            val_loss_std=statistics.stdev(val_losses) if len(val_losses) > 1 else None,
            test_loss=statistics.fmean(t[0] for t in tests) if tests else None,
            test_accuracy=_mean_or_none([t[1] for t in tests]),
        )
        history.append(metrics)
        if on_epoch is not None:
            on_epoch(metrics)
    return history


def steps_per_epoch(problem: Problem) -> int:
    """How many optimizer steps one epoch takes: its batches, counted on a generator of its own
    (the run's shuffling is untouched). Every epoch of a task has as many."""
    return sum(1 for _ in problem.train_batches(torch.Generator().manual_seed(0)))


def set_optimizer_mode(optimizer: torch.optim.Optimizer, *, training: bool) -> None:
    """Switch an optimizer that has train and eval modes (Schedule-Free's: eval puts the
    averaged weights in the model, train the ones it steps); others have none."""
    switch = getattr(optimizer, "train" if training else "eval", None)
    if callable(switch):
        switch()


def _mean_or_none(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.fmean(present) if present else None


class _Run:
    """One model of one seed: its problem, its optimizer and its batch order."""

    def __init__(
        self,
        task: Task,
        seed: int,
        device: torch.device,
        optimizer: Callable[[Iterable[torch.nn.Parameter]], torch.optim.Optimizer],
    ) -> None:
        self.device = device
        torch.manual_seed(seed)  # for tasks that initialise from the global RNG
        self.problem = task.build(seed, device)
        self.model = self.problem.model.to(device)
        self.optimizer = optimizer(self.model.parameters())
        self.scheduler: torch.optim.lr_scheduler.LRScheduler | None = None  # stepped per step
        self.shuffle = torch.Generator().manual_seed(seed)

    def epoch(self) -> tuple[float, float, float | None]:
        """Train one epoch, then evaluate: (train loss, validation loss, accuracy or None)."""
        model, optimizer, problem, scheduler = (
            self.model,
            self.optimizer,
            self.problem,
            self.scheduler,
        )
        model.train()
        set_optimizer_mode(optimizer, training=True)
        total = torch.zeros((), device=self.device)  # summed on the device: no sync per step
        steps = 0
        for batch in problem.train_batches(self.shuffle):
            optimizer.zero_grad(set_to_none=True)
            loss = problem.loss(model, batch)
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            total += loss.detach()
            steps += 1
        train_loss = float(total) / max(steps, 1)
        model.eval()
        set_optimizer_mode(optimizer, training=False)
        with torch.no_grad():
            val_loss, val_accuracy = problem.evaluate(model)
        return train_loss, val_loss, val_accuracy

    def test(self) -> tuple[float, float | None]:
        """The held-out test split (the validation split for a task that has none)."""
        evaluate = self.problem.test or self.problem.evaluate
        self.model.eval()
        set_optimizer_mode(self.optimizer, training=False)
        with torch.no_grad():
            return evaluate(self.model)
