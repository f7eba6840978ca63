"""Alembic environment for adamtune's own tables (Optuna migrates its tables itself).

Run through `app.schema.upgrade_database`, which hands over a connection already inside a
transaction (and the lock that keeps two starting processes from migrating at once); the
version lives in `adamtune_alembic_version`, apart from Optuna's `alembic_version`.
"""

from __future__ import annotations

from alembic import context

from app.models import Base
from app.schema import VERSION_TABLE

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    version_table=VERSION_TABLE,
    render_as_batch=True,  # SQLite alters tables by copying them
    # Optuna's tables share the database: autogenerate must not see them
    include_name=lambda name, type_, _parent: (
        type_ != "table" or (name or "").startswith("adamtune_")
    ),
)
with context.begin_transaction():
    context.run_migrations()
