"""What a claim and a finish record (`app.bookkeeping`), the same for a built-in worker and an
external runner: in-process API and worker on a real database file (and PostgreSQL)."""

from __future__ import annotations

import json
from typing import Any

from app.bookkeeping import DELETED_REASON, RunnerCache, stop_reason
from app.jobs import get_job
from optim.optimizers import FAMILIES
from optim.verdict import STOPPED_REASON
from tests.app.conftest import Api
from tests.app.test_external import EXTERNAL, ask, call
from tests.conftest import both_databases, query

FAST_STUDY = {"task": "logreg_breast_cancer", "epochs": 3, "pruner": "none", "validate_seeds": 0}


def events(api: Api, study_id: int, kind: str) -> list[tuple[Any, ...]]:
    """(trial, payload, state, value, message) of a study's events of one kind, in order."""
    rows = query(
        api.settings.database_url,
        "SELECT trial_number, payload, state, value, message FROM adamtune_events "
        "WHERE study_id = :id AND kind = :kind ORDER BY id",
        id=study_id,
        kind=kind,
    )
    return [(n, json.loads(p) if isinstance(p, str) else p, *rest) for n, p, *rest in rows]


def job_row(api: Api, study_id: int) -> tuple[str, str | None]:
    rows = query(
        api.settings.database_url,
        "SELECT status, last_worker FROM adamtune_jobs WHERE study_id = :id",
        id=study_id,
    )
    return rows[0][0], rows[0][1]


@both_databases
def test_a_worker_and_a_runner_record_a_claim_alike(api: Api) -> None:
    """Both start the job, name themselves its last worker and write a trial_started event
    with the family's own params (those the trial records) and the seeds."""
    built_in = api.create_study(**FAST_STUDY, optimizer="sgd_nesterov", n_trials=2)
    external = api.create_study(**{**EXTERNAL, "optimizer": "sgd_nesterov"})
    claim = api.worker.claim()
    assert claim is not None and claim.job.study_id == built_in["id"]
    handout = ask(api, external["id"], host="gpu-box")
    assert handout["state"] == "trial"
    for study, holder in ((built_in, "test-worker"), (external, "gpu-box")):
        assert job_row(api, study["id"]) == ("running", holder)
        [(number, payload, *_)] = events(api, study["id"], "trial_started")
        [trial] = api.trials(study["id"])
        assert number == trial["number"] == 0
        assert set(payload["params"]) == set(FAMILIES["sgd_nesterov"].dims)
        assert payload["params"] == trial["params"] and len(payload["seeds"]) == 1
    assert events(api, external["id"], "trial_started")[0][1]["runner"] == "gpu-box"
    assert "runner" not in events(api, built_in["id"], "trial_started")[0][1]
    api.worker.run_trial(claim)


def test_a_worker_stopped_mid_trial_records_the_finish_and_settles_the_stop(api: Api) -> None:
    """The trial hears the stop at its first epoch; its finish writes trial_finished with the
    stop's reason and, nothing else running, the study is stopped without another claim."""
    study = api.create_study(**FAST_STUDY, n_trials=3)
    claim = api.worker.claim()
    assert claim is not None
    assert api.post(f"/api/studies/{study['id']}/stop").json()["status"] == "stopping"
    api.worker.run_trial(claim)
    assert events(api, study["id"], "trial_finished") == [(0, None, "FAIL", None, STOPPED_REASON)]
    assert job_row(api, study["id"])[0] == "stopped"
    assert api.post(f"/api/studies/{study['id']}/resume").status_code == 200
    assert api.work() == 3  # the stopped trial's re-run and the two others


def test_an_external_tell_records_the_finish_as_a_worker_does(api: Api) -> None:
    study = api.create_study(**{**EXTERNAL, "n_trials": 2})
    handout = ask(api, study["id"])
    assert call(api, handout, "report", step=0, value=0.4).status_code == 200
    assert call(api, handout, "tell", state="complete", value=0.4).status_code == 200
    assert events(api, study["id"], "trial_finished") == [(0, None, "COMPLETE", 0.4, None)]


def test_stop_reason_follows_the_job(api: Api) -> None:
    study = api.create_study(**{**EXTERNAL, "n_trials": 2})
    db = api.client.app.state.adamtune.db  # type: ignore[attr-defined]
    with db.session(write=False) as session:
        job = get_job(session, study["id"])
    assert job is not None
    assert stop_reason(db, job) is None
    ask(api, study["id"])
    api.post(f"/api/studies/{study['id']}/stop")
    assert stop_reason(db, job) == STOPPED_REASON
    assert api.delete(f"/api/studies/{study['id']}").status_code == 204
    assert stop_reason(db, job) == DELETED_REASON


def test_the_runner_cache_keeps_one_runner_per_job_uid(api: Api) -> None:
    first = api.create_study(**{**EXTERNAL, "n_trials": 2})
    second = api.create_study(**{**EXTERNAL, "n_trials": 2})
    state = api.client.app.state.adamtune  # type: ignore[attr-defined]
    cache = RunnerCache(state.storage, grace_period=3)
    with state.db.session(write=False) as session:
        jobs = [get_job(session, study["id"]) for study in (first, second)]
    one, two = (job for job in jobs if job is not None)
    runner = cache.get(one)
    assert cache.get(one) is runner and cache.get(two) is not runner
    cache.keep_only({two.uid})
    assert cache.get(one) is not runner  # forgotten: loaded again
