"""One PNG per task for the optimizer comparison (docs/BENCHMARKS.md section 11, issue 13).

Why: the tables of `bench/tuning_quality.py` give each family's validated result; a plot shows
how each family's search got there (best-so-far search value per trial, one line per family and
study seed) beside what its recommendation measures on the product's fresh validation seeds
(mean test loss, 95 % CI error bars, default Adam as a reference line and band).

Reads the records `bench/tuning_quality.py --json` wrote (or its unit cache, `--workdir`),
builds the figures with plotly into one self-contained HTML page (plotly.js inlined from the
package, no CDN) and renders each figure to `docs/bench/comparison/<task>.png` with playwright
and the system Chromium (kaleido is not a dependency).

    .venv/bin/python bench/comparison_plots.py [--json docs/bench/tuning_quality_2026-11-29.json | \
        --workdir /var/tmp/adamtune-tuning-quality] [--out docs/bench/comparison] [--html PATH]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

sys.path.insert(0, str(Path(__file__).resolve().parent))

import tuning_quality as tq  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FAMILIES = {  # name: (label, colour)
    "adam": ("Adam (tuned)", "#1f77b4"),
    "adam_lr_only": ("Adam, lr only", "#ff7f0e"),
    "adamw": ("AdamW", "#2ca02c"),
    "sgd_nesterov": ("SGD + Nesterov", "#d62728"),
}
DASHES = ["solid", "dot", "dash", "dashdot", "longdash"]  # by study seed
# the optimizer units of section 11, as `adamtune compare` ran them then: TPE + Hyperband, each
# family's winner validated (the product's default pruner has since become median)
COMPARE = {"optimizer": "adam", "preset": "default", "sampler": "tpe", "pruner": "hyperband",
           "top_k": 1}  # fmt: skip
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
WIDTH, HEIGHT = 1200, 520


def load_records(json_path: Path | None, workdir: Path | None) -> dict[str, dict[str, Any]]:
    """The unit records by key: from the report's JSON, else from the unit cache."""
    if json_path is not None:
        return {r["key"]: r for r in json.loads(json_path.read_text())["records"]}
    return tq.load(workdir or tq.WORKDIR)


def best_so_far(rec: dict[str, Any]) -> tuple[list[int], list[float]]:
    """The best COMPLETE trial's search value after each trial (pruned trials' values are
    partial-epoch losses, so they never count as the best)."""
    xs: list[int] = []
    ys: list[float] = []
    best = float("inf")
    for t in sorted(rec["search"]["trials"], key=lambda t: t["number"]):
        if t["state"] == "COMPLETE" and t["value"] is not None:
            best = min(best, t["value"])
        if best < float("inf"):
            xs.append(t["number"])
            ys.append(best)
    return xs, ys


def error_bar(values: list[float | None]) -> tuple[float, float] | None:
    """(mean, half-width of the 95 % CI) of the values that are there."""
    iv = tq.interval([v for v in values if v is not None])
    if iv["mean"] is None:
        return None
    return iv["mean"], 0.0 if iv["high"] is None else iv["high"] - iv["mean"]


def figure(task: str, records: dict[str, dict[str, Any]]) -> go.Figure | None:
    """Search progress (left) and validated test loss of each recommendation (right)."""
    adam = tq.group(records, task=task, **COMPARE)
    if not adam:
        return None
    seeds = sorted(adam)
    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.58, 0.42],
        horizontal_spacing=0.1,
        subplot_titles=(
            "search: best-so-far validation loss (1 seed a trial)",
            f"recommendation: test loss, 5 fresh seeds × {len(seeds)} "
            f"stud{'ies' if len(seeds) > 1 else 'y'}",
        ),
    )
    lows: list[float] = []
    highs: list[float] = []
    bar_means: list[float | None] = []
    for name, (label, colour) in FAMILIES.items():
        by_seed = tq.group(records, task=task, **{**COMPARE, "optimizer": name})
        for i, seed in enumerate(s for s in seeds if s in by_seed):
            xs, ys = best_so_far(by_seed[seed])
            lows.append(min(ys, default=float("inf")))
            highs.append(max(ys, default=0.0))
            fig.add_trace(
                go.Scatter(x=xs, y=ys, mode="lines", line={"color": colour, "shape": "hv",
                           "dash": DASHES[i % len(DASHES)]},
                           name=f"{label}, study seed {seed}", legendgroup=name),
                row=1, col=1,
            )  # fmt: skip
        picked = [v for s in seeds if s in by_seed for v in tq.pick(by_seed[s])]
        if (bar := error_bar(picked)) is not None:
            bar_means.append(bar[0])
            fig.add_trace(
                go.Scatter(x=[label], y=[bar[0]], error_y={"type": "data", "array": [bar[1]],
                           "thickness": 2, "width": 8}, mode="markers+text",
                           marker={"color": colour, "size": 12}, showlegend=False,
                           text=[f"  {bar[0]:.4g}"], textposition="middle right",
                           legendgroup=name),
                row=1, col=2,
            )  # fmt: skip
    default = error_bar([v for s in seeds for v in tq.validated(adam[s], "default")])
    if default is not None:
        mean, half = default
        fig.add_hrect(y0=mean - half, y1=mean + half, fillcolor="grey", opacity=0.2,
                      line_width=0, row=1, col=2)  # fmt: skip
        line = {"color": "black", "dash": "dash"}
        fig.add_hline(y=mean, line=line, row=1, col=2)
        fig.add_trace(  # the line's legend entry (an hline has none)
            go.Scatter(x=[None], y=[None], mode="lines", line=line,
                       name=f"default Adam, test loss {mean:.4g} (grey: its 95 % CI)"),
            row=1, col=2,
        )  # fmt: skip
    if lows and min(lows) > 0 and max(highs) / min(lows) > 20:  # rosenbrock: decades apart
        fig.update_yaxes(type="log", dtick=1, row=1, col=1)
    means = [m for m in bar_means + [default[0] if default else None] if m]
    if means and min(means) > 0 and max(means) / min(means) > 20:
        span = [math.log10(min(means) / 2), math.log10(max(means) * 10)]
        fig.update_yaxes(type="log", dtick=1, range=span, row=1, col=2)
    fig.update_xaxes(title_text="trial (0: the family's defaults)", row=1, col=1)
    fig.update_yaxes(title_text="validation loss", row=1, col=1)
    fig.update_yaxes(title_text="test loss (mean, 95 % CI)", row=1, col=2)
    labels = [label for label, _ in FAMILIES.values()]
    fig.update_xaxes(range=[-0.5, len(labels) - 0.1], categoryorder="array", categoryarray=labels,
                     row=1, col=2)  # fmt: skip
    fig.update_layout(
        title=f"{task}: optimizer families at 30 trials (TPE + Hyperband, default preset)",
        width=WIDTH,
        height=HEIGHT,
        template="plotly_white",
        legend={"orientation": "h", "y": -0.18, "x": 0},
        margin={"l": 70, "r": 30, "t": 80, "b": 120},
        font={"size": 12},
    )
    return fig


def render(figures: dict[str, go.Figure], out: Path, html: Path) -> list[Path]:
    """Write the figures into one HTML page, screenshot each into out/<task>.png."""
    from playwright.sync_api import sync_playwright

    parts = [
        f'<div id="{task}" style="width:{WIDTH}px;height:{HEIGHT}px">'
        + fig.to_html(full_html=False, include_plotlyjs=i == 0, div_id=f"plot-{task}",
                      config={"staticPlot": True, "displayModeBar": False})
        + "</div>"
        for i, (task, fig) in enumerate(figures.items())
    ]  # fmt: skip
    html.write_text(f"<html><body style='margin:0'>{''.join(parts)}</body></html>")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
        page.goto(html.resolve().as_uri())
        for task in figures:
            page.wait_for_selector(f"#plot-{task} .main-svg")
            path = out / f"{task}.png"
            page.locator(f"#{task}").screenshot(path=str(path))
            written.append(path)
        browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="records from tuning_quality.py --json")
    parser.add_argument("--workdir", type=Path, help="or its unit cache")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "bench" / "comparison")
    parser.add_argument("--html", type=Path, help="keep the HTML page here (default: a temp file)")
    args = parser.parse_args(argv)
    if args.json is None and args.workdir is None:
        args.json = ROOT / "docs" / "bench" / "tuning_quality_2026-11-29.json"
    records = load_records(args.json, args.workdir)
    figures = {t: f for t in tq.TASKS if (f := figure(t, records)) is not None}
    with tempfile.TemporaryDirectory() as tmp:
        html = args.html or Path(tmp) / "comparison.html"
        for path in render(figures, args.out, html):
            print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
