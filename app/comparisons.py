"""Comparisons: one study per optimizer family on one task, under the same budget, sampler,
pruner and root seed, run interleaved (a stopped comparison has spent the same on each), each
family's winner validated on the same fresh seeds, compared seed by seed with the first family.

A tuning-free family (Schedule-Free AdamW, Prodigy) is a one-shot baseline unless the comparison
asks to tune it: its study's space tunes nothing, so its one trial is its published defaults, and
its validation trains those alone on the same selection and confirmation seeds as the others'
(`optim.validation`), so it is compared seed by seed like any family's pick. The report gives
each family's compute: the epochs and seconds its search and validation trials trained.

A comparison is a row of `adamtune_comparisons` and the jobs that carry its id; each study is an
ordinary study (its own page, its own validation), so nothing here runs trials.
"""

from __future__ import annotations

from typing import Any, cast

import optuna
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app import queries
from app.config import Settings
from app.db import Database
from app.jobs import ConflictError, create_job, delete_job, stop_job, study_config
from app.models import ACTIVE_STATUSES, Comparison, JobKind, StudyJob, utcnow
from app.schemas import ComparisonCreate, StudyCreate
from app.validation import latest_reports, validations
from optim.advice import Entry, advise, tuning_worth, versus
from optim.optimizers import FAMILIES
from optim.space import fixed_space


def create_comparison(
    db: Database,
    storage: optuna.storages.BaseStorage,
    payload: ComparisonCreate,
    settings: Settings,
) -> int:
    """The comparison and its studies (queued); its id. Nothing is left if a study fails."""
    with db.session(write=False) as session:
        active = session.scalar(
            select(func.count()).where(StudyJob.status.in_(ACTIVE_STATUSES))
        ) or 0  # fmt: skip
    if active + len(payload.optimizers) > settings.max_concurrent_studies:
        raise ConflictError(
            f"a comparison of {len(payload.optimizers)} optimizers would exceed "
            f"{settings.max_concurrent_studies} studies queued or running "
            "(ADAMTUNE_MAX_CONCURRENT_STUDIES); stop one or wait"
        )
    name = payload.name or f"compare-{payload.task}-{utcnow():%Y%m%d-%H%M%S-%f}"
    with db.session() as session:
        if session.scalar(select(Comparison.id).where(Comparison.name == name)) is not None:
            raise ConflictError(f"a comparison named {name!r} already exists")
        comparison = Comparison(
            name=name, task=payload.task, config=payload.model_dump(mode="json")
        )
        session.add(comparison)
        session.flush()
        comparison_id = comparison.id
    made: list[tuple[int, str]] = []
    try:
        for optimizer in payload.optimizers:
            study = StudyCreate.model_validate(
                {
                    **payload.study_fields(),
                    "optimizer": optimizer,
                    "name": f"{name} / {optimizer}",
                    "validate_top_k": 1,  # the family's winner, against its own defaults
                    **_one_shot_fields(optimizer, payload),
                }
            )
            made.append(
                (create_job(db, storage, study, settings, comparison_id=comparison_id),
                 study.name or "")
            )  # fmt: skip
    except BaseException:
        for study_id, study_name in made:
            delete_job(db, storage, study_id, study_name)
        with db.session() as session:
            session.execute(delete(Comparison).where(Comparison.id == comparison_id))
        raise
    return comparison_id


def _one_shot_fields(optimizer: str, payload: ComparisonCreate) -> dict[str, Any]:
    """A tuning-free family's study as a one-shot baseline: one trial, its defaults, nothing
    tuned (the sampler and pruner have nothing to do); {} for a family that is searched."""
    family = FAMILIES[optimizer]
    if not family.tuning_free or payload.tune_tuning_free:
        return {}
    space = fixed_space(family.baseline).model_dump(mode="json")
    return {"n_trials": 1, "sampler": "random", "pruner": "none", "space": space}


def comparison_jobs(session: Session, comparison_id: int) -> list[StudyJob]:
    return list(
        session.scalars(
            select(StudyJob)
            .where(StudyJob.comparison_id == comparison_id, StudyJob.kind == JobKind.SEARCH)
            .order_by(StudyJob.study_id)
        )
    )


def stop_comparison(db: Database, comparison_id: int) -> None:
    with db.session(write=False) as session:
        ids = [job.study_id for job in comparison_jobs(session, comparison_id)]
    for study_id in ids:
        try:
            stop_job(db, study_id)
        except ConflictError:
            continue  # already finished


def delete_comparison(
    db: Database, storage: optuna.storages.BaseStorage, comparison_id: int
) -> None:
    with db.session(write=False) as session:
        jobs = [(j.study_id, j.study_name) for j in comparison_jobs(session, comparison_id)]
    for study_id, name in jobs:
        delete_job(db, storage, study_id, name)
    with db.session() as session:
        session.execute(delete(Comparison).where(Comparison.id == comparison_id))


def comparison_report(session: Session, comparison: Comparison) -> dict[str, Any]:
    """Per optimizer: status, progress, the compute it spent (epochs and seconds its search's
    and its validation rounds' trials trained), the config its validation settled on (measured
    on the confirmation seeds, shared by every family); then each family against the first,
    seed by seed, and one line of advice."""
    jobs = comparison_jobs(session, comparison.id)
    reports = latest_reports(session, [job.study_id for job in jobs])
    rounds = {job.study_id: [r.study_id for r in validations(session, job.study_id)]
              for job in jobs}  # fmt: skip
    every = [*rounds, *(r for ids in rounds.values() for r in ids)]
    epochs = queries.epochs_trained(session, every)
    seconds = queries.trial_seconds(session, every)
    rows = []
    entries: list[Entry | None] = []
    for job in jobs:
        config = study_config(job)
        family = config.family()
        validation = reports.get(job.study_id) or {}
        answer, seeds = _answer(validation)
        tuned = len(config.space.tuned())
        validation_epochs = sum(epochs.get(r, 0) for r in rounds[job.study_id])
        validation_s = sum(seconds.get(r, 0.0) for r in rounds[job.study_id])
        rows.append(
            {
                "optimizer": family.name,
                "label": family.label,
                "study_id": job.study_id,
                "status": job.status,
                "validation_status": validation.get("status"),
                "epochs_trained": epochs.get(job.study_id, 0),
                "wall_s": _seconds(job),
                "one_shot": tuned == 0,
                "tuned": tuned,
                "search_s": seconds.get(job.study_id, 0.0),
                "validation_epochs": validation_epochs,
                "validation_s": validation_s,
                "total_epochs": epochs.get(job.study_id, 0) + validation_epochs,
                "total_s": seconds.get(job.study_id, 0.0) + validation_s,
                "winner": answer,
                "confirmed": bool(validation.get("confirmed")),
                "verdict": validation.get("verdict") or None,
                "seeds": seeds,
                "torch_line": validation.get("torch_line") if answer else None,
            }
        )
        entries.append(
            Entry(family.name, family.label, answer["params"], answer["values"],
                  tuned, validation["torch_line"])
            if answer and validation.get("confirmed") and validation.get("torch_line")
            else None
        )  # fmt: skip
    verdicts: list[str] = []
    advice = recommended = None
    if rows and entries[0] is not None:
        reference = entries[0]
        results = []
        for row, entry in zip(rows[1:], entries[1:], strict=True):
            if entry is None or row["seeds"] != rows[0]["seeds"]:
                continue
            result = versus(entry, reference)
            results.append(result)
            verdicts.append(result.sentence)
            if row["one_shot"] and not rows[0]["one_shot"]:  # was tuning worth its compute?
                verdicts.append(
                    tuning_worth(reference, entry, trials=study_config(jobs[0]).n_trials,
                                 spent_epochs=cast(int, rows[0]["total_epochs"]),
                                 run_epochs=study_config(jobs[0]).resolved_epochs())
                )  # fmt: skip
            if result.gain is not None:
                row.update(gain=result.gain.mean, gain_low=result.gain.low,
                           gain_high=result.gain.high, wins=result.wins)  # fmt: skip
        if len(results) == len(rows) - 1:  # every family measured: the advice can be given
            chosen, advice = advise(reference, results)
            recommended = chosen.name
    return {
        "id": comparison.id,
        "name": comparison.name,
        "task": comparison.task,
        "config": comparison.config,
        "created_at": comparison.created_at,
        "studies": rows,
        "verdicts": verdicts,
        "advice": advice,
        "recommended": recommended,
        "complete": bool(rows) and all(r["validation_status"] == "completed" for r in rows),
    }


def _answer(validation: dict[str, Any]) -> tuple[dict[str, Any] | None, list[int]]:
    """The config a family's validation settled on, as measured on the seeds families share
    (the confirmation's once it ran, else the selection's), and those seeds."""
    confirmation = validation.get("confirmation")
    found = confirmation or validation
    label = validation.get("recommended")
    answer = next((c for c in found.get("configs", []) if c["label"] == label), None)
    return answer, found.get("seeds", []) if answer else []


def _seconds(job: StudyJob) -> float | None:
    if job.started_at is None:
        return None
    return ((job.finished_at or utcnow()) - job.started_at).total_seconds()
