"""Latency from a worker committing an epoch to the point being drawn in the browser.

`adamtune serve --workers 1` runs a study; headless Chromium (Python playwright) shows its page
`#/studies/{id}`. Two clocks are compared, both the machine's wall clock (time.time() in Python,
Date.now() in the page):

- commit time: adamtune_events has no timestamp column, so a separate process polls the
  database every 10 ms for new epoch rows and stamps each with the time it first saw it. The
  stamp is at most one poll interval (plus one query) after the commit, so the latencies below
  are too small by at most ~10 ms. (The alternative, trial start + the event's `elapsed_s`, is
  worse: `elapsed_s` starts after the task is built and ends before the row is written.)
- drawn time: a probe in the page scans the curves plot (`#curves-plot`, a Plotly div whose
  traces carry "trial N" in their hover template) on every animation frame and on Plotly's
  `plotly_afterplot` event, and stamps each (trial, epoch) the first time it is in the plot's
  data. Plotly draws within the same call that adds the data, so this is when it was drawn.
- SSE delivery time (a breakdown): an extra EventSource opened by the probe on the same study
  stamps each epoch event when it arrives in the page.

Only epochs committed after the page's stream was open ("● live") count: earlier ones arrive in
the first load, not live. Several studies run one after the other (a fresh page each).

    .venv/bin/python bench/live_latency.py [--repeats 3] [--trials 12] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
TARGET_P95_S = 1.0

PROBE_JS = """
(studyId) => {
  const lat = { plot: {}, sse: {}, liveAt: null, hooked: false, scans: 0 };
  window.__lat = lat;
  const scan = () => {
    const gd = document.getElementById('curves-plot');
    if (lat.liveAt === null && document.getElementById('live-mode')?.dataset.mode === 'live') {
      lat.liveAt = Date.now();
    }
    if (!gd || !gd.data) return;
    if (!lat.hooked && typeof gd.on === 'function') {
      gd.on('plotly_afterplot', scan);
      lat.hooked = true;
    }
    const now = Date.now();
    lat.scans++;
    for (const t of gd.data) {
      const m = /trial (\\d+)/.exec(t.hovertemplate || '');
      if (!m) continue;
      for (const x of t.x || []) {
        const key = `${m[1]}:${x}`;
        if (!(key in lat.plot)) lat.plot[key] = now;
      }
    }
  };
  const frame = () => { scan(); requestAnimationFrame(frame); };
  requestAnimationFrame(frame);
  setInterval(scan, 10);
  const es = new EventSource(`api/studies/${studyId}/events?after=0`);
  es.addEventListener('epoch', (e) => {
    const d = JSON.parse(e.data);
    const key = `${d.trial}:${d.epoch}`;
    if (!(key in lat.sse)) lat.sse[key] = Date.now();
  });
  lat.close = () => es.close();
}
"""


def poll_commits(db: str, study_id: int, stop: Any, out: str, interval: float) -> None:
    """Child process: stamp each new epoch row of the study with the time it was first seen."""
    seen: dict[str, float] = {}
    conn = sqlite3.connect(db, timeout=60)
    last = 0
    while not stop.is_set():
        rows = conn.execute(
            "SELECT id, trial_number, epoch FROM adamtune_events "
            "WHERE id > ? AND study_id = ? AND kind = 'epoch' ORDER BY id",
            (last, study_id),
        ).fetchall()
        now = time.time() * 1000
        for row_id, trial, epoch in rows:
            seen.setdefault(f"{trial}:{epoch}", now)
            last = max(last, row_id)
        time.sleep(interval)
    conn.close()
    Path(out).write_text(json.dumps(seen))


def latencies(commits: dict[str, float], shown: dict[str, float], since: float) -> dict[str, Any]:
    live = {k: t for k, t in commits.items() if t > since}
    values = [(shown[k] - t) / 1000 for k, t in live.items() if k in shown]
    return {
        "n_live": len(live),
        "n_shown": len(values),
        "missing": sorted(k for k in live if k not in shown),
        "seconds": values,
    }


def one_study(args: argparse.Namespace, server: c.Server, db: Path, browser: Any,
              repeat: int, work: Path) -> dict[str, Any]:  # fmt: skip
    # no validation: it would train (on the one worker) while the next study is measured
    body = {"task": args.task, "n_trials": args.trials, "epochs": args.epochs,
            "sampler": "tpe", "pruner": "none", "seed": repeat, "validate_top_k": 0}  # fmt: skip
    status, payload, _ = c.http("POST", f"{server.url}/api/studies", body)
    if status != 201:
        raise RuntimeError(f"POST /api/studies: {status} {payload[:300]!r}")
    study_id = json.loads(payload)["id"]

    ctx = mp.get_context("spawn")
    stop = ctx.Event()
    out = work / f"commits-{repeat}.json"
    poller = ctx.Process(target=poll_commits,
                         args=(str(db), study_id, stop, str(out), args.poll_ms / 1000))  # fmt: skip
    poller.start()
    context = browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme="light")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{server.url}/#/studies/{study_id}")
        page.evaluate(PROBE_JS, study_id)
        c.wait_status(server, study_id, ("completed",), poll_s=0.5)
        time.sleep(args.settle)
        result = page.evaluate(
            "() => ({plot: __lat.plot, sse: __lat.sse, liveAt: __lat.liveAt, "
            "hooked: __lat.hooked, scans: __lat.scans, "
            "traces: document.getElementById('curves-plot')?.data?.length ?? null})"
        )
        page.evaluate("() => __lat.close()")
    finally:
        stop.set()
        poller.join(timeout=30)
        context.close()
    commits = json.loads(out.read_text())
    since = result["liveAt"] if result["liveAt"] is not None else float("inf")
    return {
        "study_id": study_id,
        "loadavg_1min": c.loadavg()[0],
        "plot_ready": bool(result["traces"]),
        "afterplot_hooked": result["hooked"],
        "page_errors": errors,
        "n_commits": len(commits),
        "plot": latencies(commits, result["plot"], since),
        "sse": latencies(commits, result["sse"], since),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    c.add_common_args(parser, repeats=3)
    parser.add_argument("--task", default="mlp_digits")
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--poll-ms", type=float, default=10.0, help="database poll interval")
    parser.add_argument("--settle", type=float, default=2.0, help="seconds after completion")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    c.wait_for_quiet(args.wait_load)
    info = c.machine()
    studies: list[dict[str, Any]] = []
    with c.workdir(args.workdir) as work:
        db = work / "live.db"
        server = c.adamtune_server(f"sqlite:///{db}", 1, work / "serve.log")
        with server, sync_playwright() as playwright:
            # the browser starts while the worker imports; nothing is measured before both are done
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                c.wait_until_importing_done(c.worker_pids(server, 1))
                for repeat in range(args.repeats):
                    r = one_study(args, server, db, browser, repeat, work)
                    studies.append(r)
                    p = r["plot"]["seconds"]
                    print(f"# study {repeat}: {len(p)} points drawn live, p50 "
                          f"{c.percentile(p, 50) * 1e3:.0f} ms, p95 "
                          f"{c.percentile(p, 95) * 1e3:.0f} ms", file=sys.stderr)  # fmt: skip
            finally:
                browser.close()
            browser_version = "chromium"
    info["loadavg_end"] = c.loadavg()
    info["browser"] = browser_version
    report(args, info, studies)
    return 0


def report(args: argparse.Namespace, info: dict[str, Any], studies: list[dict[str, Any]]) -> None:
    plot_ok = all(s["plot_ready"] for s in studies)
    print(c.header(
        f"Live latency: {args.task}, {args.trials} trials x {args.epochs} epochs, 1 worker, "
        f"{args.repeats} studies; commit seen by a {args.poll_ms:g} ms database poll, point seen "
        "in the page's curves plot",
        info,
    ))  # fmt: skip
    rows = []
    pooled: dict[str, list[float]] = {"plot": [], "sse": []}
    for i, s in enumerate(studies):
        for kind in ("sse", "plot"):
            v = s[kind]["seconds"]
            pooled[kind] += v
            rows.append([
                f"study {i + 1}: {'drawn in the plot' if kind == 'plot' else 'SSE delivered'}",
                f"{s[kind]['n_shown']}/{s[kind]['n_live']}",
                f"{c.percentile(v, 50) * 1e3:.0f}", f"{c.percentile(v, 95) * 1e3:.0f}",
                f"{max(v) * 1e3:.0f}" if v else "n/a", f"{s['loadavg_1min']:.2f}",
            ])  # fmt: skip
    for kind in ("sse", "plot"):
        v = pooled[kind]
        rows.append([
            f"**all studies: {'drawn in the plot' if kind == 'plot' else 'SSE delivered'}**",
            f"{len(v)}", f"**{c.percentile(v, 50) * 1e3:.0f}**",
            f"**{c.percentile(v, 95) * 1e3:.0f}**", f"{max(v) * 1e3:.0f}" if v else "n/a", "",
        ])  # fmt: skip
    print(c.table(["epoch events", "points (seen / committed live)", "p50 ms", "p95 ms",
                   "max ms", "1-min load"], rows))  # fmt: skip
    p95 = c.percentile(pooled["plot"] if plot_ok else pooled["sse"], 95)
    what = "drawn" if plot_ok else "SSE delivery (the plot was not ready: fallback)"
    verdict = "met" if p95 < TARGET_P95_S else "missed"
    print(f"\np95 commit-to-{what}: {p95 * 1e3:.0f} ms; target < {TARGET_P95_S * 1e3:.0f} ms: "
          f"{verdict} (optuna-dashboard polls every 10 s).")  # fmt: skip
    errors = [e for s in studies for e in s["page_errors"]]
    if errors:
        print(f"\nPage errors: {errors[:5]}")
    c.write_json(
        args.json,
        {"machine": info, "config": {k: v for k, v in vars(args).items() if k != "json"},
         "studies": studies},
    )  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
