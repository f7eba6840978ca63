"""Ids never reused: a uid per job for workers to key on; event ids AUTOINCREMENT on SQLite.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("adamtune_jobs", sa.Column("uid", sa.String(length=32), nullable=True))
    jobs = sa.table("adamtune_jobs", sa.column("study_id", sa.Integer), sa.column("uid"))
    bind = op.get_bind()
    for (study_id,) in bind.execute(sa.select(jobs.c.study_id)).all():
        bind.execute(jobs.update().where(jobs.c.study_id == study_id).values(uid=uuid.uuid4().hex))
    with op.batch_alter_table("adamtune_jobs") as batch:
        batch.alter_column("uid", existing_type=sa.String(length=32), nullable=False)
        batch.create_unique_constraint("uq_adamtune_jobs_uid", ["uid"])
    # PostgreSQL's sequences never go back; SQLite needs AUTOINCREMENT, i.e. a copied table
    with op.batch_alter_table(
        "adamtune_events",
        recreate="always" if bind.dialect.name == "sqlite" else "auto",
        table_kwargs={"sqlite_autoincrement": True},
    ) as batch:
        batch.create_index("ix_adamtune_events_study_id", ["study_id", "id"])
