"""Reads of a 10,000-trial x 50-epoch study: adamtune's API against optuna-dashboard's.

Both servers read the same SQLite file (written by bench/make_big_study.py, plus one RUNNING
trial added here): `adamtune serve --workers 0` and `optuna-dashboard sqlite:///... --port P`.

- First load: adamtune's study page asks GET /api/studies/{id}, /trials?limit=50 and
  /curves?after=0 (timed sequentially, total); optuna-dashboard's asks
  /api/studies/{id}?after=0 (every trial with all its intermediate values).
- Incremental, nothing new: adamtune GET /curves?after=<cursor>; optuna-dashboard
  /api/studies/{id}?after=10000 (its page re-asks from the first running trial).
- Incremental, 10 new points: 10 intermediate values (through Optuna's storage) and 10 epoch
  events (adamtune_events, by SQL) are written for the running trial, then the same polls.

- All trials and points (issue 24, `--parts all`): adamtune GET
  /curves?after=0&max_trials=100000&max_points=1000000, optuna-dashboard /api/studies/{id}?after=0,
  both the whole finished study (checked: every trial, every point). Cold: a freshly started
  server's first request (the database file is in the OS page cache: only the server is cold);
  warm: the same request again at once (adamtune keeps a finished study's encoded answer;
  optuna-dashboard keeps the trials it read for 10 s: a warm request within that is counted as
  served from its cache only when it took under 60 % of its cold request, else it is marked a
  reload). adamtune is read twice: without Accept-Encoding (JSON bytes, as optuna-dashboard
  sends) and with `Accept-Encoding: gzip` (what a browser sends).

optuna-dashboard keeps all trials in memory for 10 s (its TTL for studies of 500+ trials) and
re-reads them all after that; its page polls every 10 s, so a poll that sees new points is a poll
after expiry. Each of its timed requests here is made after the TTL has passed; a request within
the TTL (served stale from memory) is shown for information. Server RSS is read from
/proc/<pid>/status after the loads (VmRSS now, VmHWM the peak).

    .venv/bin/python bench/dashboard_reads.py [--repeats 3] [--db PATH] [--json PATH]
    .venv/bin/python bench/dashboard_reads.py --parts all --repeats 3   # issue 24's figure only
    .venv/bin/python bench/dashboard_reads.py --smoke   # adamtune's side, a tiny study: a check
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import gzip
import json
import shutil
import sqlite3
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c  # noqa: E402

OD_TTL_S = 10.0  # optuna_dashboard._storage.get_trials: TTL for studies of 500+ trials
TARGETS = {"ratio": 10.0, "first_load_s": 0.5, "incremental_s": 0.020, "rss_mb": 250.0}
ALL_TARGETS = {"cold": 30.0, "warm": 10.0}  # issue 24: optuna-dashboard / adamtune, all trials
OD_WARM_HIT = 0.6  # a warm request under this share of its cold one was served from the cache


def ensure_db(args: argparse.Namespace, work: Path) -> Path:
    path = args.db or work / "big.db"
    if not path.exists():
        import make_big_study

        print(f"# writing {args.trials} x {args.epochs} study into {path}", file=sys.stderr)
        with contextlib.redirect_stdout(sys.stderr):  # stdout is the report
            make_big_study.make(f"sqlite:///{path}", args.trials, args.epochs)
    return path


def big_study(path: Path) -> tuple[int, int]:
    """(study id, number of trials) of the newest study written by make_big_study."""
    storage = _storage(path)
    names = [s.study_name for s in storage.get_all_studies() if s.study_name.startswith("big-")]
    study_id = max(storage.get_study_id_from_name(name) for name in names)
    return study_id, storage.get_n_trials(study_id)


def _storage(path: Path) -> Any:
    from optim.storage import make_storage  # the bench's own imports stay light

    return make_storage(f"sqlite:///{path}")


def point_count(path: Path, study_id: int) -> int:
    """The study's intermediate values: its points on both servers."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return int(conn.execute(
            "SELECT count(*) FROM trial_intermediate_values v JOIN trials t "
            "ON t.trial_id = v.trial_id WHERE t.study_id = ?", (study_id,),
        ).fetchone()[0])  # fmt: skip


class RunningTrial:
    """One RUNNING trial in the big study, to which epochs are appended: its intermediate values
    through Optuna's storage, its epoch events by plain SQL."""

    def __init__(self, path: Path, study_id: int) -> None:
        from optuna.trial import FrozenTrial, TrialState

        self.path, self.study_id = path, study_id
        self.storage = storage = _storage(path)
        running = storage.get_all_trials(study_id, deepcopy=False, states=(TrialState.RUNNING,))
        if running:
            trial = min(running, key=lambda t: t.number)
        else:
            template = storage.get_trial(
                storage.get_trial_id_from_study_id_trial_number(study_id, 1)
            )
            trial_id = storage.create_new_trial(
                study_id,
                template_trial=FrozenTrial(
                    number=-1,  # numbered by the storage
                    state=TrialState.RUNNING,
                    value=None,
                    datetime_start=datetime.datetime.now(),
                    datetime_complete=None,
                    params=template.params,
                    distributions=template.distributions,
                    user_attrs={},
                    system_attrs={},
                    intermediate_values={},
                    trial_id=-1,
                ),
            )
            trial = storage.get_trial(trial_id)
            with self._conn() as conn:
                conn.execute(
                    "INSERT INTO adamtune_events (study_id, kind, trial_number) "
                    "VALUES (?, 'trial_started', ?)",
                    (study_id, trial.number),
                )
        self.trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, trial.number)
        self.number = trial.number
        self.epoch = max(trial.intermediate_values, default=0)

    @staticmethod
    def exists(path: Path, study_id: int) -> bool:
        """Whether the study has a trial that is not finished (an earlier run's)."""
        with contextlib.closing(sqlite3.connect(path)) as conn:
            return (
                conn.execute(
                    "SELECT 1 FROM trials WHERE study_id = ? AND state IN ('RUNNING', 'WAITING')",
                    (study_id,),
                ).fetchone()
                is not None
            )

    def _conn(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=60)

    def add_epochs(self, count: int) -> list[int]:
        """Append `count` epochs: Optuna's intermediate values, then the epoch events in one
        transaction."""
        epochs = list(range(self.epoch + 1, self.epoch + count + 1))
        for epoch in epochs:
            self.storage.set_trial_intermediate_value(self.trial_id, epoch, 2.0 / epoch)
        with self._conn() as conn:
            for epoch in epochs:
                loss = 2.0 / epoch
                conn.execute(
                    "INSERT INTO adamtune_events (study_id, kind, trial_number, epoch, "
                    "train_loss, val_loss, val_accuracy, elapsed_s) "
                    "VALUES (?, 'epoch', ?, ?, ?, ?, ?, ?)",
                    (self.study_id, self.number, epoch, loss * 0.9, loss, 0.5, epoch * 0.02),
                )
        self.epoch = epochs[-1]
        return epochs


def timed_get(url: str) -> tuple[float, int, Any]:
    status, payload, seconds = c.http("GET", url)
    if status != 200:
        raise RuntimeError(f"GET {url}: {status} {payload[:300]!r}")
    return seconds, len(payload), json.loads(payload)


class Bench:
    def __init__(
        self, at: c.Server, od: c.Server | None, study_id: int, running: RunningTrial
    ) -> None:
        self.at, self.od, self.study_id, self.running = at, od, study_id, running
        self.cursor = 0
        self.od_fetched_at = 0.0  # monotonic time its last trial reload ended

    # adamtune -----------------------------------------------------------------------------
    def at_first_load(self) -> dict[str, Any]:
        base = f"{self.at.url}/api/studies/{self.study_id}"
        parts, sizes = {}, {}
        for key, url in (("study", base), ("trials", base + "/trials?limit=50"),
                         ("curves", base + "/curves?after=0")):  # fmt: skip
            parts[key], sizes[key], body = timed_get(url)
            if key == "trials":
                n_trials = body["total"]
        self.cursor = body["cursor"]
        points = len(body["points"]["trial"])
        return {"seconds": sum(parts.values()), "parts": parts, "bytes": sizes, "points": points,
                "trials_shown": body["trials_shown"], "n_trials": n_trials}  # fmt: skip

    def at_poll(self) -> dict[str, Any]:
        url = f"{self.at.url}/api/studies/{self.study_id}/curves?after={self.cursor}"
        seconds, size, body = timed_get(url)
        self.cursor = body["cursor"]
        points = list(zip(body["points"]["trial"], body["points"]["epoch"], strict=True))
        return {"seconds": seconds, "bytes": size, "points": points}

    # optuna-dashboard ---------------------------------------------------------------------
    def od_wait_expired(self) -> None:
        wait = self.od_fetched_at + OD_TTL_S + 0.5 - time.monotonic()
        if wait > 0:
            time.sleep(wait)

    def od_get(self, after: int, expect_reload: bool = True) -> dict[str, Any]:
        if expect_reload:
            self.od_wait_expired()
        assert self.od is not None
        url = f"{self.od.url}/api/studies/{self.study_id}?after={after}"
        seconds, size, body = timed_get(url)
        if expect_reload:
            self.od_fetched_at = time.monotonic()
        trials = body["trials"]
        running = [t for t in trials if t["number"] == self.running.number]
        steps = [v["step"] for v in running[0]["intermediate_values"]] if running else []
        return {"seconds": seconds, "bytes": size, "trials": len(trials), "running_steps": steps}


def fetch(url: str, accept_gzip: bool = False) -> tuple[float, int, Any]:
    """(seconds to the last byte, bytes on the wire, the parsed answer); decoding and parsing
    are not timed."""
    request = urllib.request.Request(url)
    if accept_gzip:
        request.add_header("Accept-Encoding", "gzip")
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=900) as response:
        payload = response.read()
        encoding = response.headers.get("Content-Encoding")
    seconds = time.perf_counter() - start
    body = gzip.decompress(payload) if encoding == "gzip" else payload
    return seconds, len(payload), json.loads(body)


def counts(side: str, body: Any) -> tuple[int, int]:
    """(trials, points) in an all-trials answer."""
    if side == "optuna_dashboard":
        trials = body["trials"]
        return len(trials), sum(len(t["intermediate_values"]) for t in trials)
    return len(body["trials"]), len(body["points"]["trial"])


def all_reads(
    args: argparse.Namespace, db: Path, study_id: int, work: Path, with_od: bool
) -> list[dict[str, Any]]:
    """Cold and warm reads of every trial and point, each server freshly started per repeat,
    the order of the sides rotated."""
    at_url = "/api/studies/{}/curves?after=0&max_trials=100000&max_points=1000000"
    sides = ["adamtune", "adamtune_gzip", *(["optuna_dashboard"] if with_od else [])]
    od_bin = str(Path(c.PYTHON).with_name("optuna-dashboard"))
    rounds = []
    for repeat in range(args.repeats):
        r: dict[str, Any] = {"repeat": repeat, "loadavg_1min": c.loadavg()[0]}
        for side in sides[repeat % len(sides) :] + sides[: repeat % len(sides)]:
            if side == "optuna_dashboard":
                port = c.free_port()
                server = c.Server(
                    [
                        od_bin,
                        f"sqlite:///{db}",
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(port),
                        "--quiet",
                    ],
                    port,
                    work / "od-all.log",
                    "/api/meta",
                )
                url = f"{server.url}/api/studies/{study_id}?after=0"
            else:
                server = c.adamtune_server(f"sqlite:///{db}", 0, work / "adamtune-all.log")
                url = server.url + at_url.format(study_id)
            accept_gzip = side == "adamtune_gzip"
            with server:
                cold, size, body = fetch(url, accept_gzip)
                got = {"cold_s": cold, "bytes": size, "counts": counts(side, body), "warm_s": []}
                del body
                for _ in range(args.warm):
                    seconds, _, body = fetch(url, accept_gzip)
                    got["warm_s"].append(seconds)
                    got["warm_counts"] = counts(side, body)
                    del body
                got["rss_peak_mb"] = c.rss_mb(server.pid, "VmHWM")
            r[side] = got
            print(f"# all, repeat {repeat}, {side}: cold {cold:.2f} s, warm "
                  f"{min(got['warm_s']):.3f} s", file=sys.stderr)  # fmt: skip
        rounds.append(r)
    return rounds


def report_all(
    args: argparse.Namespace, info: dict[str, Any], rounds: list[dict[str, Any]],
    expected: tuple[int, int], finished: bool,
) -> bool:  # fmt: skip
    """The all-trials table; whether every answer held every trial and point."""
    sides = [s for s in ("adamtune", "adamtune_gzip", "optuna_dashboard") if s in rounds[0]]
    valid = all(
        r[s]["counts"] == expected and r[s]["warm_counts"] == expected
        for r in rounds
        for s in sides
    )
    warm = {s: [min(r[s]["warm_s"]) for r in rounds] for s in sides}
    od_hit = [
        min(r["optuna_dashboard"]["warm_s"]) < OD_WARM_HIT * r["optuna_dashboard"]["cold_s"]
        for r in rounds if "optuna_dashboard" in r
    ]  # fmt: skip
    print(c.header(
        f"All trials and points: one finished study of {expected[0]} trials and {expected[1]} "
        f"points, {args.repeats} repeats (each a fresh server per side), {args.warm} warm "
        "requests after each cold one; times are client-side, request to last byte",
        info,
    ))  # fmt: skip
    labels = {
        "adamtune": "adamtune /curves?after=0&max_trials=100000&max_points=1000000",
        "adamtune_gzip": "  the same, Accept-Encoding: gzip",
        "optuna_dashboard": "optuna-dashboard /api/studies/{id}?after=0",
    }
    rows = []
    for s in sides:
        rows.append([
            labels[s], c.fmt_summary(c.summary([r[s]["cold_s"] for r in rounds]), ".2f"),
            c.fmt_summary(c.summary(warm[s]), ".3f"),
            f"{rounds[0][s]['bytes'] / 1e6:.1f} MB",
            f"{max(r[s]['rss_peak_mb'] or 0 for r in rounds):.0f}",
        ])  # fmt: skip
    print(c.table(["request", "cold s, median (min–max)", "warm s (best of the warm requests)",
                   "on the wire", "server peak RSS, MB"], rows, "lrrrr"))  # fmt: skip
    ratios: dict[str, Any] = {}
    if "optuna_dashboard" in rounds[0]:
        for s in ("adamtune", "adamtune_gzip"):
            cold = c.summary([r["optuna_dashboard"]["cold_s"] / r[s]["cold_s"] for r in rounds])
            w = c.summary([min(r["optuna_dashboard"]["warm_s"]) / min(r[s]["warm_s"])
                           for r in rounds])  # fmt: skip
            ratios[s] = {"cold": cold, "warm": w}
        print()
        for s, label in (("adamtune", "JSON"), ("adamtune_gzip", "gzip")):
            cold, w = ratios[s]["cold"], ratios[s]["warm"]
            print(f"optuna-dashboard / adamtune ({label}), median of per-repeat ratios: cold "
                  f"{cold['median']:.1f}x ({cold['min']:.1f}–{cold['max']:.1f}), target >= "
                  f"{ALL_TARGETS['cold']:g}x: "
                  f"{'met' if cold['median'] >= ALL_TARGETS['cold'] else 'missed'}; warm "
                  f"{w['median']:.0f}x ({w['min']:.0f}–{w['max']:.0f}), target >= "
                  f"{ALL_TARGETS['warm']:g}x: "
                  f"{'met' if w['median'] >= ALL_TARGETS['warm'] else 'missed'}.  ")  # fmt: skip
        print(f"optuna-dashboard's warm request served from its 10 s cache: {sum(od_hit)} of "
              f"{len(od_hit)} repeats.  ")  # fmt: skip
    print(f"Every answer held all {expected[0]} trials and {expected[1]} points: {valid}. "
          f"The study was finished (no running trial): {finished}.")  # fmt: skip
    info["all_ratios"], info["all_od_warm_hits"] = ratios, od_hit
    return valid


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    c.add_common_args(parser, repeats=3)
    parser.add_argument("--db", type=Path, help="an existing big-study database (else written)")
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--polls", type=int, default=5, help="nothing-new adamtune polls/round")
    parser.add_argument(
        "--servers",
        default="adamtune,optuna-dashboard",
        help="adamtune alone: its side only (no optuna-dashboard needed)",
    )
    parser.add_argument(
        "--parts",
        default="reads,all",
        help="reads (section 4's loads and polls), all (every trial and point)",
    )
    parser.add_argument("--warm", type=int, default=3, help="warm all-trials requests/repeat")
    parser.add_argument("--smoke", action="store_true",
                        help="a check: adamtune alone, 1 repeat of a 50 x 3 study")  # fmt: skip
    args = parser.parse_args(argv)
    if args.smoke:
        args.servers, args.repeats, args.trials, args.epochs, args.polls = "adamtune", 1, 50, 3, 1
    with_od = "optuna-dashboard" in args.servers.split(",")
    if with_od and shutil.which("optuna-dashboard", path=str(Path(c.PYTHON).parent)) is None:
        parser.error("optuna-dashboard is not installed: pip install -e '.[bench]'")

    parts = args.parts.split(",")
    c.wait_for_quiet(args.wait_load)
    with c.workdir(args.workdir) as work:
        db = ensure_db(args, work)
        study_id, n_trials = big_study(db)
        if "all" in parts:  # before the running trial below: the finished study
            all_info = c.machine()
            expected = (n_trials, point_count(db, study_id))
            finished = not RunningTrial.exists(db, study_id)
            all_rounds = all_reads(args, db, study_id, work, with_od)
            all_info["loadavg_end"] = c.loadavg()
            all_valid = report_all(args, all_info, all_rounds, expected, finished)
            report_json = {"machine": all_info, "rounds": all_rounds, "expected": expected,
                           "finished": finished, "valid": all_valid}  # fmt: skip
            if "reads" not in parts:
                c.write_json(args.json, {"all": report_json, "valid": all_valid})
                return 0 if all_valid else 1
            print()
        running = RunningTrial(db, study_id)
        _, n_trials = big_study(db)
        size = sum(p.stat().st_size for p in (db, Path(f"{db}-wal")) if p.exists())
        info = c.machine({"database_mb": round(size / 2**20, 1)})
        at = c.adamtune_server(f"sqlite:///{db}", 0, work / "adamtune.log")
        od_bin = str(Path(c.PYTHON).with_name("optuna-dashboard"))
        od_port = c.free_port()
        od = c.Server([od_bin, f"sqlite:///{db}", "--host", "127.0.0.1", "--port", str(od_port),
                       "--quiet"], od_port, work / "od.log", "/api/meta")  # fmt: skip
        servers = {"adamtune": at, **({"optuna_dashboard": od} if with_od else {})}
        with contextlib.ExitStack() as stack:
            for server in servers.values():
                stack.enter_context(server)
            bench = Bench(at, od if with_od else None, study_id, running)
            after = running.number  # optuna-dashboard's page asks from the first running trial
            rss_idle = {name: c.rss_mb(server.pid) for name, server in servers.items()}
            rounds: list[dict[str, Any]] = []
            for repeat in range(args.repeats):
                r: dict[str, Any] = {"repeat": repeat, "loadavg_1min": c.loadavg()[0]}
                if with_od:
                    bench.od_wait_expired()
                if repeat % 2 == 0 or not with_od:
                    r["at_first"] = bench.at_first_load()
                    r |= {"od_first": bench.od_get(0)} if with_od else {}
                else:
                    r["od_first"], r["at_first"] = bench.od_get(0), bench.at_first_load()
                r["at_nothing"] = [bench.at_poll() for _ in range(args.polls)]
                if with_od:
                    r["od_cached"] = bench.od_get(after, expect_reload=False)
                r["inserted"] = running.add_epochs(10)
                r["at_new"] = bench.at_poll()
                if with_od:
                    r["od_new"] = bench.od_get(after)
                    r["od_nothing"] = bench.od_get(after)
                rounds.append(r)
                print(f"# repeat {repeat}: adamtune first {r['at_first']['seconds']:.3f} s, load "
                      f"{r['loadavg_1min']:.2f}", file=sys.stderr)  # fmt: skip
            rss = {
                name: {"idle": rss_idle[name], "after": c.rss_mb(server.pid),
                       "peak": c.rss_mb(server.pid, "VmHWM")}
                for name, server in servers.items()
            }  # fmt: skip
    info["loadavg_end"] = c.loadavg()
    extra = {"all": report_json} if "all" in parts else {}
    reads_status = report(args, info, rounds, rss, n_trials, running, extra)
    return max(reads_status, 0 if "all" not in parts or all_valid else 1)


def report(
    args: argparse.Namespace, info: dict[str, Any], rounds: list[dict[str, Any]],
    rss: dict[str, dict[str, float | None]], n_trials: int, running: RunningTrial,
    extra: dict[str, Any] | None = None,
) -> int:  # fmt: skip
    """Print the tables and write the JSON; 1 (not valid) when a server's answers missed the
    new points, or the two servers did not serve the same trials."""

    def s(key: str, sub: str = "seconds") -> dict[str, float]:
        return c.summary([r[key][sub] for r in rounds])

    ms = lambda x: c.fmt_summary(x, ".1f", 1e3)  # noqa: E731
    sec = lambda x: c.fmt_summary(x, ".2f")  # noqa: E731
    at_first = s("at_first")
    parts = {k: c.summary([r["at_first"]["parts"][k] for r in rounds]) for k in
             ("study", "trials", "curves")}  # fmt: skip
    at_nothing = c.summary([p["seconds"] for r in rounds for p in r["at_nothing"]])
    at_new = s("at_new")
    with_od = "optuna_dashboard" in rss
    ratios = [r["od_first"]["seconds"] / r["at_first"]["seconds"] for r in rounds if with_od]
    ratio = c.summary(ratios)
    new_ok = all(
        sorted(e for t, e in r["at_new"]["points"] if t == running.number) == r["inserted"]
        for r in rounds
    ) and all(set(r["inserted"]) <= set(r.get("od_new", r)["running_steps"]) for r in rounds
              if with_od)  # fmt: skip
    # the same data: both first loads read every trial of the study (adamtune's study read
    # counts them, optuna-dashboard lists them)
    same_trials = all(
        r["at_first"]["n_trials"] == n_trials
        and (not with_od or r["od_first"]["trials"] == n_trials)
        for r in rounds
    )
    valid = new_ok and same_trials
    first = rounds[0]

    print(c.header(
        f"Dashboard reads: one study of {n_trials} trials x {args.epochs} epochs "
        f"({info['database_mb']} MB SQLite), {args.repeats} repeats; times are client-side, "
        "request to last byte",
        info,
    ))  # fmt: skip
    rows = [
        ["first load: adamtune (study + trials?limit=50 + curves?after=0)", sec(at_first),
         f"{first['at_first']['seconds']:.3f}",
         f"{sum(first['at_first']['bytes'].values()) / 1e6:.2f} MB"],
        ["  of which GET /api/studies/{id}", ms(parts["study"]) + " ms", "",
         f"{first['at_first']['bytes']['study'] / 1e3:.1f} kB"],
        ["  of which GET /trials?limit=50", ms(parts["trials"]) + " ms", "",
         f"{first['at_first']['bytes']['trials'] / 1e3:.1f} kB"],
        [f"  of which GET /curves?after=0 ({first['at_first']['trials_shown']} trials, "
         f"{first['at_first']['points']} points)", ms(parts["curves"]) + " ms", "",
         f"{first['at_first']['bytes']['curves'] / 1e6:.2f} MB"],
        ["incremental, nothing new: adamtune /curves?after=cursor", ms(at_nothing) + " ms", "",
         f"{first['at_nothing'][0]['bytes']} B"],
        ["incremental, 10 new points: adamtune /curves?after=cursor", ms(at_new) + " ms", "",
         f"{first['at_new']['bytes'] / 1e3:.1f} kB"],
    ]  # fmt: skip
    if with_od:
        rows[4:4] = [
            ["first load: optuna-dashboard /api/studies/{id}?after=0", sec(s("od_first")),
             f"{first['od_first']['seconds']:.2f}", f"{first['od_first']['bytes'] / 1e6:.1f} MB"],
        ]  # fmt: skip
        rows[6:6] = [
            ["incremental, nothing new: optuna-dashboard ?after=N (after its 10 s cache)",
             sec(s("od_nothing")), "", f"{first['od_nothing']['bytes'] / 1e3:.1f} kB"],
            ["incremental, nothing new: optuna-dashboard ?after=N (within its cache, stale)",
             ms(s("od_cached")) + " ms", "", f"{first['od_cached']['bytes'] / 1e3:.1f} kB"],
        ]  # fmt: skip
        rows.append(["incremental, 10 new points: optuna-dashboard ?after=N", sec(s("od_new")),
                     "", f"{first['od_new']['bytes'] / 1e3:.1f} kB"])  # fmt: skip
    print(c.table(["request", "median (min–max), s unless ms", "first round, s", "response"],
                  rows, "lrrr"))  # fmt: skip
    a = rss["adamtune"]
    labels = {"adamtune": "adamtune serve --workers 0", "optuna_dashboard": "optuna-dashboard"}
    print()
    print(c.table(
        ["server RSS (MB)", "idle after start", "after the loads", "peak (VmHWM)"],
        [[labels[name], *(f"{m[k]:.0f}" for k in ("idle", "after", "peak"))]
         for name, m in rss.items()],
    ))  # fmt: skip

    def verdict(ok: bool) -> str:
        return "met" if ok else "missed"

    whose = "both servers'" if with_od else "its"
    compared = (
        f"First load, optuna-dashboard / adamtune (median of per-repeat ratios): "
        f"{ratio['median']:.0f}x (min {ratio['min']:.0f}x); target >= 10x: "
        f"{verdict(ratio['median'] >= TARGETS['ratio'])}. "
    )
    print(
        f"\n{compared if with_od else ''}adamtune first load "
        f"{at_first['median']:.3f} s; target < 0.5 s: "
        f"{verdict(at_first['median'] < TARGETS['first_load_s'])}. Incremental "
        f"{at_nothing['median'] * 1e3:.1f} ms (nothing new) / {at_new['median'] * 1e3:.1f} ms "
        f"(10 new); target < 20 ms: "
        f"{verdict(max(at_nothing['median'], at_new['median']) < TARGETS['incremental_s'])}. "
        f"RSS {a['after']:.0f} MB after the loads (peak {a['peak']:.0f}); target < 250 MB: "
        f"{verdict((a['after'] or 1e9) < TARGETS['rss_mb'])}. The 10 new points arrived in "
        f"{whose} answers: {new_ok}. Every first load read all "
        f"{n_trials} trials: {same_trials}{'' if valid else ' (INVALID: not the same data)'}."
    )
    c.write_json(
        args.json,
        {"machine": info, "config": {k: v for k, v in vars(args).items() if k != "json"},
         "rounds": rounds, "rss_mb": rss, "ratios": ratios, "new_points_seen": new_ok,
         "same_trials": same_trials, "valid": valid, **(extra or {})},
    )  # fmt: skip
    return 0 if valid else 1


if __name__ == "__main__":
    raise SystemExit(main())
