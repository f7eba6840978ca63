"""Overload: N readers at once against adamtune and optuna-dashboard on one 10,000-trial file.

Both servers read the same SQLite file (bench/make_big_study.py: a finished study of 10,000
trials x 50 epochs, built once and kept in --cache for later runs): `adamtune serve --workers 0`
with its default settings (no ADAMTUNE_* variable is passed: 8 cheap reads, 2 curve loads and
2 figures in flight, queues of 512 cheap reads and 64 others waiting up to 5 s, the rest answered
503 with Retry-After, identical reads coalesced; app/config.py) and
`optuna-dashboard sqlite:///...` with its defaults.

One round: a freshly started server (caches cold); five sequential GETs of the study list on
the idle server (its normal latency); then N readers each send one GET at the same moment, each
on its own connection (plain asyncio streams), cycling through the route mix below (with
--distinct each URL made unique by a query parameter no route reads: no two alike), each with
a 30 s deadline (past it: a timeout); meanwhile a separate process polls the liveness route every
0.25 s. After the last answer, the study list is asked every 0.1 s until one answer is a 200
within normal latency (max(3 x idle median, idle median + 50 ms)): the recovery time, capped.
Then the liveness route once more, and SIGTERM (the seconds the server takes to exit). The two
servers run alternately, never at once, their order swapped every repeat; at --big-level
readers and more, --big-repeats rounds each (default 1: an optuna-dashboard round there takes
~100 s).

Route mix (reader i asks route i mod 5), adamtune -> its optuna-dashboard counterpart:
  /api/studies                               -> /api/studies
  /api/studies/{id}                          -> /api/studies/{id}?after=<n_trials> (its poll)
  /api/studies/{id}/trials?limit=50          -> /api/studies/{id}?after=<n_trials - 50>
  /api/studies/{id}/curves?after=0           -> /api/studies/{id}?after=0 (every curve)
  /api/studies/{id}/figures/<kind>           -> /api/studies/{id}/plot/<kind>
(<kind> cycles through edf, slice, parallel_coordinate, contour, timeline: the server-side
Plotly figures both have; adamtune draws at most 1,000 trials, optuna-dashboard all of them.)
The first three are the *cheap* reads, the last two the *expensive* ones: per class the report
gives the share answered 2xx, the p99 of those answers, and the p95 of the 503s (issue 24's
targets at 1,000 readers: cheap >= 90 % served with p99 <= 2 s; a 503 within 100 ms, p95).
Liveness: adamtune /healthz, optuna-dashboard /api/meta (it has no health route).

With --floor, each round then sends two more bursts of N to the same server, once it has
recovered: N x its liveness route, then N x an unknown API path (adamtune answers the first
few 404 and sheds the rest at arrival, 503: no database, no thread); their p50/p95, over every
answer, are the floor under any answer's time at N connections on this machine (the one event
loop accepts and parses every connection before it answers), beside the burst's 503 p95.

A server whose RSS passes --max-rss-gb is killed (a guard for a shared machine) and the round
says so. Client and servers share the machine's cores; the load average is recorded per round.

    .venv/bin/python bench/overload.py [--levels 50,200,1000,5000] [--repeats 3] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing as mp
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c  # noqa: E402
from dashboard_reads import big_study  # noqa: E402

FIGURE_KINDS = ("edf", "slice", "parallel_coordinate", "contour", "timeline")  # both have them
CLASSES = ("cheap", "cheap", "cheap", "expensive", "expensive")  # of route i mod 5, both servers
PROBE = "/api/studies"  # the recovery probe, on both servers
UNKNOWN = "/api/no-such-route"  # --floor: the cheapest answer (404, or 503 at arrival)
SHED = (429, 503)


@dataclass(frozen=True)
class Target:
    """One server under test: how to start it and what its readers ask."""

    name: str
    start: Callable[[Path, Path], c.Server]  # (database, log) -> a server not yet started
    routes: Callable[[int, int, int], str]  # (reader index, study id, n_trials) -> path
    liveness: str


def adamtune_routes(i: int, sid: int, _n: int) -> str:
    base = f"/api/studies/{sid}"
    return [
        "/api/studies",
        base,
        base + "/trials?limit=50",
        base + "/curves?after=0",
        f"{base}/figures/{FIGURE_KINDS[(i // 5) % len(FIGURE_KINDS)]}",
    ][i % 5]


def od_routes(i: int, sid: int, n: int) -> str:
    base = f"/api/studies/{sid}"
    return [
        "/api/studies",
        f"{base}?after={n}",
        f"{base}?after={n - 50}",
        base + "?after=0",
        f"{base}/plot/{FIGURE_KINDS[(i // 5) % len(FIGURE_KINDS)]}",
    ][i % 5]


def start_adamtune(db: Path, log: Path) -> c.Server:
    return c.adamtune_server(f"sqlite:///{db}", 0, log)


def start_od(db: Path, log: Path) -> c.Server:
    port = c.free_port()
    od_bin = str(Path(c.PYTHON).with_name("optuna-dashboard"))
    command = [od_bin, f"sqlite:///{db}", "--host", "127.0.0.1", "--port", str(port), "--quiet"]
    return c.Server(command, port, log, "/api/meta")


TARGETS = {
    "adamtune": Target("adamtune", start_adamtune, adamtune_routes, "/healthz"),
    "optuna-dashboard": Target("optuna-dashboard", start_od, od_routes, "/api/meta"),
}


# ----------------------------------------------------------------------------- the burst


async def get_once(port: int, path: str) -> int:
    """One GET on a new connection (`Connection: close`), read to the end; the status code.

    Plain asyncio streams rather than httpx: httpx's pool does work per request that grows
    with the connections open, so at a few thousand at once the client itself, not the server,
    set the pace (all 5,000 requests of a first run timed out before reaching either server)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=2**20)
    try:
        request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
        writer.write(request.encode())
        await writer.drain()
        status_line = await reader.readline()
        if not status_line:
            raise ConnectionError("closed before answering")
        while await reader.read(2**20):  # the body, to the last byte
            pass
        return int(status_line.split()[1])
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def burst(
    port: int, paths: list[str], deadline_s: float
) -> tuple[list[dict[str, Any]], float]:
    """Every path at once, each on its own connection; one record per request, and the
    perf_counter at which the burst started."""
    gate = asyncio.Event()

    async def one(path: str) -> dict[str, Any]:
        await gate.wait()
        started = time.perf_counter()
        status, outcome = 0, "ok"
        try:
            async with asyncio.timeout(deadline_s):
                status = await get_once(port, path)
        except TimeoutError:
            outcome = "timeout"
        except (OSError, ValueError, IndexError) as exc:
            outcome = f"error: {type(exc).__name__}"
        end = time.perf_counter()
        return {"path": path, "status": status, "outcome": outcome,
                "start": started, "end": end}  # fmt: skip

    tasks = [asyncio.create_task(one(p)) for p in paths]
    await asyncio.sleep(0.5)  # every task is waiting at the gate
    t0 = time.perf_counter()
    gate.set()
    records = await asyncio.gather(*tasks)
    return records, t0


def liveness_watch(url: str, stop: Any, out: Any, interval_s: float = 0.25) -> None:
    """In its own process (the burst's event loop would delay it): GET url every interval,
    10 s timeout; sends (perf_counter at start, seconds, status or 0) per poll."""
    polls = []
    with httpx.Client(timeout=10) as client:
        while not stop.wait(interval_s):
            started = time.perf_counter()
            try:
                status = client.get(url).status_code
            except httpx.HTTPError:
                status = 0
            polls.append((started, time.perf_counter() - started, status))
    out.put(polls)


class RssGuard:
    """Kills the server (and records it) if its RSS passes a limit; tracks the peak."""

    def __init__(self, pid: int, limit_mb: float) -> None:
        self.pid, self.limit_mb = pid, limit_mb
        self.peak_mb = 0.0
        self.killed = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            rss = c.rss_mb(self.pid)
            if rss is None:
                return
            self.peak_mb = max(self.peak_mb, rss)
            if rss > self.limit_mb:
                self.killed = True
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)
                return

    def __enter__(self) -> RssGuard:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def probe(url: str, timeout: float) -> tuple[int, float]:
    try:
        status, _, seconds = c.http("GET", url, timeout=timeout)
    except OSError:
        return 0, timeout
    return status, seconds


def stop_seconds(server: c.Server, grace_s: float = 30) -> tuple[float | None, bool]:
    """SIGTERM; (seconds until the process exited, whether it had to be killed)."""
    proc = server.proc
    if proc is None or proc.poll() is not None:
        return None, False
    started = time.perf_counter()
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=grace_s)
        return time.perf_counter() - started, False
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None, True


def one_round(
    target: Target, db: Path, sid: int, n_trials: int, readers: int, repeat: int,
    args: argparse.Namespace, work: Path,
) -> dict[str, Any]:  # fmt: skip
    server = target.start(db, work / f"{target.name}-{readers}-{repeat}.log").start()
    r: dict[str, Any] = {"server": target.name, "readers": readers,
                         "loadavg_start": c.loadavg()}  # fmt: skip
    try:
        idle = [probe(server.url + PROBE, 30)[1] for _ in range(5)]
        normal = max(3 * sorted(idle)[2], sorted(idle)[2] + 0.05)
        r["idle_probe_s"], r["normal_s"] = idle, normal
        paths = [target.routes(i, sid, n_trials) for i in range(readers)]
        if args.distinct:  # a query parameter no route reads: no two requests alike
            paths = [f"{p}{'&' if '?' in p else '?'}reader={i}" for i, p in enumerate(paths)]
        stop, out = mp.Event(), mp.Queue()
        watcher = mp.Process(target=liveness_watch, args=(server.url + target.liveness, stop, out))
        watcher.start()
        with RssGuard(server.pid, args.max_rss_gb * 1024) as guard:
            records, t0 = asyncio.run(burst(server.port, paths, args.deadline))
            for i, rec in enumerate(records):  # gather keeps the order of `paths`
                rec["class"] = CLASSES[i % 5]
            t_end = max(rec["end"] for rec in records)
            recovery = None
            while time.perf_counter() - t_end < args.recovery_cap and not guard.killed:
                status, seconds = probe(server.url + PROBE, args.recovery_cap)
                if status == 200 and seconds <= normal:
                    recovery = time.perf_counter() - t_end
                    break
                time.sleep(0.1)
            stop.set()
            polls = out.get(timeout=60)
            watcher.join(timeout=30)
            after = probe(server.url + target.liveness, 10)
            if args.floor and not guard.killed:
                for name, path in (("liveness", target.liveness), ("unknown", UNKNOWN)):
                    floor, _ = asyncio.run(burst(server.port, [path] * readers, args.deadline))
                    r[f"floor_{name}"] = floor_summary(path, floor)
        r.update(records_summary(records, t0))
        r["recovery_s"] = recovery
        r["liveness_during"] = liveness_summary([p for p in polls if p[0] <= t_end])
        r["liveness_polls_after_burst"] = liveness_summary([p for p in polls if p[0] > t_end])
        r["liveness_after"] = {"status": after[0], "seconds": after[1]}
        r["rss_peak_mb"], r["rss_killed"] = guard.peak_mb, guard.killed
    finally:
        r["stop_s"], r["stop_killed"] = stop_seconds(server)
        r["loadavg_end"] = c.loadavg()
    return r


def records_summary(records: list[dict[str, Any]], t0: float) -> dict[str, Any]:
    served = [x for x in records if 200 <= x["status"] < 300]
    lat = [x["end"] - x["start"] for x in served]
    shed = [x for x in records if x["status"] in SHED]
    last_served = max((x["end"] for x in served), default=t0)
    by_route: dict[str, Counter[str]] = {}
    for x in records:
        path = re.sub(r"[?&]reader=\d+$", "", x["path"])  # --distinct: one key per route
        key = path.split("?")[0].rsplit("/", 1)[-1] if "/figures/" in path else path
        by_route.setdefault(key, Counter())[label(x)] += 1
    return {
        "served": len(served),
        "shed": len(shed),
        "other_4xx": sum(
            1 for x in records if 400 <= x["status"] < 500 and x["status"] not in SHED
        ),
        "5xx": sum(1 for x in records if x["status"] >= 500 and x["status"] not in SHED),
        "timeouts": sum(1 for x in records if x["outcome"] == "timeout"),
        "errors": sum(1 for x in records if x["outcome"].startswith("error")),
        "throughput_per_s": len(served) / (last_served - t0) if served else 0.0,
        "served_p50_s": c.percentile(lat, 50),
        "served_p95_s": c.percentile(lat, 95),
        "served_p99_s": c.percentile(lat, 99),
        "shed_p50_s": c.percentile([x["end"] - x["start"] for x in shed], 50),
        "shed_p95_s": c.percentile([x["end"] - x["start"] for x in shed], 95),
        **{
            f"{k}_{cls}": v
            for cls in sorted(set(CLASSES))
            for k, v in class_summary([x for x in records if x.get("class") == cls]).items()
        },
        "burst_s": max(x["end"] for x in records) - t0,
        "by_route": {k: dict(v) for k, v in by_route.items()},
        "error_kinds": dict(Counter(x["outcome"] for x in records if x["outcome"] != "ok")),
    }


def class_summary(records: list[dict[str, Any]]) -> dict[str, Any]:
    """One class of routes: how many, the share served 2xx, p99 of those, p95 of its 503s."""
    served = [x["end"] - x["start"] for x in records if 200 <= x["status"] < 300]
    shed = [x["end"] - x["start"] for x in records if x["status"] in SHED]
    return {
        "n": len(records),
        "served_pct": 100 * len(served) / len(records) if records else None,
        "p99_s": c.percentile(served, 99),
        "shed_p95_s": c.percentile(shed, 95),
    }


def label(x: dict[str, Any]) -> str:
    return str(x["status"]) if x["outcome"] == "ok" else x["outcome"]


def floor_summary(path: str, records: list[dict[str, Any]]) -> dict[str, Any]:
    """A --floor burst: every answer counts, whatever its status (all are cheap)."""
    answered = [x["end"] - x["start"] for x in records if x["outcome"] == "ok"]
    return {
        "path": path,
        "statuses": dict(Counter(label(x) for x in records)),
        "p50_s": c.percentile(answered, 50),
        "p95_s": c.percentile(answered, 95),
    }


def liveness_summary(polls: list[tuple[float, float, int]]) -> dict[str, Any]:
    return {
        "polls": len(polls),
        "ok": sum(1 for _, _, s in polls if s == 200),
        "max_s": max((sec for _, sec, _ in polls), default=None),
    }


# ----------------------------------------------------------------------------- main


def ensure_db(args: argparse.Namespace) -> Path:
    path: Path = args.db or args.cache / f"big-{args.trials}x{args.epochs}.db"
    if not path.exists():
        import make_big_study

        path.parent.mkdir(parents=True, exist_ok=True)
        print(f"# writing {args.trials} x {args.epochs} study into {path}", file=sys.stderr)
        with contextlib.redirect_stdout(sys.stderr):  # stdout is the report
            make_big_study.make(f"sqlite:///{path}", args.trials, args.epochs)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    c.add_common_args(parser, repeats=3)
    parser.add_argument("--levels", default="50,200,1000,5000", help="readers per burst")
    parser.add_argument("--big-repeats", type=int, default=1,
                        help="repeats at levels of --big-level readers or more")  # fmt: skip
    parser.add_argument("--big-level", type=int, default=5000)
    parser.add_argument("--deadline", type=float, default=30.0, help="per-request limit, s")
    parser.add_argument("--recovery-cap", type=float, default=60.0, help="s")
    parser.add_argument("--max-rss-gb", type=float, default=4.0, help="kill a server above it")
    parser.add_argument("--servers", default="adamtune,optuna-dashboard")
    parser.add_argument("--distinct", action="store_true",
                        help="every URL distinct (?reader=i): nothing to coalesce")  # fmt: skip
    parser.add_argument("--floor", action="store_true",
                        help="then N x liveness, N x an unknown path (above)")  # fmt: skip
    parser.add_argument("--db", type=Path, help="an existing big-study database (else built)")
    parser.add_argument("--cache", type=Path, default=Path("/var/tmp/adamtune-bench-cache"),
                        help="where the built database is kept for later runs")  # fmt: skip
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=50)
    args = parser.parse_args(argv)
    targets = [TARGETS[name] for name in args.servers.split(",")]
    if (
        "optuna-dashboard" in args.servers
        and shutil.which("optuna-dashboard", path=str(Path(c.PYTHON).parent)) is None
    ):
        parser.error("optuna-dashboard is not installed: pip install -e '.[bench]'")
    levels = [int(x) for x in args.levels.split(",")]

    c.wait_for_quiet(args.wait_load)
    db = ensure_db(args)
    sid, n_trials = big_study(db)
    info = c.machine({"database_mb": round(db.stat().st_size / 2**20, 1), "study_id": sid,
                      "n_trials": n_trials})  # fmt: skip
    rounds: list[dict[str, Any]] = []
    with c.workdir(args.workdir) as work:
        for readers in levels:
            repeats = args.big_repeats if readers >= args.big_level else args.repeats
            for repeat in range(repeats):
                order = targets if repeat % 2 == 0 else targets[::-1]
                for target in order:
                    r = one_round(target, db, sid, n_trials, readers, repeat, args, work)
                    r["repeat"] = repeat
                    rounds.append(r)
                    print(f"# {target.name} {readers} readers, repeat {repeat}: "
                          f"{r.get('served')} served, {r.get('shed')} shed, {r.get('5xx')} 5xx, "
                          f"{r.get('timeouts')} timeouts, {r.get('errors')} errors, recovery "
                          f"{r.get('recovery_s')}, load {r['loadavg_start'][0]:.2f}",
                          file=sys.stderr, flush=True)  # fmt: skip
    info["loadavg_end"] = c.loadavg()
    report(args, info, rounds, targets, levels)
    return 0


def report(
    args: argparse.Namespace, info: dict[str, Any], rounds: list[dict[str, Any]],
    targets: list[Target], levels: list[int],
) -> None:  # fmt: skip
    def med(rs: list[dict[str, Any]], key: str) -> float | None:
        vals = [r[key] for r in rs if r.get(key) is not None and r[key] == r[key]]
        return c.summary(vals)["median"] if vals else None

    def ms(value: float | None) -> str:
        return "n/a" if value is None or value != value else f"{value * 1e3:.0f}"

    def rng(rs: list[dict[str, Any]], key: str, fmt: Callable[[float], str]) -> str:
        vals = [r[key] for r in rs if r.get(key) is not None and r[key] == r[key]]
        if not vals:
            return "n/a"
        s = c.summary(vals)
        if len(vals) == 1 or s["min"] == s["max"]:
            return fmt(s["median"])
        return f"{fmt(s['median'])} ({fmt(s['min'])}–{fmt(s['max'])})"

    print(c.header(
        f"Overload: N readers at once over the read routes of one {info['n_trials']}-trial study "
        f"({info['database_mb']} MB SQLite), fresh server per round; {args.repeats} repeats "
        f"({args.big_repeats} at {args.big_level}+ readers), median (min–max); "
        f"{args.deadline:.0f} s per-request deadline"
        + ("; every URL distinct (--distinct)" if args.distinct else ""),
        info,
    ))  # fmt: skip
    rows, rows2 = [], []
    count = lambda v: f"{v:.0f}"  # noqa: E731
    for readers in levels:
        for t in targets:
            rs = [r for r in rounds if r["server"] == t.name and r["readers"] == readers]
            if not rs:
                continue
            rows.append([
                t.name, readers, len(rs), rng(rs, "served", count), rng(rs, "shed", count),
                rng(rs, "5xx", count), rng(rs, "timeouts", count), rng(rs, "errors", count),
                rng(rs, "throughput_per_s", lambda v: f"{v:.1f}"),
                " / ".join(ms(med(rs, k)) for k in ("served_p50_s", "served_p95_s",
                                                     "served_p99_s")),
            ])  # fmt: skip
            during = [r["liveness_during"] for r in rs]
            rows2.append([
                t.name, readers,
                f"{sum(d['ok'] for d in during)}/{sum(d['polls'] for d in during)}",
                ms(max((d["max_s"] or 0) for d in during)),
                ", ".join(str(r["liveness_after"]["status"]) for r in rs),
                ", ".join("killed" if r["recovery_s"] is None and r.get("rss_killed")
                          else f"> {args.recovery_cap:.0f}" if r["recovery_s"] is None
                          else f"{r['recovery_s']:.1f}" for r in rs),
                ", ".join("killed" if r["stop_killed"] else
                          "(killed)" if r["stop_s"] is None else f"{r['stop_s']:.1f}" for r in rs),
                f"{max(r['rss_peak_mb'] for r in rs):.0f}"
                + (" (killed)" if any(r["rss_killed"] for r in rs) else ""),
                ", ".join(f"{r['loadavg_start'][0]:.1f}" for r in rs),
            ])  # fmt: skip
    print(c.table(["server", "readers", "n", "served 2xx", "shed 429/503", "5xx", "timeouts",
                   "errors", "served/s", "served p50 / p95 / p99, ms"], rows))  # fmt: skip
    print()
    rows3 = []
    pct = lambda v: f"{v:.1f}"  # noqa: E731
    for readers in levels:
        for t in targets:
            rs = [r for r in rounds if r["server"] == t.name and r["readers"] == readers]
            if rs:
                rows3.append([
                    t.name, readers,
                    rng(rs, "served_pct_cheap", pct), ms(med(rs, "p99_s_cheap")),
                    rng(rs, "served_pct_expensive", pct), ms(med(rs, "p99_s_expensive")),
                    ms(med(rs, "shed_p50_s")), ms(med(rs, "shed_p95_s")),
                ])  # fmt: skip
    print(c.table(["server", "readers", "cheap served %", "cheap p99 of 2xx, ms",
                   "expensive served %", "expensive p99 of 2xx, ms", "503 p50, ms",
                   "503 p95, ms"], rows3))  # fmt: skip
    print()
    if args.floor:
        print(c.table(["server", "readers", "burst's 503 p95, ms",
                       "floor: N x liveness p50 / p95, ms", "floor: N x unknown path p50 / p95, ms",
                       "floor statuses (liveness; unknown), last round"],
                      floor_rows(rounds, targets, levels, ms)))  # fmt: skip
        print()
    print(c.table(["server", "readers", "liveness OK during burst", "liveness slowest, ms",
                   "liveness after", "recovery, s (each round)", "SIGTERM to exit, s",
                   "peak RSS, MB", "load (1 min) at start"], rows2))  # fmt: skip
    c.write_json(
        args.json,
        {"machine": info, "config": {k: v for k, v in vars(args).items() if k != "json"},
         "rounds": rounds},
    )  # fmt: skip


def floor_rows(
    rounds: list[dict[str, Any]], targets: list[Target], levels: list[int],
    ms: Callable[[float | None], str],
) -> list[list[Any]]:  # fmt: skip
    """One row per server and level: medians over the rounds (each round's value in brackets)."""

    def each(rs: list[dict[str, Any]], get: Callable[[dict[str, Any]], float | None]) -> str:
        vals = [get(r) for r in rs]
        known = [v for v in vals if v is not None and v == v]
        med = c.summary(known)["median"] if known else None
        return ms(med) + (f" [{', '.join(ms(v) for v in vals)}]" if len(vals) > 1 else "")

    def floor(r: dict[str, Any], name: str, key: str) -> float | None:
        return (r.get(f"floor_{name}") or {}).get(key)

    rows = []
    for readers in levels:
        for t in targets:
            rs = [r for r in rounds if r["server"] == t.name and r["readers"] == readers]
            if not rs:
                continue
            last = rs[-1]
            rows.append([
                t.name, readers, each(rs, lambda r: r.get("shed_p95_s")),
                " / ".join(each(rs, lambda r, k=k: floor(r, "liveness", k))  # type: ignore[misc]
                           for k in ("p50_s", "p95_s")),
                " / ".join(each(rs, lambda r, k=k: floor(r, "unknown", k))  # type: ignore[misc]
                           for k in ("p50_s", "p95_s")),
                "; ".join(str((last.get(f"floor_{n}") or {}).get("statuses"))
                          for n in ("liveness", "unknown")),
            ])  # fmt: skip
    return rows


if __name__ == "__main__":
    raise SystemExit(main())
