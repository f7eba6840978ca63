"""Assemble StudyPublic objects from a handful of grouped queries (no per-trial loading)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from app import queries
from app.jobs import study_config
from app.models import ACTIVE_STATUSES, StudyJob
from app.schemas import BaselineTrial, BestTrial, Progress, StudyPublic, ValidationPublic
from app.validation import latest_reports
from optim.attrs import PARAMS_ATTR
from optim.optimizers import FAMILIES, Family
from optim.params import ALL_NAMES, PARAM_NAMES, OptimizerParams, ParamValue


def study_summaries(session: Session, study_id: int | None = None) -> list[StudyPublic]:
    rows = queries.study_rows(session, study_id)
    ids = [row["study_id"] for row in rows]
    if not ids:
        return []
    counts = queries.state_counts(session, ids)
    for sid, n in queries.reserved_counts(session, ids).items():  # not running yet
        counts[sid]["RUNNING"] -= n
        counts[sid]["RESERVED"] = n
    interrupted = queries.interrupted_counts(session, ids)
    dirs = queries.directions(session, ids)
    best = queries.best_values(session, ids, dirs)
    baselines = queries.baseline_values(session, ids)
    best_params = _best_params(session, best)
    reports = latest_reports(session, [row["study_id"] for row in rows if row["job"] is not None])
    summaries = [
        _summary(row, counts[row["study_id"]], dirs, best, baselines, best_params, reports)
        for row in rows
    ]
    for summary in summaries:
        summary.progress.interrupted = interrupted.get(summary.id, 0)
    return summaries


def _best_params(
    session: Session, best: dict[int, tuple[int, float, int]]
) -> dict[int, dict[str, ParamValue]]:
    """study_id -> the best trial's Adam params (raw Optuna params for foreign studies)."""
    trial_ids = {sid: trial_id for sid, (_, _, trial_id) in best.items()}
    attrs = queries.trial_attrs(session, list(trial_ids.values()))
    params = queries.trial_params(session, list(trial_ids.values()))
    return {
        sid: attrs.get(tid, {}).get(PARAMS_ATTR) or dict(params.get(tid, {}))
        for sid, tid in trial_ids.items()
    }


def _summary(
    row: dict[str, Any],
    counts: dict[str, int],
    dirs: dict[int, str],
    best: dict[int, tuple[int, float, int]],
    baselines: dict[int, tuple[int, float | None]],
    best_params: dict[int, dict[str, ParamValue]],
    reports: dict[int, dict[str, Any]],
) -> StudyPublic:
    sid = row["study_id"]
    job: StudyJob | None = row["job"]
    progress = Progress(
        complete=counts.get("COMPLETE", 0),
        pruned=counts.get("PRUNED", 0),
        failed=counts.get("FAIL", 0),
        running=counts.get("RUNNING", 0),
        reserved=counts.get("RESERVED", 0),
        waiting=counts.get("WAITING", 0),
    )
    progress.finished = progress.complete + progress.pruned
    direction = dirs.get(sid, "minimize")
    config = study_config(job) if job is not None else None
    best_trial = None
    if sid in best:
        number, value, _ = best[sid]
        params = best_params.get(sid, {})
        line = _torch_line(config.family() if config else None, params)
        best_trial = BestTrial(trial=number, value=value, params=params, torch_line=line)
    baseline = None
    if sid in baselines:
        baseline_number, baseline_value = baselines[sid]
        baseline = BaselineTrial(trial=baseline_number, value=baseline_value)
    gain = None
    if best_trial is not None and baseline is not None and baseline.value:
        sign = 1.0 if direction == "minimize" else -1.0
        gain = sign * (baseline.value - best_trial.value) / abs(baseline.value)
    if job is None:  # written by another Optuna script: what its tables say, nothing more
        return StudyPublic(
            id=sid,
            name=row["name"],
            metric="value",
            direction=direction,
            status="read_only",
            read_only=True,
            progress=progress,
            best=best_trial,
            baseline=baseline,
            gain=gain,
            user_attrs=row["user_attrs"],
        )
    assert config is not None
    elapsed = queries.seconds_since(job.started_at, job.finished_at)
    return StudyPublic(
        id=sid,
        name=job.study_name,
        task=job.task,
        metric=config.metric,
        direction=direction,
        status=job.status,
        read_only=False,
        n_trials=job.n_trials,
        epochs=config.resolved_epochs(),
        sampler=config.sampler,
        pruner=config.pruner,
        seed=config.seed,
        optimizer=config.optimizer,
        preset=config.preset,
        starter=config.starter,
        eps_mode=config.eps_mode,
        seeds_per_trial=config.seeds_per_trial,
        space=config.space.model_dump(mode="json"),
        timeout_s=job.timeout_s,
        parallelism=job.parallelism,
        created_at=_utc(job.created_at),
        started_at=_utc(job.started_at),
        finished_at=_utc(job.finished_at),
        progress=progress,
        best=best_trial,
        baseline=baseline,
        gain=gain,
        elapsed_s=elapsed,
        eta_s=_eta(job, progress, elapsed),
        error=job.error,
        kind=job.kind,
        parent_id=job.parent_id,
        comparison_id=job.comparison_id,
        validate_top_k=config.validate_top_k,
        validate_seeds=config.validate_seeds,
        confirm_seeds=config.confirm_seeds,
        validation=ValidationPublic(**reports[sid]) if sid in reports else None,
    )


def _torch_line(family: Family | None, params: dict[str, ParamValue]) -> str | None:
    """The best params as a line to paste. A plain Optuna study (no family) gets Adam's line
    when its params are a whole Adam configuration (betas stored as `one_minus_beta`, as
    adamtune samples them, are read back), else none: it tuned something else."""
    if family is None:
        adam = dict(params)
        for beta in ("beta1", "beta2"):
            if beta not in adam and f"one_minus_{beta}" in adam:
                adam[beta] = 1.0 - float(adam.pop(f"one_minus_{beta}"))
        if not {"lr", "beta1", "beta2", "eps"} <= adam.keys():
            return None
        family = FAMILIES["adam"]
        params = {k: v for k, v in adam.items() if k in PARAM_NAMES}
    known = {k: v for k, v in params.items() if k in ALL_NAMES}
    try:
        merged = OptimizerParams.from_dict({**family.params(family.baseline), **known})
    except (TypeError, ValueError):
        return None  # not a schedule this version can write (params edited by hand)
    return family.torch_line(merged)


def _utc(moment: datetime | None) -> datetime | None:
    """Job times are stored as naive UTC; the API says so with an explicit offset."""
    return moment.replace(tzinfo=UTC) if moment is not None else None


def _eta(job: StudyJob, progress: Progress, elapsed: float | None) -> float | None:
    """Remaining trials times the observed seconds per finished trial (None until one ends)."""
    if job.status not in ACTIVE_STATUSES or elapsed is None or progress.finished == 0:
        return None
    remaining = max(job.n_trials - progress.finished, 0)
    return elapsed / progress.finished * remaining
