"""Helpers of docker/docker-test.sh: talk to a running stack over REST, prepare compose files, and
make or drop a throw-away PostgreSQL database. Standard library only, except `drop-services`
(PyYAML) and `pg-create`/`pg-drop` (psycopg), which the project's venv has.

Every check prints one `ok:` line; any failure exits non-zero with the reason.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from typing import Any

TIMEOUT_S = 10.0


class CheckError(Exception):
    """A check failed; the message says what was expected and what was seen."""


def request(method: str, url: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    """(status, parsed JSON or text) of one request; transport errors count as status 0."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_S) as response:
            status, raw = response.status, response.read()
            kind = response.headers.get("content-type", "")
    except urllib.error.HTTPError as err:
        status, raw, kind = err.code, err.read(), err.headers.get("content-type", "")
    except (urllib.error.URLError, OSError):
        return 0, None
    return status, json.loads(raw) if kind.startswith("application/json") else raw.decode()


def expect(method: str, url: str, status: int, body: dict[str, Any] | None = None) -> Any:
    got, payload = request(method, url, body)
    if got != status:
        raise CheckError(f"{method} {url}: expected {status}, got {got}: {str(payload)[:500]}")
    return payload


def ok(message: str) -> None:
    print(f"  ok: {message}", flush=True)


def cmd_health(args: argparse.Namespace) -> None:
    """Wait until /healthz answers 200."""
    deadline = time.monotonic() + args.timeout
    while request("GET", f"{args.url}/healthz")[0] != 200:
        if time.monotonic() > deadline:
            raise CheckError(f"{args.url}/healthz not healthy within {args.timeout:g} s")
        time.sleep(1)
    ok(f"GET {args.url}/healthz -> 200")


def cmd_pages(args: argparse.Namespace) -> None:
    """The dashboard, its Plotly bundle and the task list are served."""
    html = expect("GET", f"{args.url}/", 200)
    if "<html" not in html.lower():
        raise CheckError("GET / did not return the dashboard's HTML")
    expect("GET", f"{args.url}/vendor/plotly.min.js", 200)
    tasks = [t["name"] for t in expect("GET", f"{args.url}/api/tasks", 200)]
    ok(f"dashboard, plotly.min.js and /api/tasks ({len(tasks)} tasks) served")


def cmd_submit(args: argparse.Namespace) -> None:
    """POST a study and print its id (the only line on stdout that is not an `ok:` line)."""
    payload = json.loads(args.study)
    study = expect("POST", f"{args.url}/api/studies", 201, payload)
    message = f"  ok: POST /api/studies {json.dumps(payload)} -> 201, id {study['id']}"
    print(message, file=sys.stderr)
    print(study["id"])


def _study_by_name(url: str, name: str) -> dict[str, Any]:
    studies = expect("GET", f"{url}/api/studies", 200)["studies"]
    found = [s for s in studies if s["name"] == name]
    if len(found) != 1:
        raise CheckError(f"expected one study named {name!r}, found {len(found)}")
    return found[0]


def _check_trials(url: str, study: dict[str, Any], n_trials: int) -> None:
    """Exactly n_trials finished, each trial number once, none still running or failed."""
    progress = study["progress"]
    if progress["finished"] != n_trials or progress["running"] or progress["waiting"]:
        raise CheckError(f"study {study['id']}: expected {n_trials} finished, got {progress}")
    page = expect("GET", f"{url}/api/studies/{study['id']}/trials?limit=1000&sort=number", 200)
    numbers = [t["number"] for t in page["trials"]]
    if page["total"] != n_trials or numbers != list(range(n_trials)):
        raise CheckError(f"study {study['id']}: trial numbers {numbers}, total {page['total']}")
    curves = expect("GET", f"{url}/api/studies/{study['id']}/curves?after=0", 200)
    if not curves["points"]["epoch"]:
        raise CheckError(f"study {study['id']}: no learning-curve points")


def cmd_wait(args: argparse.Namespace) -> None:
    """Wait for the study to complete; check its trials; report the most trials seen running."""
    deadline = time.monotonic() + args.timeout
    most_running = 0
    while True:
        study = expect("GET", f"{args.url}/api/studies/{args.id}", 200)
        most_running = max(most_running, study["progress"]["running"])
        if study["status"] == "completed":
            break
        if study["status"] in ("failed", "stopped") or time.monotonic() > deadline:
            seen = f"{study['status']} after {args.timeout:g} s: {study['progress']}"
            raise CheckError(f"study {args.id} is {seen}")
        time.sleep(0.2)
    _check_trials(args.url, study, args.n_trials)
    last = args.n_trials - 1
    ok(f"study {args.id} completed: {args.n_trials} trials finished, numbers 0..{last}")
    if most_running < args.min_parallel:
        raise CheckError(f"at most {most_running} trials ran at once, expected {args.min_parallel}")
    ok(f"up to {most_running} trials ran at the same time")


def cmd_present(args: argparse.Namespace) -> None:
    """After a restart: the study is still listed, completed, with all its trials."""
    study = _study_by_name(args.url, args.name)
    if study["status"] != "completed":
        raise CheckError(f"study {args.name!r} is {study['status']} after the restart")
    _check_trials(args.url, study, args.n_trials)
    ok(f"study {args.name!r} (id {study['id']}) still there, completed, {args.n_trials} trials")


def cmd_drop_services(args: argparse.Namespace) -> None:
    """Remove services from a resolved compose file on stdin, and dependencies on them."""
    import yaml

    spec = yaml.safe_load(sys.stdin)
    services = spec.get("services", {})
    for name in args.services:
        services.pop(name, None)
    for service in services.values():
        depends = service.get("depends_on")
        if isinstance(depends, dict):
            for name in args.services:
                depends.pop(name, None)
        elif isinstance(depends, list):
            depends[:] = [d for d in depends if d not in args.services]
        if depends is not None and not depends:
            service.pop("depends_on")
    yaml.safe_dump(spec, sys.stdout, sort_keys=False)


def _admin(url: str) -> Any:
    import psycopg

    return psycopg.connect(url, autocommit=True, connect_timeout=5)


def cmd_pg_create(args: argparse.Namespace) -> None:
    from psycopg import sql

    with _admin(args.admin_url) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(args.name)))
    ok(f"created PostgreSQL database {args.name}")


def cmd_pg_drop(args: argparse.Namespace) -> None:
    from psycopg import sql

    with _admin(args.admin_url) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(args.name))
        )
    ok(f"dropped PostgreSQL database {args.name}")


def cmd_pg_ping(args: argparse.Namespace) -> None:
    with _admin(args.admin_url) as conn:
        conn.execute("SELECT 1")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, func: Any, *, url: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name)
        if url:
            p.add_argument("url")
        p.set_defaults(func=func)
        return p

    command("health", cmd_health).add_argument("--timeout", type=float, default=120)
    command("pages", cmd_pages)
    command("submit", cmd_submit).add_argument("study", help="the StudyCreate JSON")
    wait = command("wait", cmd_wait)
    wait.add_argument("id", type=int)
    wait.add_argument("n_trials", type=int)
    wait.add_argument("--timeout", type=float, default=300)
    wait.add_argument("--min-parallel", type=int, default=0)
    present = command("present", cmd_present)
    present.add_argument("name")
    present.add_argument("n_trials", type=int)
    command("drop-services", cmd_drop_services, url=False).add_argument("services", nargs="+")
    for name, func in (("pg-create", cmd_pg_create), ("pg-drop", cmd_pg_drop)):
        pg = command(name, func, url=False)
        pg.add_argument("admin_url")
        pg.add_argument("name")
    command("pg-ping", cmd_pg_ping, url=False).add_argument("admin_url")
    return parser


def run(parser: argparse.ArgumentParser) -> int:
    """Run the parsed subcommand; a failed check prints its reason and exits 1."""
    args = parser.parse_args()
    try:
        args.func(args)
    except CheckError as exc:
        print(f"  FAILED: {exc}", file=sys.stderr)
        return 1
    return 0


def main() -> int:
    return run(build_parser())


if __name__ == "__main__":
    sys.exit(main())
