"""With a token configured, mutating routes need it; reads follow ADAMTUNE_PROTECT_READS
(in-process), and the OpenAPI schema says so, exactly."""

from __future__ import annotations

from typing import Any

import pytest

TOKEN = "s3cret-token-for-tests"
STUDY = {"task": "quadratic_deep", "n_trials": 1, "epochs": 1}


def test_token_guards_mutations_and_never_leaks(
    make_api: Any, caplog: pytest.LogCaptureFixture
) -> None:
    server = make_api(api_token=TOKEN)
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        response = server.client.request("POST", "/api/studies", json=STUDY, headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["www-authenticate"] == "Bearer"
    good = {"Authorization": f"Bearer {TOKEN}"}
    created = server.client.request("POST", "/api/studies", json=STUDY, headers=good)
    assert created.status_code == 201
    study_path = created.headers["location"]
    assert server.client.request("POST", f"{study_path}/stop").status_code == 401
    assert server.client.request("DELETE", study_path).status_code == 401
    assert server.client.request("POST", f"{study_path}/stop", headers=good).status_code == 200
    # reads stay open by default
    assert server.client.request("GET", study_path).status_code == 200
    assert server.client.request("GET", "/api/studies").status_code == 200
    assert server.client.request("DELETE", study_path, headers=good).status_code == 204
    assert TOKEN not in caplog.text


def test_protect_reads(make_api: Any) -> None:
    server = make_api(api_token=TOKEN, protect_reads=True)
    assert server.client.request("GET", "/api/studies").status_code == 401
    assert server.client.request("GET", "/api/tasks").status_code == 401
    good = {"Authorization": f"Bearer {TOKEN}"}
    assert server.client.request("GET", "/api/studies", headers=good).status_code == 200
    # health stays open for Docker and load balancers
    assert server.client.request("GET", "/healthz").status_code == 200


def operations(schema: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): op
        for path, ops in schema["paths"].items()
        for method, op in ops.items()
    }


def test_openapi_asks_for_a_token_only_where_the_server_does(make_api: Any) -> None:
    open_schema = make_api().get("/openapi.json").json()
    assert "securitySchemes" not in open_schema.get("components", {})
    assert not [key for key, op in operations(open_schema).items() if "security" in op]

    writes_only = operations(make_api(api_token=TOKEN).get("/openapi.json").json())
    assert "security" in writes_only[("POST", "/api/studies")]
    assert "401" in writes_only[("DELETE", "/api/studies/{study_id}")]["responses"]
    assert "security" not in writes_only[("GET", "/api/studies")]
    assert "401" not in writes_only[("GET", "/api/studies")]["responses"]

    everything = make_api(api_token=TOKEN, protect_reads=True)
    schema = everything.get("/openapi.json", headers={"Authorization": f"Bearer {TOKEN}"})
    ops = operations(schema.json())
    assert "security" in ops[("GET", "/api/studies/{study_id}/trials")]
    assert "security" not in ops[("GET", "/healthz")]


def test_openapi_lists_the_answers_routes_give(api: Any) -> None:
    ops = operations(api.get("/openapi.json").json())
    for (method, path), op in ops.items():
        if "{study_id}" in path:
            assert "404" in op["responses"], (method, path)
        if path.startswith("/api/"):
            assert "503" in op["responses"], (method, path)
    csv = ops[("GET", "/api/studies/{study_id}/export.csv")]["responses"]["200"]["content"]
    assert list(csv) == ["text/csv"]
    events = ops[("GET", "/api/studies/{study_id}/events")]["responses"]["200"]["content"]
    assert list(events) == ["text/event-stream"]
