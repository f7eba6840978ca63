"""What every benchmark script shares: machine facts, statistics, Markdown tables, JSON output,
and a real `adamtune serve` (or any server command) started on a free port and stopped again.

Kept free of torch and of the app so that importing it costs nothing a benchmark would measure.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
ADAMTUNE = [PYTHON, "-m", "app.cli"]  # the console script's code, from this interpreter
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # runnable without an install


# ----------------------------------------------------------------------------- machine facts


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def loadavg() -> tuple[float, float, float]:
    return os.getloadavg()


def machine(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Where and when a figure was measured, and with which command."""
    versions: dict[str, str] = {}
    for name in ("torch", "optuna", "sqlalchemy", "fastapi", "uvicorn"):
        try:
            from importlib import metadata

            versions[name] = metadata.version(name)
        except Exception:  # noqa: BLE001 - a missing package is simply not listed
            pass
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "git": git_state(),
        "nproc": os.cpu_count(),
        "cpu": cpu_model(),
        "python": platform.python_version(),
        "versions": versions,
        "loadavg_start": loadavg(),
        "command": command_line(),
        **(extra or {}),
    }


def git_state() -> str:
    """The commit measured, and whether app/ or optim/ had uncommitted changes (read-only git)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "--no-optional-locks", "status", "--porcelain", "--", "app", "optim",
             "frontend"],
            cwd=ROOT, capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip
    except OSError:
        return "unknown"
    return f"{head}{' + uncommitted changes in app/optim/frontend' if dirty else ''}"


def command_line() -> str:
    script = Path(sys.argv[0])
    try:
        script = script.resolve().relative_to(ROOT)
    except ValueError:
        pass
    return shlex.join([".venv/bin/python", str(script), *sys.argv[1:]])


def header(title: str, info: dict[str, Any]) -> str:
    """A caption line for a table: what, command, machine, date, load."""
    la = info.get("loadavg_start", (0, 0, 0))
    lb = info.get("loadavg_end", la)
    return (
        f"**{title}**  \n`{info['command']}`  \n"
        f"{info['cpu']} ({info['nproc']} CPUs), Python {info['python']}, "
        f"{', '.join(f'{k} {v}' for k, v in info['versions'].items())}; {info['date']}; "
        f"commit {info.get('git', 'unknown')}; "
        f"load average (1/5/15 min) {la[0]:.2f}/{la[1]:.2f}/{la[2]:.2f} at start, "
        f"{lb[0]:.2f}/{lb[1]:.2f}/{lb[2]:.2f} at end\n"
    )


def wait_for_quiet(max_load: float | None, timeout_s: float = 2400, poll_s: float = 60) -> None:
    """Wait (up to `timeout_s`) until the 1-minute load average is below `max_load`."""
    if not max_load:
        return
    deadline = time.monotonic() + timeout_s
    while loadavg()[0] >= max_load and time.monotonic() < deadline:
        print(f"# load {loadavg()[0]:.2f} >= {max_load}: waiting", file=sys.stderr, flush=True)
        time.sleep(poll_s)


# ----------------------------------------------------------------------------- statistics


def summary(values: Sequence[float]) -> dict[str, float]:
    vals = [v for v in values if v is not None]
    if not vals:
        return {"median": float("nan"), "min": float("nan"), "max": float("nan"), "n": 0}
    return {
        "median": statistics.median(vals),
        "min": min(vals),
        "max": max(vals),
        "n": len(vals),
    }


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile, q in [0, 100]."""
    vals = sorted(values)
    if not vals:
        return float("nan")
    pos = (len(vals) - 1) * q / 100
    lo, hi = int(pos), min(int(pos) + 1, len(vals) - 1)
    return vals[lo] + (vals[hi] - vals[lo]) * (pos - lo)


def fmt(value: float | None, digits: int = 3) -> str:
    if value is None or value != value:  # None or NaN
        return "n/a"
    return f"{value:.{digits}g}" if abs(value) < 10**digits else f"{value:.0f}"


def fmt_summary(s: dict[str, float], spec: str = ".3g", scale: float = 1.0) -> str:
    """'median (min–max)', each number formatted with `spec`."""
    if not s.get("n"):
        return "n/a"
    m, lo, hi = (s[k] * scale for k in ("median", "min", "max"))
    return f"{m:{spec}} ({lo:{spec}}–{hi:{spec}})"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], align: str | None = None) -> str:
    """A Markdown table; `align` is one letter per column, l or r (default: l then r)."""
    align = align or "l" + "r" * (len(headers) - 1)
    sep = ["---" if a == "l" else "---:" for a in align]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(sep) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def write_json(path: Path | None, report: dict[str, Any]) -> None:
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")


def add_common_args(parser: Any, repeats: int | None) -> None:
    if repeats is not None:
        parser.add_argument("--repeats", type=int, default=repeats, help="timed rounds per variant")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    parser.add_argument(
        "--wait-load",
        type=float,
        metavar="LOAD",
        help="first wait (up to 40 min) until the 1-minute load average is below LOAD",
    )
    parser.add_argument("--workdir", type=Path, help="where temporary databases go")


@contextlib.contextmanager
def workdir(path: Path | None) -> Iterator[Path]:
    """A scratch folder on a real disk (fsync must cost what it costs), removed afterwards."""
    if path is not None:
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="adamtune-bench-", dir="/var/tmp") as tmp:
        yield Path(tmp)


# ----------------------------------------------------------------------------- processes


def rss_mb(pid: int, field_name: str = "VmRSS") -> float | None:
    """Resident memory of a process in MB (VmRSS now, VmHWM the peak), None if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        return None
    return None


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU seconds the processes have used so far (Linux /proc; all threads);
    a process that is gone counts 0."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime (fields 14, 15)
    return total


def children(pid: int) -> list[int]:
    """Direct children of a process (Linux /proc)."""
    out: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text().split()
            out.extend(int(p) for p in text)
    except OSError:
        pass
    return out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http(method: str, url: str, body: Any = None, timeout: float = 600) -> tuple[int, bytes, float]:
    """(status, body, seconds from request to the last byte) with the standard library only."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = response.read()
            status = response.status
    except urllib.error.HTTPError as err:
        payload, status = err.read(), err.code
    return status, payload, time.perf_counter() - start


def get_json(url: str, timeout: float = 600) -> Any:
    status, payload, _ = http("GET", url, timeout=timeout)
    if status != 200:
        raise RuntimeError(f"GET {url}: {status} {payload[:300]!r}")
    return json.loads(payload)


@dataclass
class Server:
    """A server subprocess on 127.0.0.1:port; stopped with SIGTERM (then SIGKILL)."""

    command: list[str]
    port: int
    log_path: Path
    health_path: str = "/healthz"
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 180) -> Server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ADAMTUNE_")}
        env.update({"PYTHONUNBUFFERED": "1", **self.env})
        with self.log_path.open("wb") as out:
            self.proc = subprocess.Popen(
                self.command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.command[:4]} exited:\n{self.log()[-3000:]}")
            try:
                if http("GET", self.url + self.health_path, timeout=5)[0] == 200:
                    return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.command[:4]} did not answer:\n{self.log()[-3000:]}")
            time.sleep(0.2)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def adamtune_server(
    database_url: str, workers: int, log_path: Path, env: dict[str, str] | None = None
) -> Server:
    port = free_port()
    command = [*ADAMTUNE, "serve", "--host", "127.0.0.1", "--port", str(port),
               "--workers", str(workers), "--database-url", database_url]  # fmt: skip
    return Server(command=command, port=port, log_path=log_path, env=env or {})


def worker_pids(server: Server, expected: int, timeout: float = 60) -> list[int]:
    """The embedded worker processes of `adamtune serve` (its children), once all started."""
    deadline = time.monotonic() + timeout
    while True:
        pids = children(server.pid)
        if len(pids) >= expected or time.monotonic() > deadline:
            return pids
        time.sleep(0.1)


def wait_until_importing_done(
    pids: Sequence[int], settle_s: float = 1.0, timeout: float = 90
) -> None:
    """Wait until the worker processes stop growing (they import torch at start-up), so a timed
    run does not pay for imports that the plain-script baseline also does untimed."""
    deadline = time.monotonic() + timeout
    last = [rss_mb(p) for p in pids]
    stable_since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.25)
        now = [rss_mb(p) for p in pids]
        if any(a is None or b is None or abs(a - b) > 1.0 for a, b in zip(now, last, strict=True)):
            stable_since = time.monotonic()
        last = now
        if time.monotonic() - stable_since >= settle_s:
            return


def wait_status(
    server: Server,
    study_id: int,
    statuses: Sequence[str],
    poll_s: float = 0.1,
    timeout: float = 3600,
) -> tuple[dict[str, Any], float]:
    """Poll GET /api/studies/{id} until its status is one of `statuses`; (study, perf_counter)."""
    deadline = time.monotonic() + timeout
    while True:
        study = get_json(f"{server.url}/api/studies/{study_id}")
        now = time.perf_counter()
        if study["status"] in statuses:
            return study, now
        if study["status"] == "failed" or time.monotonic() > deadline:
            raise RuntimeError(f"study {study_id}: {study['status']} ({study.get('error')})")
        time.sleep(poll_s)
