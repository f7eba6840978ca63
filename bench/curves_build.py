"""How long the study page takes to build its convergence curves, beside plain Plotly.

Headless Chromium (Python playwright) opens the dashboard of a real `adamtune serve` (no worker,
an empty database) and, in the page, hands the same synthetic curves (N trials x 100 epochs, a
quarter pruned, the baseline and a best trial marked) to two builders:

- adamtune: `LiveCurves.load` from frontend/js/curves.js, what the study page calls on its
  first load (traces per trial, colours by state, hover text with the parameters);
- baseline: one `Plotly.newPlot` of N bare `scattergl` traces of the same points, the least
  any dashboard drawing these curves with Plotly would do.

"Built" is the time until the call returns (every trace built); "painted" adds two animation
frames (the WebGL paint, in software here). Each size is timed `--repeats` times, alternating
the two builders, and the median is reported with the range. The target is 2 s to build 1000
curves of 100 epochs on a laptop.

    .venv/bin/python bench/curves_build.py [--repeats 5] [--sizes 100,1000] [--json PATH]
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import _common as c

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
EPOCHS = 100
TARGET_BUILD_S = 2.0

BUILD_JS = """async ([builder, nTrials, nEpochs]) => {
  const { LiveCurves } = await import('./js/curves.js');
  const { ensurePlotly } = await import('./js/plot.js');
  await ensurePlotly();
  const div = document.createElement('div');
  div.style.cssText = 'width: 1200px; height: 430px';
  document.getElementById('main').prepend(div);
  const points = {trial: [], epoch: [], train_loss: [], val_loss: [], val_accuracy: []};
  const trials = [];
  for (let t = 0; t < nTrials; t++) {
    trials.push({number: t, state: t % 4 ? 'COMPLETE' : 'PRUNED', value: 1, baseline: t === 0,
                 params: {lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0}});
    for (let e = 1; e <= nEpochs; e++) {
      const v = Math.exp(-e * (0.01 + 0.05 * t / nTrials));
      points.trial.push(t); points.epoch.push(e);
      points.train_loss.push(v); points.val_loss.push(v); points.val_accuracy.push(null);
    }
  }
  let curves = null;
  const start = performance.now();
  if (builder === 'adamtune') {
    curves = new LiveCurves(div, {metric: 'val_loss'});
    curves.best = 7;
    await curves.load({cursor: 1, points, trials, total_trials: nTrials, trials_shown: nTrials});
  } else {
    const traces = [];
    for (let t = 0; t < nTrials; t++) {
      const x = [], y = [];
      for (let e = 0; e < nEpochs; e++) {
        x.push(points.epoch[t * nEpochs + e]); y.push(points.val_loss[t * nEpochs + e]);
      }
      traces.push({type: 'scattergl', mode: 'lines', x, y, name: `trial ${t}`});
    }
    await window.Plotly.newPlot(div, traces, {yaxis: {type: 'log'}});
  }
  const built = performance.now() - start;
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  const painted = performance.now() - start;
  // curves drawn: a trace per trial, or one per kind holding several (meta.trials)
  const traces = div.data.reduce(
    (n, t) => n + (t.meta && t.meta.trials ? t.meta.trials.length : 1), 0);
  if (curves) curves.destroy(); else window.Plotly.purge(div);
  div.remove();
  return {built: built / 1000, painted: painted / 1000, traces};
}"""


def measure(args: argparse.Namespace) -> list[dict[str, Any]]:
    from playwright.sync_api import sync_playwright

    runs: list[dict[str, Any]] = []
    with c.workdir(args.workdir) as work:
        server = c.adamtune_server(f"sqlite:///{work / 'empty.db'}", 0, work / "serve.log")
        with server, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                page.goto(f"{server.url}/#/no-such-page")  # a page that makes no API calls
                page.wait_for_selector("main h1")
                page.evaluate(BUILD_JS, ["baseline", 10, EPOCHS])  # warm: Plotly, shaders
                for size in args.sizes:
                    for repeat in range(args.repeats):
                        for builder in ("adamtune", "baseline"):
                            r = page.evaluate(BUILD_JS, [builder, size, EPOCHS])
                            assert r["traces"] >= size, r
                            runs.append({"builder": builder, "trials": size, "repeat": repeat,
                                         **r})  # fmt: skip
                            print(f"# {builder} {size}: built {r['built']:.3f} s",
                                  file=sys.stderr)  # fmt: skip
            finally:
                browser.close()
    return runs


def report(args: argparse.Namespace, info: dict[str, Any], runs: list[dict[str, Any]]) -> None:
    print(c.header(
        f"Curves build: N trials x {EPOCHS} epochs in headless Chromium (software WebGL), "
        f"adamtune's LiveCurves beside one plain Plotly.newPlot, {args.repeats} runs each, "
        "median (min-max)",
        info,
    ))  # fmt: skip
    rows = []
    for size in args.sizes:
        got = {
            b: [r for r in runs if r["builder"] == b and r["trials"] == size]
            for b in ("adamtune", "baseline")
        }
        built = {b: c.summary([r["built"] for r in got[b]]) for b in got}
        painted = {b: c.summary([r["painted"] for r in got[b]]) for b in got}
        rows.append([
            f"{size} x {EPOCHS}",
            c.fmt_summary(built["adamtune"], ".2f"), c.fmt_summary(built["baseline"], ".2f"),
            f"{built['adamtune']['median'] / built['baseline']['median']:.2f}",
            c.fmt_summary(painted["adamtune"], ".2f"), c.fmt_summary(painted["baseline"], ".2f"),
        ])  # fmt: skip
    print(c.table(["curves", "adamtune built s", "plain Plotly built s", "ratio",
                   "adamtune painted s", "plain Plotly painted s"], rows))  # fmt: skip
    largest = max(args.sizes)
    median = c.summary(
        [r["built"] for r in runs if r["builder"] == "adamtune" and r["trials"] == largest]
    )["median"]
    verdict = "met" if median < TARGET_BUILD_S else "missed"
    print(f"\nTarget: {largest} curves built in under {TARGET_BUILD_S:g} s: {verdict} "
          f"({median:.2f} s median).")  # fmt: skip
    c.write_json(args.json, {"machine": info, "runs": runs})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    c.add_common_args(parser, repeats=5)
    parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")],
                        default=[100, 1000], help="trial counts, comma-separated")  # fmt: skip
    args = parser.parse_args(argv)
    c.wait_for_quiet(args.wait_load)
    info = c.machine()
    runs = measure(args)
    info["loadavg_end"] = c.loadavg()
    report(args, info, runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
