"""One epoch of each built-in task on the CPU and on a GPU, side by side: the time each takes,
and whether both reach the same losses (the same seed, model and batches: only the device
differs, so the curves must agree within float tolerance, not bitwise).

Where a worker should train (`adamtune worker --device cuda:N`) depends on the task: the small
tasks are launch-bound and may be no faster on a GPU. On a machine without CUDA the CPU side
runs and the GPU side is reported as skipped, with why.

    .venv/bin/python bench/gpu.py [--epochs 1] [--repeats 3] [--tasks a,b] [--device cuda:0]
        [--json PATH]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _common as c  # noqa: E402
import torch  # noqa: E402

from optim.params import OptimizerParams  # noqa: E402
from optim.tasks import get_task, list_tasks  # noqa: E402
from optim.training import make_deterministic, resolve_device, train  # noqa: E402

# float sums in another order (GPU kernels, TF32 off) drift apart over an epoch of Adam steps:
# the losses of both sides must agree to this relative gap
LOSS_TOLERANCE = 1e-3


def epoch_run(task: str, device: torch.device, epochs: int) -> tuple[float, float, float]:
    """(seconds per epoch, last train loss, last val loss) of one training from seed 0."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    started = time.perf_counter()
    history = train(get_task(task), OptimizerParams(), epochs=epochs, seed=0, device=device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    seconds = (time.perf_counter() - started) / epochs
    return seconds, history[-1].train_loss, history[-1].val_loss


def side(task: str, device: torch.device, epochs: int, repeats: int) -> dict[str, Any]:
    """A warm-up run (the data, cuDNN, kernels), then `repeats` timed runs; their losses must
    all be the same on one device (the seed fixes everything)."""
    epoch_run(task, device, 1)
    runs = [epoch_run(task, device, epochs) for _ in range(repeats)]
    return {
        "seconds_per_epoch": [r[0] for r in runs],
        "median_s": statistics.median(r[0] for r in runs),
        "train_loss": runs[-1][1],
        "val_loss": runs[-1][2],
        "repeatable": len({(r[1], r[2]) for r in runs}) == 1,
    }


def gap(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b), 1e-12)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1, help="epochs per timed run")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per task and device")
    parser.add_argument("--tasks", help="comma-separated (default: every built-in task)")
    parser.add_argument("--device", default="cuda", help="the GPU side: cuda or cuda:N")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (a worker's)")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.backends.cuda.matmul.allow_tf32 = False  # full float32 on both sides
    torch.backends.cudnn.allow_tf32 = False
    names = args.tasks.split(",") if args.tasks else [t.name for t in list_tasks()]
    info = c.machine({"threads": args.threads})

    gpu: torch.device | None = None
    skipped: str | None = None
    try:
        gpu = resolve_device(args.device)
        make_deterministic(gpu)
        info["gpu"] = torch.cuda.get_device_name(gpu)
    except ValueError as exc:
        skipped = str(exc)

    cpu = torch.device("cpu")
    rows, results = [], []
    for name in names:
        result: dict[str, Any] = {"task": name, "cpu": side(name, cpu, args.epochs, args.repeats)}
        if gpu is not None:
            result["gpu"] = side(name, gpu, args.epochs, args.repeats)
            result["loss_gap"] = max(
                gap(result["cpu"][k], result["gpu"][k]) for k in ("train_loss", "val_loss")
            )
        results.append(result)
        cpu_s = result["cpu"]["median_s"]
        gpu_s = result["gpu"]["median_s"] if gpu is not None else math.nan
        rows.append([
            name, c.fmt(cpu_s), c.fmt(gpu_s) if gpu is not None else "skipped",
            c.fmt(cpu_s / gpu_s) if gpu is not None else "n/a",
            c.fmt(result["cpu"]["val_loss"], 5),
            c.fmt(result["gpu"]["val_loss"], 5) if gpu is not None else "n/a",
            c.fmt(result.get("loss_gap"), 2) if gpu is not None else "n/a",
        ])  # fmt: skip

    info["loadavg_end"] = c.loadavg()
    valid = all(r["cpu"]["repeatable"] for r in results) and all(
        r["gpu"]["repeatable"] and r["loss_gap"] <= LOSS_TOLERANCE for r in results if "gpu" in r
    )
    print(c.header("One epoch per task, CPU against GPU (seconds, median of repeats)", info))
    print(c.table(
        ["task", "CPU s/epoch", "GPU s/epoch", "speedup", "CPU val_loss", "GPU val_loss",
         "loss gap"],
        rows,
    ))  # fmt: skip
    if skipped is not None:
        print(f"\nGPU side skipped: {skipped}")
    if not valid:
        print("# NOT THE SAME LOSSES: see loss_gap / repeatable in the JSON", file=sys.stderr)
    c.write_json(
        args.json,
        {
            "machine": info,
            "config": vars(args) | {"json": str(args.json)},
            "tolerance": LOSS_TOLERANCE,
            "gpu_skipped": skipped,
            "runs": results,
            "valid": valid,
        },
    )
    return 0 if valid else 1


if __name__ == "__main__":
    sys.exit(main())
