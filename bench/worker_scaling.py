"""Trials per minute with 2 embedded workers against 1, on the same study, through the service.

Each run starts `adamtune serve --workers N` on a fresh SQLite file, waits until the workers have
finished importing, runs a small warm-up study (2N one-epoch trials: a worker's first trial pays
several seconds of one-time lazy imports and data loading, reported separately), then POSTs the
study and polls GET /api/studies/{id} every 0.2 s until it is completed. Trials per minute =
n_trials / (POST to completed). Without pruning every trial trains all its epochs (a diverging
one ends early: epochs per minute is shown too), so the throughput compares like with like.
Runs alternate 1, 2, 2, 1, ... so drift in machine load hits both alike.

    .venv/bin/python bench/worker_scaling.py [--repeats 3] [--trials 16] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c  # noqa: E402

TARGET = 1.7


def submit_and_wait(server: c.Server, body: dict[str, Any]) -> tuple[float, int]:
    """(seconds from POST to status completed, study id)."""
    start = time.perf_counter()
    status, payload, _ = c.http("POST", f"{server.url}/api/studies", body)
    if status != 201:
        raise RuntimeError(f"POST /api/studies: {status} {payload[:500]!r}")
    study_id = json.loads(payload)["id"]
    _, done = c.wait_status(server, study_id, ("completed",), poll_s=0.2)
    return done - start, study_id


def run(args: argparse.Namespace, work: Path, workers: int, tag: str) -> dict[str, Any]:
    db = work / f"scaling-{tag}.db"
    server = c.adamtune_server(f"sqlite:///{db}", workers, work / f"serve-{tag}.log")
    with server:
        c.wait_until_importing_done(c.worker_pids(server, workers))
        # no validation: a study's validation would train while the next study is timed
        warm = {"task": args.task, "n_trials": 2 * workers, "epochs": 1, "pruner": "none",
                "validate_top_k": 0}  # fmt: skip
        warmup_s, _ = submit_and_wait(server, warm)
        body = {"task": args.task, "n_trials": args.trials, "epochs": args.epochs,
                "sampler": args.sampler, "pruner": args.pruner, "seed": args.seed,
                "validate_top_k": 0}  # fmt: skip
        load = c.loadavg()[0]
        seconds, study_id = submit_and_wait(server, body)
        trials = c.get_json(f"{server.url}/api/studies/{study_id}/trials?limit=1000")["trials"]
    epochs = sum(t["epochs_done"] for t in trials)
    return {
        "workers": workers,
        "seconds": seconds,
        "trials": len(trials),
        "epochs": epochs,
        "trials_per_min": len(trials) / seconds * 60,
        "epochs_per_min": epochs / seconds * 60,
        "states": [t["state"] for t in trials],
        "warmup_study_s": warmup_s,
        "loadavg_1min_start": load,
        "loadavg_1min_end": c.loadavg()[0],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    c.add_common_args(parser, repeats=3)
    parser.add_argument("--task", default="cnn_digits")
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--epochs", type=int, help="default: the task's")
    parser.add_argument("--sampler", default="tpe")
    parser.add_argument("--pruner", default="none")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    c.wait_for_quiet(args.wait_load)
    info = c.machine()
    runs: dict[int, list[dict[str, Any]]] = {1: [], 2: []}
    with c.workdir(args.workdir) as work:
        for repeat in range(args.repeats):
            order = (1, 2) if repeat % 2 == 0 else (2, 1)
            for workers in order:
                result = run(args, work, workers, f"{repeat}-{workers}")
                runs[workers].append(result)
                print(f"# repeat {repeat}, {workers} worker(s): {result['seconds']:.1f} s, "
                      f"{result['trials_per_min']:.1f} trials/min, load "
                      f"{result['loadavg_1min_start']:.2f}", file=sys.stderr)  # fmt: skip
    info["loadavg_end"] = c.loadavg()
    # the same work on both sides: every run trained all n_trials trials, none failed
    valid = all(
        r["trials"] == args.trials and "FAIL" not in r["states"] for rs in runs.values() for r in rs
    )
    if not valid:
        print(f"# NOT THE SAME WORK: a run did not train {args.trials} trials: "
              f"{[r['states'] for rs in runs.values() for r in rs]}", file=sys.stderr)  # fmt: skip

    # per-repeat speed-ups (the two runs of a repeat ran back to back)
    speedups = [
        two["trials_per_min"] / one["trials_per_min"]
        for one, two in zip(runs[1], runs[2], strict=True)
    ]
    epoch_speedups = [
        two["epochs_per_min"] / one["epochs_per_min"]
        for one, two in zip(runs[1], runs[2], strict=True)
    ]
    print(c.header(
        f"Worker scaling: {args.task}, {args.trials} trials x {args.epochs or 'default'} "
        f"epochs, sampler {args.sampler}, pruner {args.pruner}; {args.repeats} repeats",
        info,
    ))  # fmt: skip
    rows = []
    for workers in (1, 2):
        rs = runs[workers]
        rows.append([
            f"{workers} worker{'s' if workers > 1 else ''}",
            c.fmt_summary(c.summary([r["seconds"] for r in rs]), ".1f"),
            c.fmt_summary(c.summary([r["trials_per_min"] for r in rs]), ".1f"),
            c.fmt_summary(c.summary([r["epochs_per_min"] for r in rs]), ".0f"),
            c.fmt_summary(c.summary([r["warmup_study_s"] for r in rs]), ".1f"),
            ", ".join(f"{r['loadavg_1min_start']:.2f}" for r in rs),
        ])  # fmt: skip
    print(c.table(
        ["workers", "POST to completed, s", "trials/min", "epochs/min",
         "warm-up study (2N x 1 epoch, cold workers), s", "1-min load at start"],
        rows,
    ))  # fmt: skip
    s, e = c.summary(speedups), c.summary(epoch_speedups)
    verdict = "met" if s["median"] >= TARGET else "missed"
    print(
        f"\nSpeed-up, 2 workers / 1 (median of per-repeat ratios): {s['median']:.2f}x "
        f"(min {s['min']:.2f}, max {s['max']:.2f}) in trials/min, {e['median']:.2f}x in "
        f"epochs/min. Target >= {TARGET}x: {verdict}."
    )
    c.write_json(
        args.json,
        {"machine": info, "config": {k: v for k, v in vars(args).items() if k != "json"},
         "runs": runs, "speedups": speedups, "epoch_speedups": epoch_speedups, "valid": valid},
    )  # fmt: skip
    return 0 if valid else 1


if __name__ == "__main__":
    raise SystemExit(main())
