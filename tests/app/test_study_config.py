"""A study's config has one source: its job's row (`app.jobs.study_config`), which the API,
the workers' runners and the external runners all read; Optuna's copy is for studies without a
job. Real SQLite file, in-process API and worker."""

from __future__ import annotations

import optuna

from app.jobs import study_config
from app.models import StudyJob
from optim.attrs import CONFIG_ATTR
from optim.study import StudyConfig
from tests.app.conftest import Api
from tests.app.test_external import EXTERNAL, ask

FAST_STUDY = {"task": "logreg_breast_cancer", "pruner": "none", "validate_seeds": 0}


def job_of(api: Api, study_id: int) -> StudyJob:
    with api.client.app.state.adamtune.db.session(write=False) as session:  # type: ignore[attr-defined]
        job = session.get(StudyJob, study_id)
    assert job is not None
    return job


def test_the_job_config_parses_into_the_study_config_as_submitted(api: Api) -> None:
    study = api.create_study(**FAST_STUDY, optimizer="adamw", epochs=2, n_trials=2, seed=7)
    config = study_config(job_of(api, study["id"]))
    assert isinstance(config, StudyConfig)
    assert (config.optimizer, config.epochs, config.n_trials, config.seed) == ("adamw", 2, 2, 7)
    assert config.family().name == "adamw"


def test_a_stored_config_without_a_family_gets_the_default_from_the_one_parser() -> None:
    job = StudyJob(config={"task": "logreg_breast_cancer"})
    assert study_config(job).optimizer == "adam"


def test_the_worker_trains_what_the_job_says_not_optunas_copy(api: Api) -> None:
    """Optuna's copy of the config, changed behind the service's back, is not read for a study
    with a job: its trials train the job's two epochs, not four."""
    study = api.create_study(**FAST_STUDY, epochs=2, n_trials=2)
    stored = optuna.load_study(study_name=study["name"], storage=api.settings.database_url)
    stored.set_user_attr(CONFIG_ATTR, {**stored.user_attrs[CONFIG_ATTR], "epochs": 4})
    assert api.work() == 2
    assert [t["epochs_done"] for t in api.trials(study["id"])] == [2, 2]
    assert api.study(study["id"])["epochs"] == 2


def test_an_external_runner_gets_the_jobs_config(api: Api) -> None:
    study = api.create_study(**{**EXTERNAL, "epochs": 5})
    stored = optuna.load_study(study_name=study["name"], storage=api.settings.database_url)
    stored.set_user_attr(CONFIG_ATTR, {**stored.user_attrs[CONFIG_ATTR], "epochs": 9})
    assert ask(api, study["id"])["trial"]["steps"] == 5
