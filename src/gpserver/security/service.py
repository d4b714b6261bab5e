"""The security API the web layer and the CLI use."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from gpserver.db import Database
from gpserver.security import access
from gpserver.security.model import ADMINISTER, Principal, Role, User, highest
from gpserver.security.passwords import generate_password, hash_password
from gpserver.security.signin import sign_in
from gpserver.security.store import SecurityStore
from gpserver.security.tokens import Binding, Claims, Tokens, check_use

log = logging.getLogger(__name__)

ADMIN_ROLE = "Administrators"
DEFAULT_ADMIN = "siteadmin"
PASSWORD_FILE = "initial-admin-password.txt"

CACHE_SIZE = 10_000
"""Tokens whose holders a node keeps; past this many it starts again."""

Permissions = dict[str, list[tuple[str, bool]]]


@dataclass(frozen=True)
class _Holder:
    generation: int
    claims: Claims
    principal: Principal


@dataclass(frozen=True)
class _Permissions:
    generation: int
    permissions: Permissions


class Security:
    def __init__(self, db: Database) -> None:
        self.store = SecurityStore(db)
        self.tokens = Tokens(self.store)
        # Each request would otherwise read the user, the user's roles and every
        # permission: three queries for an answer that changes once in a while.
        # What is kept holds while the store's security generation stays the same,
        # one quick read; any change on any node moves it (SecurityStore._change).
        self._holders: dict[str, _Holder] = {}
        self._permissions: _Permissions | None = None

    def sign_in(self, username: str, password: str, address: str) -> User:
        return sign_in(self.store, username, password, address)

    def issue_token(
        self, user: User, minutes: int | None, binding: Binding
    ) -> tuple[str, int]:
        return self.tokens.issue(user, minutes, binding)

    def authenticate(
        self, token: str | None, referer: str | None, address: str | None
    ) -> Principal:
        if not token:
            return Principal()
        generation = self.store.generation()
        holder = self._holders.get(token)
        if holder is None or holder.generation != generation:
            return self._verify(token, referer, address, generation).principal
        # Expiry and client binding are checked on every request, kept or not.
        check_use(holder.claims, referer, address)
        return holder.principal

    def _verify(
        self, token: str, referer: str | None, address: str | None, generation: int
    ) -> _Holder:
        # Read after the generation: a change committed in between leaves this
        # entry under the old number, so the next request reads again.
        claims = self.tokens.signed_claims(token)
        check_use(claims, referer, address)
        principal = self.principal_for(self.tokens.holder(claims))
        holder = _Holder(generation, claims, principal)
        if len(self._holders) >= CACHE_SIZE:
            self._holders.clear()
        self._holders[token] = holder
        return holder

    def principal_for(self, user: User) -> Principal:
        roles = self.store.roles_of(user.username)
        extra = frozenset(p for r in roles for p in r.admin_privileges)
        return Principal(
            username=user.username,
            roles=tuple(r.rolename for r in roles),
            privilege=highest([r.privilege for r in roles]),
            admin_privileges=extra,
        )

    def check_service(self, principal: Principal, service_key: str) -> None:
        access.check_service(principal, service_key, self._all_permissions())

    def may_use_service(self, principal: Principal, service_key: str) -> bool:
        return access.may_use_service(principal, service_key, self._all_permissions())

    def _all_permissions(self) -> Permissions:
        generation = self.store.generation()
        kept = self._permissions
        if kept is not None and kept.generation == generation:
            return kept.permissions
        permissions = self.store.all_permissions()
        self._permissions = _Permissions(generation, permissions)
        return permissions

    def ensure_primary_admin(self, data_dir: Path) -> None:
        """On a store without users, create the primary site administrator."""
        if self.store.count_users() > 0:
            return
        username = os.environ.get("GPSERVER_ADMIN_USERNAME") or DEFAULT_ADMIN
        password = os.environ.get("GPSERVER_ADMIN_PASSWORD")
        generated = not password
        password = password or generate_password()
        made = self.store.add_first_user(
            User(username, description="Primary site administrator"),
            hash_password(password),
            Role(ADMIN_ROLE, "Site administrators", ADMINISTER),
        )
        if not made:
            # Another node starting at the same moment made it.
            return
        log.info(
            "created the primary site administrator %s",
            username,
            extra={"event": "security.primary_admin_created"},
        )
        if generated:
            _announce(data_dir, username, password)


def _announce(data_dir: Path, username: str, password: str) -> None:
    path = data_dir / PASSWORD_FILE
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(f"username: {username}\npassword: {password}\n")
    # Printed once, to the terminal of whoever started the server; never logged.
    print(
        f"gpserver: created the primary site administrator {username!r} with the "
        f"password {password}\ngpserver: it is also in {path} (readable only by its "
        "owner); change it with `gpserver user passwd`.",
        flush=True,
    )
