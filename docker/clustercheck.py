"""The multi-process check of docker/docker-test.sh: external runners through HAProxy onto two
API processes, one of them SIGKILLed mid-study (docker-compose.cluster.yml).

  clustercheck.py run LB_URL STATS_URL --api NAME=URL ... --kill NAME=CONTAINER
      an external study trained by two `adamtune.client` loops and two `adamtune agent`s, all
      through the load balancer; once both processes served runners and a few trials finished,
      SIGKILL the named process's container; the study must end with exactly n_trials, each
      trial handed out once, every point recorded, and the survivor's live stream must have
      carried every event, whichever process wrote it. Prints the study's id.
  clustercheck.py replay URL STUDY_ID
      through one process (or the load balancer): the curves and the event stream replayed
      from the start hold every point of every trial.

Standard library only; talks to 127.0.0.1 only. Every check prints one `ok:` line.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import stackcheck
from stackcheck import CheckError, expect

ROOT = Path(__file__).resolve().parent.parent
N_TRIALS, STEPS, STEP_S = 16, 10, 0.2  # about 2 s a trial, 4 runners: the kill lands mid-study
STUDY = {
    "name": "docker-test-cluster", "task": "external", "metric": "loss", "epochs": STEPS,
    "n_trials": N_TRIALS, "pruner": "none", "sampler": "random", "validate_seeds": 0,
}  # fmt: skip
# what `adamtune agent` runs per trial: one JSON line per step, as any program would print them
STEP_COMMAND = (
    "import json, os, time\n"
    "for epoch in range(int(os.environ['ADAMTUNE_STEPS'])):\n"
    f"    time.sleep({STEP_S})\n"
    "    print(json.dumps({'epoch': epoch, 'loss': 1 / (epoch + 1)}), flush=True)\n"
)


def ok(message: str) -> None:
    """On stderr: stdout carries only the study's id (`run`)."""
    print(f"  ok: {message}", file=sys.stderr, flush=True)


def wait_until(what: str, condition: Callable[[], Any], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise CheckError(f"not within {timeout:g} s: {what}")
        time.sleep(0.2)
    return value


class Stream(threading.Thread):
    """A study's event stream from one process, from its first event, read as it comes."""

    def __init__(self, url: str, study_id: int) -> None:
        super().__init__(daemon=True)
        self.url = f"{url}/api/studies/{study_id}/events?after=0"
        self.events: list[tuple[int, str, dict[str, Any]]] = []  # (id, kind, data)
        self.error: BaseException | None = None
        self.start()

    def run(self) -> None:
        fields: dict[str, str] = {}
        try:
            with urllib.request.urlopen(self.url, timeout=30) as response:
                for raw in response:
                    line = raw.decode().rstrip("\n")
                    if line:
                        name, _, value = line.partition(": ")
                        fields[name] = value
                        continue
                    if "data" in fields and "id" in fields:
                        data = json.loads(fields["data"])
                        self.events.append((int(fields["id"]), fields["event"], data))
                    fields = {}
        except OSError as exc:  # the process was killed: what came so far stays
            self.error = exc

    def points(self) -> set[tuple[int, int]]:
        return {(d["trial"], d["epoch"]) for _, kind, d in self.events if kind == "epoch"}

    def started(self) -> Counter[int]:
        return Counter(d["trial"] for _, kind, d in self.events if kind == "trial_started")


def lb_servers(stats_url: str) -> dict[str, dict[str, str]]:
    """HAProxy's statistics of the API processes, by server name (status, stot, chkdown...)."""
    with urllib.request.urlopen(f"{stats_url}/;csv", timeout=10) as response:
        text = response.read().decode().lstrip("# ")
    rows = csv.DictReader(io.StringIO(text))
    return {r["svname"]: r for r in rows if r["pxname"] == "api" and r["svname"] != "BACKEND"}


def start_runners(lb_url: str, study_id: int, logs: Path) -> list[subprocess.Popen[bytes]]:
    """Two training loops on adamtune.client and two `adamtune agent`s, all through `lb_url`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADAMTUNE_")}
    loop = [sys.executable, str(ROOT / "tests" / "runners" / "training_loop.py")]
    agent = [str(Path(sys.executable).with_name("adamtune")), "agent"]
    commands = [
        *([*loop, lb_url, str(study_id), str(STEP_S)] for _ in range(2)),
        *([*agent, lb_url, str(study_id), "--host", f"agent-{i}", "--",
           sys.executable, "-c", STEP_COMMAND] for i in range(2)),
    ]  # fmt: skip
    runners = []
    for i, command in enumerate(commands):
        with (logs / f"runner-{i}.log").open("wb") as out:
            runners.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out))
    return runners


def cmd_run(args: argparse.Namespace) -> None:
    apis = dict(item.split("=", 1) for item in args.api)
    victim, container = args.kill.split("=", 1)
    study_id = expect("POST", f"{args.lb_url}/api/studies", 201, STUDY)["id"]
    ok(f"external study {study_id} ({N_TRIALS} trials of {STEPS} steps) created through the LB")
    streams = {name: Stream(url, study_id) for name, url in apis.items()}
    logs = Path(tempfile.mkdtemp(prefix="adamtune-cluster-"))
    runners = start_runners(args.lb_url, study_id, logs)
    try:
        _kill_mid_study(args, study_id, victim, container)
        for runner in runners:
            if runner.wait(timeout=300) != 0:
                raise CheckError(f"runner {runner.args!r} exited {runner.returncode}")
        ok("the 4 runners (2 client loops, 2 `adamtune agent`s) exited 0")
        _check_study(args.lb_url, study_id, streams, victim)
    except CheckError:
        for log in sorted(logs.glob("*.log")):
            print(f"--- {log.name}\n{log.read_text()[-2000:]}", file=sys.stderr)
        raise
    finally:
        for runner in runners:
            runner.kill()
    print(study_id)


def _kill_mid_study(args: argparse.Namespace, study_id: int, victim: str, container: str) -> None:
    def finished() -> int:
        study = expect("GET", f"{args.lb_url}/api/studies/{study_id}", 200)
        return int(study["progress"]["finished"])

    def both_serve() -> bool:
        return all(int(s["stot"]) >= 10 for s in lb_servers(args.stats_url).values())

    wait_until("both API processes serve runners", both_serve, 120)
    wait_until("3 trials finished", lambda: finished() >= 3, 120)
    subprocess.run(["docker", "kill", "--signal", "KILL", container], check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    left = N_TRIALS - finished()
    if left <= 0:
        raise CheckError("the study ended before the kill: make its trials longer")
    ok(f"SIGKILL to {victim} ({container[:12]}) with {left} of {N_TRIALS} trials to go")
    wait_until(
        f"HAProxy marks {victim} down",
        lambda: int(lb_servers(args.stats_url)[victim]["chkdown"]) >= 1,
        30,
    )
    ok(f"HAProxy took {victim} out of rotation (its /healthz check failed)")


def _check_study(lb_url: str, study_id: int, streams: dict[str, Stream], victim: str) -> None:
    study = expect("GET", f"{lb_url}/api/studies/{study_id}", 200)
    trials = expect("GET", f"{lb_url}/api/studies/{study_id}/trials?limit=1000", 200)["trials"]
    complete = [t for t in trials if t["state"] == "COMPLETE"]
    failed = [t for t in trials if t["state"] == "FAIL"]
    if study["status"] != "completed" or len(complete) != N_TRIALS:
        raise CheckError(f"study {study['status']}, {len(complete)} of {N_TRIALS} complete")
    if len(complete) + len(failed) != len(trials):
        raise CheckError(f"trials neither complete nor failed: {trials}")
    params = Counter(json.dumps(t["params"], sort_keys=True) for t in complete)
    if max(params.values()) > 1:
        raise CheckError(f"params trained to completion twice: {params.most_common(1)}")
    for trial in failed:  # a lease lost with the killed process: failed, re-run once
        if not trial["seeds"]:  # asked, killed before its params and seeds: never handed out,
            if trial["rerun_as"] is None:  # so its re-run is sampled afresh
                raise CheckError(f"failed trial {trial['number']} was not re-run: {trial}")
            continue
        if json.dumps(trial["params"], sort_keys=True) not in params:
            raise CheckError(f"failed trial {trial['number']} was not re-run: {trial}")
    ok(f"exactly {N_TRIALS} trials complete, each with its own params; {len(failed)} failed "
       "with the killed process and re-run with the same params")  # fmt: skip
    expected = {(t["number"], e) for t in complete for e in range(STEPS)}
    survivor = next(s for name, s in streams.items() if name != victim)
    try:
        wait_until("the survivor's live stream carries every point",
                   lambda: survivor.points() >= expected, 30)  # fmt: skip
    except CheckError:
        points = expect("GET", f"{lb_url}/api/studies/{study_id}/curves?after=0", 200)["points"]
        curves = set(zip(points["trial"], points["epoch"], strict=True))
        missing = sorted(expected - survivor.points())
        raise CheckError(
            f"the survivor's stream lacks {missing} (the curves lack "
            f"{sorted(expected - curves)}; stream error: {survivor.error})"
        ) from None
    # a claim whose process died before it recorded the event has none: at most one, then
    handed = survivor.started()
    if max(handed.values()) > 1 or any(handed[t["number"]] != 1 for t in complete):
        raise CheckError(f"trial_started events per trial: {dict(handed)}")
    ok(f"the survivor's live stream (open from the start) carried all {len(expected)} points "
       "of the complete trials and one trial_started per trial: each handed out once")  # fmt: skip
    killed = streams[victim]
    if not killed.points() <= expected | {(t["number"], e) for t in failed for e in range(STEPS)}:
        raise CheckError(f"{victim}'s stream had points no trial has")
    ok(f"{victim}'s stream carried {len(killed.points())} points until it was killed")


def cmd_replay(args: argparse.Namespace) -> None:
    trials = expect("GET", f"{args.url}/api/studies/{args.id}/trials?limit=1000", 200)["trials"]
    complete = {t["number"] for t in trials if t["state"] == "COMPLETE"}
    expected = {(n, e) for n in complete for e in range(STEPS)}
    points = expect("GET", f"{args.url}/api/studies/{args.id}/curves?after=0", 200)["points"]
    curves = {(n, e) for n, e in zip(points["trial"], points["epoch"], strict=True)}
    if not expected <= curves:
        raise CheckError(f"{args.url}: curves lack {sorted(expected - curves)[:10]}")
    stream = Stream(args.url, args.id)
    wait_until(f"{args.url}: the replayed stream holds every point",
               lambda: stream.points() >= expected, 60)  # fmt: skip
    ok(f"{args.url}: curves and the replayed event stream hold all {len(expected)} points")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run")
    run.add_argument("lb_url")
    run.add_argument("stats_url")
    run.add_argument("--api", action="append", required=True, help="NAME=URL of a process")
    run.add_argument("--kill", required=True, help="NAME=CONTAINER to SIGKILL mid-study")
    run.set_defaults(func=cmd_run)
    replay = sub.add_parser("replay")
    replay.add_argument("url")
    replay.add_argument("id", type=int)
    replay.set_defaults(func=cmd_replay)
    return stackcheck.run(parser)


if __name__ == "__main__":
    sys.exit(main())
