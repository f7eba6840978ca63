"""Notes on studies and trials through the API: stored with the study (gone with it), on
read-only studies too, Markdown rendered with raw HTML escaped, bad input a 4xx by field."""

from __future__ import annotations

from typing import Any

import optuna

from tests.app.conftest import Api
from tests.conftest import both_databases, query

TOKEN = "note-token"


@both_databases
def test_notes_are_kept_rendered_and_deleted_with_the_study(api: Api) -> None:
    study = api.create_study(task="rosenbrock", n_trials=2, epochs=1, pruner="none")
    api.work()
    base = f"/api/studies/{study['id']}"
    assert api.get(f"{base}/note").json() == {"text": "", "html": "", "updated_at": None}

    text = "# Plan\n\n*beta2* 0.99 <script>alert(1)</script> [x](javascript:alert(1))"
    saved = api.client.put(f"{base}/note", json={"text": text})
    assert saved.status_code == 200
    note = api.get(f"{base}/note").json()
    assert note["text"] == text and note["updated_at"]
    assert "<h1>Plan</h1>" in note["html"] and "<em>beta2</em>" in note["html"]
    assert "<script>" not in note["html"] and "&lt;script&gt;" in note["html"]
    assert 'href="javascript' not in note["html"]

    assert api.client.put(f"{base}/trials/1/note", json={"text": "re-run me"}).status_code == 200
    assert api.get(f"{base}/trials/1/note").json()["html"] == "<p>re-run me</p>\n"
    assert api.get(f"{base}/trials/0/note").json()["text"] == ""
    assert api.get(f"{base}/trials/7/note").status_code == 404
    assert api.client.put(f"{base}/trials/7/note", json={"text": "x"}).status_code == 404

    assert api.delete(base).status_code == 204
    assert api.get(f"{base}/note").status_code == 404
    leftover = "SELECT COUNT(*) FROM study_system_attributes WHERE study_id = :id"
    assert query(api.settings.database_url, leftover, id=study["id"]) == [(0,)]


def test_bad_notes_are_refused_by_field(api: Api) -> None:
    study = api.create_study(task="rosenbrock", n_trials=1, epochs=1)
    base = f"/api/studies/{study['id']}/note"
    for body, field in (
        ({"text": "x" * 20_001}, "text"),
        ({"text": 5}, "text"),
        ({}, "text"),
        ({"text": "ok", "extra": 1}, "extra"),
    ):
        response = api.client.put(base, json=body)
        assert response.status_code == 422, body
        assert [e["loc"][-1] for e in response.json()["detail"]] == [field]


def test_a_read_only_study_takes_notes_and_the_token_guards_writes(
    make_api: Any, database_url: str
) -> None:
    storage = optuna.storages.RDBStorage(database_url)
    theirs = optuna.create_study(study_name="their-study", storage=storage)
    theirs.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    storage.engine.dispose()
    api: Api = make_api(api_token=TOKEN)
    (study,) = api.get("/api/studies").json()["studies"]
    base = f"/api/studies/{study['id']}/note"
    assert api.client.put(base, json={"text": "mine"}).status_code == 401
    good = {"Authorization": f"Bearer {TOKEN}"}
    assert api.client.put(base, json={"text": "mine"}, headers=good).status_code == 200
    assert api.get(base).json()["text"] == "mine"
