"""The hot read paths: plain indexed SQL on Optuna's tables and adamtune's, never a full reload.

Every function takes a Session and returns plain dicts/lists shaped for `app.schemas`. Optuna's
tables are read through `optim.optuna_internals` (the one module that knows their schema); this
module adds adamtune's meaning (which attribute marks a baseline, a reserved or interrupted
trial) and adamtune's own tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import func, select
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
    studies = oi.STUDY_NAMES
    row = session.execute(
        select(studies.c.name, StudyJob.study_id)
        .outerjoin(StudyJob, StudyJob.study_id == studies.c.study_id)
        .where(studies.c.study_id == study_id)
    ).first()
    return None if row is None else (row[0], row[1] is None)


def state_counts(session: Session, study_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """study_id -> {state: number of trials}."""
    return oi.state_counts(session, study_ids)


def reserved_counts(session: Session, study_ids: Iterable[int]) -> dict[int, int]:
    """study_id -> its RUNNING trials asked ahead by a runner and not reported on yet (reserved:
    the runner's loop has not started them), for the studies that have any."""
    return oi.counts_with_user_attr(session, study_ids, "RUNNING", RESERVED_ATTR, unreported=True)


def interrupted_counts(session: Session, study_ids: Iterable[int]) -> dict[int, int]:
    """study_id -> its interrupted trials: FAILs with an interrupt reason (a stop, a worker
    shutting down), whose params were queued again; they do not count towards n_trials."""
    return oi.counts_with_user_attr(session, study_ids, "FAIL", INTERRUPT_REASON_ATTR)


def rerun_numbers(session: Session, study_id: int) -> dict[int, int]:
    """Interrupted trial number -> the number of the trial that re-runs its params (the last
    entry of the re-run's retry history, as `optim.storage.retry_trial` writes it)."""
    out: dict[int, int] = {}
    for number, history in oi.system_attr_by_number(session, study_id, RETRY_HISTORY_ATTR):
        if isinstance(history, list) and history:
            out[int(history[-1])] = number
    return out


def directions(session: Session, study_ids: Iterable[int]) -> dict[int, str]:
    return oi.directions(session, study_ids)


def best_values(
    session: Session, study_ids: Sequence[int], dirs: dict[int, str]
) -> dict[int, tuple[int, float, int]]:
    """study_id -> (trial number, value, trial_id) of its best COMPLETE trial."""
    return oi.best_values(session, study_ids, dirs)


def baseline_values(
    session: Session, study_ids: Sequence[int]
) -> dict[int, tuple[int, float | None]]:
    """study_id -> (trial number, value or None) of its default-Adam baseline trial."""
    return oi.values_of_flagged(session, study_ids, BASELINE_ATTR)


def study_rows(session: Session, study_id: int | None = None) -> list[dict[str, Any]]:
    """Every study (or one), with its job row when adamtune launched it, newest first. The
    list leaves out validations: they are shown with their search."""
    studies = oi.STUDY_NAMES
    query = (
        select(studies.c.study_id, studies.c.name, StudyJob)
        .outerjoin(StudyJob, StudyJob.study_id == studies.c.study_id)
        .order_by(studies.c.study_id.desc())
    )
    if study_id is not None:
        query = query.where(studies.c.study_id == study_id)
    else:
        query = query.where(StudyJob.parent_id.is_(None))
    rows = session.execute(query).all()
    foreign_ids = [sid for sid, _, job in rows if job is None]
    foreign_attrs = oi.study_user_attrs(session, foreign_ids, leave_out=[CONFIG_ATTR])
    return [
        {"study_id": sid, "name": name, "job": job, "user_attrs": foreign_attrs.get(sid, {})}
        for sid, name, job in rows
    ]


def trial_attrs(
    session: Session, trial_ids: Sequence[int], study_id: int | None = None
) -> dict[int, dict[str, Any]]:
    """trial_id -> the user attributes adamtune reads (params, baseline, reasons); `study_id`:
    of all its trials."""
    return oi.trial_user_attrs(session, trial_ids, TRIAL_ATTRS, study_id)


def trial_params(
    session: Session, trial_ids: Sequence[int], study_id: int | None = None
) -> dict[int, dict[str, float]]:
    """trial_id -> Optuna's stored params (internal representation: floats)."""
    return oi.trial_params(session, trial_ids, study_id)


def epochs_trained(session: Session, study_ids: Sequence[int]) -> dict[int, int]:
    """study_id -> epochs its trials reported, pruned and interrupted ones included: the budget
    a study spent."""
    return oi.steps_by_study(session, study_ids)


def trial_seconds(session: Session, study_ids: Sequence[int]) -> dict[int, float]:
    """study_id -> seconds its finished trials trained."""
    return oi.trial_seconds_by_study(session, study_ids)


def spent_in_order(session: Session, study_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """study_id -> its finished trials in completion order: number, state, the seconds and
    epochs it trained (pruned and failed ones too), and when COMPLETE its value and the test
    loss it recorded (None when it recorded none): a budget curve's steps."""
    out: dict[int, list[dict[str, Any]]] = {sid: [] for sid in study_ids}
    for r in oi.finished_trials_spent(session, study_ids, METRICS_ATTR):
        test_loss = r.attr.get("test_loss") if isinstance(r.attr, dict) else None
        out[r.study_id].append(
            {"number": r.number, "state": r.state, "seconds": r.seconds, "epochs": r.steps,
             "value": r.value, "test_loss": test_loss}
        )  # fmt: skip
    return out


def epochs_done(
    session: Session, trial_ids: Sequence[int], study_id: int | None = None
) -> dict[int, int]:
    return oi.steps_by_trial(session, trial_ids, study_id)


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
    total, rows = oi.trials_page(
        session,
        study_id,
        offset=offset,
        limit=limit,
        sort=sort,
        order=order,
        state=state,
        numbers=numbers,
    )
    # the whole study (an all-trials curve load): its trials by study, not by 10,000 ids
    whole = study_id if len(rows) == total and state is None and numbers is None else None
    trials = describe_trials(session, rows, whole)
    if any(t["interrupted"] for t in trials):
        reruns = rerun_numbers(session, study_id)
        for t in trials:
            t["rerun_as"] = reruns.get(t["number"]) if t["interrupted"] else None
    return total, trials


def describe_trials(
    session: Session, rows: Sequence[oi.TrialRow], study_id: int | None = None
) -> list[dict[str, Any]]:
    """`rows` described; `study_id` when they are all of that study's trials."""
    ids = [row.trial_id for row in rows]
    attrs = trial_attrs(session, ids, study_id)
    # Optuna's own params only where adamtune's attribute is missing (a plain Optuna study's
    # trials): 10,000 trials of 9 parameters are 90,000 rows read for nothing
    bare = [i for i in ids if not attrs.get(i, {}).get(PARAMS_ATTR)]
    whole = study_id if len(bare) == len(ids) else None
    params = trial_params(session, bare, whole)
    done = epochs_done(session, ids, study_id)
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
    return oi.trial_count(session, study_id, numbers)


def curve_trial_selection(
    session: Session, study_id: int, max_trials: int
) -> tuple[int, list[int]]:
    """(number of trials, the numbers whose curves a first load shows): all when few, else the
    baseline, the best ones and the most recent ones, at most `max_trials` in all."""
    total = oi.trial_count(session, study_id)
    if total <= max_trials:
        return total, []  # empty means "all"
    chosen: set[int] = set()
    baseline = baseline_values(session, [study_id]).get(study_id)
    if baseline is not None:
        chosen.add(baseline[0])
    direction = directions(session, [study_id]).get(study_id, "minimize")
    chosen.update(t.number for t in oi.best_trials(session, study_id, direction, max_trials // 4))
    recent = oi.recent_trials(session, study_id, max_trials - len(chosen))
    chosen.update(t.number for t in recent)
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
    # the driver's own tuples (ints and floats need no processing): an all-trials read has
    # 500,000 rows, and the ORM's rows cost twice as much as the reading
    result = session.connection().execute(query)
    rows = result.cursor.fetchall() if result.cursor is not None else result.all()
    result.close()
    if not rows:
        return max(after, latest_event_id(session, study_id)), empty_points()
    # a column at a time through itemgetter: for 500,000 rows a tenth of zip(*rows)'s time
    # (which builds 500,000 iterators) and of an append per value
    points = {
        field: list(map(itemgetter(i), rows)) for i, field in enumerate(POINT_FIELDS, start=1)
    }
    # this study's newest event: the cursor never takes another study's ids
    return max(after, max(map(itemgetter(0), rows)), latest_event_id(session, study_id)), points


def foreign_curve_points(
    session: Session, study_id: int, after: int, numbers: Sequence[int]
) -> tuple[int, dict[str, list[Any]]]:
    """The same for a study a plain Optuna script wrote: its intermediate values are the curve."""
    points = empty_points()
    cursor = after
    for value_id, number, step, value in oi.intermediate_points(session, study_id, after, numbers):
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


def epochs_with_points(session: Session, study_id: int, number: int) -> set[int]:
    """The epochs of trial `number` that have an epoch event (a point on the live curves)."""
    query = select(Event.epoch).where(
        Event.study_id == study_id, Event.trial_number == number, Event.kind == EventKind.EPOCH
    )
    return {epoch for epoch in session.scalars(query) if epoch is not None}


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
