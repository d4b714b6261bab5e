"""The security API the web layer and the CLI use."""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

from gpserver.db import Database
from gpserver.errors import BadRequest
from gpserver.security import access
from gpserver.security.model import ADMINISTER, Principal, Role, User, highest
from gpserver.security.passwords import generate_password, hash_password
from gpserver.security.signin import sign_in
from gpserver.security.store import SecurityStore
from gpserver.security.tokens import Binding, Tokens

log = logging.getLogger(__name__)

ADMIN_ROLE = "Administrators"
DEFAULT_ADMIN = "siteadmin"
PASSWORD_FILE = "initial-admin-password.txt"


class Security:
    def __init__(self, db: Database) -> None:
        self.store = SecurityStore(db)
        self.tokens = Tokens(self.store)

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
        return self.principal_for(self.tokens.verify(token, referer, address))

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
        access.check_service(principal, service_key, self.store.all_permissions())

    def may_use_service(self, principal: Principal, service_key: str) -> bool:
        return access.may_use_service(
            principal, service_key, self.store.all_permissions()
        )

    def ensure_primary_admin(self, data_dir: Path) -> None:
        """On a store without users, create the primary site administrator."""
        if self.store.count_users() > 0:
            return
        username = os.environ.get("GPSERVER_ADMIN_USERNAME") or DEFAULT_ADMIN
        password = os.environ.get("GPSERVER_ADMIN_PASSWORD")
        generated = not password
        password = password or generate_password()
        if self.store.get_role(ADMIN_ROLE) is None:
            # Another node may have made it a moment ago; either way it exists.
            with contextlib.suppress(BadRequest):
                self.store.add_role(Role(ADMIN_ROLE, "Site administrators", ADMINISTER))
        try:
            self.store.add_user(
                User(username, description="Primary site administrator"),
                hash_password(password),
            )
        except BadRequest:
            return
        self.store.link(username, [ADMIN_ROLE])
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
