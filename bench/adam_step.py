"""Time `optimizer.step()` of our Adam against torch.optim.Adam on the mlp_digits model.

Why: every trial of every study runs this step thousands of times, so the reference
implementation must not cost more than the torch optimizer users would otherwise pick.
Only `step()` is timed; the gradients come from one backward pass on a fixed batch and stay put.
Variants run interleaved (in a rotating order) so drift in machine load hits them all alike.

    .venv/bin/python bench/adam_step.py [--repeats 7] [--steps 2000] [--threads 1] [--json PATH]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import cpu_model  # noqa: E402 (it also puts the project on sys.path)

from optim.adam import Adam  # noqa: E402

# largest relative parameter gap between variants after the same steps (float32 rounding of
# different kernels, over thousands of steps); past it a variant did not compute the same update
SAME_WORK_TOLERANCE = 1e-3

MakeOptimizer = Callable[[list[nn.Parameter]], torch.optim.Optimizer]


@dataclass
class Variant:
    name: str
    make: MakeOptimizer
    model: nn.Module | None = None
    optimizer: torch.optim.Optimizer | None = None
    skipped: str | None = None


def mlp_digits(seed: int) -> nn.Module:
    """The mlp_digits architecture, built here so the bench does not depend on the task code."""
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 10)
    )


def variants() -> list[Variant]:
    return [
        Variant("torch.optim.Adam (default)", lambda p: torch.optim.Adam(p)),
        Variant("adamtune Adam (foreach)", lambda p: Adam(p, foreach=True)),
        Variant("adamtune Adam (single tensor)", lambda p: Adam(p, foreach=False)),
        Variant("torch.optim.Adam (foreach=True)", lambda p: torch.optim.Adam(p, foreach=True)),
        Variant("torch.optim.Adam (fused=True)", lambda p: torch.optim.Adam(p, fused=True)),
    ]


def prepare(variant: Variant, seed: int, batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    """Build model and optimizer, fill the grads, and take one step to create the state."""
    model = mlp_digits(seed)
    inputs, targets = batch
    nn.functional.cross_entropy(model(inputs), targets).backward()
    try:
        optimizer = variant.make(list(model.parameters()))
        optimizer.step()
    except (RuntimeError, ValueError) as error:  # e.g. fused kernels missing for this device
        variant.skipped = f"{type(error).__name__}: {error}".splitlines()[0]
        return
    variant.model, variant.optimizer = model, optimizer


def time_steps(optimizer: torch.optim.Optimizer, steps: int) -> float:
    """Microseconds per `step()`, averaged over `steps` consecutive calls."""
    step = optimizer.step
    start = time.perf_counter_ns()
    for _ in range(steps):
        step()
    return (time.perf_counter_ns() - start) / steps / 1e3


def optimizer_of(variant: Variant) -> torch.optim.Optimizer:
    """The prepared optimizer of a variant that was not skipped."""
    assert variant.optimizer is not None
    return variant.optimizer


def sum_params(runs: list[Variant]) -> int:
    """Parameter count of the benchmarked model, for the table's caption."""
    model = next((v.model for v in runs if v.model is not None), None)
    return 0 if model is None else sum(p.numel() for p in model.parameters())


def max_param_gap(variant: Variant, reference: Variant) -> float:
    """Largest relative gap between two variants' parameters after the same steps: each
    optimizer must have done the same work (the same Adam update), not just taken as long."""
    assert variant.model is not None and reference.model is not None
    pairs = zip(variant.model.parameters(), reference.model.parameters(), strict=True)
    return max(float(((a - b).abs() / b.abs().clamp(min=1.0)).max().detach()) for a, b in pairs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds per variant")
    parser.add_argument("--steps", type=int, default=2000, help="steps per timed round")
    parser.add_argument("--warmup", type=int, default=200, help="untimed steps per variant")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: does it still run?")
    args = parser.parse_args(argv)
    if args.smoke:
        args.repeats, args.steps, args.warmup = 1, 5, 2

    torch.set_num_threads(args.threads)
    generator = torch.Generator().manual_seed(args.seed)
    batch = (
        torch.randn(128, 64, generator=generator),
        torch.randint(0, 10, (128,), generator=generator),
    )
    runs = variants()
    for variant in runs:
        prepare(variant, args.seed, batch)
    active = [v for v in runs if v.optimizer is not None]
    for variant in active:
        time_steps(optimizer_of(variant), args.warmup)

    samples: dict[str, list[float]] = {v.name: [] for v in active}
    for repeat in range(args.repeats):
        shift = repeat % len(active)
        for variant in active[shift:] + active[:shift]:
            samples[variant.name].append(time_steps(optimizer_of(variant), args.steps))

    # every variant took the same steps from the same model and gradients
    gaps = {v.name: max_param_gap(v, active[0]) for v in active}
    valid = all(gap <= SAME_WORK_TOLERANCE for gap in gaps.values())
    if not valid:
        print(f"# NOT THE SAME WORK: parameter gaps to {active[0].name}: {gaps}", file=sys.stderr)
    medians = {name: statistics.median(values) for name, values in samples.items()}
    baseline = medians.get(runs[0].name)
    machine = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "cpu": cpu_model(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "loadavg_1min": os.getloadavg()[0],  # other work on the machine widens the spread
    }
    print(
        f"`optimizer.step()` on mlp_digits (64-128-128-10, {sum_params(runs)} parameters), "
        f"{args.repeats} repeats x {args.steps} steps after {args.warmup} warm-up steps, "
        f"torch {machine['torch']}, {machine['threads']} thread(s), {machine['cpu']} "
        f"({machine['nproc']} CPUs, load average {machine['loadavg_1min']:.2f}), "
        f"{machine['date']}\n"
    )
    # On a shared machine the minimum is the steadier estimate: load only ever adds time.
    print(
        "| variant | median us/step | min us/step | max us/step "
        "| median ratio to torch default | min ratio to torch default |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    base_min = min(samples[runs[0].name]) if baseline else None
    for variant in runs:
        if variant.skipped is not None:
            print(f"| {variant.name} | skipped: {variant.skipped} | | | | |")
            continue
        values = samples[variant.name]
        ratio = f"{medians[variant.name] / baseline:.2f}" if baseline else "n/a"
        min_ratio = f"{min(values) / base_min:.2f}" if base_min else "n/a"
        print(
            f"| {variant.name} | {medians[variant.name]:.1f} | {min(values):.1f} "
            f"| {max(values):.1f} | {ratio} | {min_ratio} |"
        )

    if args.json is not None:
        report = {
            "machine": machine,
            "config": vars(args) | {"json": str(args.json)},
            "baseline": runs[0].name,
            "us_per_step": samples,
            "median_us_per_step": medians,
            "skipped": {v.name: v.skipped for v in runs if v.skipped is not None},
            "max_param_gap": gaps,
            "valid": valid,
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0 if valid else 1


if __name__ == "__main__":
    raise SystemExit(main())
