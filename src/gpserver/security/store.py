"""Every SQL statement on users, roles, permissions and security settings."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    Connection,
    Integer,
    Row,
    Text,
    cast,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from gpserver.db import Database
from gpserver.errors import BadRequest, NotFound
from gpserver.jobs.model import now_ms
from gpserver.security import tables
from gpserver.security.model import ADMINISTER, Role, User
from gpserver.settings import SettingsStore
from gpserver.settings import settings as settings_table

GENERATION_SETTING = "security.generation"
_GENERATION = select(settings_table.c.value).where(
    settings_table.c.name == GENERATION_SETTING
)


def key(name: str) -> str:
    return name.strip().lower()


class SecurityStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.settings = SettingsStore(db)
        count = cast(cast(settings_table.c.value, Integer) + 1, Text)
        self._next_generation = (
            db.insert()(settings_table)
            .values(name=GENERATION_SETTING, value="1")
            .on_conflict_do_update(index_elements=["name"], set_={"value": count})
        )

    def generation(self) -> int:
        """A number that goes up with every change to users, roles or permissions,
        made by any node: what was read under another number may be stale."""
        row = self.db.read_one(_GENERATION)
        return int(row.value) if row is not None else 0

    # -- users ----------------------------------------------------------------

    def get_user(self, username: str) -> User | None:
        row = self._user_row(username)
        return _user(row) if row is not None else None

    def password_hash(self, username: str) -> str | None:
        row = self._user_row(username)
        return row.password_hash if row is not None else None

    def count_users(self) -> int:
        with self.db.read() as conn:
            return int(
                conn.execute(
                    select(func.count()).select_from(tables.users)
                ).scalar_one()
            )

    def add_user(self, user: User, password_hash: str) -> None:
        try:
            with self._change() as conn:
                self._insert_user(conn, user, password_hash)
        except IntegrityError:
            # Added on another node between the check and the insert.
            raise BadRequest(f"user {user.username} already exists") from None

    def _insert_user(self, conn: Connection, user: User, password_hash: str) -> None:
        if self._exists(conn, tables.users.c.user_key, key(user.username)):
            raise BadRequest(f"user {user.username} already exists")
        conn.execute(
            tables.users.insert().values(
                user_key=key(user.username),
                username=user.username,
                fullname=user.fullname,
                email=user.email,
                description=user.description,
                password_hash=password_hash,
                # Not 1: a user removed and added again under the same name
                # must not find the tokens of the old account working.
                token_version=secrets.randbelow(2**30) + 1,
                created_ms=now_ms(),
            )
        )

    def add_first_user(self, user: User, password_hash: str, role: Role) -> bool:
        """Create ``user`` in ``role`` (made if missing) while there are no users.

        One transaction: nodes starting together race here, and exactly one makes
        the account, whole. Returns whether this call made it.
        """
        try:
            with self._change() as conn:
                # Taking the generation row first queues racing nodes behind this
                # one, so each sees the users the one before it committed.
                conn.execute(self._next_generation)
                if conn.execute(
                    select(func.count()).select_from(tables.users)
                ).scalar():
                    return False
                if not self._exists(conn, tables.roles.c.role_key, key(role.rolename)):
                    self._insert_role(conn, role)
                self._insert_user(conn, user, password_hash)
                conn.execute(
                    tables.user_roles.insert().values(
                        user_key=key(user.username), role_key=key(role.rolename)
                    )
                )
        except IntegrityError:
            return False
        return True

    def update_user(self, username: str, **fields: Any) -> None:
        with self._change() as conn:
            done = conn.execute(
                update(tables.users)
                .where(tables.users.c.user_key == key(username))
                .values(**fields)
            )
            if done.rowcount == 0:
                raise NotFound(f"user {username} does not exist")

    def set_password(self, username: str, password_hash: str) -> None:
        """Change a password and end every token issued before."""
        with self._change() as conn:
            done = conn.execute(
                update(tables.users)
                .where(tables.users.c.user_key == key(username))
                .values(
                    password_hash=password_hash,
                    token_version=tables.users.c.token_version + 1,
                )
            )
            if done.rowcount == 0:
                raise NotFound(f"user {username} does not exist")

    def remove_user(self, username: str) -> None:
        with self._change() as conn:
            done = conn.execute(
                delete(tables.users).where(tables.users.c.user_key == key(username))
            )
            if done.rowcount == 0:
                raise NotFound(f"user {username} does not exist")
            conn.execute(
                delete(tables.user_roles).where(
                    tables.user_roles.c.user_key == key(username)
                )
            )

    def list_users(
        self, start: int, size: int, text: str = ""
    ) -> tuple[list[User], bool]:
        """A page of users by name, and whether more follow."""
        rows, more = self._page(tables.users.c.user_key, start, size, text)
        return [_user(r) for r in rows], more

    # -- roles ----------------------------------------------------------------

    def get_role(self, rolename: str) -> Role | None:
        with self.db.read() as conn:
            row = conn.execute(
                select(tables.roles).where(tables.roles.c.role_key == key(rolename))
            ).one_or_none()
        return _role(row) if row is not None else None

    def add_role(self, role: Role) -> None:
        try:
            with self._change() as conn:
                self._insert_role(conn, role)
        except IntegrityError:
            raise BadRequest(f"role {role.rolename} already exists") from None

    def _insert_role(self, conn: Connection, role: Role) -> None:
        if self._exists(conn, tables.roles.c.role_key, key(role.rolename)):
            raise BadRequest(f"role {role.rolename} already exists")
        conn.execute(
            tables.roles.insert().values(
                role_key=key(role.rolename),
                rolename=role.rolename,
                description=role.description,
                privilege=role.privilege,
                admin_privileges=",".join(role.admin_privileges),
            )
        )

    def update_role(self, rolename: str, **fields: Any) -> None:
        if "admin_privileges" in fields:
            fields["admin_privileges"] = ",".join(fields["admin_privileges"])
        with self._change() as conn:
            done = conn.execute(
                update(tables.roles)
                .where(tables.roles.c.role_key == key(rolename))
                .values(**fields)
            )
            if done.rowcount == 0:
                raise NotFound(f"role {rolename} does not exist")

    def remove_role(self, rolename: str) -> None:
        with self._change() as conn:
            done = conn.execute(
                delete(tables.roles).where(tables.roles.c.role_key == key(rolename))
            )
            if done.rowcount == 0:
                raise NotFound(f"role {rolename} does not exist")
            conn.execute(
                delete(tables.user_roles).where(
                    tables.user_roles.c.role_key == key(rolename)
                )
            )
            conn.execute(
                delete(tables.permissions).where(
                    tables.permissions.c.principal_key == key(rolename)
                )
            )

    def list_roles(
        self, start: int, size: int, text: str = ""
    ) -> tuple[list[Role], bool]:
        """A page of roles by name, and whether more follow."""
        rows, more = self._page(tables.roles.c.role_key, start, size, text)
        return [_role(r) for r in rows], more

    def roles_with_privilege(self, privilege: str) -> list[Role]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(tables.roles)
                .where(tables.roles.c.privilege == privilege)
                .order_by(tables.roles.c.role_key)
            ).all()
        return [_role(r) for r in rows]

    # -- membership -----------------------------------------------------------

    def link(self, username: str, rolenames: list[str]) -> None:
        """Put a user in roles; both must exist, and an existing link is kept."""
        with self._change() as conn:
            self._require(conn, tables.users.c.user_key, username, "user")
            for rolename in rolenames:
                self._require(conn, tables.roles.c.role_key, rolename, "role")
                statement = self.db.insert()(tables.user_roles).values(
                    user_key=key(username), role_key=key(rolename)
                )
                conn.execute(statement.on_conflict_do_nothing())

    def unlink(self, username: str, rolenames: list[str]) -> None:
        with self._change() as conn:
            self._require(conn, tables.users.c.user_key, username, "user")
            conn.execute(
                delete(tables.user_roles)
                .where(tables.user_roles.c.user_key == key(username))
                .where(tables.user_roles.c.role_key.in_([key(r) for r in rolenames]))
            )

    def roles_of(self, username: str) -> list[Role]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(tables.roles)
                .join(
                    tables.user_roles,
                    tables.user_roles.c.role_key == tables.roles.c.role_key,
                )
                .where(tables.user_roles.c.user_key == key(username))
                .order_by(tables.roles.c.role_key)
            ).all()
        return [_role(r) for r in rows]

    def users_in(self, rolename: str) -> list[User]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(tables.users)
                .join(
                    tables.user_roles,
                    tables.user_roles.c.user_key == tables.users.c.user_key,
                )
                .where(tables.user_roles.c.role_key == key(rolename))
                .order_by(tables.users.c.user_key)
            ).all()
        return [_user(r) for r in rows]

    def administrator_links(self) -> list[tuple[str, str]]:
        """(username, rolename) for each membership that makes someone an admin."""
        with self.db.read() as conn:
            rows = conn.execute(
                select(tables.users.c.username, tables.roles.c.rolename)
                .select_from(tables.user_roles)
                .join(
                    tables.users,
                    tables.users.c.user_key == tables.user_roles.c.user_key,
                )
                .join(
                    tables.roles,
                    tables.roles.c.role_key == tables.user_roles.c.role_key,
                )
                .where(tables.roles.c.privilege == ADMINISTER)
            ).all()
        return [(r.username, r.rolename) for r in rows]

    # -- permissions ----------------------------------------------------------

    def permissions(self, resource: str) -> list[tuple[str, bool]]:
        """The (principal, isAllowed) entries set on one resource."""
        with self.db.read() as conn:
            rows = conn.execute(
                select(tables.permissions.c.principal, tables.permissions.c.is_allowed)
                .where(tables.permissions.c.resource == resource)
                .order_by(tables.permissions.c.principal_key)
            ).all()
        return [(r.principal, bool(r.is_allowed)) for r in rows]

    def all_permissions(self) -> dict[str, list[tuple[str, bool]]]:
        with self.db.read() as conn:
            rows = conn.execute(select(tables.permissions)).all()
        found: dict[str, list[tuple[str, bool]]] = {}
        for row in rows:
            found.setdefault(row.resource, []).append(
                (row.principal, bool(row.is_allowed))
            )
        return found

    def set_permission(self, resource: str, principal: str, allowed: bool) -> None:
        with self._change() as conn:
            statement = self.db.insert()(tables.permissions).values(
                resource=resource,
                principal_key=key(principal),
                principal=principal,
                is_allowed=allowed,
            )
            conn.execute(
                statement.on_conflict_do_update(
                    index_elements=["resource", "principal_key"],
                    set_={"is_allowed": allowed, "principal": principal},
                )
            )

    # -- settings and sign-in failures ------------------------------------------

    def setting(self, name: str) -> str | None:
        return self.settings.get(name)

    def set_setting(
        self, name: str, value: str, *, only_if_missing: bool = False
    ) -> str:
        return self.settings.put(name, value, only_if_missing=only_if_missing)

    def failures(self, subject: str) -> tuple[int, int]:
        with self.db.read() as conn:
            row = conn.execute(
                select(tables.signin_failures).where(
                    tables.signin_failures.c.subject == subject
                )
            ).one_or_none()
        return (row.failures, row.last_ms) if row is not None else (0, 0)

    def record_failure(self, subject: str, when_ms: int) -> None:
        with self.db.write() as conn:
            statement = self.db.insert()(tables.signin_failures).values(
                subject=subject, failures=1, last_ms=when_ms
            )
            conn.execute(
                statement.on_conflict_do_update(
                    index_elements=["subject"],
                    set_={
                        "failures": tables.signin_failures.c.failures + 1,
                        "last_ms": when_ms,
                    },
                )
            )

    def clear_failures(self, subject: str) -> None:
        with self.db.write() as conn:
            conn.execute(
                delete(tables.signin_failures).where(
                    tables.signin_failures.c.subject == subject
                )
            )

    # -- helpers --------------------------------------------------------------

    @contextmanager
    def _change(self) -> Iterator[Connection]:
        """A transaction that changes who may do what, and the generation with it."""
        with self.db.write() as conn:
            yield conn
            conn.execute(self._next_generation)

    def _user_row(self, username: str) -> Row[Any] | None:
        with self.db.read() as conn:
            return conn.execute(
                select(tables.users).where(tables.users.c.user_key == key(username))
            ).one_or_none()

    def _page(
        self, name_key: Any, start: int, size: int, text: str
    ) -> tuple[list[Row[Any]], bool]:
        """Rows of a table ordered by its name key, filtered by a part of the name;
        one row more than asked tells whether another page follows."""
        query = select(name_key.table).order_by(name_key)
        if text:
            query = query.where(name_key.contains(key(text), autoescape=True))
        with self.db.read() as conn:
            rows = list(conn.execute(query.offset(start).limit(size + 1)).all())
        return rows[:size], len(rows) > size

    @staticmethod
    def _exists(conn: Any, column: Any, value: str) -> bool:
        return conn.execute(select(column).where(column == value)).first() is not None

    def _require(self, conn: Any, column: Any, name: str, kind: str) -> None:
        if not self._exists(conn, column, key(name)):
            raise NotFound(f"{kind} {name} does not exist")


def _user(row: Any) -> User:
    return User(
        username=row.username,
        fullname=row.fullname,
        email=row.email,
        description=row.description,
        token_version=row.token_version,
        created_ms=row.created_ms,
    )


def _role(row: Any) -> Role:
    extra = tuple(p for p in row.admin_privileges.split(",") if p)
    return Role(row.rolename, row.description, row.privilege, extra)
