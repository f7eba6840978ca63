"""Intermediate reports per second: `trial.report` on one running trial, through adamtune's storage
(`optim.storage.make_storage`: SQLite with WAL, synchronous=NORMAL, BEGIN IMMEDIATE, and each
report one SQL upsert) against `optuna.storages.RDBStorage(url)` with Optuna's default SQLite
settings (rollback journal, synchronous=FULL: a disk flush per commit).

A third variant, for comparison, is adamtune's storage with Optuna's own ORM
`set_trial_intermediate_value` (load the trial, check it, look for the step, insert, commit): the
SQLite settings alone, as before the one-statement report path.

Each round and variant gets a fresh database file on a real disk (not tmpfs: fsync must cost what
it costs), creates a study, asks one trial and times `--reports` consecutive `trial.report(v,
step)` calls; each call is one committed transaction, as in a worker. The variants' order rotates
from round to round.
Each round also times a raw 100-byte write + os.fsync on the same disk: the flush that Optuna's
default settings pay on every commit, and so the most WAL + synchronous=NORMAL can save.

    .venv/bin/python bench/storage_writes.py [--repeats 5] [--reports 2000] [--json PATH]
"""

from __future__ import annotations

import argparse
import functools
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
    "adamtune": "optim.storage.make_storage(url): one-statement reports, WAL, synchronous=NORMAL",
    "adamtune_orm": "the same with Optuna's ORM set_trial_intermediate_value (settings only)",
    "optuna": "optuna.storages.RDBStorage(url) (Optuna's SQLite defaults)",
}
VARIANTS = tuple(LABELS)


def make(variant: str, url: str) -> Any:
    import optuna

    from optim.storage import make_storage

    if variant == "optuna":
        return optuna.storages.RDBStorage(url)
    storage = make_storage(url)
    if variant == "adamtune_orm":
        # the instance attribute shadows our method: Optuna's ORM path on the tuned engine
        storage.set_trial_intermediate_value = functools.partial(  # type: ignore[method-assign]
            optuna.storages.RDBStorage.set_trial_intermediate_value, storage
        )
    return storage


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
        # the same work in every variant: every report stored, read back through Optuna
        stored = study.trials[0].intermediate_values
        complete = stored == {step: 1.0 / (step + 1) for step in range(reports)}
    finally:
        storage.engine.dispose()
    return {"seconds": seconds, "reports": reports, "per_s": reports / seconds,
            "settings": settings, "loadavg_1min": c.loadavg()[0],
            "all_stored": complete}  # fmt: skip


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
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: does it still run?")
    args = parser.parse_args(argv)
    if args.smoke:
        args.repeats, args.reports = 1, 5

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore")
    c.wait_for_quiet(args.wait_load)
    info = c.machine()
    runs: dict[str, list[dict[str, Any]]] = {variant: [] for variant in VARIANTS}
    fsyncs: list[float] = []
    with c.workdir(args.workdir) as work:
        for repeat in range(args.repeats):
            shift = repeat % len(VARIANTS)
            order = VARIANTS[shift:] + VARIANTS[:shift]
            fsyncs.append(fsync_ms(work / f"fsync-{repeat}.bin"))
            for variant in order:
                result = one_round(variant, work / f"{variant}-{repeat}.db", args.reports)
                runs[variant].append(result)
                print(f"# repeat {repeat} {variant}: {result['per_s']:.0f} reports/s",
                      file=sys.stderr)  # fmt: skip
    info["loadavg_end"] = c.loadavg()
    valid = all(r["all_stored"] for rs in runs.values() for r in rs)
    if not valid:
        print("# NOT THE SAME WORK: a variant did not store every report", file=sys.stderr)

    def ratios_to(base: str, variant: str = "adamtune") -> list[float]:
        pairs = zip(runs[variant], runs[base], strict=True)
        return [a["per_s"] / b["per_s"] for a, b in pairs]

    ratios = ratios_to("optuna")
    ratios_orm = ratios_to("adamtune_orm")
    print(c.header(
        f"Storage writes: trial.report x {args.reports} on one running trial, fresh SQLite file "
        f"per round; {args.repeats} repeats",
        info,
    ))  # fmt: skip
    rows = []
    for variant in VARIANTS:
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
    o = c.summary(ratios_orm)
    print(
        f"\nSpeed-up over Optuna's SQLite defaults (median of per-repeat ratios): "
        f"{r['median']:.1f}x (min {r['min']:.1f}, max {r['max']:.1f}). Target >= {TARGET:g}x: "
        f"{verdict}.  \nOver the same settings with Optuna's ORM report path: {o['median']:.1f}x "
        f"(min {o['min']:.1f}, max {o['max']:.1f})."
    )
    c.write_json(
        args.json,
        {"machine": info, "config": {k: v for k, v in vars(args).items() if k != "json"},
         "runs": runs, "ratios": ratios, "ratios_orm": ratios_orm, "fsync_ms": fsyncs,
         "valid": valid},
    )  # fmt: skip
    return 0 if valid else 1


if __name__ == "__main__":
    raise SystemExit(main())
