"""Intermediate reports per second: `trial.report` on one running trial, through adamtune's tuned
SQLite storage (`optim.storage.make_storage`: WAL, synchronous=NORMAL, BEGIN IMMEDIATE) against
`optuna.storages.RDBStorage(url)` with Optuna's default SQLite settings (rollback journal,
synchronous=FULL: a disk flush per commit).

Each round and variant gets a fresh database file on a real disk (not tmpfs: fsync must cost what
it costs), creates a study, asks one trial and times `--reports` consecutive `trial.report(v,
step)` calls; each call is one committed transaction, as in a worker. Variants alternate order.
Each round also times a raw 100-byte write + os.fsync on the same disk: the flush that Optuna's
default settings pay on every commit, and so the most WAL + synchronous=NORMAL can save.

    .venv/bin/python bench/storage_writes.py [--repeats 5] [--reports 2000] [--json PATH]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c  # noqa: E402

TARGET = 10.0
LABELS = {
    "adamtune": "optim.storage.make_storage(url) (WAL, synchronous=NORMAL)",
    "optuna": "optuna.storages.RDBStorage(url) (Optuna's SQLite defaults)",
}


def make(variant: str, url: str) -> Any:
    import optuna

    from optim.storage import make_storage

    if variant == "adamtune":
        return make_storage(url)
    return optuna.storages.RDBStorage(url)


def journal(storage: Any) -> str:
    with storage.engine.connect() as conn:
        mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
        sync = conn.exec_driver_sql("PRAGMA synchronous").scalar()
    return f"journal_mode={mode}, synchronous={sync}"


def one_round(variant: str, path: Path, reports: int) -> dict[str, Any]:
    import optuna

    storage = make(variant, f"sqlite:///{path}")
    try:
        study = optuna.create_study(storage=storage)
        trial = study.ask()
        start = time.perf_counter()
        for step in range(reports):
            trial.report(1.0 / (step + 1), step)
        seconds = time.perf_counter() - start
        settings = journal(storage)
    finally:
        storage.engine.dispose()
    return {"seconds": seconds, "reports": reports, "per_s": reports / seconds,
            "settings": settings, "loadavg_1min": c.loadavg()[0]}  # fmt: skip


def fsync_ms(path: Path, count: int = 200) -> float:
    """Median milliseconds of one small append + os.fsync on this disk."""
    times = []
    with path.open("ab") as handle:
        for _ in range(count):
            start = time.perf_counter()
            handle.write(b"x" * 100)
            handle.flush()
            os.fsync(handle.fileno())
            times.append(time.perf_counter() - start)
    path.unlink()
    return statistics.median(times) * 1e3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    c.add_common_args(parser, repeats=5)
    parser.add_argument("--reports", type=int, default=2000, help="reports per timed round")
    args = parser.parse_args(argv)

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore")
    c.wait_for_quiet(args.wait_load)
    info = c.machine()
    runs: dict[str, list[dict[str, Any]]] = {"adamtune": [], "optuna": []}
    fsyncs: list[float] = []
    with c.workdir(args.workdir) as work:
        for repeat in range(args.repeats):
            order = ("adamtune", "optuna") if repeat % 2 == 0 else ("optuna", "adamtune")
            fsyncs.append(fsync_ms(work / f"fsync-{repeat}.bin"))
            for variant in order:
                result = one_round(variant, work / f"{variant}-{repeat}.db", args.reports)
                runs[variant].append(result)
                print(f"# repeat {repeat} {variant}: {result['per_s']:.0f} reports/s",
                      file=sys.stderr)  # fmt: skip
    info["loadavg_end"] = c.loadavg()

    ratios = [
        a["per_s"] / o["per_s"] for a, o in zip(runs["adamtune"], runs["optuna"], strict=True)
    ]
    print(c.header(
        f"Storage writes: trial.report x {args.reports} on one running trial, fresh SQLite file "
        f"per round; {args.repeats} repeats",
        info,
    ))  # fmt: skip
    rows = []
    for variant in ("adamtune", "optuna"):
        rs = runs[variant]
        rows.append([
            LABELS[variant],
            rs[0]["settings"],
            c.fmt_summary(c.summary([r["per_s"] for r in rs]), ".0f"),
            c.fmt_summary(c.summary([r["seconds"] / r["reports"] * 1e3 for r in rs]), ".2f"),
        ])  # fmt: skip
    f = c.summary(fsyncs)
    rows.append(["raw 100-byte write + os.fsync on the same disk (no SQLite)", "",
                 f"{1e3 / f['median']:.0f}", c.fmt_summary(f, ".2f")])  # fmt: skip
    print(c.table(["storage", "SQLite settings", "reports/s", "ms per report"], rows, "llrr"))
    r = c.summary(ratios)
    verdict = "met" if r["median"] >= TARGET else "missed"
    print(
        f"\nSpeed-up (median of per-repeat ratios): {r['median']:.1f}x (min {r['min']:.1f}, "
        f"max {r['max']:.1f}). Target >= {TARGET:g}x: {verdict}."
    )
    c.write_json(
        args.json,
        {"machine": info, "config": {k: v for k, v in vars(args).items() if k != "json"},
         "runs": runs, "ratios": ratios, "fsync_ms": fsyncs},
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
