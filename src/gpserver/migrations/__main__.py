"""Write a new revision from the difference between the tables and the revisions.

    python -m gpserver.migrations "add a priority to jobs"

The file lands in ``versions/``. Read it, edit it and run ruff format on it before
committing: autogenerate misses renames and data changes.
"""

from __future__ import annotations

import sys

from alembic import command
from sqlalchemy import create_engine

from gpserver.migrations import alembic_config, head


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2

    # Compare against a scratch store at the latest revision.
    engine = create_engine("sqlite://")
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "head")
            command.revision(
                alembic_config(conn),
                message=argv[0],
                autogenerate=True,
                rev_id=f"{int(head()) + 1:04d}",
            )
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
