"""Tuning quality at an equal budget: TPE+Hyperband, TPE alone, random search, default Adam.

For each task and seed, each method runs one study of `--trials` trials in process, with
Optuna's in-memory storage, through `optim.study.create_study` (so trial 0 is always the
enqueued default-Adam baseline, as in the service) and `optim.objective.make_objective` (the
seed is both the sampler's and the training's). Jobs run in `--processes` processes at once
(`torch.set_num_threads(1)` each), longest first. Reported per task and method over the seeds:
best validation loss (median, min, max), epochs trained (pruned trials count the epochs they
ran), wall time. The PNG shows the median over seeds of the best value so far against trials.

On quadratic_deep the task's validation loss is DeepOBS's test loss (the 1000-point test set),
so the default-Adam and tuned values are set beside the published DeepOBS-protocol runs of
Schmidt, Schneider & Hennig (2021), "Descending through a Crowded Valley", whose raw results
are public (github.com/SirRob1997/Crowded-Valley---Results, results/<budget>/none/
quadratic_deep/AdamOptimizer/...): Adam with defaults (one-shot budget, constant schedule,
100 epochs, batch 128), final test loss 106.64 (seed 43); Adam tuned by 50-trial random search
(large budget, constant schedule; lr 0.01104, beta1 0.6675, beta2 0.8405), final test loss
87.23 (seed 43).

    .venv/bin/python bench/tuning_quality.py [--seeds 5] [--trials 30] [--json PATH]
        [--png docs/bench/tuning_quality.png]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c  # noqa: E402

METHODS: dict[str, tuple[str, str]] = {  # name -> (sampler, pruner)
    "TPE + Hyperband": ("tpe", "hyperband"),
    "TPE, no pruning": ("tpe", "none"),
    "random search, no pruning": ("random", "none"),
    "default Adam": ("tpe", "none"),  # a one-trial study: just the enqueued baseline
}
# Published DeepOBS-protocol figures for quadratic_deep (see the module docstring)
PUBLISHED = {
    "default": (106.64, "Crowded Valley results, Adam one-shot (defaults), seed 43"),
    "tuned": (
        87.23,
        "Crowded Valley results, Adam large budget (50 random-search trials), seed 43",
    ),
}


def _init_worker(tasks: list[str]) -> None:
    """One thread per process; pay each task's one-time costs (lazy imports, data loading,
    torch's first calls: seconds) here, not in whichever study a process happens to run first."""
    import optuna
    import torch

    from optim.params import OptimizerParams
    from optim.tasks import get_task
    from optim.training import train

    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    for task in tasks:
        train(get_task(task), OptimizerParams(), epochs=1, seed=0)


def run_job(job: tuple[str, str, int, int, int]) -> dict[str, Any]:
    """One study; returns its per-trial outcomes and wall time."""
    import optuna

    from optim.objective import make_objective
    from optim.study import StudyConfig, create_study
    from optim.tasks import get_task

    task, method, seed, trials, epochs = job
    sampler, pruner = METHODS[method]
    n_trials = 1 if method == "default Adam" else trials
    config = StudyConfig(task=task, n_trials=n_trials, epochs=epochs, sampler=sampler,
                         pruner=pruner, seed=seed)  # fmt: skip
    start = time.perf_counter()
    study = create_study(config, optuna.storages.InMemoryStorage(), f"{task}-{method}-{seed}")
    objective = make_objective(get_task(task), config.space, epochs=epochs, seed=seed)
    study.optimize(objective, n_trials=n_trials)
    seconds = time.perf_counter() - start
    outcomes = [
        {"number": t.number, "state": t.state.name, "value": t.value,
         "epochs": len(t.intermediate_values), "params": t.params}
        for t in study.trials
    ]  # fmt: skip
    return {"task": task, "method": method, "seed": seed, "seconds": seconds,
            "trials": outcomes, "loadavg_1min": c.loadavg()[0]}  # fmt: skip


def best_so_far(trials: list[dict[str, Any]]) -> list[float | None]:
    out: list[float | None] = []
    best: float | None = None
    for t in sorted(trials, key=lambda t: t["number"]):
        if t["state"] == "COMPLETE" and t["value"] is not None:
            best = t["value"] if best is None else min(best, t["value"])
        out.append(best)
    return out


def plot(png: Path, runs: list[dict[str, Any]], tasks: list[str], trials: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(1, len(tasks), figsize=(6 * len(tasks), 4.2), squeeze=False)
    for ax, task in zip(axes[0], tasks, strict=True):
        for method in METHODS:
            curves = [best_so_far(r["trials"]) for r in runs
                      if r["task"] == task and r["method"] == method]  # fmt: skip
            if method == "default Adam":
                base = np.median([cv[0] for cv in curves])
                ax.axhline(base, color="black", ls="--", lw=1.2, label=f"default Adam ({base:.4g})")
                continue
            arr = np.array([[np.nan if v is None else v for v in cv] for cv in curves])
            med = np.nanmedian(arr, axis=0)
            x = np.arange(1, arr.shape[1] + 1)
            line = ax.plot(x, med, lw=2, label=method)[0]
            ax.fill_between(x, np.nanmin(arr, axis=0), np.nanmax(arr, axis=0),
                            color=line.get_color(), alpha=0.12)  # fmt: skip
        if task == "quadratic_deep":
            ax.axhline(PUBLISHED["tuned"][0], color="grey", ls=":", lw=1.2,
                       label=f"Crowded Valley tuned Adam ({PUBLISHED['tuned'][0]})")  # fmt: skip
        ax.set_title(f"{task}: best validation loss so far (median over seeds, band min–max)")
        ax.title.set_fontsize(9)
        ax.set_xlabel("trials (trial 1 is default Adam)")
        ax.set_ylabel("best validation loss")
        ax.set_xlim(1, trials)
        values = [v for r in runs if r["task"] == task for v in best_so_far(r["trials"]) if v]
        if values and max(values) / min(values) > 5:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=110)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    c.add_common_args(parser, repeats=None)  # the seeds are the repeats
    parser.add_argument("--tasks", nargs="+", default=["quadratic_deep", "mlp_digits"])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--quadratic-epochs", type=int, default=100)
    parser.add_argument("--mlp-epochs", type=int, default=20, help="mlp_digits' default: 20")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--png", type=Path, default=c.ROOT / "docs/bench/tuning_quality.png")
    parser.add_argument("--from-json", type=Path, help="redo the tables and plot of a saved run")
    args = parser.parse_args(argv)
    if args.from_json:
        import json

        saved = json.loads(args.from_json.read_text())
        for key in ("tasks", "seeds", "trials", "processes", "quadratic_epochs", "mlp_epochs"):
            setattr(args, key, saved["config"][key])
        args.json = None
        saved_runs, info = saved["runs"], saved["machine"]
        if args.png:
            plot(args.png, saved_runs, args.tasks, args.trials)
        report(
            args,
            info,
            saved_runs,
            lambda t: {"quadratic_deep": args.quadratic_epochs, "mlp_digits": args.mlp_epochs}.get(
                t, "default"
            ),
        )
        return 0

    def epochs_of(task: str) -> int:
        from optim.tasks import get_task

        if task == "quadratic_deep":
            return args.quadratic_epochs
        if task == "mlp_digits":
            return args.mlp_epochs
        return get_task(task).default_epochs

    jobs = [(t, m, s, args.trials, epochs_of(t)) for t in args.tasks for m in METHODS
            for s in range(args.seeds)]  # fmt: skip
    cost = {"TPE + Hyperband": 0.5, "TPE, no pruning": 1.0, "random search, no pruning": 1.0,
            "default Adam": 1.0 / args.trials}  # fmt: skip
    jobs.sort(key=lambda j: -cost[j[1]] * j[4] * (5 if j[0] != "quadratic_deep" else 1))
    c.wait_for_quiet(args.wait_load)
    info = c.machine({"processes": args.processes})
    start = time.perf_counter()
    runs: list[dict[str, Any]] = []
    with mp.get_context("spawn").Pool(
        args.processes, initializer=_init_worker, initargs=(args.tasks,)
    ) as pool:
        for r in pool.imap_unordered(run_job, jobs):
            runs.append(r)
            print(f"# {r['task']} {r['method']} seed {r['seed']}: {r['seconds']:.1f} s",
                  file=sys.stderr)  # fmt: skip
    info["total_seconds"] = time.perf_counter() - start
    info["loadavg_end"] = c.loadavg()
    if args.png:
        plot(args.png, runs, args.tasks, args.trials)
    report(args, info, runs, epochs_of)
    return 0


def report(args: argparse.Namespace, info: dict[str, Any], runs: list[dict[str, Any]],
           epochs_of: Any) -> None:  # fmt: skip
    print(c.header(
        f"Tuning quality: {args.trials} trials per study (trial 0 = default Adam), seeds "
        f"0–{args.seeds - 1}, in-memory storage, {args.processes} studies at a time; total "
        f"{info['total_seconds'] / 60:.1f} min",
        info,
    ))  # fmt: skip
    summary_rows = {}
    for task in args.tasks:
        rows = []
        for method in METHODS:
            rs = [r for r in runs if r["task"] == task and r["method"] == method]
            bests = [best_so_far(r["trials"])[-1] for r in rs]
            epochs = [sum(t["epochs"] for t in r["trials"]) for r in rs]
            states = [t["state"] for r in rs for t in r["trials"]]
            b = c.summary([v for v in bests if v is not None])
            summary_rows[(task, method)] = b
            rows.append([
                method, f"{b['median']:.5g}", f"{b['min']:.5g}–{b['max']:.5g}",
                c.fmt_summary(c.summary(epochs), ".0f"),
                c.fmt_summary(c.summary([r["seconds"] for r in rs]), ".1f"),
                f"{states.count('COMPLETE')}/{states.count('PRUNED')}",
            ])  # fmt: skip
        print(f"\n{task} ({epochs_of(task)} epochs per trial):\n")
        print(c.table(["method", "best val loss, median", "min–max over seeds",
                       "epochs trained, median (min–max)", "wall s, median (min–max)",
                       "trials complete/pruned (all seeds)"], rows))  # fmt: skip
    if "quadratic_deep" in args.tasks:
        d = summary_rows[("quadratic_deep", "default Adam")]
        tuned = {m: summary_rows[("quadratic_deep", m)] for m in METHODS if m != "default Adam"}
        best_method = min(tuned, key=lambda m: tuned[m]["median"])
        print(f"\nquadratic_deep against published DeepOBS-protocol runs (test loss; adamtune "
              f"after {epochs_of('quadratic_deep')} epochs, published after 100):\n")  # fmt: skip
        print(c.table(["", "adamtune (median over seeds)", "published", "source"], [
            ["default Adam", f"{d['median']:.2f}", f"{PUBLISHED['default'][0]:.2f}",
             PUBLISHED["default"][1]],
            [f"tuned ({best_method}, {args.trials} trials)", f"{tuned[best_method]['median']:.2f}",
             f"{PUBLISHED['tuned'][0]:.2f}", PUBLISHED["tuned"][1]],
        ], "lrrl"))  # fmt: skip
    if args.png:
        print(f"\nPlot: {args.png}")
    c.write_json(
        args.json,
        {"machine": info, "config": {k: str(v) if isinstance(v, Path) else v
                                     for k, v in vars(args).items() if k != "json"},
         "published_quadratic_deep": PUBLISHED, "runs": runs},
    )  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
