"""Resident memory of the server and of each worker during a char_lstm study with 2 workers.

`adamtune serve --workers 2` on a fresh SQLite file runs one char_lstm study (the largest task:
a 2-layer LSTM); this script samples VmRSS of the server process and of each worker process
(its children) from /proc every 0.5 s, from before the POST until the study is completed, while
polling the API as an open study page would (GET /curves?after=<cursor> every second,
GET /api/studies/{id} every 5 s). Reported per process: RSS when idle (before the study),
median and peak of the samples, and the kernel's own peak (VmHWM) at the end. With --repeats > 1
each run starts a fresh server; the table shows the median (min–max) over runs.

    .venv/bin/python bench/memory.py [--trials 4] [--epochs 10] [--repeats 1] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c  # noqa: E402


def one_run(args: argparse.Namespace, work: Path, repeat: int) -> dict[str, Any]:
    server = c.adamtune_server(f"sqlite:///{work / f'mem-{repeat}.db'}", 2,
                               work / f"serve-{repeat}.log")  # fmt: skip
    with server:
        workers = c.worker_pids(server, 2)
        c.wait_until_importing_done(workers)
        names = {server.pid: "server", **{p: f"worker {i + 1}" for i, p in enumerate(workers)}}
        idle = {name: c.rss_mb(pid) for pid, name in names.items()}
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in names.values()}
        body = {"task": args.task, "n_trials": args.trials, "epochs": args.epochs,
                "pruner": "none", "seed": repeat}  # fmt: skip
        start = time.monotonic()
        status, payload, _ = c.http("POST", f"{server.url}/api/studies", body)
        if status != 201:
            raise RuntimeError(f"POST /api/studies: {status} {payload[:300]!r}")
        study_id = json.loads(payload)["id"]
        base = f"{server.url}/api/studies/{study_id}"
        cursor, next_sample, next_curves, next_study = 0, start, start, start
        status_now = "queued"
        while status_now not in ("completed", "failed"):
            now = time.monotonic()
            if now >= next_sample:
                for pid, name in names.items():
                    rss = c.rss_mb(pid)
                    if rss is not None:
                        samples[name].append((round(now - start, 2), rss))
                next_sample += args.interval
            if now >= next_curves:
                cursor = c.get_json(f"{base}/curves?after={cursor}")["cursor"]
                next_curves += 1.0
            if now >= next_study:
                status_now = c.get_json(base)["status"]
                next_study += args.status_every if status_now == "running" else 1.0
            time.sleep(max(0.0, min(next_sample, next_curves, next_study) - time.monotonic()))
        seconds = time.monotonic() - start
        hwm = {name: c.rss_mb(pid, "VmHWM") for pid, name in names.items()}
        trials = c.get_json(f"{base}/trials?limit=100")["trials"]
    return {
        "seconds": seconds,
        "idle": idle,
        "samples": samples,
        "vmhwm_end": hwm,
        "trials": [[t["number"], t["state"], t["epochs_done"]] for t in trials],
        "loadavg_1min_end": c.loadavg()[0],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    c.add_common_args(parser, repeats=1)
    parser.add_argument("--task", default="char_lstm")
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--epochs", type=int, help="default: the task's (char_lstm: 10)")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between samples")
    parser.add_argument("--status-every", type=float, default=5.0,
                        help="seconds between status polls while the study runs (as a page "
                        "would); a smoke run's study ends sooner than that")  # fmt: skip
    args = parser.parse_args(argv)

    c.wait_for_quiet(args.wait_load)
    info = c.machine()
    with c.workdir(args.workdir) as work:
        runs = [one_run(args, work, r) for r in range(args.repeats)]
    info["loadavg_end"] = c.loadavg()

    print(c.header(
        f"Memory: {args.task}, {args.trials} trials x {args.epochs or 'default'} epochs, "
        f"2 workers, RSS sampled every {args.interval:g} s; {args.repeats} run(s), "
        f"{statistics.median(r['seconds'] for r in runs):.0f} s each (median)",
        info,
    ))  # fmt: skip
    rows = []
    for name in runs[0]["samples"]:

        def over_runs(fn: Any, name: str = name) -> str:
            return c.fmt_summary(c.summary([fn(r, name) for r in runs]), ".0f")

        rows.append([
            name,
            over_runs(lambda r, n: r["idle"][n]),
            over_runs(lambda r, n: statistics.median(v for _, v in r["samples"][n])),
            over_runs(lambda r, n: max(v for _, v in r["samples"][n])),
            over_runs(lambda r, n: r["vmhwm_end"][n]),
            str(sum(len(r["samples"][name]) for r in runs)),
        ])  # fmt: skip
    print(c.table(["process", "idle RSS MB", "median RSS MB", "peak RSS MB (samples)",
                   "VmHWM MB at end", "samples"], rows))  # fmt: skip
    total_peak = max(sum(max(v for _, v in r["samples"][n]) for n in r["samples"]) for r in runs)
    print(
        f"\nSum of the three peaks (upper bound of the service's footprint): {total_peak:.0f} MB."
    )
    c.write_json(
        args.json,
        {"machine": info, "config": {k: v for k, v in vars(args).items() if k != "json"},
         "runs": runs},
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
