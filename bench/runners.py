"""Studies trained by external code over HTTP, on PostgreSQL: the latency of ask / report /
heartbeat / tell, 200 concurrent runners beside the same load done the Optuna-native way, and
the client's overhead inside a training loop of 20 ms epochs.

Every run gets a fresh PostgreSQL database (`adamtune_bench_<hex>`, made and dropped through
--pg-admin-url) and, for the adamtune side, its own `adamtune serve --workers 0` (the API alone:
no built-in workers). External studies are made with `validate_top_k: 0`, so a study ends after
exactly n_trials.

1. Latency: one client (httpx, one keep-alive connection), sequential: per trial ask, a few
   reports, one heartbeat, tell; the study's default sampler and pruner (TPE, Hyperband).
2. Concurrent runners: --runners simulated runners, each in a loop of ask, --reports reports,
   tell until the study is done (503s retried after Retry-After, as adamtune.client does), on a
   study of n_trials = --runners. The Optuna-native way: as many runners, each opening its own
   `optuna.storages.RDBStorage` on the database (so its own pooled connections, as on separate
   machines), `load_study`, `study.ask`, --reports `trial.report`, `study.tell`, then closing its
   engine. Both sides: TPE, no pruner (so every trial reports all its steps), the same four-dim
   search space; runners are threads in --procs processes (--runners processes of Python would
   need 96 MB and a 2 s import each on 2 cores, swamping what is measured; threads still
   give each runner its own HTTP connection or engine, and --procs processes keep the GIL from
   serialising all of them). trials/s = COMPLETE trials / (go signal to the last tell), or to
   --load-timeout, where runners stop (an API that livelocks is reported, not waited for); the
   study must end with exactly n_trials COMPLETE trials, numbers unique, none told twice;
   PostgreSQL's connections to the run's database are counted from pg_stat_activity every 50 ms.
   The native side needs two connections per runner: give PostgreSQL max_connections above
   2 x --runners (ADAMTUNE_BENCH_PG_ADMIN_URL or --pg-admin-url says which server).
3. Client overhead: `for trial in Study(...).trials(): with trial: for epoch in range(20):
   time.sleep(0.02); trial.report(...)` (heartbeat thread on, 1 s interval; 20 trials, the
   first ask included) against the same loop without the client, and the client with
   `prefetch=False`; runs alternate, ratio = client / plain per run.

    .venv/bin/python bench/runners.py [--pg-admin-url URL] [--runners 200] [--reports 20]
        [--repeats 2] [--load-timeout 300] [--grace-period S] [--api-processes N]
        [--server-env NAME=VALUE] [--parts latency,load,overhead] [--json PATH]
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import random
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c  # noqa: E402

# as the tests' ADAMTUNE_TEST_PG_ADMIN_URL; `make bench` passes no options, so this says where
PG_ADMIN_URL = os.environ.get(
    "ADAMTUNE_BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
RETRY_CODES = (429, 502, 503, 504)
CLIENT_RETRIES = 8  # adamtune.client.RETRIES: it raises after that many retries of one request


# ----------------------------------------------------------------------------- PostgreSQL


@contextlib.contextmanager
def fresh_database(admin_url: str) -> Iterator[tuple[str, str]]:
    """(SQLAlchemy URL, name) of a new empty database, dropped with FORCE afterwards."""
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    name = f"adamtune_bench_{secrets.token_hex(6)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_url(admin_url).set(drivername="postgresql+psycopg", database=name)
    try:
        yield url.render_as_string(hide_password=False), name
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def server_facts(admin_url: str) -> dict[str, str]:
    """The PostgreSQL measured: its version and the connections it admits."""
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        facts = {}
        for name in ("server_version", "max_connections", "shared_buffers", "fsync"):
            row = conn.execute(f"SHOW {name}").fetchone()
            facts[name] = str(row[0]) if row else "?"
    return facts


class ConnectionCounter:
    """Counts the backends connected to one database (pg_stat_activity) every `poll_s`, from
    the admin database, so the counter's own connection is not among them."""

    def __init__(self, admin_url: str, database: str, poll_s: float = 0.05) -> None:
        self.admin_url, self.database, self.poll_s = admin_url, database, poll_s
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            while not self._stop.is_set():
                row = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (self.database,)
                ).fetchone()
                self.samples.append(int(row[0]) if row else 0)
                self._stop.wait(self.poll_s)

    def __enter__(self) -> ConnectionCounter:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak(self) -> int:
        return max(self.samples, default=0)


# ----------------------------------------------------------------------------- the API side


def create_study(http: Any, n_trials: int, epochs: int, **extra: Any) -> int:
    body = {"task": "external", "n_trials": n_trials, "epochs": epochs, "validate_top_k": 0,
            "name": f"bench {secrets.token_hex(3)}", **extra}  # fmt: skip
    response = http.post("/api/studies", json=body)
    if response.status_code != 201:
        raise RuntimeError(f"POST /api/studies: {response.status_code} {response.text[:300]}")
    return int(response.json()["id"])


def trial_states(http: Any, study_id: int) -> list[tuple[int, str]]:
    """(number, state) of every trial of a study, as the API lists them."""
    response = http.get(f"/api/studies/{study_id}/trials", params={"limit": 1000})
    response.raise_for_status()
    return [(t["number"], t["state"]) for t in response.json()["trials"]]


def run_one_trial(http: Any, study_id: int, reports: int) -> None:
    """Ask, report, tell once, sequentially (the warm-up of a fresh server)."""
    ask = http.post(f"/api/studies/{study_id}/ask", json={"host": "warm-up"}).json()
    number, lease = ask["trial"]["number"], ask["lease"]
    for step in range(reports):
        http.post(f"/api/studies/{study_id}/trials/{number}/report",
                  json={"lease": lease, "step": step, "value": 1.0 / (step + 1)})  # fmt: skip
    http.post(f"/api/studies/{study_id}/trials/{number}/tell",
              json={"lease": lease, "state": "complete", "value": 0.5})  # fmt: skip


def latency_run(args: argparse.Namespace, work: Path, tag: str) -> dict[str, Any]:
    """Per-call seconds of ask / report / heartbeat / tell, one client, one call at a time."""
    import httpx

    times: dict[str, list[float]] = {"ask": [], "report": [], "heartbeat": [], "tell": []}
    rng = random.Random(0)
    with (
        fresh_database(args.pg_admin_url) as (url, _),
        c.adamtune_server(url, 0, work / f"serve-latency-{tag}.log") as server,
        httpx.Client(base_url=server.url, timeout=60) as http,
    ):
        warm = create_study(http, 2, args.reports)
        run_one_trial(http, warm, 2)
        study_id = create_study(http, args.latency_trials, args.reports)
        load = c.loadavg()[0]

        def call(verb: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
            start = time.perf_counter()
            response = http.post(f"/api/studies/{study_id}/{path}", json=body)
            times[verb].append(time.perf_counter() - start)
            if response.status_code != 200:
                raise RuntimeError(f"{verb}: {response.status_code} {response.text[:300]}")
            return dict(response.json())

        for _ in range(args.latency_trials):
            answer = call("ask", "ask", {"host": "bench"})
            number, lease = answer["trial"]["number"], answer["lease"]
            trial = f"trials/{number}"
            scale = rng.uniform(0.5, 1.5)
            for step in range(args.latency_reports):
                value = scale / (step + 1)
                call("report", f"{trial}/report", {"lease": lease, "step": step, "value": value})
            call("heartbeat", f"{trial}/heartbeat", {"lease": lease})
            call("tell", f"{trial}/tell", {"lease": lease, "state": "complete", "value": scale})
        states = collections.Counter(state for _, state in trial_states(http, study_id))
    return {"times_s": times, "states": dict(states), "loadavg_1min_start": load,
            "loadavg_1min_end": c.loadavg()[0]}  # fmt: skip


# ----------------------------------------------------------------------------- the runners


def http_runner(
    base_url: str, study_id: int, reports: int, deadline: float, out: dict[str, Any]
) -> None:
    """A simulated runner: ask, report each step, tell, until the study is done (or the
    deadline passes: it then stops where it is)."""
    import httpx

    codes: collections.Counter[int] = collections.Counter()
    out["codes"] = codes  # filled as it goes: a runner stopped at the deadline keeps its counts
    rng = random.Random()
    with httpx.Client(base_url=base_url, timeout=120) as http:

        def post(path: str, body: dict[str, Any]) -> httpx.Response:
            """adamtune.client's retries (Retry-After, else backoff from 0.5 s), but without
            giving up, so the load stays at --runners; a request that outlasts the client's
            RETRIES is counted."""
            delay, attempt = 0.5, 0
            while True:
                if time.time() > deadline:
                    raise TimeoutError
                try:
                    response = http.post(f"/api/studies/{study_id}/{path}", json=body)
                    codes[response.status_code] += 1
                    if response.status_code not in RETRY_CODES:
                        return response
                    wait = float(response.headers.get("retry-after", delay))
                except httpx.TransportError as exc:
                    out["transport_errors"].append(repr(exc)[:200])
                    wait = delay
                attempt += 1
                if attempt == CLIENT_RETRIES + 1:
                    out["beyond_client_retries"] += 1
                time.sleep(min(wait, 30))
                delay = min(delay * 2, 30)

        while True:
            answer = post("ask", {"host": "bench"}).json()
            if answer["state"] == "done":
                break
            if answer["state"] == "wait":
                out["waits"] += 1
                time.sleep(answer.get("retry_after_s") or 1.0)
                continue
            number, lease = answer["trial"]["number"], answer["lease"]
            scale = rng.uniform(0.5, 1.5)
            refused = None
            for step in range(reports):
                body = {"lease": lease, "step": step, "value": scale / (step + 1)}
                response = post(f"trials/{number}/report", body)
                if response.status_code != 200:
                    refused = f"report {step}: {response.status_code} {response.text[:200]}"
                    break
            if refused is None:
                body = {"lease": lease, "state": "complete", "value": scale / reports}
                response = post(f"trials/{number}/tell", body)
                if response.status_code != 200 or response.json()["state"] != "COMPLETE":
                    # a 200 with FAIL: the trial had been failed as dead meanwhile
                    refused = f"tell: {response.status_code} {response.text[:200]}"
            if refused is not None:
                out["refused"].append(f"trial {number}: {refused}")
                continue
            out["told"].append([number, time.time()])


def native_runner(
    url: str, study_name: str, reports: int, deadline: float, out: dict[str, Any]
) -> None:
    """The Optuna-native runner: its own RDBStorage, one trial, its engine closed at the end
    (as when its process exits)."""
    import optuna
    import sqlalchemy.exc

    from optim.study import StudyConfig

    distributions = StudyConfig(task="external").space.distributions()
    delay = 0.5
    while True:  # a server at max_connections refuses the connection: wait and try again
        if time.time() > deadline:
            raise TimeoutError
        try:
            storage = optuna.storages.RDBStorage(url)
            break
        except sqlalchemy.exc.OperationalError as exc:
            out["refused"].append(str(exc).splitlines()[0][:200])
            time.sleep(delay)
            delay = min(delay * 2, 30)
    try:
        study = optuna.load_study(
            study_name=study_name,
            storage=storage,
            sampler=optuna.samplers.TPESampler(),
            pruner=optuna.pruners.NopPruner(),
        )
        trial = study.ask(distributions)
        scale = random.uniform(0.5, 1.5)
        for step in range(reports):
            if time.time() > deadline:
                raise TimeoutError
            trial.report(scale / (step + 1), step)
        study.tell(trial, scale / reports)
        out["told"].append([trial.number, time.time()])
    finally:
        storage.remove_session()
        storage.engine.dispose()


def child_main(spec: dict[str, Any]) -> None:
    """A runner process: import, say ready, wait for go on stdin, run its threads, print JSON."""
    outs = [{"told": [], "refused": [], "waits": 0, "transport_errors": [], "codes": {},
             "errors": [], "beyond_client_retries": 0, "timed_out": False}
            for _ in range(spec["runners"])]  # fmt: skip
    if spec["kind"] == "native":
        import optuna

        from optim.study import StudyConfig  # noqa: F401 - imported before the go

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        target, first = native_runner, spec["url"]
        key = spec["study_name"]
    else:
        import httpx  # noqa: F401 - imported before the go

        target, first, key = http_runner, spec["base_url"], spec["study_id"]

    def guarded(out: dict[str, Any]) -> None:
        try:
            target(first, key, spec["reports"], deadline, out)
        except TimeoutError:
            out["timed_out"] = True
        except Exception as exc:  # noqa: BLE001 - a runner's crash is a result, not a stop
            cause = exc.__cause__ or exc.__context__
            out["errors"].append(f"{exc!r}, from {cause!r}"[:500])

    print("ready", flush=True)
    sys.stdin.readline()
    deadline = time.time() + spec["timeout_s"]
    threads = [threading.Thread(target=guarded, args=(out,)) for out in outs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps(outs), flush=True)


def swarm(args: argparse.Namespace, spec: dict[str, Any], database: str) -> dict[str, Any]:
    """Start --procs runner processes, release them at once, count the database's connections
    until they end; the runners' records, merged, and the timing."""
    shares = [args.runners // args.procs + (i < args.runners % args.procs)
              for i in range(args.procs)]  # fmt: skip
    procs = [
        subprocess.Popen(
            [c.PYTHON, __file__, "--child", json.dumps({**spec, "runners": n})],
            cwd=c.ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for n in shares
    ]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    load = c.loadavg()[0]
    with ConnectionCounter(args.pg_admin_url, database) as counter:
        go = time.time()
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        outs = [out for proc in procs for out in json.loads(proc.communicate()[0])]
    told = [t for out in outs for t in out["told"]]
    codes: collections.Counter[str] = collections.Counter()
    for out in outs:
        codes.update({str(k): v for k, v in out["codes"].items()})
    timed_out = sum(out["timed_out"] for out in outs)
    last = max((end for _, end in told), default=go) - go
    seconds = float(spec["timeout_s"]) if timed_out else last
    return {
        "finished": not timed_out,
        "timed_out_runners": timed_out,
        "seconds": seconds,
        "trials_per_s": len(told) / seconds if seconds > 0 else 0.0,
        "told": len(told),
        "told_unique": len({n for n, _ in told}),
        "peak_connections": counter.peak,
        "connection_samples": len(counter.samples),
        "http_codes": dict(codes),
        "waits": sum(out["waits"] for out in outs),
        "beyond_client_retries": sum(out["beyond_client_retries"] for out in outs),
        "refused": [r for out in outs for r in out["refused"]][:20],
        "refused_count": sum(len(out["refused"]) for out in outs),
        "transport_errors": sum(len(out["transport_errors"]) for out in outs),
        "errors": [e for out in outs for e in out["errors"]][:20],
        "error_count": sum(len(out["errors"]) for out in outs),
        "loadavg_1min_start": load,
        "loadavg_1min_end": c.loadavg()[0],
    }


def load_adamtune(args: argparse.Namespace, work: Path, tag: str) -> dict[str, Any]:
    import httpx

    with (
        fresh_database(args.pg_admin_url) as (url, name),
        c.adamtune_server(url, 0, work / f"serve-load-{tag}.log", env=server_env(args)) as server,
        httpx.Client(base_url=server.url, timeout=60) as http,
    ):
        warm = create_study(http, 2, args.reports, pruner="none")
        run_one_trial(http, warm, 2)
        study_id = create_study(http, args.runners, args.reports, pruner="none")
        spec = {"kind": "adamtune", "base_url": server.url, "study_id": study_id,
                "reports": args.reports, "timeout_s": args.load_timeout}  # fmt: skip
        result = swarm(args, spec, name)
        trials = trial_states(http, study_id)
        after = http.post(f"/api/studies/{study_id}/ask", json={"host": "check"}).json()
        status = http.get(f"/api/studies/{study_id}").json()["status"]
        errors_500 = server.log().count('HTTP/1.1" 500')
    return {**result, **check(trials, args.runners), "ask_after": after["state"],
            "study_status": status, "server_500s": errors_500}  # fmt: skip


def server_env(args: argparse.Namespace) -> dict[str, str]:
    """The load side's server settings: the defaults, or another grace period, or several API
    processes on the port (`adamtune serve --processes`)."""
    env = {"ADAMTUNE_PROCESSES": str(args.api_processes)}
    if args.grace_period is not None:
        env["ADAMTUNE_GRACE_PERIOD"] = str(args.grace_period)
    for setting in args.server_env:  # NAME=VALUE, e.g. ADAMTUNE_RUNNERS_IN_FLIGHT=16
        name, _, value = setting.partition("=")
        env[name] = value
    return env


def load_native(args: argparse.Namespace, work: Path, tag: str) -> dict[str, Any]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with fresh_database(args.pg_admin_url) as (url, name):
        storage = optuna.storages.RDBStorage(url)
        study = optuna.create_study(storage=storage, study_name="bench-native")
        storage.engine.dispose()  # only the runners' connections count
        spec = {"kind": "native", "url": url, "study_name": study.study_name,
                "reports": args.reports, "timeout_s": args.load_timeout}  # fmt: skip
        result = swarm(args, spec, name)
        trials = [(t.number, t.state.name) for t in study.get_trials(deepcopy=False)]
        storage.engine.dispose()
    return {**result, **check(trials, args.runners)}


def check(trials: list[tuple[int, str]], n_trials: int) -> dict[str, Any]:
    """Lost or duplicated trials: the study must hold exactly n_trials COMPLETE, numbers
    unique."""
    states = collections.Counter(state for _, state in trials)
    numbers = [n for n, _ in trials]
    complete = states.get("COMPLETE", 0)
    return {
        "states": dict(states),
        "numbers_unique": len(numbers) == len(set(numbers)),
        "exact": complete == n_trials and len(numbers) == len(set(numbers)),
    }


# ----------------------------------------------------------------------------- client overhead


def epoch_loop(trials: int, epochs: int, epoch_s: float, study: Any = None) -> float:
    """Seconds for `trials` x `epochs` epochs of `epoch_s`, with the client when `study` is
    given (each epoch reported, the heartbeat thread on)."""
    start = time.perf_counter()
    if study is None:
        for _ in range(trials):
            for _epoch in range(epochs):
                time.sleep(epoch_s)
        return time.perf_counter() - start
    for trial in study.trials():
        with trial:
            for epoch in range(epochs):
                time.sleep(epoch_s)
                trial.report(epoch, 1.0 / (epoch + 1))
    return time.perf_counter() - start


def overhead(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    import httpx

    from adamtune.client import Study

    runs: dict[str, list[float]] = {"client": [], "no_prefetch": [], "plain": []}
    loads: list[float] = []
    with (
        fresh_database(args.pg_admin_url) as (url, _),
        c.adamtune_server(
            url, 0, work / "serve-overhead.log", env={"ADAMTUNE_HEARTBEAT_INTERVAL": "1"}
        ) as server,  # fmt: skip
        httpx.Client(base_url=server.url, timeout=60) as http,
    ):
        run_one_trial(http, create_study(http, 2, 2, pruner="none"), 2)
        for repeat in range(args.overhead_runs):
            order = list(runs) if repeat % 2 == 0 else list(reversed(runs))
            loads.append(c.loadavg()[0])
            for variant in order:
                study = None
                if variant != "plain":
                    study_id = create_study(http, args.overhead_trials, args.epochs,
                                            pruner="none")  # fmt: skip
                    study = Study(server.url, study_id, host="bench",
                                  prefetch=variant == "client")  # fmt: skip
                runs[variant].append(
                    epoch_loop(args.overhead_trials, args.epochs, args.epoch_s, study)
                )
    ratios = [a / b for a, b in zip(runs["client"], runs["plain"], strict=True)]
    no_prefetch = [a / b for a, b in zip(runs["no_prefetch"], runs["plain"], strict=True)]
    return {"runs_s": runs, "ratios": ratios, "ratios_no_prefetch": no_prefetch,
            "loadavg_1min": loads}  # fmt: skip


# ----------------------------------------------------------------------------- report


def ms(values: list[float], q: float) -> str:
    return f"{c.percentile(values, q) * 1000:.1f}"


def print_report(args: argparse.Namespace, info: dict[str, Any], out: dict[str, Any]) -> None:
    pg = info["postgres"]
    where = args.pg_admin_url.split("@")[-1].rsplit("/", 1)[0]
    print(c.header(f"External runners on PostgreSQL {pg['server_version']} at {where} "
                   f"(max_connections {pg['max_connections']})", info))  # fmt: skip
    if out["latency"]:
        print_latency(args, out)
    if out["load"]["adamtune"] or out["load"]["native"]:
        print_load(args, out)
    if out["overhead"]["ratios"]:
        print_overhead(args, out)


def print_latency(args: argparse.Namespace, out: dict[str, Any]) -> None:
    rows = []
    for verb in ("ask", "report", "heartbeat", "tell"):
        per_run = [run["times_s"][verb] for run in out["latency"]]
        pooled = [t for values in per_run for t in values]
        rows.append([verb, len(pooled), ms(pooled, 50), ms(pooled, 95), ms(pooled, 99),
                     f"{max(pooled) * 1000:.1f}",
                     ", ".join(f"{ms(v, 50)} / {ms(v, 95)}" for v in per_run)])  # fmt: skip
    print(f"### 1. Latency, one client, sequential ({args.latency_trials} trials x "
          f"{args.latency_reports} reports per run, {len(out['latency'])} runs; ms)\n")  # fmt: skip
    print(c.table(["call", "n", "p50", "p95", "p99", "max", "p50 / p95 per run"], rows))
    loads = ", ".join(f"{r['loadavg_1min_start']:.2f}" for r in out["latency"])
    print(f"\n1-min load average at the start of each run: {loads}.\n")


def print_load(args: argparse.Namespace, out: dict[str, Any]) -> None:
    runs = max(len(out["load"]["adamtune"]), len(out["load"]["native"]))
    print(f"### 2. {args.runners} concurrent runners x {args.reports} reports "
          f"({args.procs} processes of threads; {runs} runs each)\n")  # fmt: skip
    rows = []
    for kind in ("adamtune", "native"):
        rs = out["load"][kind]
        if not rs:
            continue

        def each(key: Any, rs: list[dict[str, Any]] = rs) -> str:
            return ", ".join(str(key(r)) for r in rs)

        rows.append([
            f"adamtune API (--workers 0 --processes {args.api_processes})"
            if kind == "adamtune" else "Optuna-native",
            c.fmt_summary(c.summary([r["trials_per_s"] for r in rs]), ".2f"),
            each(lambda r: f"{r['seconds']:.0f}" if r["finished"] else
                 f"stopped at {r['seconds']:.0f}"),  # fmt: skip
            each(lambda r: r["peak_connections"]),
            each(lambda r: f"{r['states'].get('COMPLETE', 0)}{'' if r['exact'] else ' (!)'}"),
            each(lambda r: r["states"].get("FAIL", 0)),
            each(lambda r: r["http_codes"].get("503", 0)) if kind == "adamtune" else "-",
            each(lambda r: r["http_codes"].get("409", 0)) if kind == "adamtune" else "-",
            each(lambda r: r["http_codes"].get("500", 0)) if kind == "adamtune" else "-",
            each(lambda r: r["beyond_client_retries"]) if kind == "adamtune" else "-",
            each(lambda r: r["error_count"]),
            each(lambda r: f"{r['loadavg_1min_start']:.1f}"),
        ])  # fmt: skip
    print(c.table(
        ["variant", "trials/s (COMPLETE / s)", "go to last tell, s", "peak PG connections",
         "COMPLETE", "FAIL", "503", "409", "500", "requests past the client's 8 retries",
         "runners crashed", "1-min load"],
        rows,
    ))  # fmt: skip
    pairs = zip(out["load"]["adamtune"], out["load"]["native"], strict=False)
    r = c.summary([a["trials_per_s"] / b["trials_per_s"] for a, b in pairs if b["trials_per_s"]])
    if not r["n"]:
        return
    print(
        f"\nThroughput, adamtune / native (per pair of back-to-back runs): median "
        f"{r['median']:.2f}x (min {r['min']:.2f}, max {r['max']:.2f}, n {r['n']}).\n"
    )


def print_overhead(args: argparse.Namespace, out: dict[str, Any]) -> None:

    o = out["overhead"]
    per_epoch = 1000 / (args.overhead_trials * args.epochs)
    labels = {
        "client": "adamtune.client (reports batched in the background, tell in the background, "
        "next trial asked ahead; heartbeats every 1 s)",
        "no_prefetch": "adamtune.client, `prefetch=False` (asks once the trial is told)",
        "plain": "plain (time.sleep only)",
    }
    rows = []
    for variant, label in labels.items():
        summary = c.summary(o["runs_s"][variant])
        rows.append(
            [label, c.fmt_summary(summary, ".2f"), c.fmt_summary(summary, ".1f", per_epoch)]
        )
    print(f"### 3. Client overhead: {args.overhead_trials} trials x {args.epochs} epochs of "
          f"{args.epoch_s * 1000:.0f} ms, {len(o['ratios'])} runs each, alternating\n")  # fmt: skip
    print(c.table(["loop", "seconds", "per epoch, ms"], rows))
    ra, rn = c.summary(o["ratios"]), c.summary(o["ratios_no_prefetch"])
    verdict = "met" if ra["median"] <= 1.05 else "missed"
    print(f"\nRatio client / plain (per run): median {ra['median']:.3f} (min {ra['min']:.3f}, "
          f"max {ra['max']:.3f}, n {ra['n']}); target <= 1.05: {verdict}. Without prefetch: "
          f"median {rn['median']:.3f} (min {rn['min']:.3f}, max {rn['max']:.3f}). 1-min load "
          f"at each run: {', '.join(f'{x:.2f}' for x in o['loadavg_1min'])}.")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    c.add_common_args(parser, repeats=2)
    parser.add_argument("--pg-admin-url", default=PG_ADMIN_URL,
                        help="a database to CREATE/DROP the runs' databases from")  # fmt: skip
    parser.add_argument("--runners", type=int, default=200)
    parser.add_argument("--reports", type=int, default=20, help="reports per trial (load)")
    parser.add_argument("--procs", type=int, default=4, help="runner processes (load)")
    parser.add_argument(
        "--grace-period",
        type=int,
        help="the load side's server ADAMTUNE_GRACE_PERIOD (default: its own)",
    )
    parser.add_argument("--api-processes", type=int, default=1,
                        help="the load side's API processes (serve --processes)")  # fmt: skip
    parser.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE",
                        help="another setting of the load side's server (repeatable)")  # fmt: skip
    parser.add_argument("--variants", default="adamtune,native", help="which load sides")
    parser.add_argument("--load-timeout", type=float, default=300,
                        help="runners stop after this many seconds (load)")  # fmt: skip
    parser.add_argument("--latency-trials", type=int, default=100)
    parser.add_argument("--latency-reports", type=int, default=2)
    parser.add_argument("--latency-runs", type=int, default=2)
    parser.add_argument("--overhead-trials", type=int, default=20)
    parser.add_argument("--overhead-runs", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--epoch-s", type=float, default=0.02)
    parser.add_argument("--parts", default="latency,load,overhead")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child_main(json.loads(args.child))
        return 0

    c.wait_for_quiet(args.wait_load)
    info = c.machine({"postgres": server_facts(args.pg_admin_url)})
    parts = set(args.parts.split(","))
    out: dict[str, Any] = {"latency": [], "load": {"adamtune": [], "native": []},
                           "overhead": {"runs_s": {"client": [], "plain": []}, "ratios": [],
                                        "loadavg_1min": []}}  # fmt: skip
    with c.workdir(args.workdir) as work:
        if "latency" in parts:
            for run in range(args.latency_runs):
                out["latency"].append(latency_run(args, work, str(run)))
                save(args, info, out)
                print(f"# latency run {run} done", file=sys.stderr, flush=True)
        if "load" in parts:
            for repeat in range(args.repeats):
                order = ("adamtune", "native") if repeat % 2 == 0 else ("native", "adamtune")
                for kind in (k for k in order if k in args.variants.split(",")):
                    runner = load_adamtune if kind == "adamtune" else load_native
                    result = runner(args, work, f"{repeat}-{kind}")
                    out["load"][kind].append(result)
                    save(args, info, out)
                    print(f"# load {repeat} {kind}: {result['trials_per_s']:.2f} trials/s, "
                          f"peak {result['peak_connections']} connections, "
                          f"{result['states']}, exact {result['exact']}",
                          file=sys.stderr, flush=True)  # fmt: skip
        if "overhead" in parts:
            out["overhead"] = overhead(args, work)
    info["loadavg_end"] = c.loadavg()
    print_report(args, info, out)
    save(args, info, out)
    return 0


def save(args: argparse.Namespace, info: dict[str, Any], out: dict[str, Any]) -> None:
    """The raw figures so far (written after each run, so a stopped benchmark keeps them)."""
    config = {k: v for k, v in vars(args).items() if k not in ("json", "child")}
    c.write_json(args.json, {"machine": info, "config": config, **out})


if __name__ == "__main__":
    raise SystemExit(main())
