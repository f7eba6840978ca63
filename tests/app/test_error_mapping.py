"""Domain errors become HTTP responses in one place (app.errors, registered by create_app):
route handlers keep the happy path, and each kind keeps the status and body it always had."""

from __future__ import annotations

import ast
from typing import Any

import optuna

import app.main  # noqa: F401 - imports every module that defines a domain error
from app.errors import DomainError
from tests.app.conftest import Api
from tests.conftest import ROOT

ROUTES = sorted((ROOT / "app" / "routes").glob("*.py"))


def _domain_error_names() -> set[str]:
    found: set[str] = set()
    todo: list[type] = [DomainError]
    while todo:
        kind = todo.pop()
        found.add(kind.__name__)
        todo.extend(kind.__subclasses__())
    return found


def _handler_names(handler: ast.ExceptHandler) -> set[str]:
    caught = handler.type
    nodes = caught.elts if isinstance(caught, ast.Tuple) else [caught]
    return {n.id if isinstance(n, ast.Name) else ast.unparse(n) for n in nodes if n is not None}


def _raises_http_exception(handler: ast.ExceptHandler) -> bool:
    for node in ast.walk(ast.Module(body=handler.body, type_ignores=[])):
        if isinstance(node, ast.Raise) and node.exc is not None:
            call = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(call, ast.Name | ast.Attribute) and "HTTPException" in ast.unparse(call):
                return True
    return False


def test_no_route_handler_maps_a_domain_error_by_hand() -> None:
    """An `except` in app/routes that raises HTTPException, or that catches a domain error,
    is the mapping written twice: raise the domain error and let app.errors answer it."""
    domain = _domain_error_names()
    assert {"ConflictError", "LimitError", "RunnerError", "FigureBusyError"} <= domain
    found = []
    for path in ROUTES:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.ExceptHandler):
                continue
            caught = _handler_names(node) & domain
            if caught or _raises_http_exception(node):
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                found.append(f"{where}: except {', '.join(sorted(caught)) or '...'}")
    assert not found, "route handlers mapping errors by hand:\n" + "\n".join(found)


def _plain_optuna_study(url: str) -> None:
    storage = optuna.storages.RDBStorage(url)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    optuna.create_study(study_name="theirs", storage=storage).optimize(
        lambda t: t.suggest_float("x", -1, 1) ** 2, n_trials=2
    )
    storage.engine.dispose()


def _detail(response: Any, status: int) -> Any:
    assert response.status_code == status, response.text
    return response.json()["detail"]


def test_each_kind_keeps_its_status_and_body(make_api: Any, database_url: str) -> None:
    """Limit (422 naming the field), conflict (409), runner refusals (their own 4xx), a job
    that adamtune does not own (404) and a figure's unknown params (422 on the query)."""
    _plain_optuna_study(database_url)
    api: Api = make_api(max_trials=5)
    theirs = api.get("/api/studies").json()["studies"][0]["id"]

    limit = [{"loc": ["body", "n_trials"], "type": "limit_exceeded"}]
    for path in ("/api/studies", "/api/studies?dry_run=true"):
        detail = _detail(api.post(path, json={"task": "rosenbrock", "n_trials": 6}), 422)
        assert [{k: d[k] for k in ("loc", "type")} for d in detail] == limit
        assert "ADAMTUNE_MAX_TRIALS" in detail[0]["msg"]

    validate = api.post(f"/api/studies/{theirs}/validate")
    assert _detail(validate, 409) == "only a search launched by adamtune can be validated"
    assert _detail(api.post("/api/studies/999999/validate"), 404) == "study 999999 not found"
    ask = api.post(f"/api/studies/{theirs}/ask")
    assert _detail(ask, 404) == f"study {theirs} not found (or not adamtune's)"

    search = api.create_study(task="rosenbrock", n_trials=2)["id"]
    refused = api.post(f"/api/studies/{search}/ask")  # the built-in workers train this one
    assert _detail(refused, 409) == "this study's trials are trained by the built-in workers"

    external = api.create_study(task="external", n_trials=2)["id"]
    handout = api.post(f"/api/studies/{external}/ask").json()
    number, lease = handout["trial"]["number"], handout["lease"]
    wrong_lease = {"lease": "not-the-lease", "step": 0, "value": 1.0}
    assert "does not hold" in _detail(
        api.post(f"/api/studies/{external}/trials/{number}/report", json=wrong_lease), 409
    )
    no_value = {"lease": lease, "state": "complete"}
    told = _detail(api.post(f"/api/studies/{external}/trials/{number}/tell", json=no_value), 422)
    assert told == [
        {"loc": ["body"], "msg": "a complete trial needs its value", "type": "value_error"}
    ]

    figure = api.get(f"/api/studies/{theirs}/figures/slice?params=nope")
    assert [d["loc"] for d in _detail(figure, 422)] == [["query", "params"]]
