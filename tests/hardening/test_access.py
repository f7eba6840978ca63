"""Access control: with a token, every mutating route in the OpenAPI schema refuses a missing or
wrong one and accepts the right one; the token is compared in constant time and never logged;
static files cannot be read outside frontend/; CORS is off unless origins are configured."""

from __future__ import annotations

import ast
import inspect
import secrets
import textwrap
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from app import deps
from tests.conftest import ROOT, Server, launch_server, wait_for
from tests.hardening.helpers import headers_of, raw_request, status_of

TOKEN = "hardening-Tok3n-5f1c9e2b7a"
GOOD = {"Authorization": f"Bearer {TOKEN}"}
# every way of not presenting exactly the configured token as a Bearer credential
BAD_HEADERS: list[dict[str, str]] = [
    {},
    {"Authorization": "Bearer"},
    {"Authorization": "Bearer wrong"},
    {"Authorization": f"Bearer {TOKEN[:-1]}"},  # a prefix
    {"Authorization": f"Bearer {TOKEN}x"},  # an extension
    {"Authorization": f"Bearer {TOKEN.upper()}"},
    {"Authorization": TOKEN},  # no scheme
    {"Authorization": f"Basic {TOKEN}"},
    {"X-API-Token": TOKEN},
    {"Cookie": f"token={TOKEN}"},
]
MUTATING = ("post", "put", "patch", "delete")
STUDY = {"task": "quadratic_deep", "n_trials": 1, "epochs": 1}
# a study that keeps the worker busy: it runs until stopped or deleted
LONG_STUDY = {"task": "quadratic_deep", "n_trials": 1000, "epochs": 300, "pruner": "none"}
# the routes we know, in an order that lets each succeed, with the status that success is
KNOWN = {
    ("POST", "/api/studies"): 201,
    ("POST", "/api/studies/{study_id}/stop"): 200,
    ("POST", "/api/studies/{study_id}/resume"): 200,
    ("DELETE", "/api/studies/{study_id}"): 204,
}


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server with a token that guards reads too, and one embedded worker (whose output goes
    to the same log, so the log check covers it)."""
    env = {"ADAMTUNE_API_TOKEN": TOKEN, "ADAMTUNE_PROTECT_READS": "true"}
    server = launch_server(tmp_path_factory.mktemp("guarded"), workers=1, env=env)
    yield server
    server.stop()


def operations(server: Server, methods: tuple[str, ...]) -> list[tuple[str, str, dict[str, Any]]]:
    schema = server.api("GET", "/openapi.json").json()
    return [
        (method.upper(), path, op)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if method in methods
    ]


def fill(path: str, study_id: int) -> str:
    """A concrete URL for a schema path. The study and its trial 0 exist; comparison 1 need not
    (its 404 still shows that the token was accepted)."""
    values = {"study_id": str(study_id), "number": "0", "kind": "history", "comparison_id": "1"}
    for name, value in values.items():
        path = path.replace("{" + name + "}", value)
    assert "{" not in path, f"no test value for a parameter of {path}: add one to fill()"
    return path


def body_for(method: str, path: str, op: dict[str, Any]) -> dict[str, Any] | None:
    """A valid body where we know one (so that only the token can be the reason to refuse)."""
    if "requestBody" not in op:
        return None
    return dict(STUDY) if (method, path) == ("POST", "/api/studies") else {}


def status_of_study(server: Server, study_id: int) -> str:
    return str(server.api("GET", f"/api/studies/{study_id}", headers=GOOD).json()["status"])


def study_count(server: Server) -> int:
    return len(server.api("GET", "/api/studies", headers=GOOD).json()["studies"])


@pytest.mark.slow
def test_every_mutating_route_refuses_a_missing_or_wrong_token(guarded: Server) -> None:
    routes = operations(guarded, MUTATING)
    assert set(KNOWN) <= {(m, p) for m, p, _ in routes}, "the schema lost a known route"
    target = guarded.api("POST", "/api/studies", json=LONG_STUDY, headers=GOOD)
    assert target.status_code == 201, target.text
    target_id = target.json()["id"]
    before = study_count(guarded)

    for method, path, op in routes:
        url = fill(path, target_id)
        for headers in BAD_HEADERS:
            response = guarded.api(method, url, json=body_for(method, path, op), headers=headers)
            assert response.status_code == 401, (method, path, headers, response.text)
            assert response.headers["www-authenticate"] == "Bearer"
            assert TOKEN not in response.text
    # nothing was created, stopped or deleted
    assert study_count(guarded) == before
    assert status_of_study(guarded, target_id) in ("queued", "running")
    assert guarded.api("DELETE", f"/api/studies/{target_id}", headers=GOOD).status_code == 204


@pytest.mark.slow
def test_every_mutating_route_accepts_the_right_token(guarded: Server) -> None:
    target = guarded.api("POST", "/api/studies", json=LONG_STUDY, headers=GOOD).json()["id"]
    routes = operations(guarded, MUTATING)
    order = list(KNOWN)
    # routes added later run before the DELETE; they must merely not refuse the token
    routes.sort(key=lambda r: order.index(r[:2]) if r[:2] in KNOWN else len(order) - 1.5)
    for method, path, op in routes:
        url = fill(path, target)
        if path.endswith("/resume"):  # a study resumes once its running trial has ended
            wait_for(lambda: status_of_study(guarded, target) == "stopped", timeout=120)
        response = guarded.api(method, url, json=body_for(method, path, op), headers=GOOD)
        assert response.status_code not in (401, 403), (method, path, response.text)
        assert response.status_code < 500, (method, path, response.text)
        if (method, path) in KNOWN:
            assert response.status_code == KNOWN[method, path], (method, path, response.text)
    assert guarded.api("GET", f"/api/studies/{target}", headers=GOOD).status_code == 404


@pytest.mark.slow
def test_with_protected_reads_every_read_route_needs_the_token(guarded: Server) -> None:
    study = guarded.api("POST", "/api/studies", json=STUDY, headers=GOOD).json()["id"]
    # the client's wheel is public code, installed by pip, which sends no token
    public = ("/healthz", "/client/{filename}")
    reads = [(m, p) for m, p, _ in operations(guarded, ("get",)) if p not in public]
    assert len(reads) >= 10
    with httpx.Client(base_url=guarded.url, timeout=60) as client:
        for method, path in reads:
            url = fill(path, study)
            for headers in BAD_HEADERS[:5]:
                # streamed: the SSE route never ends, its status line is all we need
                with client.stream(method, url, headers=headers) as response:
                    assert response.status_code == 401, (path, headers)
            with client.stream(method, url, headers=GOOD) as response:
                assert response.status_code not in (401, 403), path
                assert response.status_code < 500, path
    assert guarded.api("GET", "/healthz").status_code == 200
    wheel = guarded.api("GET", "/api/options", headers=GOOD).json()["client_wheel"]
    assert guarded.api("GET", wheel).status_code == 200


def test_token_is_compared_in_constant_time() -> None:
    tree = ast.parse(textwrap.dedent(inspect.getsource(deps._check_token)))  # noqa: SLF001
    calls = {ast.unparse(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    assert "secrets.compare_digest" in calls
    assert deps.secrets is secrets
    # no ==, !=, in, <...: only "is None" tests may appear beside compare_digest
    plain = [
        ast.unparse(node)
        for node in ast.walk(tree)
        if isinstance(node, ast.Compare)
        and not all(isinstance(op, ast.Is | ast.IsNot) for op in node.ops)
    ]
    assert plain == [], f"the token is compared outside compare_digest: {plain}"
    for guard in (deps.require_token, deps.require_read_token):
        assert "_check_token(state, credentials)" in inspect.getsource(guard)


@pytest.mark.slow
@pytest.mark.parametrize(
    "target",
    [
        "/../app/config.py",
        "/%2e%2e/app/config.py",
        "/%2E%2E/app/config.py",
        "/.%2e/app/config.py",
        "/..%2fpyproject.toml",
        "/..%2Fpyproject.toml",
        "/%2e%2e%2fpyproject.toml",
        "/..%5cpyproject.toml",
        "/..\\pyproject.toml",
        "/js/../../pyproject.toml",
        "/js/%2e%2e/%2e%2e/pyproject.toml",
        "/js/..%2f..%2fpyproject.toml",
        "/js/pages/../../../app/config.py",
        "/vendor/../../pyproject.toml",
        "/%252e%252e/pyproject.toml",
        "/%c0%ae%c0%ae/pyproject.toml",
        "/....//pyproject.toml",
        "/..;/pyproject.toml",
        "/js/%00/../../pyproject.toml",
        "/frontend/../pyproject.toml",
        "//etc/passwd",
        "/%2fetc%2fpasswd",
        "/../../../../../../../../etc/passwd",
        "/js/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "http://127.0.0.1/../pyproject.toml",  # absolute-form request target
    ],
)
def test_static_files_stay_inside_frontend(guarded: Server, target: str) -> None:
    secrets_outside = {
        "pyproject.toml": b"[build-system]",
        "app/config.py": b"class Settings(BaseSettings)",
    }
    for name, marker in secrets_outside.items():
        assert marker in (ROOT / name).read_bytes()  # the marker would show a leak
    response = raw_request(guarded.url, "GET", target)
    assert status_of(response) in range(400, 500), response[:300]
    for marker in [*secrets_outside.values(), b"root:x:0:0"]:
        assert marker not in response


@pytest.mark.slow
def test_raw_requests_do_reach_the_static_files(guarded: Server) -> None:
    """The control for the traversal test: the same raw requests do serve frontend/."""
    response = raw_request(guarded.url, "GET", "/index.html")
    assert status_of(response) == 200
    assert (ROOT / "frontend" / "index.html").read_bytes() in response


@pytest.mark.slow
def test_cors_is_off_by_default(guarded: Server) -> None:
    origin = {"Origin": "http://evil.example"}
    simple = guarded.api("GET", "/api/studies", headers={**origin, **GOOD})
    assert simple.status_code == 200
    preflight = guarded.api(
        "OPTIONS",
        "/api/studies",
        headers={
            **origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    for response in (simple, preflight):
        assert not [h for h in response.headers if h.lower().startswith("access-control-")]


@pytest.mark.slow
def test_token_never_appears_in_the_log(guarded: Server) -> None:
    """Runs after the tests above sent it, right and wrong, to every route (and a worker ran)."""
    guarded.api("POST", "/api/studies", json={**STUDY, "name": "log check"}, headers=GOOD)
    guarded.api("POST", "/api/studies", json=STUDY, headers={"Authorization": f"Bearer {TOKEN}x"})
    log = guarded.log()
    assert "POST /api/studies" in log  # the access log is there
    assert TOKEN not in log
    assert TOKEN[:12] not in log  # nor a prefix, nor a wrong guess built from it
    assert "Traceback" not in log


@pytest.mark.slow
def test_cors_allows_exactly_the_configured_origins(start_server: Any) -> None:
    allowed = "http://dash.example"
    server = start_server(workers=0, env={"ADAMTUNE_CORS_ORIGINS": f'["{allowed}"]'})
    simple = server.api("GET", "/api/studies", headers={"Origin": allowed})
    assert simple.headers["access-control-allow-origin"] == allowed
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    ok = server.api("OPTIONS", "/api/studies", headers={"Origin": allowed, **preflight})
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == allowed
    assert "POST" in ok.headers["access-control-allow-methods"]
    assert "authorization" in ok.headers["access-control-allow-headers"].lower()

    evil = "http://evil.example"
    assert (
        "access-control-allow-origin"
        not in server.api("GET", "/api/studies", headers={"Origin": evil}).headers
    )
    refused = server.api("OPTIONS", "/api/studies", headers={"Origin": evil, **preflight})
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers
    assert "access-control-allow-origin" not in headers_of(
        raw_request(server.url, "GET", "/api/studies", headers={"Origin": "null"})
    )
