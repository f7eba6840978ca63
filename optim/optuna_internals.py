"""The one module that knows Optuna's internals: its tables, its private classes and fields.

Everything else in adamtune uses Optuna's public API, or the functions defined here: no module
of app/, optim/, adamtune/ or bench/ names Optuna's tables, columns or private attributes (ruff's
SLF001 is on, with an exception for this file only). What lives here:
    - the tables of Optuna's RDB storage as SQLAlchemy Core objects (`TRIALS`, `PARAMS`, ...),
      declared by hand from Optuna 5's schema, with Optuna's encodings of values and times;
    - `read_trials`, the one builder of `FrozenTrial`s from those tables (storage reads and
      figures use it), and `bulk_insert_trials`, the benchmarks' writer of big studies;
    - every other read of those tables: the service's counts, trials pages, curve points and
      attributes (`app.queries`, figures, notes, reports, external runners) and the runner's
      bookkeeping, as typed functions of a Connection or Session that return plain values;
      `STUDY_NAMES` is the one selectable, for joins with adamtune's own tables;
    - the private pieces the fast storage paths need (`_CachedStorage`, `RDBStorage._get_trials`),
      imported behind a check: when Optuna's internals are not what this module expects,
      `FAST_PATHS` is False, a warning says so once, and storages take Optuna's own (slower,
      correct) methods;
    - the ids Optuna keeps private (`study_id_of`, `trial_id_of`), with public fallbacks;
    - on SQLite, ids that are never reused (`ensure_sqlite_autoincrement`).

Fallbacks: the storage's fast paths (reports, attributes, trial reads), the private ids and the
pruner rungs (`rung_steps`) have one through Optuna's public API. The service's reads do not: they
count, sort, page and keep cursors in SQL over studies of 10,000+ trials, which Optuna's API can
only do by loading every trial of a study, at every poll. They are guarded instead: the check at
import compares every column declared here with Optuna's own models (a moved column turns
`FAST_PATHS` off and is logged at start), and the contract tests
(tests/optim/test_optuna_internals.py) compare each read with what Optuna's public API says of the
same study.

Supported Optuna: `SUPPORTED_OPTUNA` (pinned in pyproject.toml; CI runs the contract tests
against the oldest and the newest release of that range: `make test-optuna-range`).
"""

from __future__ import annotations

import datetime
import functools
import json
import logging
import math
import re
import sqlite3
from collections import defaultdict
from collections.abc import Container, Iterable, Sequence
from enum import Enum as PyEnum
from typing import Any, NamedTuple

import optuna
import sqlalchemy
from optuna.distributions import BaseDistribution, json_to_distribution
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState
from sqlalchemy import (
    Column,
    DateTime,
    Enum,
    Float,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    Text,
    and_,
    case,
    cast,
    exists,
    func,
    select,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.elements import ColumnElement

from optim.engines import create_engine, engine_kwargs, is_sqlite, tune_sqlite

log = logging.getLogger("adamtune.optuna")

SUPPORTED_OPTUNA = (5, 6)  # major versions: >= 5, < 6
NOT_FOUND_MSG = "Record does not exist."  # the KeyError message of Optuna's storages


def optuna_major() -> int:
    return int(optuna.__version__.split(".")[0])


# --- the tables -------------------------------------------------------------------------------


def _optuna_enum(names: Iterable[str], type_name: str) -> Enum:
    """Optuna's `Enum(members)` column type: member names stored; on PostgreSQL a native ENUM
    type named after the Python enum (`trialstate`): comparing it with a plain VARCHAR fails
    there, so the mirror declares the same type, with member names as plain strings."""
    return Enum(*names, name=type_name, create_constraint=False)


def _names(members: type[PyEnum]) -> list[str]:
    return [m.name for m in members]


VALUE_TYPES = ("FINITE", "INF_POS", "INF_NEG")
INTERMEDIATE_VALUE_TYPES = ("FINITE", "INF_POS", "INF_NEG", "NAN")

metadata = MetaData()

STUDIES = Table(
    "studies",
    metadata,
    Column("study_id", Integer, primary_key=True),
    Column("study_name", String(512)),
)
STUDY_DIRECTIONS = Table(
    "study_directions",
    metadata,
    Column("study_direction_id", Integer, primary_key=True),
    Column("direction", _optuna_enum(_names(StudyDirection), "studydirection")),
    Column("study_id", Integer),
    Column("objective", Integer),
)
STUDY_USER_ATTRS = Table(
    "study_user_attributes",
    metadata,
    Column("study_user_attribute_id", Integer, primary_key=True),
    Column("study_id", Integer),
    Column("key", String(512)),
    Column("value_json", Text),
)
STUDY_SYSTEM_ATTRS = Table(
    "study_system_attributes",
    metadata,
    Column("study_system_attribute_id", Integer, primary_key=True),
    Column("study_id", Integer),
    Column("key", String(512)),
    Column("value_json", Text),
)
TRIALS = Table(
    "trials",
    metadata,
    Column("trial_id", Integer, primary_key=True),
    Column("number", Integer),
    Column("study_id", Integer),
    Column("state", _optuna_enum(_names(TrialState), "trialstate")),
    Column("datetime_start", DateTime),  # naive UTC
    Column("datetime_complete", DateTime),
)
PARAMS = Table(
    "trial_params",
    metadata,
    Column("param_id", Integer, primary_key=True),
    Column("trial_id", Integer),
    Column("param_name", String(512)),
    Column("param_value", Float),  # the distribution's internal representation
    Column("distribution_json", Text),
)
VALUES = Table(
    "trial_values",
    metadata,
    Column("trial_value_id", Integer, primary_key=True),
    Column("trial_id", Integer),
    Column("objective", Integer),
    Column("value", Float),
    Column("value_type", _optuna_enum(VALUE_TYPES, "trialvaluetype")),
)
USER_ATTRS = Table(
    "trial_user_attributes",
    metadata,
    Column("trial_user_attribute_id", Integer, primary_key=True),
    Column("trial_id", Integer),
    Column("key", String(512)),
    Column("value_json", Text),
)
SYSTEM_ATTRS = Table(
    "trial_system_attributes",
    metadata,
    Column("trial_system_attribute_id", Integer, primary_key=True),
    Column("trial_id", Integer),
    Column("key", String(512)),
    Column("value_json", Text),
)
INTERMEDIATE = Table(
    "trial_intermediate_values",
    metadata,
    Column("trial_intermediate_value_id", Integer, primary_key=True),
    Column("trial_id", Integer),
    Column("step", Integer),
    Column("intermediate_value", Float),
    Column(
        "intermediate_value_type",
        _optuna_enum(INTERMEDIATE_VALUE_TYPES, "trialintermediatevaluetype"),
    ),
)
HEARTBEATS = Table(
    "trial_heartbeats",
    metadata,
    Column("trial_heartbeat_id", Integer, primary_key=True),
    Column("trial_id", Integer),
    Column("heartbeat", DateTime),
)

# the finished states: a trial in one of them never changes again
FINISHED = ("COMPLETE", "PRUNED", "FAIL")


# --- values and times, encoded as Optuna stores them --------------------------------------------


def stored_value(value: float) -> tuple[float | None, str]:
    """A float as Optuna stores it: (value or NULL, type); NaN only in intermediate values."""
    if math.isnan(value):
        return None, "NAN"
    if value == math.inf:
        return None, "INF_POS"
    if value == -math.inf:
        return None, "INF_NEG"
    return value, "FINITE"


def value_from_stored(value: float | None, value_type: str) -> float:
    if value_type == "INF_POS":
        return math.inf
    if value_type == "INF_NEG":
        return -math.inf
    if value_type == "NAN":
        return math.nan
    assert value is not None, "a FINITE value is stored with its number"
    return value


def optuna_now() -> datetime.datetime:
    """Now, on the clock of the `trials` table's datetime columns (naive UTC in Optuna 5)."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def as_utc(moment: datetime.datetime | None) -> datetime.datetime | None:
    """A stored trial time as an aware UTC datetime (what the API returns)."""
    return moment.replace(tzinfo=datetime.UTC) if moment is not None else None


def as_local_naive(moment: datetime.datetime | None) -> datetime.datetime | None:
    """A stored trial time as Optuna's own `FrozenTrial` holds it (naive local time)."""
    if moment is None:
        return None
    return moment.replace(tzinfo=datetime.UTC).astimezone().replace(tzinfo=None)


# --- the FrozenTrial builder ------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _distribution(distribution_json: str) -> BaseDistribution:
    """Parsed once per distinct JSON: a study's trials share a handful of distributions."""
    return json_to_distribution(distribution_json)


def study_exists(conn: Connection, study_id: int) -> bool:
    found = conn.execute(select(STUDIES.c.study_id).where(STUDIES.c.study_id == study_id))
    return found.first() is not None


def read_trials(conn: Connection, where: list[ColumnElement[bool]]) -> list[FrozenTrial]:
    """The trials matching `where` (conditions on `TRIALS`) as `FrozenTrial`s, by trial id.

    Six SELECTs, whatever the number of trials; each trial is built exactly as Optuna's
    `RDBStorage` builds it (tests compare the two field by field on SQLite and PostgreSQL).
    """
    rows = conn.execute(
        select(
            TRIALS.c.trial_id,
            TRIALS.c.number,
            TRIALS.c.state,
            TRIALS.c.datetime_start,
            TRIALS.c.datetime_complete,
        )
        .where(*where)
        .order_by(TRIALS.c.trial_id)
    ).all()
    if not rows:
        return []
    chosen = select(TRIALS.c.trial_id).where(*where)
    params: dict[int, list[Any]] = defaultdict(list)
    for row in conn.execute(
        select(PARAMS.c.trial_id, PARAMS.c.param_name, PARAMS.c.param_value,
               PARAMS.c.distribution_json)
        .where(PARAMS.c.trial_id.in_(chosen))
        .order_by(PARAMS.c.param_id)
    ):  # fmt: skip
        params[row.trial_id].append(row)
    values: dict[int, dict[int, float]] = defaultdict(dict)
    for row in conn.execute(
        select(VALUES.c.trial_id, VALUES.c.objective, VALUES.c.value, VALUES.c.value_type).where(
            VALUES.c.trial_id.in_(chosen)
        )
    ):
        values[row.trial_id][row.objective] = value_from_stored(row.value, row.value_type)
    user_attrs = _attrs(conn, USER_ATTRS, chosen)
    system_attrs = _attrs(conn, SYSTEM_ATTRS, chosen)
    intermediate: dict[int, dict[int, float]] = defaultdict(dict)
    for row in conn.execute(
        select(INTERMEDIATE.c.trial_id, INTERMEDIATE.c.step, INTERMEDIATE.c.intermediate_value,
               INTERMEDIATE.c.intermediate_value_type)
        .where(INTERMEDIATE.c.trial_id.in_(chosen))
    ):  # fmt: skip
        intermediate[row.trial_id][row.step] = value_from_stored(
            row.intermediate_value, row.intermediate_value_type
        )
    trials = []
    for trial in rows:
        objective_values = values.get(trial.trial_id)
        trial_params = params.get(trial.trial_id, [])
        distributions = {p.param_name: _distribution(p.distribution_json) for p in trial_params}
        trials.append(
            FrozenTrial(
                number=trial.number,
                state=TrialState[trial.state],
                value=None,
                values=(
                    [objective_values[i] for i in range(len(objective_values))]
                    if objective_values
                    else None
                ),
                datetime_start=as_local_naive(trial.datetime_start),
                datetime_complete=as_local_naive(trial.datetime_complete),
                params={
                    p.param_name: distributions[p.param_name].to_external_repr(p.param_value)
                    for p in trial_params
                },
                distributions=distributions,
                user_attrs=user_attrs.get(trial.trial_id, {}),
                system_attrs=system_attrs.get(trial.trial_id, {}),
                intermediate_values=intermediate.get(trial.trial_id, {}),
                trial_id=trial.trial_id,
            )
        )
    return trials


def _attrs(conn: Connection, table: Table, chosen: Any) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = defaultdict(dict)
    for trial_id, key, value_json in conn.execute(
        select(table.c.trial_id, table.c.key, table.c.value_json).where(
            table.c.trial_id.in_(chosen)
        )
    ):
        out[trial_id][key] = json.loads(value_json)
    return out


def read_system_attrs(conn: Connection, trial_id: int) -> dict[str, Any]:
    """One trial's system attributes; KeyError (as Optuna's) when the trial does not exist."""
    rows = conn.execute(
        select(SYSTEM_ATTRS.c.key, SYSTEM_ATTRS.c.value_json).where(
            SYSTEM_ATTRS.c.trial_id == trial_id
        )
    ).all()
    if not rows:
        found = conn.execute(select(TRIALS.c.trial_id).where(TRIALS.c.trial_id == trial_id))
        if found.first() is None:
            raise KeyError(NOT_FOUND_MSG)
    return {key: json.loads(value) for key, value in rows}


# --- the service's reads ----------------------------------------------------------------------
# Every read of Optuna's tables outside the storage: the dashboard's counts, pages and curves,
# the figures' and reports' trials, the runner's bookkeeping. Callers pass a Connection or a
# Session and get plain values back; none of them names a table or a column. The contract tests
# (tests/optim/test_optuna_internals.py) compare each with Optuna's public API.

Conn = Connection | Session

# a study's id and name, for joins with adamtune's own tables (`StudyJob.study_id`)
STUDY_NAMES = select(STUDIES.c.study_id, STUDIES.c.study_name.label("name")).subquery("studies_")


class TrialRow(NamedTuple):
    """One trial of a trials page: its first objective's value (None until it has one)."""

    trial_id: int
    number: int
    state: str
    datetime_start: datetime.datetime | None  # naive UTC, as stored
    datetime_complete: datetime.datetime | None
    value: float | None


class TrialKey(NamedTuple):
    trial_id: int
    number: int


def state_counts(conn: Conn, study_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """study_id -> {state: number of trials}, every study of `study_ids` present."""
    ids = list(study_ids)
    counts: dict[int, dict[str, int]] = {sid: {} for sid in ids}
    rows = conn.execute(
        select(TRIALS.c.study_id, TRIALS.c.state, func.count())
        .where(TRIALS.c.study_id.in_(ids))
        .group_by(TRIALS.c.study_id, TRIALS.c.state)
    )
    for study_id, state, n in rows:
        counts[study_id][state] = n
    return counts


def counts_with_user_attr(
    conn: Conn, study_ids: Iterable[int], state: str, key: str, *, unreported: bool = False
) -> dict[int, int]:
    """study_id -> its trials in `state` that carry user attribute `key` (and, `unreported`,
    have no intermediate value yet), for the studies that have any."""
    where = [TRIALS.c.study_id.in_(list(study_ids)), TRIALS.c.state == state,
             USER_ATTRS.c.key == key]  # fmt: skip
    if unreported:
        where.append(~exists().where(INTERMEDIATE.c.trial_id == TRIALS.c.trial_id))
    rows = conn.execute(
        select(TRIALS.c.study_id, func.count())
        .join(USER_ATTRS, USER_ATTRS.c.trial_id == TRIALS.c.trial_id)
        .where(*where)
        .group_by(TRIALS.c.study_id)
    )
    return {study_id: n for study_id, n in rows}


def system_attr_by_number(conn: Conn, study_id: int, key: str) -> list[tuple[int, Any]]:
    """(trial number, value) of the study's trials that carry system attribute `key`."""
    rows = conn.execute(
        select(TRIALS.c.number, SYSTEM_ATTRS.c.value_json)
        .join(SYSTEM_ATTRS, SYSTEM_ATTRS.c.trial_id == TRIALS.c.trial_id)
        .where(TRIALS.c.study_id == study_id, SYSTEM_ATTRS.c.key == key)
    )
    return [(number, json.loads(value)) for number, value in rows]


def directions(conn: Conn, study_ids: Iterable[int]) -> dict[int, str]:
    """study_id -> "minimize" or "maximize", its first objective's direction."""
    rows = conn.execute(
        select(STUDY_DIRECTIONS.c.study_id, STUDY_DIRECTIONS.c.direction).where(
            STUDY_DIRECTIONS.c.study_id.in_(list(study_ids)),
            STUDY_DIRECTIONS.c.objective == 0,
        )
    )
    return {sid: d.lower() for sid, d in rows}


def best_values(
    conn: Conn, study_ids: Sequence[int], dirs: dict[int, str]
) -> dict[int, tuple[int, float, int]]:
    """study_id -> (trial number, value, trial_id) of its best COMPLETE trial (the lowest
    number among equals); `dirs` as `directions` returns them, minimize when absent."""
    out: dict[int, tuple[int, float, int]] = {}
    for direction, agg in (("minimize", func.min), ("maximize", func.max)):
        ids = [sid for sid in study_ids if dirs.get(sid, "minimize") == direction]
        if not ids:
            continue
        best = (
            select(TRIALS.c.study_id, agg(VALUES.c.value).label("v"))
            .join(VALUES, VALUES.c.trial_id == TRIALS.c.trial_id)
            .where(
                TRIALS.c.study_id.in_(ids),
                TRIALS.c.state == "COMPLETE",
                VALUES.c.objective == 0,
            )
            .group_by(TRIALS.c.study_id)
            .subquery()
        )
        rows = conn.execute(
            select(TRIALS.c.study_id, TRIALS.c.number, best.c.v, TRIALS.c.trial_id)
            .join(VALUES, VALUES.c.trial_id == TRIALS.c.trial_id)
            .join(best, and_(best.c.study_id == TRIALS.c.study_id, best.c.v == VALUES.c.value))
            .where(TRIALS.c.state == "COMPLETE", VALUES.c.objective == 0)
            .order_by(TRIALS.c.number.desc())
        )
        for study_id, number, value, trial_id in rows:
            out[study_id] = (number, value, trial_id)  # ascending overwrite: lowest number wins
    return out


def values_of_flagged(
    conn: Conn, study_ids: Iterable[int], key: str
) -> dict[int, tuple[int, float | None]]:
    """study_id -> (trial number, value when COMPLETE else None) of its trial carrying user
    attribute `key` (the last one read, when several do)."""
    rows = conn.execute(
        select(TRIALS.c.study_id, TRIALS.c.number, VALUES.c.value)
        .join(USER_ATTRS, USER_ATTRS.c.trial_id == TRIALS.c.trial_id)
        .outerjoin(
            VALUES, and_(VALUES.c.trial_id == TRIALS.c.trial_id, TRIALS.c.state == "COMPLETE")
        )
        .where(TRIALS.c.study_id.in_(list(study_ids)), USER_ATTRS.c.key == key)
    )
    return {sid: (number, value) for sid, number, value in rows}


def study_attr_json(conn: Conn, study_id: int, key: str, *, system: bool = False) -> str | None:
    """The stored JSON of a study's user (or system) attribute, None when it has none."""
    table = STUDY_SYSTEM_ATTRS if system else STUDY_USER_ATTRS
    return conn.scalar(
        select(table.c.value_json).where(table.c.study_id == study_id, table.c.key == key)
    )


def study_user_attrs(
    conn: Conn, study_ids: Sequence[int], *, leave_out: Iterable[str] = ()
) -> dict[int, dict[str, Any]]:
    """study_id -> its user attributes but `leave_out`, for the studies that have any."""
    out: dict[int, dict[str, Any]] = defaultdict(dict)
    if not study_ids:
        return out
    rows = conn.execute(
        select(STUDY_USER_ATTRS.c.study_id, STUDY_USER_ATTRS.c.key, STUDY_USER_ATTRS.c.value_json)
        .where(
            STUDY_USER_ATTRS.c.study_id.in_(list(study_ids)),
            STUDY_USER_ATTRS.c.key.not_in(list(leave_out)),
        )
    )  # fmt: skip
    for sid, key, value in rows:
        out[sid][key] = json.loads(value)
    return out


def _of_trials(column: Any, trial_ids: Sequence[int], study_id: int | None) -> Any:
    """`column IN trial_ids`, or, for every trial of a study (`study_id`), a subquery on its
    trials: 10,000 bound ids cost more to compile than the read."""
    if study_id is not None:
        return column.in_(select(TRIALS.c.trial_id).where(TRIALS.c.study_id == study_id))
    return column.in_(list(trial_ids))


def trial_user_attrs(
    conn: Conn, trial_ids: Sequence[int], keys: Iterable[str], study_id: int | None = None
) -> dict[int, dict[str, Any]]:
    """trial_id -> its user attributes among `keys`, for the trials that have any (`study_id`:
    of every trial of that study instead)."""
    out: dict[int, dict[str, Any]] = defaultdict(dict)
    if not trial_ids and study_id is None:
        return out
    rows = conn.execute(
        select(USER_ATTRS.c.trial_id, USER_ATTRS.c.key, USER_ATTRS.c.value_json).where(
            _of_trials(USER_ATTRS.c.trial_id, trial_ids, study_id),
            USER_ATTRS.c.key.in_(list(keys)),
        )
    )
    for trial_id, key, value in rows:
        out[trial_id][key] = json.loads(value)
    return out


def trial_params(
    conn: Conn, trial_ids: Sequence[int], study_id: int | None = None
) -> dict[int, dict[str, float]]:
    """trial_id -> Optuna's stored params (internal representation: floats)."""
    out: dict[int, dict[str, float]] = defaultdict(dict)
    if not trial_ids and study_id is None:
        return out
    rows = conn.execute(
        select(PARAMS.c.trial_id, PARAMS.c.param_name, PARAMS.c.param_value).where(
            _of_trials(PARAMS.c.trial_id, trial_ids, study_id)
        )
    )
    for trial_id, name, value in rows:
        out[trial_id][name] = value
    return out


def steps_by_study(conn: Conn, study_ids: Sequence[int]) -> dict[int, int]:
    """study_id -> intermediate values its trials reported, whatever their state."""
    if not study_ids:
        return {}
    rows = conn.execute(
        select(TRIALS.c.study_id, func.count())
        .select_from(INTERMEDIATE.join(TRIALS, TRIALS.c.trial_id == INTERMEDIATE.c.trial_id))
        .where(TRIALS.c.study_id.in_(list(study_ids)))
        .group_by(TRIALS.c.study_id)
    )
    return dict(rows.all())


def trial_seconds_by_study(conn: Conn, study_ids: Sequence[int]) -> dict[int, float]:
    """study_id -> seconds its finished trials trained (start to finish, pruned and failed
    ones included): compute spent, unlike a study's wall time, which interleaved studies
    share."""
    if not study_ids:
        return {}
    rows = conn.execute(
        select(TRIALS.c.study_id, TRIALS.c.datetime_start, TRIALS.c.datetime_complete).where(
            TRIALS.c.study_id.in_(list(study_ids)),
            TRIALS.c.datetime_start.is_not(None),
            TRIALS.c.datetime_complete.is_not(None),
        )
    )
    out: dict[int, float] = {}
    for study_id, start, complete in rows.all():
        out[study_id] = out.get(study_id, 0.0) + (complete - start).total_seconds()
    return out


class SpentRow(NamedTuple):
    """One finished trial's compute and result, for a study's compute-so-far curves."""

    study_id: int
    number: int
    state: str
    seconds: float  # start to finish
    steps: int  # intermediate values it reported (epochs, pruned and failed ones too)
    value: float | None  # its first objective's value when COMPLETE, else None
    attr: Any  # the user attribute asked for, when COMPLETE and it has one, else None


def finished_trials_spent(
    conn: Conn, study_ids: Sequence[int], user_attr: str | None = None
) -> list[SpentRow]:
    """The finished trials (COMPLETE, PRUNED, FAIL) of the studies, each study's in completion
    order (then by number): what each spent and, when COMPLETE, what it found (its value, and
    its user attribute `user_attr`). One query, whatever the number of trials. Summed per study
    they are `trial_seconds_by_study`, and `steps_by_study` once no trial runs."""
    if not study_ids:
        return []
    ids = list(study_ids)
    steps = (
        select(INTERMEDIATE.c.trial_id, func.count().label("n"))
        .select_from(INTERMEDIATE.join(TRIALS, TRIALS.c.trial_id == INTERMEDIATE.c.trial_id))
        .where(TRIALS.c.study_id.in_(ids))
        .group_by(INTERMEDIATE.c.trial_id)
        .subquery()
    )
    complete = TRIALS.c.state == "COMPLETE"
    rows = conn.execute(
        select(TRIALS.c.study_id, TRIALS.c.number, TRIALS.c.state, TRIALS.c.datetime_start,
               TRIALS.c.datetime_complete, steps.c.n, VALUES.c.value, VALUES.c.value_type,
               USER_ATTRS.c.value_json)
        .outerjoin(steps, steps.c.trial_id == TRIALS.c.trial_id)
        .outerjoin(VALUES, and_(VALUES.c.trial_id == TRIALS.c.trial_id, VALUES.c.objective == 0,
                                complete))
        .outerjoin(USER_ATTRS, and_(USER_ATTRS.c.trial_id == TRIALS.c.trial_id,
                                    USER_ATTRS.c.key == (user_attr or ""), complete))
        .where(
            TRIALS.c.study_id.in_(ids),
            TRIALS.c.state.in_(FINISHED),
            TRIALS.c.datetime_start.is_not(None),
            TRIALS.c.datetime_complete.is_not(None),
        )
        .order_by(TRIALS.c.study_id, TRIALS.c.datetime_complete, TRIALS.c.number)
    )  # fmt: skip
    return [
        SpentRow(study_id, number, state, (end - start).total_seconds(), n or 0,
                 value_from_stored(value, value_type) if value_type is not None else None,
                 json.loads(attr) if user_attr and attr is not None else None)
        for study_id, number, state, start, end, n, value, value_type, attr in rows.all()
    ]  # fmt: skip


def steps_by_trial(
    conn: Conn, trial_ids: Sequence[int], study_id: int | None = None
) -> dict[int, int]:
    """trial_id -> intermediate values it reported, for the trials that reported any."""
    if not trial_ids and study_id is None:
        return {}
    rows = conn.execute(
        select(INTERMEDIATE.c.trial_id, func.count())
        .where(_of_trials(INTERMEDIATE.c.trial_id, trial_ids, study_id))
        .group_by(INTERMEDIATE.c.trial_id)
    )
    return dict(rows.all())


def kept_steps(conn: Conn, trial_id: int) -> set[int]:
    """The steps a trial has an intermediate value for."""
    return set(conn.scalars(select(INTERMEDIATE.c.step).where(INTERMEDIATE.c.trial_id == trial_id)))


def last_step(conn: Conn, trial_id: int) -> int | None:
    """The highest step a trial reported, None before its first report."""
    return conn.scalar(
        select(func.max(INTERMEDIATE.c.step)).where(INTERMEDIATE.c.trial_id == trial_id)
    )


def study_version(conn: Conn, study_id: int) -> tuple[int, int, int, str | None]:
    """(trials, unfinished trials, newest trial id, newest completion) of a study: what changes
    whenever a trial is added, starts or finishes; an index range scan over its trials."""
    row = conn.execute(
        select(
            func.count(),
            func.count(case((TRIALS.c.state.in_(("RUNNING", "WAITING")), 1))),
            func.max(TRIALS.c.trial_id),
            func.max(TRIALS.c.datetime_complete),
        ).where(TRIALS.c.study_id == study_id)
    ).one()
    complete = row[3].isoformat() if isinstance(row[3], datetime.datetime) else row[3]
    return int(row[0]), int(row[1]), int(row[2] or 0), complete


def trial_count(conn: Conn, study_id: int, numbers: Sequence[int] | None = None) -> int:
    """The study's trials (only those numbered `numbers`, when given)."""
    query = select(func.count()).select_from(TRIALS).where(TRIALS.c.study_id == study_id)
    if numbers is not None:
        query = query.where(TRIALS.c.number.in_(list(numbers)))
    return conn.scalar(query) or 0


def trial_by_number(conn: Conn, study_id: int, number: int) -> tuple[int, str] | None:
    """(trial_id, state) of the study's trial `number`, None when there is none."""
    row = conn.execute(
        select(TRIALS.c.trial_id, TRIALS.c.state).where(
            TRIALS.c.study_id == study_id, TRIALS.c.number == number
        )
    ).first()
    return None if row is None else (row[0], row[1])


def trials_page(
    conn: Conn,
    study_id: int,
    *,
    offset: int,
    limit: int,
    sort: str,
    order: str,
    state: str | None,
    numbers: Sequence[int] | None,
) -> tuple[int, list[TrialRow]]:
    """(trials matching, one page of them) sorted by "number", "value" (COMPLETE trials first:
    only theirs is a result) or "duration", then by number."""
    where = [TRIALS.c.study_id == study_id]
    if state is not None:
        where.append(TRIALS.c.state == state)
    if numbers is not None:
        where.append(TRIALS.c.number.in_(list(numbers)))
    total = conn.scalar(select(func.count()).select_from(TRIALS).where(*where)) or 0
    dialect = conn.get_bind().dialect.name if isinstance(conn, Session) else conn.dialect.name
    sort_col = _sort_column(sort, dialect)
    ordering = [sort_col.asc() if order == "asc" else sort_col.desc()]
    if sort == "value":
        # only a COMPLETE trial's value is a result (a pruned trial's is its last intermediate
        # value): complete trials rank by value, the others follow, in either order
        ordering = [case((TRIALS.c.state == "COMPLETE", 0), else_=1), ordering[0].nulls_last()]
    rows = conn.execute(
        select(
            TRIALS.c.trial_id,
            TRIALS.c.number,
            TRIALS.c.state,
            TRIALS.c.datetime_start,
            TRIALS.c.datetime_complete,
            VALUES.c.value,
        )
        .outerjoin(VALUES, and_(VALUES.c.trial_id == TRIALS.c.trial_id, VALUES.c.objective == 0))
        .where(*where)
        .order_by(*ordering, TRIALS.c.number.asc())
        .offset(offset)
        .limit(limit)
    ).all()
    return total, [TrialRow(*row) for row in rows]


def _sort_column(sort: str, dialect: str) -> Any:
    """The ORDER BY expression of a trials page; durations need each database's date maths."""
    if sort == "number":
        return TRIALS.c.number
    if sort == "value":
        return VALUES.c.value
    end = func.coalesce(TRIALS.c.datetime_complete, TRIALS.c.datetime_start)
    if dialect == "sqlite":
        return _sqlite_seconds(end) - _sqlite_seconds(TRIALS.c.datetime_start)
    return func.extract("epoch", end - TRIALS.c.datetime_start)


def _sqlite_seconds(column: Any) -> Any:
    """Seconds since the epoch to the microsecond from SQLite's 'YYYY-MM-DD HH:MM:SS.ffffff' text.

    SQLite's own date functions (julianday, unixepoch) keep only milliseconds, which orders
    trials a few hundred microseconds apart the wrong way round; whole seconds come from
    strftime and the fraction from the text itself.
    """
    whole = cast(func.strftime("%s", func.substr(column, 1, 19)), Integer)
    fraction = cast(func.substr(column, 20), Float)
    return whole + fraction


def best_trials(conn: Conn, study_id: int, direction: str, limit: int) -> list[TrialKey]:
    """At most `limit` COMPLETE trials of the study, best value first."""
    by_value = VALUES.c.value.asc() if direction == "minimize" else VALUES.c.value.desc()
    rows = conn.execute(
        select(TRIALS.c.trial_id, TRIALS.c.number)
        .join(VALUES, VALUES.c.trial_id == TRIALS.c.trial_id)
        .where(TRIALS.c.study_id == study_id, TRIALS.c.state == "COMPLETE")
        .order_by(by_value)
        .limit(limit)
    )
    return [TrialKey(*row) for row in rows]


def recent_trials(
    conn: Conn, study_id: int, limit: int, states: Iterable[str] | None = None
) -> list[TrialKey]:
    """At most `limit` of the study's trials (in `states`, when given), newest first."""
    query = select(TRIALS.c.trial_id, TRIALS.c.number).where(TRIALS.c.study_id == study_id)
    if states is not None:
        query = query.where(TRIALS.c.state.in_(list(states)))
    rows = conn.execute(query.order_by(TRIALS.c.trial_id.desc()).limit(limit))
    return [TrialKey(*row) for row in rows]


def finished_version(conn: Conn, study_id: int) -> tuple[int, int]:
    """(finished trials, highest finished trial id): changes whenever a trial finishes."""
    row = conn.execute(
        select(func.count(), func.max(TRIALS.c.trial_id)).where(
            TRIALS.c.study_id == study_id, TRIALS.c.state.in_(FINISHED)
        )
    ).one()
    return int(row[0]), int(row[1] or 0)


def intermediate_points(
    conn: Conn, study_id: int, after: int, numbers: Sequence[int]
) -> list[tuple[int, int, int, float | None]]:
    """(value id, trial number, step, value) of the study's intermediate values whose id is
    above `after` (a cursor), for trials `numbers` (empty: all), by id."""
    iv = INTERMEDIATE
    query = (
        select(iv.c.trial_intermediate_value_id, TRIALS.c.number, iv.c.step,
               iv.c.intermediate_value)
        .join(TRIALS, TRIALS.c.trial_id == iv.c.trial_id)
        .where(TRIALS.c.study_id == study_id, iv.c.trial_intermediate_value_id > after)
    )  # fmt: skip
    if numbers:
        query = query.where(TRIALS.c.number.in_(list(numbers)))
    rows = conn.execute(query.order_by(iv.c.trial_intermediate_value_id))
    return [(value_id, number, step, value) for value_id, number, step, value in rows]


def orphan_trial_ids(conn: Conn, study_id: int, started_before: datetime.datetime) -> list[int]:
    """The study's RUNNING trials started before `started_before` (on `optuna_now`'s clock)
    that never recorded a heartbeat."""
    return list(
        conn.scalars(
            select(TRIALS.c.trial_id).where(
                TRIALS.c.study_id == study_id,
                TRIALS.c.state == "RUNNING",
                TRIALS.c.datetime_start < started_before,
                ~exists().where(HEARTBEATS.c.trial_id == TRIALS.c.trial_id),
            )
        ).all()
    )


def trials_by_id(conn: Conn, trial_ids: Iterable[int]) -> list[FrozenTrial]:
    """The trials with these ids as `FrozenTrial`s, by trial id."""
    return read_trials(_connection(conn), [TRIALS.c.trial_id.in_(list(trial_ids))])


def study_trials(conn: Conn, study_id: int) -> list[FrozenTrial]:
    """A study's trials as `FrozenTrial`s, by trial id (an empty list for no such study)."""
    return read_trials(_connection(conn), [TRIALS.c.study_id == study_id])


def _connection(conn: Conn) -> Connection:
    return conn.connection() if isinstance(conn, Session) else conn


def stored_time(moment: datetime.datetime | None) -> datetime.datetime | None:
    """A `FrozenTrial` time (naive local) as the `trials` table stores it (naive UTC)."""
    if moment is None:
        return None
    return moment.astimezone(datetime.UTC).replace(tzinfo=None)


def bulk_insert_trials(conn: Connection, study_id: int, trials: Sequence[FrozenTrial]) -> None:
    """Write finished trials into a study: one executemany INSERT per table, fresh trial ids.

    For the benchmarks' big studies (10,000 trials in seconds, where `add_trials` takes
    minutes); written as Optuna's storage writes them: the contract tests read them back
    through Optuna.
    """
    next_id = (conn.scalar(select(func.max(TRIALS.c.trial_id))) or 0) + 1
    rows: dict[Table, list[dict[str, Any]]] = defaultdict(list)
    for trial_id, trial in enumerate(trials, start=next_id):
        rows[TRIALS].append(
            {"trial_id": trial_id, "number": trial.number, "study_id": study_id,
             "state": trial.state.name, "datetime_start": stored_time(trial.datetime_start),
             "datetime_complete": stored_time(trial.datetime_complete)}
        )  # fmt: skip
        for name, value in trial.params.items():
            distribution = trial.distributions[name]
            rows[PARAMS].append(
                {"trial_id": trial_id, "param_name": name,
                 "param_value": distribution.to_internal_repr(value),
                 "distribution_json": optuna.distributions.distribution_to_json(distribution)}
            )  # fmt: skip
        for objective, value in enumerate(trial.values or ()):
            stored, value_type = stored_value(value)
            rows[VALUES].append(
                {"trial_id": trial_id, "objective": objective, "value": stored,
                 "value_type": value_type}
            )  # fmt: skip
        for key, attr in trial.user_attrs.items():
            rows[USER_ATTRS].append(
                {"trial_id": trial_id, "key": key, "value_json": json.dumps(attr)}
            )
        for key, attr in trial.system_attrs.items():
            rows[SYSTEM_ATTRS].append(
                {"trial_id": trial_id, "key": key, "value_json": json.dumps(attr)}
            )
        for step, value in trial.intermediate_values.items():
            stored, value_type = stored_value(value)
            rows[INTERMEDIATE].append(
                {"trial_id": trial_id, "step": step, "intermediate_value": stored,
                 "intermediate_value_type": value_type}
            )  # fmt: skip
    for table in (TRIALS, PARAMS, VALUES, USER_ATTRS, SYSTEM_ATTRS, INTERMEDIATE):
        if rows[table]:
            conn.execute(sqlalchemy.insert(table), rows[table])


# --- Optuna's private pieces, behind a check ----------------------------------------------------


def _check_internals() -> tuple[bool, str]:
    """Whether Optuna's private classes and tables are what the fast paths were written for."""
    if not SUPPORTED_OPTUNA[0] <= optuna_major() < SUPPORTED_OPTUNA[1]:
        return False, f"Optuna {optuna.__version__} is outside the supported range"
    try:
        from optuna.storages._cached_storage import _CachedStorage
        from optuna.storages._rdb import models
    except ImportError as exc:
        return False, f"Optuna's private modules moved ({exc})"
    for table in metadata.tables.values():
        theirs = models.BaseModel.metadata.tables.get(table.name)
        if theirs is None:
            return False, f"Optuna has no table {table.name!r}"
        missing = set(table.columns.keys()) - set(theirs.columns.keys())
        if missing:
            return False, f"Optuna's table {table.name!r} lacks {sorted(missing)}"
    for owner, name in ((optuna.storages.RDBStorage, "_get_trials"),
                        (_CachedStorage, "_get_cached_trial")):  # fmt: skip
        if not callable(getattr(owner, name, None)):
            return False, f"Optuna's {owner.__name__}.{name} is gone"
    return True, ""


FAST_PATHS, _WHY_NOT = _check_internals()
if not FAST_PATHS:
    log.warning("Optuna internals not as expected (%s): using plain RDBStorage reads", _WHY_NOT)

if FAST_PATHS:
    from optuna.storages._cached_storage import _CachedStorage as CachedStorageBase
else:  # pragma: no cover - only with an unsupported Optuna
    CachedStorageBase = object  # type: ignore[assignment,misc]


def study_id_of(study: optuna.Study) -> int:
    """Optuna's id of a study (it keeps it private); through the storage if that is gone."""
    study_id = getattr(study, "_study_id", None)
    if isinstance(study_id, int):
        return study_id
    return storage_of(study).get_study_id_from_name(study.study_name)


def storage_of(study: optuna.Study) -> optuna.storages.BaseStorage:
    """The storage a study object reads and writes through."""
    storage = getattr(study, "_storage", None)
    if isinstance(storage, optuna.storages.BaseStorage):
        return storage
    raise RuntimeError("this Optuna keeps a study's storage elsewhere")  # pragma: no cover


def trial_id_of(trial: optuna.Trial | FrozenTrial, study: optuna.Study | None = None) -> int:
    """Optuna's id of a trial (private on both trial classes); through the storage if gone."""
    trial_id = getattr(trial, "_trial_id", None)
    if isinstance(trial_id, int):
        return trial_id
    if study is None:
        raise RuntimeError("this Optuna hides trial ids: pass the study")  # pragma: no cover
    return storage_of(study).get_trial_id_from_study_id_trial_number(
        study_id_of(study), trial.number
    )


def note_on_finished_trial(
    storage: optuna.storages.BaseStorage, trial_id: int, key: str, value: Any
) -> bool:
    """Add a user attribute to a trial that has already finished (Optuna refuses to update
    one): why Optuna's stale check failed it, written by the process that failed it. False: the
    storage is not an RDB storage, nothing written."""
    backend = getattr(storage, "_backend", storage)  # under Optuna's per-study cache
    engine = getattr(backend, "engine", None)
    if not isinstance(backend, optuna.storages.RDBStorage) or not isinstance(engine, Engine):
        return False
    with engine.begin() as conn:
        conn.execute(
            sqlalchemy.insert(USER_ATTRS).values(
                trial_id=trial_id, key=key, value_json=json.dumps(value)
            )
        )
    return True


# --- ids never reused on SQLite ------------------------------------------------------------------

AUTOINCREMENT_TABLES = ("studies", "trials")


def ensure_sqlite_autoincrement(engine: Engine) -> list[str]:
    """Give Optuna's `studies` and `trials` tables AUTOINCREMENT on SQLite; the names rebuilt.

    Why: without it SQLite hands a new row max(id) + 1, so deleting the newest study and creating
    another reuses its id (and its trials' ids): a dashboard open on the old study shows the new
    one, and a worker still holding the old trial's id writes into the new one. PostgreSQL's
    sequences never go back. SQLite cannot add AUTOINCREMENT in place, so each table is rebuilt
    as SQLite documents (create the new table, copy, drop, rename, re-create the indexes) in one
    transaction with foreign keys off; copying keeps every id, and `sqlite_sequence` starts at
    the largest. Idempotent, and safe when several processes start at once (BEGIN IMMEDIATE, and
    the check is repeated inside the transaction).
    """
    if engine.dialect.name != "sqlite":
        return []
    rebuilt: list[str] = []
    pooled = engine.raw_connection()
    try:
        raw = pooled.driver_connection  # autocommit (isolation_level=None): BEGIN is ours
        assert raw is not None
        if not _missing_autoincrement(raw):
            return []
        raw.execute("PRAGMA foreign_keys=OFF")  # only outside a transaction, as SQLite requires
        try:
            raw.execute("BEGIN IMMEDIATE")
            try:
                for name in _missing_autoincrement(raw):  # again: another process may have
                    _rebuild_with_autoincrement(raw, name)
                    rebuilt.append(name)
                problems = raw.execute("PRAGMA foreign_key_check").fetchall()
                if problems:
                    raise RuntimeError(f"foreign keys broken by the rebuild: {problems[:5]}")
                raw.execute("COMMIT")
            except BaseException:
                raw.execute("ROLLBACK")
                raise
        finally:
            raw.execute("PRAGMA foreign_keys=ON")
    finally:
        pooled.close()
    if rebuilt:
        log.info("SQLite tables %s now never reuse ids (AUTOINCREMENT)", rebuilt)
    return rebuilt


def _missing_autoincrement(raw: Any) -> list[str]:
    rows = raw.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name IN (?, ?)",
        AUTOINCREMENT_TABLES,
    ).fetchall()
    return [name for name, sql in rows if "AUTOINCREMENT" not in sql.upper()]


def _rebuild_with_autoincrement(raw: Any, name: str) -> None:
    """SQLite's generalised ALTER TABLE for one table, keeping its columns and constraints: the
    stored CREATE statement with the integer primary key marked AUTOINCREMENT."""
    (create_sql,) = raw.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
    ).fetchone()
    indexes = [
        sql
        for (sql,) in raw.execute(
            "SELECT sql FROM sqlite_master"
            " WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
            (name,),
        ).fetchall()
    ]
    key = _integer_primary_key(raw, name)
    new_name = f"_adamtune_new_{name}"
    new_sql = _with_autoincrement(create_sql, name, new_name, key)
    columns = ", ".join(f'"{row[1]}"' for row in raw.execute(f'PRAGMA table_info("{name}")'))
    raw.execute(new_sql)
    raw.execute(f'INSERT INTO "{new_name}" ({columns}) SELECT {columns} FROM "{name}"')
    raw.execute(f'DROP TABLE "{name}"')
    raw.execute(f'ALTER TABLE "{new_name}" RENAME TO "{name}"')
    for sql in indexes:
        raw.execute(sql)


def _integer_primary_key(raw: Any, name: str) -> str:
    keys = [row for row in raw.execute(f'PRAGMA table_info("{name}")') if row[5]]
    if len(keys) != 1 or keys[0][2].upper() != "INTEGER":
        raise RuntimeError(f"table {name!r} has no single INTEGER primary key: {keys}")
    return str(keys[0][1])


def _with_autoincrement(create_sql: str, name: str, new_name: str, key: str) -> str:
    """`CREATE TABLE name (key INTEGER NOT NULL, ..., PRIMARY KEY (key))` as SQLAlchemy writes
    it -> the same table as `new_name` with `key INTEGER PRIMARY KEY AUTOINCREMENT`."""
    head = re.match(rf'\s*CREATE TABLE\s+"?{re.escape(name)}"?\s*\(', create_sql, re.IGNORECASE)
    column = re.search(rf'(^|[(,\s])"?{re.escape(key)}"?\s+INTEGER\s+NOT\s+NULL', create_sql,
                       re.IGNORECASE)  # fmt: skip
    table_key = re.search(rf',\s*PRIMARY KEY\s*\(\s*"?{re.escape(key)}"?\s*\)', create_sql,
                          re.IGNORECASE)  # fmt: skip
    if head is None or column is None or table_key is None:
        raise RuntimeError(f"unexpected schema of {name!r}: {create_sql}")
    body = create_sql[head.end() :]
    body = body.replace(table_key.group(0), "", 1)
    body = re.sub(
        rf'"?{re.escape(key)}"?\s+INTEGER\s+NOT\s+NULL',
        f'"{key}" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT',
        body,
        count=1,
        flags=re.IGNORECASE,
    )
    return f'CREATE TABLE "{new_name}" (' + body


# --- the storage classes ---------------------------------------------------------------------

# dialects whose INSERT ... SELECT ... ON CONFLICT DO UPDATE the fast report path uses
# (SQLite has upserts since 3.24); others (MySQL) take Optuna's ORM path
_UPSERT_DIALECTS = {"sqlite", "postgresql"}


@functools.cache
def _report_statement(dialect: str) -> Insert:
    """INSERT one intermediate value of a RUNNING trial, or overwrite the step's value.

    Built once per dialect with bound parameters, so SQLAlchemy compiles it once (its compiled
    cache) and every report only binds `trial_id`, `step`, `value` and `value_type`. The row is
    selected from `trials` by primary key and state: a trial that is not RUNNING (finished,
    failed as stale by another worker's heartbeat check, or missing) yields no row, so nothing
    is written and the statement affects 0 rows.
    """
    values = INTERMEDIATE
    row = _running_trial_row(
        sqlalchemy.bindparam("step", type_=values.c.step.type),
        sqlalchemy.bindparam("value", type_=values.c.intermediate_value.type),
        sqlalchemy.bindparam("value_type", type_=values.c.intermediate_value_type.type),
    )
    insert = (sqlite_dialect.insert if dialect == "sqlite" else postgresql.insert)(values)
    upsert = insert.from_select(
        ["trial_id", "step", "intermediate_value", "intermediate_value_type"], row
    )
    return upsert.on_conflict_do_update(
        index_elements=[values.c.trial_id, values.c.step],
        set_={
            "intermediate_value": upsert.excluded.intermediate_value,
            "intermediate_value_type": upsert.excluded.intermediate_value_type,
        },
    ).execution_options(preserve_rowcount=True)  # rowcount of an INSERT, also on psycopg


@functools.cache
def _heartbeat_statement(dialect: str) -> Insert:
    """INSERT a trial's heartbeat as the database's now(), or move it to now(): what Optuna's
    `record_heartbeat` does with a read, a read FOR UPDATE, a read of the clock and a write.
    `trial_heartbeats.trial_id` is unique (Optuna's constraint), which the upsert needs."""
    beats = HEARTBEATS
    insert = (sqlite_dialect.insert if dialect == "sqlite" else postgresql.insert)(beats)
    upsert = insert.values(
        trial_id=sqlalchemy.bindparam("trial_id", type_=beats.c.trial_id.type),
        heartbeat=func.now(),
    )
    return upsert.on_conflict_do_update(
        index_elements=[beats.c.trial_id], set_={"heartbeat": upsert.excluded.heartbeat}
    )


class HeldTrial(NamedTuple):
    """What a runner's request checks first: its trial, its state, the lease digest it holds,
    its last step (None before its first report)."""

    trial_id: int
    state: str
    user_attr: Any
    last_step: int | None


def held_trial(conn: Conn, study_id: int, number: int, key: str) -> HeldTrial | None:
    """`trial_by_number`, the trial's user attribute `key` and `last_step`, in one SELECT (a
    report checks all three before it writes anything); None when the study has no such
    trial."""
    attr = (
        select(USER_ATTRS.c.value_json)
        .where(USER_ATTRS.c.trial_id == TRIALS.c.trial_id, USER_ATTRS.c.key == key)
        .scalar_subquery()
    )
    last = (
        select(func.max(INTERMEDIATE.c.step))
        .where(INTERMEDIATE.c.trial_id == TRIALS.c.trial_id)
        .scalar_subquery()
    )
    row = conn.execute(
        select(TRIALS.c.trial_id, TRIALS.c.state, attr, last).where(
            TRIALS.c.study_id == study_id, TRIALS.c.number == number
        )
    ).first()
    if row is None:
        return None
    value = None if row[2] is None else json.loads(row[2])
    return HeldTrial(row[0], row[1], value, row[3])


def _running_trial_row(*columns: Any) -> Select[Any]:
    """SELECT the bound `trial_id` with `columns` where that trial is RUNNING: no row (so an
    INSERT ... SELECT writes nothing) for a finished, failed or missing trial."""
    trials = TRIALS
    return select(trials.c.trial_id, *columns).where(
        trials.c.trial_id == sqlalchemy.bindparam("trial_id", type_=trials.c.trial_id.type),
        trials.c.state == "RUNNING",
    )


@functools.cache
def _attr_statement(dialect: str, system: bool) -> Insert:
    """INSERT one user (or system) attribute of a RUNNING trial, or overwrite its value: as
    `_report_statement`, 0 rows when the trial is not RUNNING; built once per dialect and kind."""
    attrs = SYSTEM_ATTRS if system else USER_ATTRS
    row = _running_trial_row(
        sqlalchemy.bindparam("key", type_=attrs.c.key.type),
        sqlalchemy.bindparam("value_json", type_=attrs.c.value_json.type),
    )
    insert = (sqlite_dialect.insert if dialect == "sqlite" else postgresql.insert)(attrs)
    upsert = insert.from_select(["trial_id", "key", "value_json"], row)
    return upsert.on_conflict_do_update(
        index_elements=[attrs.c.trial_id, attrs.c.key],
        set_={"value_json": upsert.excluded.value_json},
    ).execution_options(preserve_rowcount=True)


_SCHEMA_HEADS: dict[str, str] = {}  # Optuna's version -> the newest revision of its tables


def schema_head(storage: optuna.storages.RDBStorage) -> str:
    """The newest revision of Optuna's tables that this Optuna knows, read once per process."""
    head = _SCHEMA_HEADS.get(optuna.__version__)
    if head is None:
        head = _SCHEMA_HEADS[optuna.__version__] = storage.get_head_version()
    return head


class AdamtuneStorage(optuna.storages.RDBStorage):
    """Optuna's RDB storage, with `trial.report` (and a trial attribute) as one SQL statement,
    and SQLite tuned.

    `set_trial_intermediate_value` through Optuna's ORM costs about 1 ms of CPU per report (load
    the trial, check that it is running, look for an existing value, insert or update, commit).
    The worker owns its running trial, so the checks can ride in the write itself: one
    `INSERT ... SELECT ... FROM trials WHERE trial_id = :id AND state = 'RUNNING' ON CONFLICT
    (trial_id, step) DO UPDATE` in one short transaction through SQLAlchemy Core, into Optuna's
    own tables (the ORM models' `__table__`) with Optuna's encoding of the value (finite, inf,
    -inf, nan). When it writes nothing the trial is not RUNNING (finished, failed as stale by
    another worker, waiting, or missing) and Optuna's ORM method takes over: it raises what
    Optuna raises (`UpdateFinishedTrialError`, `KeyError`) or, for a WAITING trial, writes as
    Optuna does. Other databases (MySQL) always take Optuna's method.

    On SQLite every connection gets WAL, `synchronous=NORMAL`, the busy timeout and `BEGIN
    IMMEDIATE` (`tune_sqlite`), also after unpickling; `engine_kwargs` default to
    `engine_kwargs(url)`, which that tuning expects.

    Optuna's check that its tables are at this Optuna's schema reads the newest revision from
    its migration scripts at every storage it opens (Alembic imports each script: ~0.1 s of
    CPU); here it is read once per process (`schema_head`) and compared with the database's
    revision through the same public methods, and only a mismatch takes Optuna's own check,
    for its message. A process that opens many storages (a test run, `adamtune tune` with its
    worker) pays for the scripts once.
    """

    def __init__(self, url: str, **kwargs: Any) -> None:
        kwargs.setdefault("engine_kwargs", engine_kwargs(url))
        check = not kwargs.pop("skip_compatibility_check", False)
        super().__init__(url, skip_compatibility_check=True, **kwargs)
        if check and self.get_current_version() != schema_head(self):
            # Optuna's own check, which raises its message (upgrade the storage, or Optuna)
            optuna.storages.RDBStorage(url, engine_kwargs=kwargs["engine_kwargs"]).engine.dispose()
        self._tune()
        ensure_sqlite_autoincrement(self.engine)

    def __getstate__(self) -> dict[Any, Any]:
        state = super().__getstate__()
        state.pop("_read_engine", None)  # engines do not pickle; a new one is made on demand
        return state

    def __setstate__(self, state: dict[Any, Any]) -> None:
        super().__setstate__(state)  # a new engine, created untuned
        self._tune()

    def reader_engine(self) -> Engine:
        """The engine of the Core reads below. On SQLite a second one whose transactions begin
        deferred: in WAL mode such a reader neither waits for nor blocks a writer, and Optuna's
        ORM calls `get_trial` while its own write transaction holds the lock (for an error
        message), which a read beginning IMMEDIATE on another connection would wait for."""
        if not is_sqlite(self.url):
            return self.engine
        engine: Engine | None = self.__dict__.get("_read_engine")
        if engine is None:
            engine = create_engine(self.url, immediate=False)
            self.__dict__["_read_engine"] = engine
        return engine

    def _tune(self) -> None:
        if is_sqlite(self.url):
            # Optuna opened its first connections before we could tune them: drop and re-open.
            tune_sqlite(self.engine)
            self.engine.dispose()

    def _fast_path(self) -> bool:
        """Whether the Core upsert and reads apply here: Optuna's internals as expected
        (`optuna_internals.FAST_PATHS`) on SQLite 3.24+ or PostgreSQL."""
        if not FAST_PATHS:
            return False
        dialect = self.engine.dialect.name
        if dialect == "sqlite" and sqlite3.sqlite_version_info < (3, 24, 0):
            return False
        return dialect in _UPSERT_DIALECTS

    def set_trial_intermediate_value(
        self, trial_id: int, step: int, intermediate_value: float
    ) -> None:
        if not self._fast_path():
            super().set_trial_intermediate_value(trial_id, step, intermediate_value)
            return
        value, value_type = stored_value(intermediate_value)
        params = {"trial_id": trial_id, "step": step, "value": value, "value_type": value_type}
        try:
            with self.engine.begin() as conn:
                written = conn.execute(_report_statement(self.engine.dialect.name), params)
                rowcount = written.rowcount
        except sqlalchemy.exc.SQLAlchemyError as exc:  # as Optuna's session scope wraps them
            raise optuna.exceptions.StorageInternalError(
                "An exception is raised during the commit of an intermediate value."
            ) from exc
        if rowcount == 0:
            # not RUNNING: Optuna's own method raises (finished, missing) or writes (waiting)
            super().set_trial_intermediate_value(trial_id, step, intermediate_value)

    def record_heartbeat(self, trial_id: int) -> None:
        """One upsert (`_heartbeat_statement`) where Optuna's ORM method sends four statements:
        every report of an external runner beats, so this is on the report path."""
        if not self._fast_path():
            super().record_heartbeat(trial_id)
            return
        statement = _heartbeat_statement(self.engine.dialect.name)
        try:
            with self.engine.begin() as conn:
                conn.execute(statement, {"trial_id": trial_id})
        except sqlalchemy.exc.SQLAlchemyError as exc:  # as Optuna's session scope wraps them
            raise optuna.exceptions.StorageInternalError(
                "An exception is raised during the commit of a heartbeat."
            ) from exc

    def set_trial_user_attr(self, trial_id: int, key: str, value: Any) -> None:
        """One statement, as a report (a runner sets 3 to 5 user attributes per trial)."""
        if not self._set_attr(trial_id, key, value, system=False):
            super().set_trial_user_attr(trial_id, key, value)

    def set_trial_system_attr(self, trial_id: int, key: str, value: Any) -> None:
        """One statement, as a report (samplers and Hyperband's rungs set them)."""
        if not self._set_attr(trial_id, key, value, system=True):
            super().set_trial_system_attr(trial_id, key, value)

    def _set_attr(self, trial_id: int, key: str, value: Any, *, system: bool) -> bool:
        """Whether the Core upsert wrote the attribute; if not (no fast path, or the trial is
        not RUNNING) Optuna's own method raises or writes as Optuna does."""
        if not self._fast_path():
            return False
        params = {"trial_id": trial_id, "key": key, "value_json": json.dumps(value)}
        try:
            with self.engine.begin() as conn:
                written = conn.execute(_attr_statement(self.engine.dialect.name, system), params)
                return bool(written.rowcount)
        except sqlalchemy.exc.SQLAlchemyError as exc:  # as Optuna's session scope wraps them
            raise optuna.exceptions.StorageInternalError(
                "An exception is raised during the commit of an attribute."
            ) from exc

    def get_trial(self, trial_id: int) -> FrozenTrial:
        """Optuna's `get_trial` through Core queries (`optim.trial_reads`)."""
        if not self._fast_path():
            return super().get_trial(trial_id)
        with self.reader_engine().connect() as conn:
            found = read_trials(conn, [TRIALS.c.trial_id == trial_id])
        if not found:
            raise KeyError(NOT_FOUND_MSG)
        return found[0]

    def _get_trials(
        self,
        study_id: int,
        states: Container[TrialState] | None,
        included_trial_ids: set[int],
        trial_id_greater_than: int,
    ) -> list[FrozenTrial]:
        """Optuna's `_get_trials` (behind `get_all_trials` and `_CachedStorage`'s incremental
        reads of a study) through Core queries: same arguments, same trials, same order."""
        if not self._fast_path():
            return super()._get_trials(study_id, states, included_trial_ids, trial_id_greater_than)
        trials = TRIALS
        included = {i for i in included_trial_ids if i <= trial_id_greater_than}
        where = [trials.c.study_id == study_id]
        if states is not None:
            assert isinstance(states, Iterable)  # as Optuna's: Container in the signature
            where.append(trials.c.state.in_([TrialState(s).name for s in states]))
        if included and trial_id_greater_than > -1:
            where.append(
                sqlalchemy.or_(
                    trials.c.trial_id.in_(sorted(included)),
                    trials.c.trial_id > trial_id_greater_than,
                )
            )
        elif trial_id_greater_than > -1:
            where.append(trials.c.trial_id > trial_id_greater_than)
        with self.reader_engine().connect() as conn:
            if not study_exists(conn, study_id):
                raise KeyError(NOT_FOUND_MSG)
            try:
                return read_trials(conn, where)
            except sqlalchemy.exc.OperationalError:
                # as Optuna's: too many values in the IN list for this database; read the
                # study's trials and filter here (slower, correct)
                every = read_trials(conn, where[:2] if states is not None else where[:1])
                return [
                    t
                    for t in every
                    if t._trial_id in included or t._trial_id > trial_id_greater_than
                ]

    def get_trial_system_attrs(self, trial_id: int) -> dict[str, Any]:
        """One Core SELECT, where Optuna's ORM path costs two queries and model loading.

        Pruners read a running trial's system attributes at every `should_prune` (Hyperband
        and successive halving keep the trial's rung there).
        """
        if not self._fast_path():
            return super().get_trial_system_attrs(trial_id)
        with self.reader_engine().connect() as conn:
            return read_system_attrs(conn, trial_id)


class StudyStorage(CachedStorageBase):  # type: ignore[misc,valid-type]
    """Optuna's per-study cache in front of `AdamtuneStorage`, reading system attributes
    through it.

    `optuna.create_study` / `load_study` wrap an RDB storage in `_CachedStorage`, whose
    `get_trial_system_attrs` loads the whole running trial through the ORM (about 2 ms here,
    at every `should_prune` of Hyperband). Passed this wrapper instead, Optuna uses it as is.
    """

    def __init__(self, backend: AdamtuneStorage) -> None:
        super().__init__(backend)
        self._study_ids: dict[str, int] = {}

    def get_study_id_from_name(self, study_name: str) -> int:
        """Remembered: Hyperband builds a study object, so looks the id up, at every
        `should_prune`, and a study keeps its name and id (the worker drops its wrapper of a
        deleted study when the next lookup by id raises KeyError)."""
        study_id = self._study_ids.get(study_name)
        if study_id is None:
            study_id = super().get_study_id_from_name(study_name)
            self._study_ids[study_name] = study_id
        return study_id

    def get_trial_system_attrs(self, trial_id: int) -> dict[str, Any]:
        with self._lock:
            trial = self._get_cached_trial(trial_id)
        if trial is not None:
            return trial.system_attrs
        return self._backend.get_trial_system_attrs(trial_id)


# --- pruner rungs ---------------------------------------------------------------------------------


class _BracketKey(NamedTuple):
    """What `HyperbandPruner._get_bracket_id` reads of a study and of a trial."""

    study_name: str
    number: int


def rung_steps(
    pruner: optuna.pruners.BasePruner, study_name: str, trial_number: int, horizon: int
) -> tuple[int, ...] | None:
    """The steps up to `horizon` at which Optuna's successive halving or Hyperband `pruner` can
    decide trial `trial_number` of study `study_name`: its bracket's rung steps.

    `SuccessiveHalvingPruner.prune` returns False, reading nothing but the trial's system
    attributes and writing nothing, while the trial's last step is below its next rung's step;
    a trial it judged at a step and did not prune holds every rung up to that step. So a caller
    that judges a trial after its reports may skip `should_prune` at a step when no rung step
    lies between the last step it judged and this one (`optim.verdict.TrialJudge`).

    None when that is not known here: another pruner (or a subclass of these, which may decide
    otherwise), Hyperband before its first `prune` (it makes its brackets then), a min_resource
    still "auto", or Optuna's private fields not as this was written for.
    """
    kind = type(pruner)
    halving: Any = pruner
    # exactly these classes: a subclass may decide elsewhere (isinstance: for the type checker)
    if kind is optuna.pruners.HyperbandPruner and isinstance(pruner, kind):
        brackets = getattr(pruner, "_pruners", None)
        if not brackets:
            return None
        try:
            key = _BracketKey(study_name, trial_number)
            bracket = pruner._get_bracket_id(key, key)  # type: ignore[arg-type]
            halving = brackets[bracket]
        except (AttributeError, AssertionError, IndexError, TypeError):
            return None
        if type(halving) is not optuna.pruners.SuccessiveHalvingPruner:
            return None
    elif kind is not optuna.pruners.SuccessiveHalvingPruner:
        return None
    min_resource = getattr(halving, "_min_resource", None)
    factor = getattr(halving, "_reduction_factor", None)
    rate = getattr(halving, "_min_early_stopping_rate", None)
    if not all(isinstance(x, int) for x in (min_resource, factor, rate)):
        return None  # "auto" not yet estimated, or fields renamed
    assert isinstance(min_resource, int) and isinstance(factor, int) and isinstance(rate, int)
    if min_resource < 1 or factor < 2 or rate < 0:
        return None
    steps = []
    rung = 0
    while (step := min_resource * factor ** (rate + rung)) <= horizon:
        steps.append(step)
        rung += 1
    return tuple(steps)
