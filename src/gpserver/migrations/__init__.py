"""The store's schema history: Alembic revisions shipped inside the package.

There is no alembic.ini. The configuration is built here, and ``env.py`` runs the
revisions on a connection that :class:`gpserver.db.Database` hands over, inside the
Database's own transaction, so SQLite's pragmas and locking apply to migrations too.

A change to a table module needs a new revision in ``versions/``, which
``python -m gpserver.migrations "what changed"`` drafts; the migration test in
``tests/db/`` fails, showing the difference, until the revisions and the tables agree.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, create_engine, inspect, text

log = logging.getLogger(__name__)

# The schema that ``metadata.create_all`` made before the store carried revisions.
BASELINE = "0001"
VERSION_TABLE = "alembic_version"

# Table name -> (column names, index names): enough to recognise a store.
Shape = dict[str, tuple[frozenset[str], frozenset[str]]]


class UnknownRevision(Exception):
    """The store is at a revision this gpserver does not ship: a newer one wrote it."""


class UnrecognisedStore(Exception):
    """The store has tables but no revision, and they are not the baseline's."""


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    location = str(Path(__file__).parent).replace("%", "%%")
    config.set_main_option("script_location", location)
    config.attributes["connection"] = connection
    return config


@functools.cache
def head() -> str:
    """The revision this gpserver's tables are at."""
    revision = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert revision is not None, "the package ships no revisions"
    return revision


def known(revision: str) -> bool:
    script = ScriptDirectory.from_config(alembic_config())
    try:
        return script.get_revision(revision) is not None
    except CommandError:
        return False


def current(conn: Connection) -> str | None:
    """The store's revision, or None when it has none."""
    # Read directly rather than through Alembic's MigrationContext, which logs two
    # lines each time it is made: every start would print them.
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    return conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


def upgrade(conn: Connection) -> tuple[str | None, str]:
    """Bring the store on ``conn`` to :func:`head`; return where it was and is.

    Runs in the caller's transaction, so a failed revision leaves nothing behind.
    """
    before = current(conn)
    if before is None and _shape(conn):
        _adopt(conn)
        before = BASELINE
    if before == head():
        return before, before
    if before is not None and not known(before):
        raise UnknownRevision(before)

    command.upgrade(alembic_config(conn), "head")
    return before, head()


def _adopt(conn: Connection) -> None:
    """Stamp a store that ``create_all`` made, if it is the baseline schema."""
    found = _shape(conn)
    expected = _baseline_shape()
    if found != expected:
        raise UnrecognisedStore(_difference(found, expected))
    command.stamp(alembic_config(conn), BASELINE)
    log.info(
        "the store had no revision; its tables are revision %s's, so it is marked so",
        BASELINE,
        extra={"event": "db.adopted"},
    )


def _shape(conn: Connection) -> Shape:
    inspector = inspect(conn)
    return {
        name: (
            frozenset(c["name"] for c in inspector.get_columns(name)),
            frozenset(str(i["name"]) for i in inspector.get_indexes(name)),
        )
        for name in inspector.get_table_names()
        if name != VERSION_TABLE
    }


@functools.cache
def _baseline_shape() -> Shape:
    # Built by running the baseline revision on a scratch database, so the
    # comparison stays right when later revisions change the tables.
    engine = create_engine("sqlite://")
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), BASELINE)
            return _shape(conn)
    finally:
        engine.dispose()


def _difference(found: Shape, expected: Shape) -> str:
    groups = {
        "different": [
            n for n in found.keys() & expected.keys() if found[n] != expected[n]
        ],
        "missing": list(expected.keys() - found.keys()),
        "unknown": list(found.keys() - expected.keys()),
    }
    return "; ".join(
        f"{group}: {', '.join(sorted(names))}"
        for group, names in groups.items()
        if names
    )
