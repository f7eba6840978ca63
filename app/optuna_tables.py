"""Read-only mirror of the Optuna RDB tables that the hot read paths query directly.

Loading a study through Optuna's API reads every trial with all its attributes (13 s for
10,000 trials here); these Core tables let the API select just the columns and rows it needs.
Only columns of Optuna's stable schema are named; Optuna itself creates and migrates the tables.
Optuna declares `state` and `direction` as SQLAlchemy Enums, which are native ENUM types on
PostgreSQL (`trialstate`, `studydirection`): mirrored as plain strings, a comparison such as
`state = 'COMPLETE'::VARCHAR` fails there ("operator does not exist: trialstate = character
varying"), so they are mirrored as the same Enums, with member names as plain strings.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum as PyEnum

from optuna.study import StudyDirection
from optuna.trial import TrialState
from sqlalchemy import Column, DateTime, Enum, Float, Integer, MetaData, String, Table, Text

optuna_metadata = MetaData()


# Optuna's RDB storage keeps trial times as naive UTC (its `TrialModel` converts them to naive
# local time for `FrozenTrial`s); rows read here carry the raw column.
def optuna_now() -> datetime:
    """Now on the clock of the `trials` table's datetime columns (naive UTC)."""
    return datetime.now(UTC).replace(tzinfo=None)


def as_utc(moment: datetime | None) -> datetime | None:
    """A `trials` datetime as an aware UTC datetime (what the API returns)."""
    return moment.replace(tzinfo=UTC) if moment is not None else None


def as_local_naive(moment: datetime | None) -> datetime | None:
    """A `trials` datetime as Optuna's own `FrozenTrial` holds it (naive local time)."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC).astimezone().replace(tzinfo=None)


def _optuna_enum(members: type[PyEnum]) -> Enum:
    """Optuna's `Enum(members)` column type: values are member names, the type its lower name."""
    return Enum(*(m.name for m in members), name=members.__name__.lower(), create_constraint=False)


studies = Table(
    "studies",
    optuna_metadata,
    Column("study_id", Integer, primary_key=True),
    Column("study_name", String(512)),
)

study_directions = Table(
    "study_directions",
    optuna_metadata,
    Column("study_direction_id", Integer, primary_key=True),
    Column("direction", _optuna_enum(StudyDirection)),
    Column("study_id", Integer),
    Column("objective", Integer),
)

study_user_attributes = Table(
    "study_user_attributes",
    optuna_metadata,
    Column("study_user_attribute_id", Integer, primary_key=True),
    Column("study_id", Integer),
    Column("key", String(512)),
    Column("value_json", Text),
)

trials = Table(
    "trials",
    optuna_metadata,
    Column("trial_id", Integer, primary_key=True),
    Column("number", Integer),
    Column("study_id", Integer),
    Column("state", _optuna_enum(TrialState)),
    Column("datetime_start", DateTime),
    Column("datetime_complete", DateTime),
)

trial_params = Table(
    "trial_params",
    optuna_metadata,
    Column("param_id", Integer, primary_key=True),
    Column("trial_id", Integer),
    Column("param_name", String(512)),
    Column("param_value", Float),
    Column("distribution_json", Text),
)

trial_values = Table(
    "trial_values",
    optuna_metadata,
    Column("trial_value_id", Integer, primary_key=True),
    Column("trial_id", Integer),
    Column("objective", Integer),
    Column("value", Float),
    Column("value_type", String(7)),
)

trial_user_attributes = Table(
    "trial_user_attributes",
    optuna_metadata,
    Column("trial_user_attribute_id", Integer, primary_key=True),
    Column("trial_id", Integer),
    Column("key", String(512)),
    Column("value_json", Text),
)

trial_system_attributes = Table(
    "trial_system_attributes",
    optuna_metadata,
    Column("trial_system_attribute_id", Integer, primary_key=True),
    Column("trial_id", Integer),
    Column("key", String(512)),
    Column("value_json", Text),
)

trial_intermediate_values = Table(
    "trial_intermediate_values",
    optuna_metadata,
    Column("trial_intermediate_value_id", Integer, primary_key=True),
    Column("trial_id", Integer),
    Column("step", Integer),
    Column("intermediate_value", Float),
    Column("intermediate_value_type", String(7)),
)

trial_heartbeats = Table(
    "trial_heartbeats",
    optuna_metadata,
    Column("trial_heartbeat_id", Integer, primary_key=True),
    Column("trial_id", Integer),
    Column("heartbeat", DateTime),
)
