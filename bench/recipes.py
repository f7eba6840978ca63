"""Adam as it is really trained, against optimizers that need no tuning, on every built-in task.

Issue 22 (docs/BENCHMARKS.md section 12). Per task, each *arm* is a study run as `adamtune tune`
/ `adamtune compare` run it, through `bench/tuning_quality.py`'s `Unit` and `run_unit` (the
product's `create_study`, `app.local.run_to_end`, `app.local.validate`):

    adam_constant        Adam, default preset (a constant learning rate), TPE + median pruner
    adam_schedule        Adam, schedule preset (warmup, decay shape and final fraction tuned)
    adamw_schedule       AdamW, schedule preset
    schedule_free_adamw  Schedule-Free AdamW at its defaults, one shot (no search)
    prodigy              Prodigy at its defaults, one shot
    five_trials          the five-trial preset (optim/starter.py), leave-one-task-out: on task T
                         the five chosen on the other tasks only, enqueued as a study's 5 trials

Every arm is validated as `adamtune compare` validates a family: its search winner (top 1; a
one-shot: its defaults) against its family's defaults, with the product's confirmation round:
10 confirmation seeds, paired gain, 95 % CI (its selection round picks nothing with one config,
so it runs on the minimum of 2 seeds). Every arm of a task has study seed 0, so the confirmation
seeds are the same for all (checked): each arm's test losses are compared seed by seed with
default Adam's on those seeds (from the Adam arms' own confirmation rounds).

The five-trial preset is chosen from a pool: the top 3 distinct complete trials of each task's
adam_schedule search (and default Adam with a 5 % warmup and a cosine decay), each trained on
every task on one search seed (the training stream at trial index 10000: never a validation
seed), then a greedy pick of 5 minimising the mean over tasks of (the best of the five's
validation loss / default Adam's on that seed). For task T the pool and the mean leave T out;
the shipped preset (`--emit`) is chosen on the tasks of `--ship-on` (default: `--cross`'s; more
tasks there are cross-evaluated after every arm has run).

One JSON per unit (and per cross-evaluation run) is cached under `--workdir`, so a rerun
resumes; `--report` rebuilds the tables (and `--plots` the per-task PNGs) from the cache.

    .venv/bin/python bench/recipes.py [--workdir DIR] [--tasks T..] [--trials 20] \
        [--task-trials transformer_lm=8] [--task-epochs transformer_lm=4] [--until 11:20] \
        [--report] [--plots DIR] [--json PATH] [--md PATH] [--emit]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c  # noqa: E402
import tuning_quality as tq  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TASKS = ["logreg_breast_cancer", "mlp_digits", "quadratic_deep", "rosenbrock", "cnn_digits",
         "transformer_lm", "char_lstm"]  # fmt: skip  # cheap first: a cut-short run covers most
WORKDIR = Path("/var/tmp/adamtune-recipes")
ARMS: dict[str, dict[str, Any]] = {  # name: the Unit fields it sets
    "adam_constant": {"optimizer": "adam", "preset": "default"},
    "adam_schedule": {"optimizer": "adam", "preset": "schedule"},
    "adamw_schedule": {"optimizer": "adamw", "preset": "schedule"},
    "schedule_free_adamw": {"optimizer": "schedule_free_adamw", "one_shot": True, "trials": 1},
    "prodigy": {"optimizer": "prodigy", "one_shot": True, "trials": 1},
    "five_trials": {"optimizer": "adam", "preset": "schedule", "trials": 5},
}
LABELS = {
    "default_adam": "default Adam",
    "adam_constant": "tuned Adam, constant lr",
    "adam_schedule": "tuned Adam + schedule",
    "adamw_schedule": "tuned AdamW + schedule",
    "schedule_free_adamw": "Schedule-Free AdamW (defaults)",
    "prodigy": "Prodigy (defaults)",
    "five_trials": "five-trial preset (LOTO)",
}
# the order a task's arms run in: the pool's source first, the cheap one-shots early
ORDER = ["adam_schedule", "five_trials", "schedule_free_adamw", "prodigy", "adam_constant",
         "adamw_schedule"]  # fmt: skip
POOL_PER_TASK = 3
CROSS_INDEX = 10_000  # the training stream's trial index of the cross-evaluation seed
RATIO_CAP = 100.0  # a diverged run (or a loss 100x default Adam's) counts as this ratio
# default Adam with the schedule every recipe starts from, added to the pool
WARM_COSINE = {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0,
               "warmup": 0.05, "decay": "cosine", "final_fraction": 0.0}  # fmt: skip


def unit(task: str, arm: str, args: argparse.Namespace) -> tq.Unit:
    fields = {"trials": args.task_trials.get(task, args.trials), **ARMS[arm]}
    if arm == "five_trials":
        fields["enqueue"] = "loto"
    return tq.Unit(task=task, seed=0, top_k=1, validate_seeds=args.validate_seeds,
                   confirm_seeds=args.confirm_seeds, calibration_seeds=0,
                   epochs=args.task_epochs.get(task), **fields)  # fmt: skip


def load_unit(work: Path, u: tq.Unit) -> dict[str, Any] | None:
    path = work / "units" / f"{u.key()}.json"
    return json.loads(path.read_text()) if path.exists() else None  # type: ignore[no-any-return]


def save(path: Path, record: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=1, default=str))
    tmp.replace(path)


# --- the pool and its cross-evaluation -----------------------------------------------------------


def pool_of(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The top `POOL_PER_TASK` distinct complete tuned trials of a search (the baseline not)."""
    out: list[dict[str, Any]] = []
    done = [
        t
        for t in record["search"]["trials"]
        if t["state"] == "COMPLETE" and t["value"] is not None and not t["baseline"]
    ]
    for t in sorted(done, key=lambda t: (t["value"], t["number"])):
        if t["params"] not in out:
            out.append(t["params"])
        if len(out) == POOL_PER_TASK:
            break
    return out


def config_id(params: dict[str, Any]) -> str:
    return hashlib.sha1(json.dumps(sorted(params.items())).encode()).hexdigest()[:10]


def cross_run(work: Path, task: str, params: dict[str, Any], epochs: int | None) -> dict[str, Any]:
    """One training run of `params` (Adam) on `task` at the task's cross-evaluation seed (a
    search seed), cached: its last validation loss (None: diverged) and its seconds."""
    from optim.params import OptimizerParams
    from optim.seeds import training_seeds
    from optim.tasks import get_task
    from optim.training import DivergedError, train

    seed = training_seeds(0, CROSS_INDEX, 1)[0]
    path = work / "cross" / f"{task}-e{epochs or 0}-{config_id(params)}.json"
    if path.exists():
        return json.loads(path.read_text())  # type: ignore[no-any-return]
    start = time.perf_counter()
    try:
        history = train(get_task(task), OptimizerParams.from_dict(params), epochs=epochs,
                        seed=seed, optimizer="adam")  # fmt: skip
        value: float | None = history[-1].val_loss
        trained = len(history)
    except DivergedError:
        value, trained = None, 0
    record = {"task": task, "params": params, "seed": seed, "val_loss": value,
              "epochs": trained, "seconds": time.perf_counter() - start}  # fmt: skip
    save(path, record)
    return record


DEFAULT_ADAM = {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0}


def ratio(value: float | None, default: float | None) -> float:
    if value is None or default is None or default <= 0:
        return RATIO_CAP
    return min(value / default, RATIO_CAP)


def greedy(matrix: dict[str, dict[str, float]], pool: list[str], tasks: list[str],
           k: int = 5) -> list[str]:  # fmt: skip
    """`k` configs of `pool`, added one at a time, each minimising the mean over `tasks` of the
    best ratio among those chosen (ties: pool order)."""
    chosen: list[str] = []
    for _ in range(min(k, len(pool))):

        def score(cid: str) -> float:
            return statistics.fmean(min(matrix[x][t] for x in [*chosen, cid]) for t in tasks)

        best = min((cid for cid in pool if cid not in chosen), key=score)
        chosen.append(best)
    return chosen


def preset_for(work: Path, held_out: str | None, tasks: list[str], args: argparse.Namespace,
               run: bool) -> dict[str, Any] | None:  # fmt: skip
    """The five configs chosen on `tasks` less `held_out` from the pool of their schedule
    searches (None where a search is missing); `run`: train the missing cross-evaluations."""
    on = [t for t in tasks if t != held_out]
    pool: dict[str, dict[str, Any]] = {config_id(WARM_COSINE): WARM_COSINE}
    source: dict[str, str] = {config_id(WARM_COSINE): "default Adam + 5 % warmup, cosine"}
    for t in on:
        record = load_unit(work, unit(t, "adam_schedule", args))
        if record is None:
            return None
        for p in pool_of(record):
            pool.setdefault(config_id(p), p)
            source.setdefault(config_id(p), t)
    matrix: dict[str, dict[str, float]] = {}
    losses: dict[str, dict[str, float | None]] = {}
    for t in on:
        epochs = args.task_epochs.get(t)
        if not run and not (work / "cross" / f"{t}-e{epochs or 0}-{config_id(DEFAULT_ADAM)}.json"
                            ).exists():  # fmt: skip
            return None
        base = cross_run(work, t, DEFAULT_ADAM, epochs)["val_loss"]
        for cid, p in pool.items():
            value = cross_run(work, t, p, epochs)["val_loss"]
            matrix.setdefault(cid, {})[t] = ratio(value, base)
            losses.setdefault(cid, {})[t] = value
    chosen = greedy(matrix, list(pool), on)
    return {
        "held_out": held_out,
        "chosen_on": on,
        "pool_size": len(pool),
        "configs": [pool[cid] for cid in chosen],
        "sources": [source[cid] for cid in chosen],
        "mean_best_ratio": statistics.fmean(min(matrix[x][t] for x in chosen) for t in on),
        "ratios": {cid: matrix[cid] for cid in chosen},
    }


# --- the run -------------------------------------------------------------------------------------


def past(until: str | None) -> bool:
    """Whether the UTC clock has passed `until` (HH:MM): start nothing new after it."""
    return bool(until) and time.strftime("%H:%M", time.gmtime()) >= str(until)


def execute(args: argparse.Namespace) -> None:
    """Every task's arms in `ORDER`, the cross-evaluated (cheap) tasks first; the pool is
    cross-evaluated on the tasks in `--cross` once their schedule searches are in."""
    work: Path = args.workdir
    tq.init_worker()
    cross = [t for t in args.tasks if t in args.cross]

    def run(u: tq.Unit, enqueued: list[dict[str, Any]] | None = None) -> None:
        path = work / "units" / f"{u.key()}.json"
        if path.exists() or past(args.until):
            return
        start = time.perf_counter()
        job = (u, str(work)) if enqueued is None else (u, str(work), enqueued)
        record = tq.run_unit(job)
        save(path, record)
        print(f"# {time.strftime('%H:%M:%S')} {u.key()}: {time.perf_counter() - start:.0f} s; "
              f"{record['validation']['verdict']}", file=sys.stderr, flush=True)  # fmt: skip

    for phase in (cross, [t for t in args.tasks if t not in cross]):
        for task in phase:  # the pool's source on every task of the phase first
            run(unit(task, "adam_schedule", args))
        if phase is cross and not past(args.until):
            preset_for(work, None, cross, args, run=True)
        # the cross-evaluated tasks task by task; the others (the expensive ones) arm by arm,
        # so a run cut short loses the last arms of every task rather than the last task
        pairs = [(task, arm) for task in phase for arm in ORDER[1:]]
        if phase is not cross:
            pairs = [(task, arm) for arm in ORDER[1:] for task in phase]
            first = [(t, a) for t, _, a in (x.partition(":") for x in args.then) if t in phase]
            pairs = first + [x for x in pairs if x not in first]
        for task, arm in pairs:
            u = unit(task, arm, args)
            if arm == "five_trials":
                chosen = preset_for(work, task, cross, args, run=not past(args.until))
                if chosen is None:
                    continue
                run(u, chosen["configs"])
            else:
                run(u)
    ship = [t for t in args.tasks if t in args.ship_on]
    if ship != cross and not past(args.until):  # the shipped five on more tasks than LOTO's
        for task in ship:
            run(unit(task, "adam_schedule", args))
        if not past(args.until):
            preset_for(work, None, ship, args, run=True)


# --- the report ----------------------------------------------------------------------------------


def results(work: Path, task: str, args: argparse.Namespace) -> dict[str, Any]:
    """Per arm of `task`: the test losses of what it confirmed on the confirmation seeds, its
    gain over default Adam seed by seed, the product's verdict, its compute."""
    from dataclasses import asdict

    from optim.validation import paired_gain

    records = {arm: r for arm in ARMS if (r := load_unit(work, unit(task, arm, args)))}
    confirmed = {a: r for a, r in records.items() if r.get("confirmation")}
    reference = next((r for a in ("adam_constant", "adam_schedule", "five_trials")
                      if (r := confirmed.get(a))), None)  # fmt: skip
    out: dict[str, Any] = {
        "task": task,
        "arms": {},
        "missing": [a for a in ARMS if a not in records],
    }
    if reference is None:
        return out
    seeds = reference["confirmation"]["seeds"]
    default = dict(zip(seeds, reference["confirmation"]["default"], strict=True))
    out["seeds"] = seeds
    out["arms"]["default_adam"] = summary(list(default.values()), None, None, reference, 0)
    out["arms"]["default_adam"]["pick"] = None  # the defaults: nothing picked
    for arm, r in confirmed.items():
        conf = r["confirmation"]
        values = conf["pick"]["values"] if conf.get("pick") else conf["default"]
        own = dict(zip(conf["seeds"], values, strict=True))
        same = sorted(own) == sorted(default)
        gain, wins = paired_gain([default[s] for s in seeds if s in own],
                                 [own[s] for s in seeds if s in own])  # fmt: skip
        entry = summary(values, gain, wins, r, len(r["search"]["trials"]))
        entry["same_seeds"] = same
        entry["by_seed"] = own
        out["arms"][arm] = entry
    # each arm against tuned constant-lr Adam, seed by seed: did the schedule (or no tuning)
    # beat what the product tuned before issue 22?
    constant = out["arms"].get("adam_constant", {}).get("by_seed")
    for arm, entry in out["arms"].items():
        if constant and arm not in ("default_adam", "adam_constant"):
            both = [s for s in seeds if s in constant and s in entry["by_seed"]]
            g, w = paired_gain([constant[s] for s in both], [entry["by_seed"][s] for s in both])
            entry["vs_constant"] = asdict(g) if g is not None else None
            entry["vs_constant_wins"] = w
    return out


def summary(values: list[float | None], gain: Any, wins: int | None, record: dict[str, Any],
            trials: int) -> dict[str, Any]:  # fmt: skip
    from dataclasses import asdict

    epochs = record["epochs"]
    sel = sum(len(cfg["values"]) for cfg in record["validation"]["configs"])
    conf = record.get("confirmation") or {}
    runs_conf = len(conf.get("default") or []) + len((conf.get("pick") or {}).get("values") or [])
    present = [v for v in values if v is not None]
    return {
        "test": tq.interval(present),
        "diverged": len(values) - len(present),
        "gain": asdict(gain) if gain is not None else None,
        "wins": wins,
        "verdict": record["validation"]["verdict"] if trials else "",
        "pick": (conf.get("pick") or {}).get("params"),
        "search_trials": trials,
        "search_epochs": record["search"]["epochs_trained"] if trials else 0,
        "search_s": record["search"]["seconds"] if trials else 0.0,
        "validation_epochs": (sel + runs_conf) * epochs if trials else 0,
        "validation_s": record["validation"]["seconds"] if trials else 0.0,
        "epochs_per_run": epochs,
    }


def report(args: argparse.Namespace, info: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    work: Path = args.workdir
    tasks = [t for t in args.tasks]
    out: dict[str, Any] = {"machine": info, "tasks": {}, "presets": {}}
    parts = [c.header(f"Adam as it is trained, and optimizers that need no tuning: unit cache "
                      f"{work}", info)]  # fmt: skip
    cross = [t for t in tasks if t in args.cross]
    shipped = preset_for(work, None, [t for t in tasks if t in args.ship_on], args, run=False)
    out["presets"]["shipped"] = shipped
    for task in tasks:
        out["presets"][task] = preset_for(work, task, cross, args, run=False)
        res = results(work, task, args)
        ran = load_unit(work, unit(task, "five_trials", args))
        if ran and out["presets"][task]:  # the five the unit enqueued are the LOTO five
            assert ran["enqueued"] == out["presets"][task]["configs"], task
        out["tasks"][task] = res
        parts.append(task_table(task, res, args))
    parts.insert(1, overview(out["tasks"], args))
    if shipped:
        parts.append(preset_table(shipped, out["presets"], tasks))
    return "\n\n".join(parts) + "\n", out


def short(iv: dict[str, Any] | None) -> str:
    """'+29 % (+27 to +31)', marked n.s. where the CI holds 0."""
    if not iv or iv.get("mean") is None:
        return "—"
    m, lo, hi = iv["mean"], iv["low"], iv["high"]
    if lo is None:
        return f"{m:+.1%}"
    text = f"{m:+.1%} ({lo * 100:+.1f} to {hi * 100:+.1f})"
    return f"n.s. {text}" if lo <= 0 <= hi else text


def overview(results_: dict[str, Any], args: argparse.Namespace) -> str:
    """One row per task: each arm's confirmed gain over default Adam (paired, 10 seeds, 95 %
    CI), then each arm's compute in epochs (search + validation)."""
    arms = list(ARMS)
    rows, cost = [], []
    for task, res in results_.items():
        got = res.get("arms") or {}
        epochs = args.task_epochs.get(task)
        name = f"{task} ({epochs} ep.)" if epochs else task
        rows.append([name, *(short(got[a]["gain"]) if a in got else "not run" for a in arms)])
        cost.append([name, *(f"{got[a]['search_epochs'] + got[a]['validation_epochs']:,}"
                             if a in got else "—" for a in arms)])  # fmt: skip
    head = ["task", *(LABELS[a] for a in arms)]
    return "\n".join([
        "#### Gain over default Adam of what each arm confirms (10 confirmation seeds, paired, "
        "95 % CI; n.s.: no significant difference)\n",
        c.table(head, rows),
        "\n#### Compute: epochs trained, search + validation (the validation retrains the "
        "family's defaults beside the pick)\n",
        c.table(head, cost),
    ])  # fmt: skip


def task_table(task: str, res: dict[str, Any], args: argparse.Namespace) -> str:
    rows = []
    for arm in ["default_adam", *ARMS]:
        s = res["arms"].get(arm)
        if s is None:
            continue
        total_e = s["search_epochs"] + s["validation_epochs"]
        total_s = s["search_s"] + s["validation_s"]
        runs = f"{10 * s['epochs_per_run']} (its 10 confirmation runs)"
        rows.append([
            LABELS[arm],
            tq.fmt_ci(s["test"], pct=False) + (f", {s['diverged']} diverged" if s["diverged"]
                                               else ""),
            "—" if arm == "default_adam" else tq.fmt_ci(s["gain"]) + f", better on {s['wins']}",
            tq.fmt_ci(s["vs_constant"]) if s.get("vs_constant") else "—",
            s["verdict"].split("(")[0].strip() if s["verdict"] else "—",
            s["search_trials"] or "—",
            runs if arm == "default_adam" else
            f"{s['search_epochs']} + {s['validation_epochs']} = {total_e}",
            "—" if arm == "default_adam" else
            f"{s['search_s']:.0f} + {s['validation_s']:.0f} = {total_s:.0f}",
        ])  # fmt: skip
    unpaired = [LABELS[a] for a, v in res["arms"].items() if v.get("same_seeds") is False]
    missing = [LABELS[a] for a in res.get("missing", [])]
    epochs = args.task_epochs.get(task)
    note = f" ({epochs} epochs a run, not the task's default)" if epochs else ""
    text = [f"#### {task}{note}\n"]
    if rows:
        text.append(c.table(
            ["arm", "test loss, 10 confirmation seeds (mean, 95 % CI)",
             "gain over default Adam (paired, 95 % CI)",
             "gain over tuned constant-lr Adam (paired)", "product verdict vs its own defaults",
             "search trials", "epochs: search + validation = total", "seconds: search + "
             "validation = total"], rows))  # fmt: skip
    if unpaired:
        text.append(f"\nOn other confirmation seeds than default Adam's: {', '.join(unpaired)}.")
    if missing:
        text.append(f"\nNot run (the compute budget ran out first): {', '.join(missing)}.")
    return "\n".join(text)


def preset_table(shipped: dict[str, Any], presets: dict[str, Any], tasks: list[str]) -> str:
    rows = []
    for i, (p, src) in enumerate(zip(shipped["configs"], shipped["sources"], strict=True)):
        rows.append([i + 1, f"{p['lr']:.3g}", f"{p['beta1']:.4g}", f"{p['beta2']:.5g}",
                     f"{p['eps']:.3g}", f"{p.get('warmup', 0):.3g}", p.get("decay", "constant"),
                     f"{p.get('final_fraction', 0):.3g}", src])  # fmt: skip
    loto = [[t, ", ".join(presets[t]["chosen_on"]), f"{presets[t]['mean_best_ratio']:.3f}"]
            for t in tasks if presets.get(t)]  # fmt: skip
    return "\n".join([
        f"#### The shipped five (chosen on {', '.join(shipped['chosen_on'])}; pool of "
        f"{shipped['pool_size']}; mean best-of-5 / default Adam on those tasks: "
        f"{shipped['mean_best_ratio']:.3f})\n",
        c.table(["#", "lr", "beta1", "beta2", "eps", "warmup", "decay", "final_fraction",
                 "from the search of"], rows),
        "\n#### Leave-one-task-out presets (the five each task's row uses)\n",
        c.table(["held-out task", "chosen on", "mean best-of-5 ratio there"], loto),
    ])  # fmt: skip


def emit(shipped: dict[str, Any]) -> str:
    """The configs as optim/starter.py's CONFIGS."""
    lines = []
    for p in shipped["configs"]:
        args = ", ".join(f"{k}={v!r}" for k, v in p.items() if k != "momentum")
        lines.append(f"    OptimizerParams({args}),")
    return "\n".join(lines)


# --- plots ---------------------------------------------------------------------------------------


def figures(out: dict[str, Any]) -> dict[str, Any]:
    """Per task: each arm's test loss (mean, 95 % CI) on the 10 confirmation seeds, its label
    naming its compute (epochs and seconds: search + validation), default Adam as a dashed line
    and a grey band (its CI)."""
    import plotly.graph_objects as go

    colours = {"default_adam": "black", "adam_constant": "#1f77b4", "adam_schedule": "#17becf",
               "adamw_schedule": "#2ca02c", "schedule_free_adamw": "#d62728",
               "prodigy": "#9467bd", "five_trials": "#ff7f0e"}  # fmt: skip
    figs = {}
    for task, res in out["tasks"].items():
        arms = res.get("arms") or {}
        if not arms:
            continue
        fig = go.Figure()
        names = []
        for arm in ["default_adam", *ARMS]:
            s = arms.get(arm)
            if s is None or s["test"]["mean"] is None:
                continue
            iv = s["test"]
            half = 0.0 if iv["high"] is None else iv["high"] - iv["mean"]
            if arm == "default_adam":
                cost = f"{10 * s['epochs_per_run']:,} epochs (10 runs)"
            else:
                cost = (f"{s['search_epochs'] + s['validation_epochs']:,} epochs, "
                        f"{s['search_s'] + s['validation_s']:.0f} s")  # fmt: skip
            name = f"{LABELS[arm]}<br>{cost}"
            names.append(name)
            fig.add_trace(go.Scatter(
                x=[name], y=[iv["mean"]], mode="markers+text", showlegend=False,
                error_y={"type": "data", "array": [half], "thickness": 2, "width": 8},
                marker={"color": colours[arm], "size": 12}, text=[f"  {iv['mean']:.4g}"],
                textposition="middle right"))  # fmt: skip
            if arm == "default_adam":
                fig.add_hrect(y0=iv["mean"] - half, y1=iv["mean"] + half, fillcolor="grey",
                              opacity=0.2, line_width=0)  # fmt: skip
                fig.add_hline(y=iv["mean"], line={"color": "black", "dash": "dash"})
        means = [s["test"]["mean"] for s in arms.values() if s["test"]["mean"]]
        if means and min(means) > 0 and max(means) / min(means) > 20:
            fig.update_yaxes(type="log")
        fig.update_xaxes(categoryorder="array", categoryarray=names)
        fig.update_yaxes(title_text="test loss, 10 confirmation seeds (mean, 95 % CI)")
        fig.update_layout(title=f"{task}: what each arm confirms (dashed: default Adam), and "
                          "its compute: search + validation", width=1200, height=520,
                          template="plotly_white", margin={"l": 70, "r": 30, "t": 60, "b": 90},
                          font={"size": 12})  # fmt: skip
        figs[task] = fig
    return figs


def parse_map(items: list[str] | None) -> dict[str, int]:
    out = {}
    for item in items or []:
        task, _, value = item.partition("=")
        out[task] = int(value)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    c.add_common_args(parser, repeats=None)
    parser.add_argument("--tasks", nargs="+", default=TASKS)
    parser.add_argument("--cross", nargs="+", help="tasks the pool is cross-evaluated on "
                        "(default: every task of --tasks)")  # fmt: skip
    parser.add_argument("--ship-on", nargs="+", help="tasks the shipped five are chosen on "
                        "(default: --cross's)")  # fmt: skip
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--task-trials", nargs="*", help="TASK=N: fewer trials there")
    parser.add_argument("--task-epochs", nargs="*", help="TASK=N: fewer epochs a run there")
    parser.add_argument("--validate-seeds", type=int, default=2)
    parser.add_argument("--confirm-seeds", type=int, default=10)
    parser.add_argument("--until", help="UTC HH:MM: start no unit after it")
    parser.add_argument("--then", nargs="*", default=[], metavar="TASK:ARM",
                        help="for the tasks outside --cross: these arms first, in this order "
                        "(then the others arm by arm)")  # fmt: skip
    parser.add_argument("--report", action="store_true", help="only rebuild the report")
    parser.add_argument("--md", type=Path, help="write the report here too")
    parser.add_argument("--plots", type=Path, help="draw one PNG per task here")
    parser.add_argument("--emit", action="store_true", help="print the shipped five as code")
    args = parser.parse_args(argv)
    args.workdir = args.workdir or WORKDIR
    args.task_trials = parse_map(args.task_trials)
    args.task_epochs = parse_map(args.task_epochs)
    args.cross = args.cross or args.tasks
    args.ship_on = args.ship_on or args.cross
    info = c.machine({"processes": 1})
    if not args.report:
        execute(args)
    info["loadavg_end"] = c.loadavg()
    text, out = report(args, info)
    c.write_json(args.json, out)
    print(text)
    if args.md:
        args.md.write_text(text)
    if args.emit and out["presets"]["shipped"]:
        print(emit(out["presets"]["shipped"]))
    if args.plots:
        import tempfile

        import comparison_plots as cp

        figs = figures(out)
        with tempfile.TemporaryDirectory() as tmp:
            for path in cp.render(figs, args.plots, Path(tmp) / "recipes.html"):
                print(path, file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
