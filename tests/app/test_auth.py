"""With a token configured, mutating routes need it; reads follow ADAMTUNE_PROTECT_READS."""

from __future__ import annotations

from typing import Any

import pytest

TOKEN = "s3cret-token-for-tests"
STUDY = {"task": "quadratic_deep", "n_trials": 1, "epochs": 1}


@pytest.mark.slow
def test_token_guards_mutations_and_never_leaks(start_server: Any) -> None:
    server = start_server(workers=0, env={"ADAMTUNE_API_TOKEN": TOKEN})
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        response = server.api("POST", "/api/studies", json=STUDY, headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["www-authenticate"] == "Bearer"
    good = {"Authorization": f"Bearer {TOKEN}"}
    created = server.api("POST", "/api/studies", json=STUDY, headers=good)
    assert created.status_code == 201
    study_path = created.headers["location"]
    assert server.api("POST", f"{study_path}/stop").status_code == 401
    assert server.api("DELETE", study_path).status_code == 401
    assert server.api("POST", f"{study_path}/stop", headers=good).status_code == 200
    # reads stay open by default
    assert server.api("GET", study_path).status_code == 200
    assert server.api("GET", "/api/studies").status_code == 200
    assert server.api("DELETE", study_path, headers=good).status_code == 204
    assert TOKEN not in server.log()


@pytest.mark.slow
def test_protect_reads(start_server: Any) -> None:
    server = start_server(
        workers=0, env={"ADAMTUNE_API_TOKEN": TOKEN, "ADAMTUNE_PROTECT_READS": "true"}
    )
    assert server.api("GET", "/api/studies").status_code == 401
    assert server.api("GET", "/api/tasks").status_code == 401
    good = {"Authorization": f"Bearer {TOKEN}"}
    assert server.api("GET", "/api/studies", headers=good).status_code == 200
    # health stays open for Docker and load balancers
    assert server.api("GET", "/healthz").status_code == 200
