"""The hot read paths: plain indexed SQL on Optuna's tables and adamtune's, never a full reload.

Every function takes a Session and returns plain dicts/lists shaped for `app.schemas`.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Float, Integer, and_, case, cast, exists, func, select
from sqlalchemy.orm import Session

from app.models import ACTIVE_STATUSES, Event, EventKind, StudyJob, utcnow
from optim import optuna_internals as oi
from optim.attrs import (
    BASELINE_ATTR,
    CONFIG_ATTR,
    DEVICE_ATTR,
    FAIL_REASON_ATTR,
    INTERRUPT_REASON_ATTR,
    METRICS_ATTR,
    PARAMS_ATTR,
    PRUNE_REASON_ATTR,
    REASON_ATTRS,
    RESERVED_ATTR,
    RETRY_HISTORY_ATTR,
    RUNNER_ATTR,
    SEEDS_ATTR,
)

POINT_FIELDS = ("trial", "epoch", "train_loss", "val_loss", "val_accuracy")
TRIAL_ATTRS = (
    PARAMS_ATTR, BASELINE_ATTR, SEEDS_ATTR, METRICS_ATTR, RUNNER_ATTR, DEVICE_ATTR, RESERVED_ATTR,
    *REASON_ATTRS,
)  # fmt: skip


def study_ref(session: Session, study_id: int) -> tuple[str, bool] | None:
    """(name, read_only) of a study in one indexed lookup, or None when there is none."""
    row = session.execute(
        select(oi.STUDIES.c.study_name, StudyJob.study_id)
        .outerjoin(StudyJob, StudyJob.study_id == oi.STUDIES.c.study_id)
        .where(oi.STUDIES.c.study_id == study_id)
    ).first()
    return None if row is None else (row[0], row[1] is None)


def state_counts(session: Session, study_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """study_id -> {state: number of trials}."""
    ids = list(study_ids)
    counts: dict[int, dict[str, int]] = {sid: {} for sid in ids}
    rows = session.execute(
        select(oi.TRIALS.c.study_id, oi.TRIALS.c.state, func.count())
        .where(oi.TRIALS.c.study_id.in_(ids))
        .group_by(oi.TRIALS.c.study_id, oi.TRIALS.c.state)
    )
    for study_id, state, n in rows:
        counts[study_id][state] = n
    return counts


def reserved_counts(session: Session, study_ids: Iterable[int]) -> dict[int, int]:
    """study_id -> its RUNNING trials asked ahead by a runner and not reported on yet (reserved:
    the runner's loop has not started them), for the studies that have any."""
    reported = exists().where(oi.INTERMEDIATE.c.trial_id == oi.TRIALS.c.trial_id)
    rows = session.execute(
        select(oi.TRIALS.c.study_id, func.count())
        .join(oi.USER_ATTRS, oi.USER_ATTRS.c.trial_id == oi.TRIALS.c.trial_id)
        .where(
            oi.TRIALS.c.study_id.in_(list(study_ids)),
            oi.TRIALS.c.state == "RUNNING",
            oi.USER_ATTRS.c.key == RESERVED_ATTR,
            ~reported,
        )
        .group_by(oi.TRIALS.c.study_id)
    )
    return {study_id: n for study_id, n in rows}


def interrupted_counts(session: Session, study_ids: Iterable[int]) -> dict[int, int]:
    """study_id -> its interrupted trials: FAILs with an interrupt reason (a stop, a worker
    shutting down), whose params were queued again; they do not count towards n_trials."""
    ids = list(study_ids)
    rows = session.execute(
        select(oi.TRIALS.c.study_id, func.count())
        .join(oi.USER_ATTRS, oi.USER_ATTRS.c.trial_id == oi.TRIALS.c.trial_id)
        .where(
            oi.TRIALS.c.study_id.in_(ids),
            oi.TRIALS.c.state == "FAIL",
            oi.USER_ATTRS.c.key == INTERRUPT_REASON_ATTR,
        )
        .group_by(oi.TRIALS.c.study_id)
    )
    return dict(rows.all())


def rerun_numbers(session: Session, study_id: int) -> dict[int, int]:
    """Interrupted trial number -> the number of the trial that re-runs its params (the last
    entry of the re-run's retry history, as `optim.storage.retry_trial` writes it)."""
    rows = session.execute(
        select(oi.TRIALS.c.number, oi.SYSTEM_ATTRS.c.value_json)
        .join(oi.SYSTEM_ATTRS, oi.SYSTEM_ATTRS.c.trial_id == oi.TRIALS.c.trial_id)
        .where(oi.TRIALS.c.study_id == study_id, oi.SYSTEM_ATTRS.c.key == RETRY_HISTORY_ATTR)
    )
    out: dict[int, int] = {}
    for number, value in rows:
        history = json.loads(value)
        if isinstance(history, list) and history:
            out[int(history[-1])] = number
    return out


def directions(session: Session, study_ids: Iterable[int]) -> dict[int, str]:
    rows = session.execute(
        select(oi.STUDY_DIRECTIONS.c.study_id, oi.STUDY_DIRECTIONS.c.direction).where(
            oi.STUDY_DIRECTIONS.c.study_id.in_(list(study_ids)),
            oi.STUDY_DIRECTIONS.c.objective == 0,
        )
    )
    return {sid: d.lower() for sid, d in rows}


def best_values(
    session: Session, study_ids: Sequence[int], dirs: dict[int, str]
) -> dict[int, tuple[int, float, int]]:
    """study_id -> (trial number, value, trial_id) of its best COMPLETE trial."""
    out: dict[int, tuple[int, float, int]] = {}
    for direction, agg in (("minimize", func.min), ("maximize", func.max)):
        ids = [sid for sid in study_ids if dirs.get(sid, "minimize") == direction]
        if not ids:
            continue
        best = (
            select(oi.TRIALS.c.study_id, agg(oi.VALUES.c.value).label("v"))
            .join(oi.VALUES, oi.VALUES.c.trial_id == oi.TRIALS.c.trial_id)
            .where(
                oi.TRIALS.c.study_id.in_(ids),
                oi.TRIALS.c.state == "COMPLETE",
                oi.VALUES.c.objective == 0,
            )
            .group_by(oi.TRIALS.c.study_id)
            .subquery()
        )
        rows = session.execute(
            select(oi.TRIALS.c.study_id, oi.TRIALS.c.number, best.c.v, oi.TRIALS.c.trial_id)
            .join(oi.VALUES, oi.VALUES.c.trial_id == oi.TRIALS.c.trial_id)
            .join(
                best,
                and_(best.c.study_id == oi.TRIALS.c.study_id, best.c.v == oi.VALUES.c.value),
            )
            .where(oi.TRIALS.c.state == "COMPLETE", oi.VALUES.c.objective == 0)
            .order_by(oi.TRIALS.c.number.desc())
        )
        for study_id, number, value, trial_id in rows:
            out[study_id] = (number, value, trial_id)  # ascending overwrite: lowest number wins
    return out


def baseline_values(
    session: Session, study_ids: Sequence[int]
) -> dict[int, tuple[int, float | None]]:
    """study_id -> (trial number, value or None) of its default-Adam baseline trial."""
    rows = session.execute(
        select(oi.TRIALS.c.study_id, oi.TRIALS.c.number, oi.VALUES.c.value)
        .join(oi.USER_ATTRS, oi.USER_ATTRS.c.trial_id == oi.TRIALS.c.trial_id)
        .outerjoin(
            oi.VALUES,
            and_(oi.VALUES.c.trial_id == oi.TRIALS.c.trial_id, oi.TRIALS.c.state == "COMPLETE"),
        )
        .where(
            oi.TRIALS.c.study_id.in_(list(study_ids)),
            oi.USER_ATTRS.c.key == BASELINE_ATTR,
        )
    )
    return {sid: (number, value) for sid, number, value in rows}


def study_rows(session: Session, study_id: int | None = None) -> list[dict[str, Any]]:
    """Every study (or one), with its job row when adamtune launched it, newest first. The
    list leaves out validations: they are shown with their search."""
    query = (
        select(oi.STUDIES.c.study_id, oi.STUDIES.c.study_name, StudyJob)
        .outerjoin(StudyJob, StudyJob.study_id == oi.STUDIES.c.study_id)
        .order_by(oi.STUDIES.c.study_id.desc())
    )
    if study_id is not None:
        query = query.where(oi.STUDIES.c.study_id == study_id)
    else:
        query = query.where(StudyJob.parent_id.is_(None))
    rows = session.execute(query).all()
    foreign_ids = [sid for sid, _, job in rows if job is None]
    foreign_attrs = _study_attrs(session, foreign_ids)
    return [
        {"study_id": sid, "name": name, "job": job, "user_attrs": foreign_attrs.get(sid, {})}
        for sid, name, job in rows
    ]


def _study_attrs(session: Session, study_ids: list[int]) -> dict[int, dict[str, Any]]:
    if not study_ids:
        return {}
    out: dict[int, dict[str, Any]] = defaultdict(dict)
    rows = session.execute(
        select(
            oi.STUDY_USER_ATTRS.c.study_id,
            oi.STUDY_USER_ATTRS.c.key,
            oi.STUDY_USER_ATTRS.c.value_json,
        ).where(
            oi.STUDY_USER_ATTRS.c.study_id.in_(study_ids),
            oi.STUDY_USER_ATTRS.c.key != CONFIG_ATTR,
        )
    )
    for sid, key, value in rows:
        out[sid][key] = json.loads(value)
    return out


def trial_attrs(session: Session, trial_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """trial_id -> the user attributes adamtune reads (params, baseline, reasons)."""
    out: dict[int, dict[str, Any]] = defaultdict(dict)
    if not trial_ids:
        return out
    rows = session.execute(
        select(
            oi.USER_ATTRS.c.trial_id,
            oi.USER_ATTRS.c.key,
            oi.USER_ATTRS.c.value_json,
        ).where(
            oi.USER_ATTRS.c.trial_id.in_(list(trial_ids)),
            oi.USER_ATTRS.c.key.in_(TRIAL_ATTRS),
        )
    )
    for trial_id, key, value in rows:
        out[trial_id][key] = json.loads(value)
    return out


def trial_params(session: Session, trial_ids: Sequence[int]) -> dict[int, dict[str, float]]:
    """trial_id -> Optuna's stored params (internal representation: floats)."""
    out: dict[int, dict[str, float]] = defaultdict(dict)
    if not trial_ids:
        return out
    rows = session.execute(
        select(oi.PARAMS.c.trial_id, oi.PARAMS.c.param_name, oi.PARAMS.c.param_value).where(
            oi.PARAMS.c.trial_id.in_(list(trial_ids))
        )
    )
    for trial_id, name, value in rows:
        out[trial_id][name] = value
    return out


def epochs_trained(session: Session, study_ids: Sequence[int]) -> dict[int, int]:
    """study_id -> epochs its trials reported, pruned and interrupted ones included: the budget
    a study spent."""
    if not study_ids:
        return {}
    rows = session.execute(
        select(oi.TRIALS.c.study_id, func.count())
        .select_from(
            oi.INTERMEDIATE.join(oi.TRIALS, oi.TRIALS.c.trial_id == oi.INTERMEDIATE.c.trial_id)
        )
        .where(oi.TRIALS.c.study_id.in_(list(study_ids)))
        .group_by(oi.TRIALS.c.study_id)
    )
    return dict(rows.all())


def epochs_done(session: Session, trial_ids: Sequence[int]) -> dict[int, int]:
    if not trial_ids:
        return {}
    rows = session.execute(
        select(oi.INTERMEDIATE.c.trial_id, func.count())
        .where(oi.INTERMEDIATE.c.trial_id.in_(list(trial_ids)))
        .group_by(oi.INTERMEDIATE.c.trial_id)
    )
    return dict(rows.all())


def _sort_column(sort: str, dialect: str) -> Any:
    """The ORDER BY expression of a trials page; durations need each database's date maths."""
    if sort == "number":
        return oi.TRIALS.c.number
    if sort == "value":
        return oi.VALUES.c.value
    end = func.coalesce(oi.TRIALS.c.datetime_complete, oi.TRIALS.c.datetime_start)
    if dialect == "sqlite":
        return _sqlite_seconds(end) - _sqlite_seconds(oi.TRIALS.c.datetime_start)
    return func.extract("epoch", end - oi.TRIALS.c.datetime_start)


def _sqlite_seconds(column: Any) -> Any:
    """Seconds since the epoch to the microsecond from SQLite's 'YYYY-MM-DD HH:MM:SS.ffffff' text.

    SQLite's own date functions (julianday, unixepoch) keep only milliseconds, which orders
    trials a few hundred microseconds apart the wrong way round; whole seconds come from
    strftime and the fraction from the text itself.
    """
    whole = cast(func.strftime("%s", func.substr(column, 1, 19)), Integer)
    fraction = cast(func.substr(column, 20), Float)
    return whole + fraction


def trials_page(
    session: Session,
    study_id: int,
    *,
    offset: int = 0,
    limit: int = 50,
    sort: str = "number",
    order: str = "asc",
    state: str | None = None,
    numbers: Sequence[int] | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    """(total matching, one page of trials) with params, value, reason and duration."""
    where = [oi.TRIALS.c.study_id == study_id]
    if state is not None:
        where.append(oi.TRIALS.c.state == state)
    if numbers is not None:
        where.append(oi.TRIALS.c.number.in_(list(numbers)))
    total = session.scalar(select(func.count()).select_from(oi.TRIALS).where(*where)) or 0
    sort_col = _sort_column(sort, session.get_bind().dialect.name)
    ordering = [sort_col.asc() if order == "asc" else sort_col.desc()]
    if sort == "value":
        # only a COMPLETE trial's value is a result (a pruned trial's is its last intermediate
        # value): complete trials rank by value, the others follow, in either order
        ordering = [
            case((oi.TRIALS.c.state == "COMPLETE", 0), else_=1),
            ordering[0].nulls_last(),
        ]
    rows = session.execute(
        select(
            oi.TRIALS.c.trial_id,
            oi.TRIALS.c.number,
            oi.TRIALS.c.state,
            oi.TRIALS.c.datetime_start,
            oi.TRIALS.c.datetime_complete,
            oi.VALUES.c.value,
        )
        .outerjoin(
            oi.VALUES,
            and_(oi.VALUES.c.trial_id == oi.TRIALS.c.trial_id, oi.VALUES.c.objective == 0),
        )
        .where(*where)
        .order_by(*ordering, oi.TRIALS.c.number.asc())
        .offset(offset)
        .limit(limit)
    ).all()
    trials = describe_trials(session, rows)
    if any(t["interrupted"] for t in trials):
        reruns = rerun_numbers(session, study_id)
        for t in trials:
            t["rerun_as"] = reruns.get(t["number"]) if t["interrupted"] else None
    return total, trials


def describe_trials(session: Session, rows: Sequence[Any]) -> list[dict[str, Any]]:
    ids = [row.trial_id for row in rows]
    attrs = trial_attrs(session, ids)
    params = trial_params(session, ids)
    done = epochs_done(session, ids)
    now = oi.optuna_now()
    out = []
    for row in rows:
        a = attrs.get(row.trial_id, {})
        start, end = row.datetime_start, row.datetime_complete
        duration = ((end or now) - start).total_seconds() if start is not None else None
        out.append(
            {
                "number": row.number,
                "state": row.state,
                "value": row.value,
                "baseline": bool(a.get(BASELINE_ATTR, False)),
                "params": a.get(PARAMS_ATTR) or params.get(row.trial_id, {}),
                "datetime_start": oi.as_utc(start),
                "datetime_complete": oi.as_utc(end),
                "duration_s": duration,
                "epochs_done": done.get(row.trial_id, 0),
                "seeds": a.get(SEEDS_ATTR) or [],
                "metrics": a.get(METRICS_ATTR),
                "runner": a.get(RUNNER_ATTR),
                "device": a.get(DEVICE_ATTR),
                "reserved": (
                    row.state == "RUNNING"
                    and bool(a.get(RESERVED_ATTR))
                    and not done.get(row.trial_id, 0)
                ),
                "reason": (
                    a.get(PRUNE_REASON_ATTR)
                    or a.get(FAIL_REASON_ATTR)
                    or a.get(INTERRUPT_REASON_ATTR)
                ),
                "interrupted": row.state == "FAIL" and INTERRUPT_REASON_ATTR in a,
            }
        )
    return out


def empty_points() -> dict[str, list[Any]]:
    return {field: [] for field in POINT_FIELDS}


def trial_count(session: Session, study_id: int, numbers: Sequence[int] | None = None) -> int:
    """The study's trials (only those numbered `numbers`, when given)."""
    query = select(func.count()).select_from(oi.TRIALS).where(oi.TRIALS.c.study_id == study_id)
    if numbers is not None:
        query = query.where(oi.TRIALS.c.number.in_(list(numbers)))
    return session.scalar(query) or 0


def curve_trial_selection(
    session: Session, study_id: int, max_trials: int
) -> tuple[int, list[int]]:
    """(number of trials, the numbers whose curves a first load shows): all when few, else the
    baseline, the best ones and the most recent ones, at most `max_trials` in all."""
    total = (
        session.scalar(
            select(func.count()).select_from(oi.TRIALS).where(oi.TRIALS.c.study_id == study_id)
        )
        or 0
    )
    if total <= max_trials:
        return total, []  # empty means "all"
    chosen: set[int] = set()
    baseline = baseline_values(session, [study_id]).get(study_id)
    if baseline is not None:
        chosen.add(baseline[0])
    direction = directions(session, [study_id]).get(study_id, "minimize")
    by_value = oi.VALUES.c.value.asc() if direction == "minimize" else oi.VALUES.c.value.desc()
    best = session.scalars(
        select(oi.TRIALS.c.number)
        .join(oi.VALUES, oi.VALUES.c.trial_id == oi.TRIALS.c.trial_id)
        .where(oi.TRIALS.c.study_id == study_id, oi.TRIALS.c.state == "COMPLETE")
        .order_by(by_value)
        .limit(max_trials // 4)
    )
    chosen.update(best)
    recent = session.scalars(
        select(oi.TRIALS.c.number)
        .where(oi.TRIALS.c.study_id == study_id)
        .order_by(oi.TRIALS.c.number.desc())
        .limit(max_trials - len(chosen))
    )
    chosen.update(recent)
    return total, sorted(chosen)[:max_trials] if len(chosen) > max_trials else sorted(chosen)


def job_curve_points(
    session: Session, study_id: int, after: int, numbers: Sequence[int]
) -> tuple[int, dict[str, list[Any]]]:
    """(cursor, columnar points) of epoch events after `after`, for `numbers` (empty: all)."""
    query = select(
        Event.id,
        Event.trial_number,
        Event.epoch,
        Event.train_loss,
        Event.val_loss,
        Event.val_accuracy,
    ).where(Event.study_id == study_id, Event.kind == EventKind.EPOCH)
    if after > 0:
        query = query.where(Event.id > after)
    if numbers:
        # a selection of a big study's trials: ordering by (trial, epoch) lets SQLite walk the
        # (study_id, trial_number) index; ordering by id makes it scan every epoch of the study
        query = query.where(Event.trial_number.in_(list(numbers))).order_by(
            Event.trial_number, Event.epoch
        )
    else:
        query = query.order_by(Event.id)
    points = empty_points()
    cursor = after
    for row in session.execute(query):
        cursor = max(cursor, row[0])
        for field, value in zip(POINT_FIELDS, row[1:], strict=True):
            points[field].append(value)
    # this study's newest event: the cursor never takes another study's ids
    return max(cursor, latest_event_id(session, study_id)), points


def foreign_curve_points(
    session: Session, study_id: int, after: int, numbers: Sequence[int]
) -> tuple[int, dict[str, list[Any]]]:
    """The same for a study a plain Optuna script wrote: its intermediate values are the curve."""
    iv = oi.INTERMEDIATE
    query = (
        select(
            iv.c.trial_intermediate_value_id, oi.TRIALS.c.number, iv.c.step, iv.c.intermediate_value
        )
        .join(oi.TRIALS, oi.TRIALS.c.trial_id == iv.c.trial_id)
        .where(oi.TRIALS.c.study_id == study_id, iv.c.trial_intermediate_value_id > after)
    )
    if numbers:
        query = query.where(oi.TRIALS.c.number.in_(list(numbers)))
    points = empty_points()
    cursor = after
    for value_id, number, step, value in session.execute(
        query.order_by(iv.c.trial_intermediate_value_id)
    ):
        cursor = value_id
        points["trial"].append(number)
        points["epoch"].append(step)
        points["train_loss"].append(None)
        points["val_loss"].append(value)
        points["val_accuracy"].append(None)
    return cursor, points


def changed_trial_numbers(session: Session, study_id: int, after: int) -> list[int]:
    """Trials that started or finished after the cursor (their state or params changed).

    One range scan per kind on (study_id, kind, id); a DISTINCT over both kinds makes SQLite
    pick the (study_id, trial_number) index and scan the whole study instead.
    """
    numbers: set[int] = set()
    for kind in (EventKind.TRIAL_STARTED, EventKind.TRIAL_FINISHED):
        numbers.update(
            session.scalars(
                select(Event.trial_number).where(
                    Event.study_id == study_id, Event.kind == kind, Event.id > after
                )
            )
        )
    return sorted(numbers)


def latest_event_id(session: Session, study_id: int) -> int:
    """The study's newest event id (0: none); an index lookup on (study_id, id)."""
    return session.scalar(select(func.max(Event.id)).where(Event.study_id == study_id)) or 0


def events_after(session: Session, study_id: int, after: int, limit: int = 1000) -> list[Event]:
    return list(
        session.scalars(
            select(Event)
            .where(Event.study_id == study_id, Event.id > after)
            .order_by(Event.id)
            .limit(limit)
        )
    )


def active_job_count(session: Session) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(StudyJob).where(StudyJob.status.in_(ACTIVE_STATUSES))
        )
        or 0
    )


def seconds_since(moment: datetime | None, until: datetime | None = None) -> float | None:
    if moment is None:
        return None
    return ((until or utcnow()) - moment).total_seconds()
