"""Validations of a study, as jobs: a selection round started when a search ends (or on
request), its confirmation round started when the selection ends, and the two reported together
from their trials. The statistics are `optim.validation`'s; this module is the service around
them."""

from __future__ import annotations

import json
import logging
from typing import Any

import optuna
from optuna.trial import TrialState
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import Database
from app.jobs import ConflictError, add_status_event, get_job, set_status, study_config
from app.models import ACTIVE_STATUSES, VALIDATION_KINDS, JobKind, JobStatus, StudyJob
from optim import optuna_internals as oi
from optim.attrs import VALIDATION_ATTR
from optim.params import OptimizerParams
from optim.study import load_study, read_config
from optim.validation import (
    CONFIRMATION,
    SELECTION,
    Conclusion,
    ValidationReport,
    candidates,
    conclude,
    confirmation_candidates,
    confirmation_seeds,
    create_validation,
    report,
    round_name,
    selection_seeds,
    used_seeds,
)

log = logging.getLogger("adamtune.validation")


def finish_job(db: Database, storage: optuna.storages.BaseStorage, study_id: int) -> None:
    """Mark a job whose trials are all done: stopped if it was stopping, else completed. A
    completed search that asks for it gets its selection round queued, a completed selection
    its confirmation round. Whoever sees the runner say DONE calls it (a worker, or the API for
    an external study); only the first one acts."""
    with db.session() as session:
        job = get_job(session, study_id)
        if job is None or job.status not in ACTIVE_STATUSES:
            return
        final = JobStatus.STOPPED if job.status == JobStatus.STOPPING else JobStatus.COMPLETED
        set_status(session, job, final)
    log.info("study %s %s", study_id, final)
    if final != JobStatus.COMPLETED:
        return
    try:
        if job.kind == JobKind.VALIDATION:
            child = start_confirmation(db, storage, job)
        else:
            config = study_config(job)
            if job.kind != JobKind.SEARCH or not config.validates():
                return
            child = start_validation(
                db,
                storage,
                job,
                top_k=config.validate_top_k,
                seeds=config.validate_seeds,
                confirm_seeds=config.confirm_seeds,
            )
    except ConflictError as exc:
        log.warning("study %s: no next validation round: %s", study_id, exc)
        return
    if child is not None:
        log.info("study %s: next validation round queued as study %s", study_id, child)


def start_validation(
    db: Database,
    storage: optuna.storages.BaseStorage,
    parent: StudyJob,
    *,
    top_k: int,
    seeds: int,
    confirm_seeds: int,
) -> int:
    """Queue a selection round of `parent`'s best `top_k` configs and the defaults on `seeds`
    fresh seeds (its pick is then confirmed on `confirm_seeds` others); returns its study id.
    409 (ConflictError) while another round runs or with nothing to validate."""
    with db.session(write=False) as session:
        previous = validations(session, parent.study_id)
    if any(job.status in ACTIVE_STATUSES for job in previous):
        raise ConflictError("a validation of this study is already running")
    study, config = load_study(storage, parent.study_name, study_config(parent))
    trials = study.get_trials(deepcopy=False)
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    configs = candidates(
        complete, top_k, config.baseline_params(), maximize=config.direction == "maximize"
    )
    if len(configs) < 2 and config.space.tuned():  # a space tuning nothing: a one-shot baseline
        raise ConflictError("no complete trial other than the defaults to validate yet")
    round_ = sum(1 for job in previous if job.kind == JobKind.VALIDATION)
    name = round_name(parent.study_name, SELECTION, round_)
    fresh = selection_seeds(config.seed, round_, seeds, exclude=used_seeds(trials))
    child = create_validation(
        storage,
        name,
        config,
        configs,
        seeds=fresh,
        round_=round_,
        parent=parent.study_name,
        confirm_seeds=confirm_seeds,
    )
    return _add_job(db, child, parent, JobKind.VALIDATION)


def start_confirmation(
    db: Database, storage: optuna.storages.BaseStorage, selection: StudyJob
) -> int | None:
    """Queue the confirmation round of a finished selection round: its pick and the defaults on
    seeds none of the search's or the selection's; None when it asks for none."""
    study = optuna.load_study(study_name=selection.study_name, storage=storage)
    found = report(study.user_attrs[VALIDATION_ATTR], study.get_trials(deepcopy=False))
    chosen = confirmation_candidates(found)
    if found.confirm_seeds == 0 or chosen is None:
        return None
    with db.session(write=False) as session:
        parent = get_job(session, selection.parent_id) if selection.parent_id else None
    if parent is None:
        return None
    search, config = load_study(storage, parent.study_name, study_config(parent))
    used = set(found.seeds) | used_seeds(search.get_trials(deepcopy=False))
    round_ = found.round
    fresh = confirmation_seeds(config.seed, round_, found.confirm_seeds, exclude=used)
    child = create_validation(
        storage,
        round_name(parent.study_name, CONFIRMATION, round_),
        config,
        chosen,
        seeds=fresh,
        round_=round_,
        parent=parent.study_name,
        phase=CONFIRMATION,
    )
    return _add_job(db, child, parent, JobKind.CONFIRMATION)


def _add_job(db: Database, child: optuna.Study, parent: StudyJob, kind: JobKind) -> int:
    """The job row of a validation round's study, queued."""
    child_id = oi.study_id_of(child)
    child_config = read_config(child.user_attrs)  # as create_validation made it, just now
    assert child_config is not None
    with db.session() as session:
        session.add(
            StudyJob(
                study_id=child_id,
                study_name=child.study_name,
                task=parent.task,
                config=child_config.model_dump(mode="json"),
                n_trials=child_config.n_trials,
                status=JobStatus.QUEUED,
                kind=kind,
                parent_id=parent.study_id,
            )
        )
        session.flush()
        add_status_event(session, child_id, JobStatus.QUEUED)
    return child_id


def validations(session: Session, parent_id: int) -> list[StudyJob]:
    """The validation rounds of a study (selections and confirmations), oldest first."""
    return list(
        session.scalars(
            select(StudyJob)
            .where(StudyJob.parent_id == parent_id, StudyJob.kind.in_(VALIDATION_KINDS))
            .order_by(StudyJob.study_id)
        )
    )


def latest_reports(session: Session, parent_ids: list[int]) -> dict[int, dict[str, Any]]:
    """parent id -> the public form of its newest validation (see `public_report`)."""
    if not parent_ids:
        return {}
    jobs = session.scalars(
        select(StudyJob)
        .where(StudyJob.parent_id.in_(parent_ids), StudyJob.kind.in_(VALIDATION_KINDS))
        .order_by(StudyJob.study_id)
    ).all()
    newest: dict[int, tuple[StudyJob, StudyJob | None]] = {}
    for job in jobs:  # oldest first: a selection, then its confirmation
        assert job.parent_id is not None
        if job.kind == JobKind.VALIDATION:
            newest[job.parent_id] = (job, None)
        elif job.parent_id in newest:
            newest[job.parent_id] = (newest[job.parent_id][0], job)
    return {
        parent: public_report(session, selection, confirmation)
        for parent, (selection, confirmation) in newest.items()
    }


def public_report(
    session: Session, selection: StudyJob, confirmation: StudyJob | None = None
) -> dict[str, Any]:
    """A validation round as the API returns it: the selection's configs, the confirmation's,
    and the one answer (`torch_line`) with whether it is confirmed yet."""
    found = read_report(session, selection.study_id)
    out: dict[str, Any] = {"study_id": selection.study_id, "status": selection.status}
    if found is None:
        return out
    confirm_seeds = found.confirm_seeds
    confirmed = read_report(session, confirmation.study_id) if confirmation else None
    conclusion = conclude(found, confirmed)
    family = study_config(selection).family()
    planned = found.runs_total + min(len(found.configs), 2) * confirm_seeds
    return {
        **out,
        "status": _overall_status(selection, confirmation, confirm_seeds),
        "round": found.round,
        "seeds": found.seeds,
        "selection_seeds": found.seeds,
        "confirmation_seeds": confirmed.seeds if confirmed else [],
        "phase": _phase(found, confirmed, confirm_seeds),
        "runs_done": found.runs_done + (confirmed.runs_done if confirmed else 0),
        "runs_total": (found.runs_total + confirmed.runs_total) if confirmed else planned,
        "complete": found.complete and (confirmed.complete if confirmed else confirm_seeds == 0),
        "confirmed": bool(conclusion and conclusion.confirmed),
        "verdict": conclusion.verdict if conclusion else found.verdict,
        "selection_verdict": found.verdict,
        "picked": found.recommended,
        "recommended": conclusion.label if conclusion else None,
        "torch_line": _line(family, conclusion),
        "configs": _configs(found),
        "confirmation": (
            {
                "study_id": confirmation.study_id,
                "status": confirmation.status,
                "seeds": confirmed.seeds,
                "runs_done": confirmed.runs_done,
                "runs_total": confirmed.runs_total,
                "verdict": confirmed.verdict,
                "configs": _configs(confirmed),
            }
            if confirmation is not None and confirmed is not None
            else None
        ),
    }


def _overall_status(selection: StudyJob, confirmation: StudyJob | None, confirm_seeds: int) -> str:
    """Running while either round runs, or while a finished selection waits for its
    confirmation to be queued; else the last round's status."""
    if confirmation is not None:
        return confirmation.status
    if selection.status == JobStatus.COMPLETED and confirm_seeds > 0:
        return JobStatus.RUNNING
    return selection.status


def _phase(found: ValidationReport, confirmed: ValidationReport | None, confirm_seeds: int) -> str:
    if confirmed is not None:
        return "done" if confirmed.complete else CONFIRMATION
    if found.complete and confirm_seeds > 0:
        return CONFIRMATION
    return "selection" if not found.complete else "done"


def _line(family: Any, conclusion: Conclusion | None) -> str | None:
    return family.torch_line(OptimizerParams.from_dict(conclusion.params)) if conclusion else None


def _configs(found: ValidationReport) -> list[dict[str, Any]]:
    return [
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
    ]


def read_report(session: Session, study_id: int) -> ValidationReport | None:
    plan = oi.study_attr_json(session, study_id, VALIDATION_ATTR)
    if plan is None:
        return None
    trials = oi.study_trials(session, study_id)
    return report(json.loads(plan), trials)
