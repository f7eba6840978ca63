"""Bad input gets a clear 4xx naming the field and the reason; never a 500, nothing stored
(in-process: TestClient on a real SQLite file)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from app.schemas import ComparisonCreate, StudyCreate
from tests.app.conftest import Api
from tests.conftest import BUILTIN_TASK_NAMES


def error_fields(response: Any) -> dict[str, str]:
    """'space.lr' -> message, from FastAPI's 422 detail list."""
    assert response.status_code == 422, response.text
    return {
        ".".join(str(p) for p in err["loc"][1:]): err["msg"] for err in response.json()["detail"]
    }


@pytest.mark.parametrize(
    ("payload", "field", "words"),
    [
        (
            {"task": "mlp_digits", "space": {"lr": {"low": 0.1, "high": 0.01}}},
            "space.lr",
            "less than high",
        ),
        ({"task": "mlp_digits", "space": {"lr": {"value": 0}}}, "space.lr", "lr must be > 0"),
        ({"task": "mlp_digits", "space": {"beta1": {"value": 1.0}}}, "space.beta1", "beta1 < 1"),
        (
            {"task": "mlp_digits", "space": {"beta2": {"low": -0.1, "high": 0.9}}},
            "space.beta2",
            "0 <= beta2",
        ),
        (
            {"task": "mlp_digits", "space": {"eps": {"value": -1e-8}}},
            "space.eps",
            "eps must be > 0",
        ),
        (
            {"task": "mlp_digits", "space": {"nesterov": {"value": 0.9}}},
            "space.nesterov",
            "Extra inputs",
        ),
        (
            {"task": "mlp_digits", "space": {"momentum": {"low": 0.5, "high": 0.9}}},
            "space",
            "momentum: Adam (adam) does not tune momentum",
        ),
        ({"task": "mlp_digits", "optimizer": "lion"}, "optimizer", "unknown optimizer"),
        ({"task": "mlp_digits", "preset": "narrow"}, "preset", "unknown preset"),
        ({"task": "mlp_digits", "eps_mode": "keras"}, "eps_mode", "'pytorch' or 'tf'"),
        ({"task": "mlp_digits", "validate_seeds": 1}, "validate_seeds", "at least 2 seeds"),
        ({"task": "no_such_task"}, "task", "unknown task 'no_such_task'"),
        ({"task": "mlp_digits", "sampler": "bogus"}, "sampler", "unknown sampler"),
        ({"task": "mlp_digits", "pruner": "bogus"}, "pruner", "unknown pruner"),
        ({"task": "mlp_digits", "n_trials": 0}, "n_trials", "greater than or equal to 1"),
        ({"task": "mlp_digits", "n_trials": 10**9}, "n_trials", "at most"),
        ({"task": "mlp_digits", "epochs": 10**6}, "epochs", "at most"),
        ({"task": "mlp_digits", "epochs": -3}, "epochs", "greater than or equal to 1"),
        ({"task": "mlp_digits", "unknown": 1}, "unknown", "Extra inputs"),
        ({"task": "mlp_digits", "name": ""}, "name", "at least 1"),
        ({"task": "mlp_digits", "timeout_s": -1}, "timeout_s", "greater than 0"),
        # JSON types are not coerced: no true for 1, no "5" for 5, no 1.5 (or 1.0) for a count
        ({"task": "mlp_digits", "epochs": True}, "epochs", "valid integer"),
        ({"task": "mlp_digits", "n_trials": "5"}, "n_trials", "valid integer"),
        ({"task": "mlp_digits", "seed": 1.5}, "seed", "valid integer"),
        ({"task": "mlp_digits", "parallelism": 2.0}, "parallelism", "valid integer"),
        ({"task": "mlp_digits", "timeout_s": True}, "timeout_s", "valid number"),
        (
            {"task": "mlp_digits", "space": {"lr": {"low": True, "high": 0.1}}},
            "space.lr.low",
            "valid number",
        ),
        (
            {"task": "mlp_digits", "space": {"lr": {"low": 1e-4, "high": 0.1, "log": "yes"}}},
            "space.lr.log",
            "valid boolean",
        ),
        ({"task": "mlp_digits", "space": {"eps": {"value": "1e-8"}}}, "space.eps.value", "number"),
        ({}, "task", "Field required"),
    ],
)
def test_bad_study_is_rejected_with_the_field(
    api: Api, payload: dict[str, Any], field: str, words: str
) -> None:
    before = len(api.client.request("GET", "/api/studies").json()["studies"])
    fields = error_fields(api.client.request("POST", "/api/studies", json=payload))
    assert field in fields, fields
    assert words in fields[field]
    assert len(api.client.request("GET", "/api/studies").json()["studies"]) == before


def test_nan_and_infinity_are_rejected(api: Api) -> None:
    for literal in ("NaN", "Infinity", "-Infinity"):
        body = '{"task": "mlp_digits", "space": {"lr": {"value": LITERAL}}}'.replace(
            "LITERAL", literal
        )
        response = api.client.request(
            "POST", "/api/studies", content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code == 422, (literal, response.text)


def test_malformed_json_and_huge_body(api: Api) -> None:
    broken = api.client.request(
        "POST", "/api/studies", content="{", headers={"content-type": "application/json"}
    )
    assert broken.status_code == 422
    huge = api.client.request(
        "POST", "/api/studies", json={"task": "mlp_digits", "name": "x" * 200_000}
    )
    assert huge.status_code == 413


def test_dry_run_validates_without_creating(api: Api) -> None:
    before = len(api.client.request("GET", "/api/studies").json()["studies"])
    response = api.client.request(
        "POST",
        "/api/studies?dry_run=true",
        json={"task": "mlp_digits", "n_trials": 3, "timeout_s": 60},  # an int where a float goes
    )
    assert response.status_code == 200
    assert response.json()["valid"] is True
    assert response.json()["config"]["n_trials"] == 3
    assert len(api.client.request("GET", "/api/studies").json()["studies"]) == before


def test_unknown_study_and_unknown_figure(api: Api) -> None:
    for method, path in [
        ("GET", "/api/studies/999999"),
        ("GET", "/api/studies/999999/trials"),
        ("GET", "/api/studies/999999/curves"),
        ("POST", "/api/studies/999999/stop"),
        ("DELETE", "/api/studies/999999"),
    ]:
        response = api.client.request(method, path)
        assert response.status_code == 404, (method, path)
        assert "999999" in response.json()["detail"]
    assert api.client.request("GET", "/api/studies/abc").status_code == 422


def test_duplicate_name_is_a_conflict(api: Api) -> None:
    payload = {"task": "quadratic_deep", "n_trials": 1, "epochs": 1, "name": "twice"}
    assert api.client.request("POST", "/api/studies", json=payload).status_code == 201
    again = api.client.request("POST", "/api/studies", json=payload)
    assert again.status_code == 409
    assert "twice" in again.json()["detail"]


def test_html_in_names_is_stored_verbatim(api: Api) -> None:
    name = "<img src=x onerror=alert(1)> ünïcode ✓"
    created = api.client.request(
        "POST",
        "/api/studies",
        json={"task": "quadratic_deep", "n_trials": 1, "epochs": 1, "name": name},
    )
    assert created.status_code == 201
    assert api.client.request("GET", created.headers["location"]).json()["name"] == name


def test_tasks_and_options(api: Api) -> None:
    tasks = api.client.request("GET", "/api/tasks").json()
    assert [t["name"] for t in tasks][: len(BUILTIN_TASK_NAMES)] == BUILTIN_TASK_NAMES
    options = api.client.request("GET", "/api/options").json()
    assert options["default_sampler"] == "tpe" and options["default_pruner"] == "median"
    assert set(options["samplers"]) == {"tpe", "random", "qmc", "cmaes", "gp", "grid"}
    assert options["default_space"]["lr"] == {"low": 1e-5, "high": 0.1, "log": True, "value": None}


def test_concurrent_study_limit_is_enforced(make_api: Any) -> None:
    server = make_api(max_concurrent_studies=1)
    study = {"task": "quadratic_deep", "n_trials": 2, "epochs": 1}
    first = server.post("/api/studies", json=study)
    assert first.status_code == 201
    second = server.post("/api/studies", json=study)
    assert second.status_code == 409
    assert "ADAMTUNE_MAX_CONCURRENT_STUDIES" in second.json()["detail"]
    # a stopped study no longer counts
    assert server.post(f"{first.headers['location']}/stop").status_code == 200
    assert server.post("/api/studies", json=study).status_code == 201


JSON_OF_EVERY_TYPE: dict[str, Any] = {
    "object": {},
    "object-with-key": {"a": 1},
    "array": [],
    "array-of-one": ["x"],
    "string": "x",
    "number": 1.5,
    "integer": 3,
    "bool": True,
    "null": None,
}
VALID_BODIES = {
    "/api/studies?dry_run=true": {"task": "quadratic_deep", "n_trials": 2, "epochs": 1},
    "/api/comparisons": {
        "task": "quadratic_deep", "optimizers": ["adam", "adamw"], "n_trials": 2, "epochs": 1,
    },
}  # fmt: skip


@pytest.mark.parametrize("kind", list(JSON_OF_EVERY_TYPE))
@pytest.mark.parametrize(
    ("path", "model"), [("/api/studies?dry_run=true", StudyCreate),
                        ("/api/comparisons", ComparisonCreate)]
)  # fmt: skip
def test_every_json_type_in_every_field_is_a_client_error_or_accepted(
    make_api: Any, path: str, model: type[BaseModel], kind: str
) -> None:
    """Any JSON value in any field of StudyCreate and ComparisonCreate: 422 or 2xx, never a
    500 (`"preset": {}` raised `TypeError: unhashable type: 'dict'`). Comparisons have no dry
    run: the accepted ones are created."""
    api = make_api(max_concurrent_studies=1000)
    answers = {}
    for name in model.model_fields:
        body = {**VALID_BODIES[path], name: JSON_OF_EVERY_TYPE[kind]}
        answers[name] = api.post(path, json=body).status_code
    bad = {name: code for name, code in answers.items() if code != 422 and not 200 <= code < 300}
    assert not bad, bad
