"""adamtune's tables brought up to date with Alembic when a process opens the database.

The server and every worker call `upgrade_database` on start; a lock makes one of them migrate
while the others wait and then find nothing to do: a transaction-scoped advisory lock on
PostgreSQL, SQLite's write lock (BEGIN IMMEDIATE) on SQLite. A database made before migrations
existed (adamtune's tables, no version table) is stamped at revision 0001, the schema it has,
and upgraded from there, keeping every row.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

log = logging.getLogger("adamtune.schema")

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "adamtune_alembic_version"  # Optuna keeps its own in `alembic_version`
PRE_MIGRATIONS_REVISION = "0001"  # the schema of a database made before migrations existed
MIGRATION_LOCK = (0x4144, 1)  # (namespace, key): "AD" as in optim.claims, key 1 for migrations


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest migration of this release."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(connection: Connection) -> str | None:
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def upgrade_database(engine: Engine, revision: str = "head") -> None:
    """Create or migrate adamtune's tables to `revision`, in one transaction.

    On SQLite foreign keys are off while it runs (as SQLite's ALTER TABLE procedure requires:
    copying the jobs table must not cascade into the events) and checked before the commit.
    """
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        raw = conn.connection.driver_connection if sqlite else None
        if raw is not None:
            raw.execute("PRAGMA foreign_keys=OFF")  # outside a transaction, or SQLite ignores it
        try:
            with conn.begin():
                if not sqlite:
                    conn.execute(
                        text("SELECT pg_advisory_xact_lock(:ns, :key)"),
                        {"ns": MIGRATION_LOCK[0], "key": MIGRATION_LOCK[1]},
                    )
                tables = set(inspect(conn).get_table_names())
                config = alembic_config(conn)
                if "adamtune_jobs" in tables and VERSION_TABLE not in tables:
                    log.info("stamping a database made before migrations at %s",
                             PRE_MIGRATIONS_REVISION)  # fmt: skip
                    command.stamp(config, PRE_MIGRATIONS_REVISION)
                before = current_revision(conn)
                command.upgrade(config, revision)
                after = current_revision(conn)
                if sqlite:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise RuntimeError(f"migration broke foreign keys: {broken[:5]}")
        finally:
            if raw is not None:
                raw.execute("PRAGMA foreign_keys=ON")
    if before != after:
        log.info("adamtune's tables migrated from %s to %s", before, after)
