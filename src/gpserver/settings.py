"""Site settings changed at run time (token settings, service edits, directories).

They live in the store, not in the configuration file, so that every web node
reads the same values and they survive restarts.
"""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import Column, String, Table, Text, select

from gpserver.db import Database, metadata

settings = Table(
    "settings",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("value", Text, nullable=False),
)


class SettingsStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, name: str) -> str | None:
        with self.db.read() as conn:
            value = conn.execute(
                select(settings.c.value).where(settings.c.name == name)
            ).scalar_one_or_none()
        return str(value) if value is not None else None

    def put(self, name: str, value: str, *, only_if_missing: bool = False) -> str:
        """Store a setting and return what is stored; with ``only_if_missing`` the
        first writer wins, which is how several nodes agree on a generated value."""
        with self.db.write() as conn:
            statement = self.db.insert()(settings).values(name=name, value=value)
            if only_if_missing:
                conn.execute(statement.on_conflict_do_nothing())
            else:
                conn.execute(
                    statement.on_conflict_do_update(
                        index_elements=["name"], set_={"value": value}
                    )
                )
            stored = conn.execute(
                select(settings.c.value).where(settings.c.name == name)
            ).scalar_one()
        return str(stored)

    def put_all(self, values: dict[str, str]) -> None:
        """Store several settings in one transaction: every one of them or none."""
        with self.db.write() as conn:
            for name, value in values.items():
                conn.execute(
                    self.db.insert()(settings)
                    .values(name=name, value=value)
                    .on_conflict_do_update(
                        index_elements=["name"], set_={"value": value}
                    )
                )

    def claim_lease(self, name: str, holder: str, seconds: float) -> bool:
        """Hold a named lease for ``seconds`` unless someone else holds it now.

        A lease, not a lock: a holder that dies lets it lapse, and the next one
        takes over. The read and the write share one transaction (IMMEDIATE on
        SQLite, a row lock on PostgreSQL), so two nodes never both win.
        """
        now = time.time()
        with self.db.write() as conn:
            # Make sure the row exists first: FOR UPDATE can only lock a row that is
            # there, and two nodes racing for a missing one would both win.
            conn.execute(
                self.db.insert()(settings)
                .values(name=name, value=json.dumps({"holder": "", "until": 0}))
                .on_conflict_do_nothing()
            )
            current = conn.execute(
                select(settings.c.value)
                .where(settings.c.name == name)
                .with_for_update()
            ).scalar_one_or_none()
            if current is not None:
                lease = json.loads(current)
                if lease["holder"] != holder and lease["until"] > now:
                    return False
            value = json.dumps({"holder": holder, "until": now + seconds})
            statement = self.db.insert()(settings).values(name=name, value=value)
            conn.execute(
                statement.on_conflict_do_update(
                    index_elements=["name"], set_={"value": value}
                )
            )
        return True

    def get_json(self, name: str) -> Any:
        text = self.get(name)
        return json.loads(text) if text is not None else None

    def put_json(self, name: str, value: Any) -> None:
        self.put(name, json.dumps(value, sort_keys=True))
