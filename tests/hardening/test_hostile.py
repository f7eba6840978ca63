"""Hostile input: a schemathesis run over the OpenAPI schema against a real server, and targeted
cases (deep nesting, huge and streamed bodies, absurd numbers, odd headers, names full of
markup and unicode). Nothing may give a 5xx, and the server must stay healthy throughout."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from tests.conftest import Server, launch_server
from tests.hardening.helpers import db_path, raw_http, raw_request, sqlite_rows, status_of

pytestmark = pytest.mark.slow

MAX_EXAMPLES = 30  # per operation and generation mode (40: the suite's longest test, 37-49 s)
JSON = {"Content-Type": "application/json"}
STUDY = {"task": "quadratic_deep", "n_trials": 1, "epochs": 1}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """API only (nothing trains), with room for the studies this module creates."""
    env = {"ADAMTUNE_MAX_CONCURRENT_STUDIES": "100000"}
    started = launch_server(tmp_path_factory.mktemp("hostile"), workers=0, env=env)
    yield started
    started.stop()


@pytest.fixture
def study_id(server: Server) -> int:
    """A fresh study for each test: the fuzzer deletes whatever ids it guesses."""
    return int(server.create_study(**STUDY)["id"])


def assert_healthy(server: Server) -> None:
    assert server.api("GET", "/healthz").status_code == 200
    dry = server.api("POST", "/api/studies?dry_run=true", json=STUDY)
    assert dry.status_code == 200, dry.text


def study_names(server: Server) -> list[str]:
    return [s["name"] for s in server.api("GET", "/api/studies").json()["studies"]]


CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


# every JSON type, put into each field of a body in turn: the random examples rarely give an
# enum-like field (`"preset"`) an object, and `"preset": {}` was a 500 they never found
JSON_OF_EVERY_TYPE: list[Any] = [{}, {"a": 1}, [], ["x"], "x", 1.5, 3, True, None]


def body_fields(raw_schema: dict[str, Any], operation: Any) -> list[str]:
    """The properties of `operation`'s JSON body (its `$ref`, or the refs of an `anyOf`)."""
    content = (operation.definition.raw.get("requestBody") or {}).get("content", {})
    schema = content.get("application/json", {}).get("schema", {})
    refs = [schema.get("$ref")] + [part.get("$ref") for part in schema.get("anyOf", [])]
    components = raw_schema.get("components", {}).get("schemas", {})
    return [
        name
        for ref in refs
        if ref
        for name in components[ref.rsplit("/", 1)[-1]].get("properties", {})
    ]


def type_confusions(raw_schema: dict[str, Any], operation: Any, study_id: int) -> list[Any]:
    """Explicit cases: each field of the body given each JSON type, alone (a model's "before"
    validators see the raw body whatever else is missing)."""
    params = {"study_id": study_id, "number": 0, "comparison_id": 0}
    path_parameters = {k: v for k, v in params.items() if "{" + k + "}" in operation.path}
    return [
        operation.Case(
            body={name: value},
            media_type="application/json",
            path_parameters=path_parameters,
            query={"dry_run": "true"} if operation.path == "/api/studies" else None,
        )
        for name in body_fields(raw_schema, operation)
        for value in JSON_OF_EVERY_TYPE
    ]


def fuzz(
    operation: Any,
    mode: GenerationMode,
    base_url: str,
    study_id: int,
    explicit: Sequence[Any] = (),
) -> tuple[int, list[str]]:
    """Run `operation` on the `explicit` cases and MAX_EXAMPLES generated ones; (cases run,
    failure messages)."""
    calls = 0
    failures: list[str] = []

    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,  # the same examples on every run
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    def check(case: Any) -> None:
        nonlocal calls
        calls += 1
        if case.method == "GET" and "study_id" in (case.path_parameters or {}) and calls % 2:
            case.path_parameters["study_id"] = study_id  # half the reads hit a real study
        try:
            case.call_and_validate(base_url=base_url, checks=CHECKS, timeout=60)
        except BaseException as exc:  # noqa: BLE001 - schemathesis raises an exception group
            if isinstance(exc, KeyboardInterrupt):
                raise
            failures.append(str(exc)[:1500])

    for case in explicit:
        check = hypothesis.example(case=case)(check)
    try:
        check()
    except hypothesis.errors.Unsatisfiable:
        pass  # nothing to make invalid: an operation without parameters or body
    return calls, failures


def test_schemathesis_finds_no_server_error_and_no_schema_violation(
    server: Server, study_id: int
) -> None:
    """Every operation (the never-ending SSE stream aside), valid and invalid inputs alike:
    never a 5xx, and every documented response matches its schema and content type."""
    loaded = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    schema = loaded.exclude(path_regex=r"/events$")
    failures: dict[str, list[str]] = {}
    total = 0
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # FastAPI's schema is valid
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            explicit = (
                type_confusions(loaded.raw_schema, operation, study_id)
                if mode == GenerationMode.NEGATIVE
                else []
            )
            calls, found = fuzz(operation, mode, server.url, study_id, explicit)
            total += calls
            if found:
                failures[f"{operation.label} ({mode.value})"] = found
    assert total > 10 * MAX_EXAMPLES
    assert not failures, json.dumps({k: v[0] for k, v in failures.items()}, indent=1)
    assert_healthy(server)


def nested(depth: int, open_: str, close: str, leaf: str = "1") -> bytes:
    return (open_ * depth + leaf + close * depth).encode()


@pytest.mark.parametrize(
    "body",
    [
        nested(10_000, "[", "]"),
        nested(10_000, '{"a":', "}"),
        b'{"task":' + nested(10_000, '{"a":', "}") + b"}",
        b'{"task":"mlp_digits","space":{"lr":' + nested(10_000, "[", "]") + b"}}",
        b'{"task":"mlp_digits","space":{"lr":' + nested(900, "[", "]") + b"}}",  # parses
        nested(100_000, "[", "]"),  # over the body limit too
    ],
    ids=["arrays", "objects", "in-task", "in-space", "900-in-space", "100k"],
)
def test_deeply_nested_json_is_a_client_error(server: Server, body: bytes) -> None:
    before = study_names(server)
    response = server.api("POST", "/api/studies", content=body, headers=JSON)
    assert 400 <= response.status_code < 500, response.text[:300]
    assert study_names(server) == before
    assert_healthy(server)


def chunked(body: bytes, size: int = 65536) -> bytes:
    """`body` in chunked transfer encoding: no Content-Length tells its size up front."""
    parts = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in parts) + b"0\r\n\r\n"


def test_huge_bodies_are_refused_with_413(server: Server) -> None:
    before = study_names(server)
    # 10 MB streamed without a Content-Length: cut off at the limit
    big = b'{"task":"mlp_digits","name":"' + b"x" * 10_000_000 + b'"}'
    streamed = raw_http(
        server.url,
        b"POST /api/studies HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(big),
    )
    assert status_of(streamed) == 413, streamed[:300]
    # a declared 10 GB body is refused before a byte of it is read
    declared = raw_request(
        server.url, "POST", "/api/studies", headers={**JSON, "Content-Length": "10000000000"}
    )
    assert status_of(declared) == 413, declared[:300]
    assert study_names(server) == before
    assert_healthy(server)


@pytest.mark.parametrize(
    "body",
    [
        b'{"task":"mlp_digits","n_trials":1' + b"0" * 60_000 + b"}",
        b"[" + b"0," * 20_000 + b"0]",
        b'{"task":"\xff\xfe"}',
        b'{"task":"quadratic_deep","name":"\\ud800"}',
        b'{"task":"quadratic_deep","task":"nope"}',
        b"<study/>",
        b"",
        b"null",
    ],
    ids=[
        "60000-digit-number",
        "20000-item-array",
        "invalid-utf8",
        "lone-surrogate",
        "duplicate-keys",
        "not-json",
        "empty",
        "null",
    ],
)
def test_malformed_bodies_are_client_errors(server: Server, body: bytes) -> None:
    before = study_names(server)
    response = server.api("POST", "/api/studies", content=body, headers=JSON)
    assert 400 <= response.status_code < 500, response.text[:300]
    assert study_names(server) == before


@pytest.mark.parametrize(
    ("target", "raw_headers"),
    [
        ("/api/studies", b"X-Big: " + b"a" * 200_000 + b"\r\n"),
        ("/api/studies?x=" + "a" * 200_000, b""),
        ("/api/studies?" + "&".join(f"p{i}=1" for i in range(5000)), b""),
    ],
    ids=["200KB-header", "200KB-url", "5000-parameters"],
)
def test_oversized_requests_are_refused_and_harmless(
    server: Server, target: str, raw_headers: bytes
) -> None:
    response = raw_request(server.url, "GET", target, raw_headers=raw_headers)
    # the HTTP parser refuses an oversized request line or header (400); extra parameters are
    # ignored (200)
    assert status_of(response) in (200, 400, 413, 414, 431), response[:200]
    assert_healthy(server)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("n_trials", -1),
        ("n_trials", 2**63),
        ("n_trials", 10**30),
        ("n_trials", 1e300),
        ("n_trials", 2.5),
        ("n_trials", "lots"),
        ("n_trials", None),
        ("epochs", 0),
        ("epochs", 10**20),
        ("epochs", -(2**63)),
        ("timeout_s", 0),
        ("timeout_s", -5),
        ("timeout_s", 1e308),
        ("parallelism", 0),
        ("parallelism", -1),
        ("parallelism", 10**9),
        ("seed", -1),
        ("seed", 2**64),
    ],
)
def test_absurd_budgets_are_rejected_by_field(server: Server, field: str, value: Any) -> None:
    before = study_names(server)
    response = server.api("POST", "/api/studies", json={**STUDY, field: value})
    assert response.status_code == 422, response.text
    assert ["body", field] in [err["loc"][:2] for err in response.json()["detail"]]
    assert study_names(server) == before


def test_infinite_timeout_literal_is_rejected(server: Server) -> None:
    body = b'{"task": "quadratic_deep", "timeout_s": 1e400}'  # parses as float("inf")
    response = server.api("POST", "/api/studies", content=body, headers=JSON)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "timeout_s"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/studies/{id}/trials?limit=0",
        "/api/studies/{id}/trials?limit=1000000000",
        "/api/studies/{id}/trials?offset=-1",
        "/api/studies/{id}/trials?offset=9223372036854775808",
        "/api/studies/{id}/trials?offset=100000000000000000000000000000",
        "/api/studies/{id}/trials/18446744073709551616",
        "/api/studies/{id}/trials/-1",
        "/api/studies/{id}/curves?after=-1",
        "/api/studies/{id}/curves?after=100000000000000000000000000000",
        "/api/studies/{id}/curves?max_trials=0",
        "/api/studies/{id}/curves?max_trials=1000000000",
        "/api/studies/{id}/events?after=100000000000000000000000000000",
        "/api/studies/{id}/figures/contour?params=" + "x" * 3000,
        "/api/studies/18446744073709551616",
        "/api/studies/18446744073709551616/curves",
        "/api/studies/-9223372036854775809/trials",
        "/api/studies/1e3",
    ],
)
def test_absurd_query_and_path_numbers_are_rejected(
    server: Server, study_id: int, path: str
) -> None:
    response = server.api("GET", path.replace("{id}", str(study_id)))
    assert response.status_code == 422, (path, response.text[:300])


@pytest.mark.parametrize(
    "last_event_id",
    [b"\xb2", b"9" * 5000, b"-5", b"abc", b"", b"1" * 19, b"0x10"],
    ids=["superscript-two", "5000-digits", "negative", "letters", "empty", "19-digits", "hex"],
)
def test_odd_last_event_id_still_streams(
    server: Server, study_id: int, last_event_id: bytes
) -> None:
    raw_header = b"Last-Event-ID: " + last_event_id + b"\r\n"
    with_stream = _first_bytes(server, f"/api/studies/{study_id}/events", raw_header)
    assert status_of(with_stream) == 200, with_stream[:300]
    assert b"retry: 1000" in with_stream


def _first_bytes(server: Server, path: str, raw_header: bytes) -> bytes:
    """The head of a never-ending stream: read up to its first line of data."""
    parts = urlsplit(server.url)
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode() + raw_header + b"\r\n"
    data = b""
    with socket.create_connection((parts.hostname, parts.port), timeout=60) as sock:
        sock.sendall(request)
        while b"retry:" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
            if b"\r\n\r\n" in data and status_of(data) != 200:
                break
    return data


NAMES = [
    "<script>alert('x')</script>",
    "\"'><img src=x onerror=alert(1)>&amp;&lt;",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 😀 👩\u200d👩\u200d👧\u200d👦",
    "عربى \u202eevil\u202c rtl",
    "e\u0301 is not é",  # combining accent: no normalisation
    "'; DROP TABLE trials; --",
    "${jndi:ldap://x} {{7*7}} %00 %2e%2e/ \\x00",
    "zero\u200bwidth\ufeffbom",
    "é" * 200,  # 200 characters, 400 bytes: the longest name
]


@pytest.mark.parametrize("name", NAMES)
def test_names_with_markup_and_unicode_are_stored_and_returned_verbatim(
    server: Server, name: str
) -> None:
    created = server.api("POST", "/api/studies", json={**STUDY, "name": name})
    assert created.status_code == 201, created.text
    assert created.json()["name"] == name
    study = created.json()["id"]
    assert server.api("GET", f"/api/studies/{study}").json()["name"] == name
    assert name in study_names(server)
    exported = server.api("GET", f"/api/studies/{study}/export.json")
    assert exported.json()["study"]["name"] == name
    stored = sqlite_rows(
        db_path(server), "SELECT study_name FROM studies WHERE study_id = ?", (study,)
    )
    assert stored == [(name,)]
    # JSON answers are JSON (escaped), never HTML that a browser could render
    assert created.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    "name",
    ["é" * 201, "bell\x07", "esc\x1b[31mred", "nul\x00byte", "new\nline", "del\x7f", "   "],
)
def test_names_too_long_or_with_control_characters_are_rejected(server: Server, name: str) -> None:
    before = study_names(server)
    response = server.api("POST", "/api/studies", json={**STUDY, "name": name})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "name"]
    assert study_names(server) == before


def test_no_request_above_left_a_traceback(server: Server) -> None:
    """Runs last: every hostile request above was answered without an unhandled exception."""
    assert_healthy(server)
    log = server.log()
    assert "Traceback" not in log, log[log.find("Traceback") - 500 :][:4000]
    assert " 500 " not in log
