"""Validations of a study, as jobs: started when a search ends (or on request), reported from
their trials. The statistics are `optim.validation`'s; this module is the service around them."""

from __future__ import annotations

import json
import logging
from typing import Any

import optuna
from optuna.trial import TrialState
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db import Database
from app.jobs import ConflictError, add_status_event, get_job, set_status
from app.models import ACTIVE_STATUSES, JobKind, JobStatus, StudyJob
from optim import optuna_internals as oi
from optim.attrs import VALIDATION_ATTR
from optim.params import OptimizerParams
from optim.study import StudyConfig, load_study
from optim.validation import ValidationReport, candidates, create_validation, report

log = logging.getLogger("adamtune.validation")


def validation_name(parent_name: str, round_: int) -> str:
    return f"{parent_name} / validation {round_}"


def finish_job(db: Database, storage: optuna.storages.BaseStorage, study_id: int) -> None:
    """Mark a job whose trials are all done: stopped if it was stopping, else completed; a
    completed search that asks for it gets its validation queued. Whoever sees the runner say
    DONE calls it (a worker, or the API for an external study); only the first one acts."""
    with db.session() as session:
        job = get_job(session, study_id)
        if job is None or job.status not in ACTIVE_STATUSES:
            return
        final = JobStatus.STOPPED if job.status == JobStatus.STOPPING else JobStatus.COMPLETED
        set_status(session, job, final)
    log.info("study %s %s", study_id, final)
    config = StudyConfig.model_validate(job.config)
    if final != JobStatus.COMPLETED or job.kind != JobKind.SEARCH or not config.validates():
        return
    try:
        child = start_validation(
            db, storage, job, top_k=config.validate_top_k, seeds=config.validate_seeds
        )
    except ConflictError as exc:
        log.warning("study %s not validated: %s", study_id, exc)
        return
    log.info("study %s: validation queued as study %s", study_id, child)


def start_validation(
    db: Database,
    storage: optuna.storages.BaseStorage,
    parent: StudyJob,
    *,
    top_k: int,
    seeds: int,
) -> int:
    """Queue a validation of `parent`'s best `top_k` configs and the defaults on `seeds` fresh
    seeds; returns its study id. 409 (ConflictError) while another runs or with nothing to
    validate."""
    with db.session(write=False) as session:
        previous = validations(session, parent.study_id)
    if any(job.status in (JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.STOPPING)
           for job in previous):  # fmt: skip
        raise ConflictError("a validation of this study is already running")
    study, config = load_study(storage, parent.study_name)
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    configs = candidates(
        complete, top_k, config.baseline_params(), maximize=config.direction == "maximize"
    )
    if len(configs) < 2:
        raise ConflictError("no complete trial other than the defaults to validate yet")
    round_ = len(previous)
    name = validation_name(parent.study_name, round_)
    child = create_validation(
        storage, name, config, configs, seeds=seeds, round_=round_, parent=parent.study_name
    )
    child_id = oi.study_id_of(child)
    child_config = StudyConfig.model_validate(child.user_attrs["adamtune"])
    with db.session() as session:
        session.add(
            StudyJob(
                study_id=child_id,
                study_name=name,
                task=parent.task,
                config=child_config.model_dump(mode="json"),
                n_trials=child_config.n_trials,
                status=JobStatus.QUEUED,
                kind=JobKind.VALIDATION,
                parent_id=parent.study_id,
            )
        )
        session.flush()
        add_status_event(session, child_id, JobStatus.QUEUED)
    return child_id


def validations(session: Session, parent_id: int) -> list[StudyJob]:
    """The validations of a study, oldest first."""
    return list(
        session.scalars(
            select(StudyJob)
            .where(StudyJob.parent_id == parent_id, StudyJob.kind == JobKind.VALIDATION)
            .order_by(StudyJob.study_id)
        )
    )


def latest_reports(session: Session, parent_ids: list[int]) -> dict[int, dict[str, Any]]:
    """parent id -> the public form of its newest validation (see `public_report`)."""
    if not parent_ids:
        return {}
    newest = (
        select(StudyJob.parent_id, func.max(StudyJob.study_id).label("child"))
        .where(StudyJob.parent_id.in_(parent_ids), StudyJob.kind == JobKind.VALIDATION)
        .group_by(StudyJob.parent_id)
        .subquery()
    )
    jobs = session.scalars(select(StudyJob).join(newest, StudyJob.study_id == newest.c.child)).all()
    return {job.parent_id: public_report(session, job) for job in jobs if job.parent_id}


def public_report(session: Session, job: StudyJob) -> dict[str, Any]:
    """A validation's report as the API returns it."""
    found = read_report(session, job.study_id)
    out: dict[str, Any] = {"study_id": job.study_id, "status": job.status}
    if found is None:
        return out
    recommended = next((c for c in found.configs if c.label == found.recommended), None)
    return {
        **out,
        "round": found.round,
        "seeds": found.seeds,
        "runs_done": found.runs_done,
        "runs_total": found.runs_total,
        "complete": found.complete,
        "verdict": found.verdict,
        "recommended": found.recommended,
        "torch_line": (
            StudyConfig.model_validate(job.config)
            .family()
            .torch_line(OptimizerParams(**recommended.params))
            if recommended
            else None
        ),
        "configs": [
            {
                "label": c.label,
                "params": c.params,
                "trial": c.trial,
                "search_value": c.search_value,
                "values": c.values,
                "test_accuracy": c.test_accuracy,
                "mean": c.interval.mean if c.interval else None,
                "ci_low": c.interval.low if c.interval else None,
                "ci_high": c.interval.high if c.interval else None,
                "n": c.interval.n if c.interval else 0,
                "gain": c.gain.mean if c.gain else None,
                "gain_low": c.gain.low if c.gain else None,
                "gain_high": c.gain.high if c.gain else None,
                "wins": c.wins,
            }
            for c in found.configs
        ],
    }


def read_report(session: Session, study_id: int) -> ValidationReport | None:
    plan = session.scalar(
        select(oi.STUDY_USER_ATTRS.c.value_json).where(
            oi.STUDY_USER_ATTRS.c.study_id == study_id,
            oi.STUDY_USER_ATTRS.c.key == VALIDATION_ATTR,
        )
    )
    if plan is None:
        return None
    trials = oi.read_trials(session.connection(), [oi.TRIALS.c.study_id == study_id])
    return report(json.loads(plan), trials)
