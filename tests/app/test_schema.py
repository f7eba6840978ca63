"""Alembic migrations of adamtune's tables: a database made by release 0.1.0 (before migrations
existed; dumps in tests/app/data/) is upgraded on SQLite and PostgreSQL keeping every row, the
models match the migrations, and processes that start together migrate once."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from app.db import Database
from app.models import Base
from app.schema import VERSION_TABLE, current_revision, head_revision, upgrade_database
from optim.engines import create_engine
from optim.storage import make_storage
from tests.app.conftest import Api
from tests.conftest import both_databases, query

DATA = Path(__file__).resolve().parent / "data"
OLD_COLUMNS = {
    "adamtune_jobs": "study_id, study_name, task, config, n_trials, status, created_at, error",
    "adamtune_events": "id, study_id, kind, trial_number, epoch, val_loss, state, payload",
    "trials": "trial_id, number, study_id, state, datetime_start",
    "studies": "study_id, study_name",
}


def load_release_0_1_0(database_url: str) -> None:
    """Write the database release 0.1.0 made (two studies, five trials, their events)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        with sqlite3.connect(str(url.database)) as conn:
            conn.executescript((DATA / "release-0.1.0.sqlite.sql").read_text())
        return
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute((DATA / "release-0.1.0.postgres.sql").read_text())  # type: ignore[arg-type]


def rows(database_url: str) -> dict[str, list[tuple[str, ...]]]:
    """Every row of the columns release 0.1.0 had, as text (JSON compares by its text)."""
    return {
        table: sorted(
            tuple(map(str, row)) for row in query(database_url, f"SELECT {cols} FROM {table}")
        )
        for table, cols in OLD_COLUMNS.items()
    }


@both_databases
def test_a_release_0_1_0_database_is_upgraded_keeping_every_row(
    database_url: str, make_api: Any
) -> None:
    load_release_0_1_0(database_url)
    before = rows(database_url)
    assert len(before["adamtune_events"]) == 26 and len(before["trials"]) == 5

    api: Api = make_api()  # the server upgrades on start
    assert rows(database_url) == before
    engine = sqlalchemy.create_engine(database_url, poolclass=NullPool)
    with engine.connect() as conn:
        assert current_revision(conn) == head_revision()
    engine.dispose()
    uids = query(database_url, "SELECT uid FROM adamtune_jobs")
    assert len({uid for (uid,) in uids}) == 2 and all(uid for (uid,) in uids)

    studies = api.get("/api/studies").json()["studies"]
    assert sorted((s["name"], s["status"], s["progress"]["finished"]) for s in studies) == [
        ("old-a", "completed", 3), ("old-b", "completed", 2)
    ]  # fmt: skip
    new = api.create_study(task="rosenbrock", n_trials=1, epochs=1, name="after-upgrade")
    assert new["id"] > max(s["id"] for s in studies)
    api.work()
    (max_old,) = query(database_url, "SELECT MAX(id) FROM adamtune_events WHERE study_id < :id",
                       id=new["id"])[0]  # fmt: skip
    (min_new,) = query(database_url, "SELECT MIN(id) FROM adamtune_events WHERE study_id = :id",
                       id=new["id"])[0]  # fmt: skip
    assert min_new > max_old


def test_sqlite_ids_are_never_reused_after_the_upgrade(tmp_path: Path) -> None:
    """The rebuilt tables (AUTOINCREMENT) keep ids growing past a deleted newest row."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    load_release_0_1_0(url)
    make_storage(url).engine.dispose()  # Optuna's tables get AUTOINCREMENT here
    Database.open(url).dispose()
    sql = dict(query(url, "SELECT name, sql FROM sqlite_master WHERE type = 'table'"))
    for table in ("studies", "trials", "adamtune_events"):
        assert "AUTOINCREMENT" in sql[table].upper(), table
    (newest,) = query(url, "SELECT MAX(study_id) FROM studies")[0]
    with sqlite3.connect(tmp_path / "old.db") as conn:
        conn.execute("PRAGMA foreign_keys=OFF")
        for table in ("trial_values", "trial_params", "trial_user_attributes",
                      "trial_system_attributes", "trial_intermediate_values",
                      "trial_heartbeats"):  # fmt: skip
            in_study = "SELECT trial_id FROM trials WHERE study_id = ?"
            conn.execute(f"DELETE FROM {table} WHERE trial_id IN ({in_study})", (newest,))
        for table in (
            "trials",
            "study_directions",
            "study_user_attributes",
            "study_system_attributes",
            "adamtune_events",
            "adamtune_jobs",
            "studies",
        ):
            conn.execute(f"DELETE FROM {table} WHERE study_id = ?", (newest,))  # fmt: skip
        conn.execute("INSERT INTO studies (study_name) VALUES ('next')")
        (again,) = conn.execute("SELECT study_id FROM studies WHERE study_name = 'next'").fetchone()
    assert again > newest


@both_databases
def test_the_models_match_the_migrations(database_url: str) -> None:
    engine = create_engine(database_url)
    upgrade_database(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "version_table": VERSION_TABLE,
                "include_name": lambda name, type_, _parent: (
                    type_ != "table" or (name or "").startswith("adamtune_")
                ),
            },
        )
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == []


@both_databases
def test_processes_starting_together_migrate_once(database_url: str) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def open_database() -> None:
        engine = create_engine(database_url)
        try:
            start.wait(timeout=30)
            upgrade_database(engine)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=open_database) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert query(database_url, f"SELECT version_num FROM {VERSION_TABLE}") == [(head_revision(),)]
