"""Alembic's entry point: runs the revisions on the connection gpserver hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from gpserver.db import load_tables, metadata


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite alters a table by copying it; batch mode writes revisions that way,
        # and PostgreSQL runs the same batch as plain ALTER statements.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


given = context.config.attributes.get("connection")
if given is None:
    raise RuntimeError(
        "gpserver's revisions run through `gpserver db upgrade`, and new ones are "
        "written with `python -m gpserver.migrations`; there is no alembic.ini"
    )
load_tables()
run(given)
