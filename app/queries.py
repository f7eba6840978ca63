"""The hot read paths: plain indexed SQL on Optuna's tables and adamtune's, never a full reload.

Every function takes a Session and returns plain dicts/lists shaped for `app.schemas`.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Float, Integer, and_, case, cast, func, select
from sqlalchemy.orm import Session

from app import optuna_tables as ot
from app.models import Event, EventKind, JobStatus, StudyJob, utcnow
from optim.attrs import ADAM_PARAMS_ATTR, BASELINE_ATTR, CONFIG_ATTR, PRUNE_REASON_ATTR
from optim.space import DIMENSIONS, SearchSpace

FAIL_REASON_ATTR = "fail_reason"
FINISHED_STATES = ("COMPLETE", "PRUNED")
POINT_FIELDS = ("trial", "epoch", "train_loss", "val_loss", "val_accuracy")
TRIAL_ATTRS = (ADAM_PARAMS_ATTR, BASELINE_ATTR, PRUNE_REASON_ATTR, FAIL_REASON_ATTR)


def study_ref(session: Session, study_id: int) -> tuple[str, bool] | None:
    """(name, read_only) of a study in one indexed lookup, or None when there is none."""
    row = session.execute(
        select(ot.studies.c.study_name, StudyJob.study_id)
        .outerjoin(StudyJob, StudyJob.study_id == ot.studies.c.study_id)
        .where(ot.studies.c.study_id == study_id)
    ).first()
    return None if row is None else (row[0], row[1] is None)


def state_counts(session: Session, study_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """study_id -> {state: number of trials}."""
    ids = list(study_ids)
    counts: dict[int, dict[str, int]] = {sid: {} for sid in ids}
    rows = session.execute(
        select(ot.trials.c.study_id, ot.trials.c.state, func.count())
        .where(ot.trials.c.study_id.in_(ids))
        .group_by(ot.trials.c.study_id, ot.trials.c.state)
    )
    for study_id, state, n in rows:
        counts[study_id][state] = n
    return counts


def terminal_failures(session: Session, study_id: int) -> int:
    """Failed trials that will not be retried (the objective raised), as opposed to trials of a
    dead worker, which Optuna's heartbeat fails and re-enqueues."""
    return (
        session.scalar(
            select(func.count())
            .select_from(
                ot.trials.join(
                    ot.trial_user_attributes,
                    ot.trials.c.trial_id == ot.trial_user_attributes.c.trial_id,
                )
            )
            .where(
                ot.trials.c.study_id == study_id,
                ot.trials.c.state == "FAIL",
                ot.trial_user_attributes.c.key == FAIL_REASON_ATTR,
            )
        )
        or 0
    )


def directions(session: Session, study_ids: Iterable[int]) -> dict[int, str]:
    rows = session.execute(
        select(ot.study_directions.c.study_id, ot.study_directions.c.direction).where(
            ot.study_directions.c.study_id.in_(list(study_ids)),
            ot.study_directions.c.objective == 0,
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
            select(ot.trials.c.study_id, agg(ot.trial_values.c.value).label("v"))
            .join(ot.trial_values, ot.trial_values.c.trial_id == ot.trials.c.trial_id)
            .where(
                ot.trials.c.study_id.in_(ids),
                ot.trials.c.state == "COMPLETE",
                ot.trial_values.c.objective == 0,
            )
            .group_by(ot.trials.c.study_id)
            .subquery()
        )
        rows = session.execute(
            select(ot.trials.c.study_id, ot.trials.c.number, best.c.v, ot.trials.c.trial_id)
            .join(ot.trial_values, ot.trial_values.c.trial_id == ot.trials.c.trial_id)
            .join(
                best,
                and_(best.c.study_id == ot.trials.c.study_id, best.c.v == ot.trial_values.c.value),
            )
            .where(ot.trials.c.state == "COMPLETE", ot.trial_values.c.objective == 0)
            .order_by(ot.trials.c.number.desc())
        )
        for study_id, number, value, trial_id in rows:
            out[study_id] = (number, value, trial_id)  # ascending overwrite: lowest number wins
    return out


def baseline_values(
    session: Session, study_ids: Sequence[int]
) -> dict[int, tuple[int, float | None]]:
    """study_id -> (trial number, value or None) of its default-Adam baseline trial."""
    rows = session.execute(
        select(ot.trials.c.study_id, ot.trials.c.number, ot.trial_values.c.value)
        .join(ot.trial_user_attributes, ot.trial_user_attributes.c.trial_id == ot.trials.c.trial_id)
        .outerjoin(
            ot.trial_values,
            and_(
                ot.trial_values.c.trial_id == ot.trials.c.trial_id, ot.trials.c.state == "COMPLETE"
            ),
        )
        .where(
            ot.trials.c.study_id.in_(list(study_ids)),
            ot.trial_user_attributes.c.key == BASELINE_ATTR,
        )
    )
    return {sid: (number, value) for sid, number, value in rows}


def study_rows(session: Session, study_id: int | None = None) -> list[dict[str, Any]]:
    """Every study (or one), with its job row when adamtune launched it, newest first."""
    query = (
        select(ot.studies.c.study_id, ot.studies.c.study_name, StudyJob)
        .outerjoin(StudyJob, StudyJob.study_id == ot.studies.c.study_id)
        .order_by(ot.studies.c.study_id.desc())
    )
    if study_id is not None:
        query = query.where(ot.studies.c.study_id == study_id)
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
            ot.study_user_attributes.c.study_id,
            ot.study_user_attributes.c.key,
            ot.study_user_attributes.c.value_json,
        ).where(
            ot.study_user_attributes.c.study_id.in_(study_ids),
            ot.study_user_attributes.c.key != CONFIG_ATTR,
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
            ot.trial_user_attributes.c.trial_id,
            ot.trial_user_attributes.c.key,
            ot.trial_user_attributes.c.value_json,
        ).where(
            ot.trial_user_attributes.c.trial_id.in_(list(trial_ids)),
            ot.trial_user_attributes.c.key.in_(TRIAL_ATTRS),
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
        select(
            ot.trial_params.c.trial_id, ot.trial_params.c.param_name, ot.trial_params.c.param_value
        ).where(ot.trial_params.c.trial_id.in_(list(trial_ids)))
    )
    for trial_id, name, value in rows:
        out[trial_id][name] = value
    return out


def epochs_done(session: Session, trial_ids: Sequence[int]) -> dict[int, int]:
    if not trial_ids:
        return {}
    rows = session.execute(
        select(ot.trial_intermediate_values.c.trial_id, func.count())
        .where(ot.trial_intermediate_values.c.trial_id.in_(list(trial_ids)))
        .group_by(ot.trial_intermediate_values.c.trial_id)
    )
    return dict(rows.all())


def _sort_column(sort: str, dialect: str) -> Any:
    """The ORDER BY expression of a trials page; durations need each database's date maths."""
    if sort == "number":
        return ot.trials.c.number
    if sort == "value":
        return ot.trial_values.c.value
    end = func.coalesce(ot.trials.c.datetime_complete, ot.trials.c.datetime_start)
    if dialect == "sqlite":
        return _sqlite_seconds(end) - _sqlite_seconds(ot.trials.c.datetime_start)
    return func.extract("epoch", end - ot.trials.c.datetime_start)


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
    where = [ot.trials.c.study_id == study_id]
    if state is not None:
        where.append(ot.trials.c.state == state)
    if numbers is not None:
        where.append(ot.trials.c.number.in_(list(numbers)))
    total = session.scalar(select(func.count()).select_from(ot.trials).where(*where)) or 0
    sort_col = _sort_column(sort, session.get_bind().dialect.name)
    ordering = [sort_col.asc() if order == "asc" else sort_col.desc()]
    if sort == "value":
        # only a COMPLETE trial's value is a result (a pruned trial's is its last intermediate
        # value): complete trials rank by value, the others follow, in either order
        ordering = [
            case((ot.trials.c.state == "COMPLETE", 0), else_=1),
            ordering[0].nulls_last(),
        ]
    rows = session.execute(
        select(
            ot.trials.c.trial_id,
            ot.trials.c.number,
            ot.trials.c.state,
            ot.trials.c.datetime_start,
            ot.trials.c.datetime_complete,
            ot.trial_values.c.value,
        )
        .outerjoin(
            ot.trial_values,
            and_(
                ot.trial_values.c.trial_id == ot.trials.c.trial_id, ot.trial_values.c.objective == 0
            ),
        )
        .where(*where)
        .order_by(*ordering, ot.trials.c.number.asc())
        .offset(offset)
        .limit(limit)
    ).all()
    return total, describe_trials(session, rows, study_id)


def study_space(session: Session, study_id: int) -> SearchSpace | None:
    """The search space of a study adamtune created (None for another script's study)."""
    value = session.scalar(
        select(ot.study_user_attributes.c.value_json).where(
            ot.study_user_attributes.c.study_id == study_id,
            ot.study_user_attributes.c.key == CONFIG_ATTR,
        )
    )
    if value is None:
        return None
    space = json.loads(value).get("space")
    return SearchSpace.model_validate(space) if space is not None else SearchSpace()


def adam_params(space: SearchSpace, internal: dict[str, float]) -> dict[str, float]:
    """Optuna's stored params as Adam's (what `SearchSpace.to_adam_params` gives), for a trial
    whose `adam` attribute is not written yet: a running trial between its first suggestion and
    its last. Dimensions not suggested yet are left out."""
    try:
        return space.to_adam_params(internal).as_dict()
    except KeyError:  # some dimensions not suggested yet
        out: dict[str, float] = {}
        for name in DIMENSIONS:
            dim = space.dimension(name)
            if dim.value is not None:
                out[name] = dim.value
            elif f"one_minus_{name}" in internal:
                out[name] = 1.0 - internal[f"one_minus_{name}"]
            elif name in internal:
                out[name] = internal[name]
        return out


def describe_trials(
    session: Session, rows: Sequence[Any], study_id: int | None = None
) -> list[dict[str, Any]]:
    ids = [row.trial_id for row in rows]
    attrs = trial_attrs(session, ids)
    params = trial_params(session, ids)
    done = epochs_done(session, ids)
    now = ot.optuna_now()
    unresolved = any(ADAM_PARAMS_ATTR not in attrs.get(row.trial_id, {}) for row in rows)
    space = study_space(session, study_id) if unresolved and study_id is not None else None
    out = []
    for row in rows:
        a = attrs.get(row.trial_id, {})
        internal = params.get(row.trial_id, {})
        start, end = row.datetime_start, row.datetime_complete
        duration = ((end or now) - start).total_seconds() if start is not None else None
        out.append(
            {
                "number": row.number,
                "state": row.state,
                "value": row.value,
                "baseline": bool(a.get(BASELINE_ATTR, False)),
                "params": a.get(ADAM_PARAMS_ATTR)
                or (adam_params(space, internal) if space is not None else internal),
                "datetime_start": ot.as_utc(start),
                "datetime_complete": ot.as_utc(end),
                "duration_s": duration,
                "epochs_done": done.get(row.trial_id, 0),
                "reason": a.get(PRUNE_REASON_ATTR) or a.get(FAIL_REASON_ATTR),
            }
        )
    return out


def empty_points() -> dict[str, list[Any]]:
    return {field: [] for field in POINT_FIELDS}


def trial_count(session: Session, study_id: int) -> int:
    query = select(func.count()).select_from(ot.trials).where(ot.trials.c.study_id == study_id)
    return session.scalar(query) or 0


def curve_trial_selection(
    session: Session, study_id: int, max_trials: int
) -> tuple[int, list[int]]:
    """(number of trials, the numbers whose curves a first load shows): all when few, else the
    baseline, the best ones and the most recent ones, at most `max_trials` in all."""
    total = (
        session.scalar(
            select(func.count()).select_from(ot.trials).where(ot.trials.c.study_id == study_id)
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
    by_value = (
        ot.trial_values.c.value.asc() if direction == "minimize" else ot.trial_values.c.value.desc()
    )
    best = session.scalars(
        select(ot.trials.c.number)
        .join(ot.trial_values, ot.trial_values.c.trial_id == ot.trials.c.trial_id)
        .where(ot.trials.c.study_id == study_id, ot.trials.c.state == "COMPLETE")
        .order_by(by_value)
        .limit(max_trials // 4)
    )
    chosen.update(best)
    recent = session.scalars(
        select(ot.trials.c.number)
        .where(ot.trials.c.study_id == study_id)
        .order_by(ot.trials.c.number.desc())
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
    # the newest event of any study: a primary-key lookup, where a per-study max would scan
    latest = session.scalar(select(func.max(Event.id)))
    return max(cursor, latest or 0), points


def foreign_curve_points(
    session: Session, study_id: int, after: int, numbers: Sequence[int]
) -> tuple[int, dict[str, list[Any]]]:
    """The same for a study a plain Optuna script wrote: its intermediate values are the curve."""
    iv = ot.trial_intermediate_values
    query = (
        select(
            iv.c.trial_intermediate_value_id, ot.trials.c.number, iv.c.step, iv.c.intermediate_value
        )
        .join(ot.trials, ot.trials.c.trial_id == iv.c.trial_id)
        .where(ot.trials.c.study_id == study_id, iv.c.trial_intermediate_value_id > after)
    )
    if numbers:
        query = query.where(ot.trials.c.number.in_(list(numbers)))
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
            select(func.count()).select_from(StudyJob).where(StudyJob.status.in_(JobStatus.ACTIVE))
        )
        or 0
    )


def seconds_since(moment: datetime | None, until: datetime | None = None) -> float | None:
    if moment is None:
        return None
    return ((until or utcnow()) - moment).total_seconds()
