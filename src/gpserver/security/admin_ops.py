"""Managing users and roles, as the Administrator API and the command line do.

Two rules hold for every change, wherever it comes from:

* The site keeps an administrator. A change that would leave no user holding
  ADMINISTER (removing the last administrator, taking them out of their role,
  removing or demoting that role) is refused, so nobody locks the site out.
* Nobody hands out more than they hold. A caller below ADMINISTER (a custom role
  with securityAndInfrastructure) may change only users and roles whose
  privileges it holds itself; otherwise it could put itself in the
  Administrators role or reset an administrator's password. The command line
  acts with no caller: whoever can write the store owns the site anyway.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from gpserver.errors import BadRequest, Forbidden, NotFound
from gpserver.security.model import ACCESS, Principal, Role, User, highest
from gpserver.security.names import check_name, check_rolename
from gpserver.security.passwords import hash_password
from gpserver.security.store import SecurityStore, key

log = logging.getLogger(__name__)

USER_FIELDS = ("fullname", "email", "description")


class WouldLockOut(BadRequest):
    """The change would leave the site without an administrator."""

    def __init__(self, change: str) -> None:
        super().__init__(
            f"{change} would leave the site without an administrator; "
            "make another user an administrator first"
        )


class SecurityAdmin:
    """The user and role operations, acting for ``actor`` (None: the site owner)."""

    def __init__(self, store: SecurityStore, actor: Principal | None = None) -> None:
        self.store = store
        self.actor = actor

    # -- users ----------------------------------------------------------------

    def user(self, username: str) -> User:
        found = self.store.get_user(username)
        if found is None:
            raise NotFound(f"user {username} does not exist")
        return found

    def add_user(self, user: User, password: str) -> User:
        user = User(
            check_name(user.username, "username"),
            user.fullname,
            user.email,
            user.description,
        )
        self.store.add_user(user, hash_password(password))
        _log("user %s added", "security.user_added", user.username)
        return user

    def update_user(
        self, username: str, fields: dict[str, str], password: str | None = None
    ) -> None:
        """Change the given fields; a new password also ends the user's tokens."""
        user = self._reachable_user(username)
        unknown = set(fields) - set(USER_FIELDS)
        if unknown:
            raise BadRequest(f"a user has no field {sorted(unknown)[0]!r}")

        new_hash = hash_password(password) if password is not None else None
        if fields:
            self.store.update_user(user.username, **fields)
        if new_hash is not None:
            self.store.set_password(user.username, new_hash)
            _log("password of user %s changed", "security.password_changed", username)
        if fields:
            _log("user %s updated", "security.user_updated", user.username)

    def remove_user(self, username: str) -> None:
        user = self._reachable_user(username)
        self._keep_an_administrator(
            lambda u, _r: key(u) == key(username), f"removing user {user.username}"
        )
        self.store.remove_user(user.username)
        _log("user %s removed", "security.user_removed", user.username)

    def users(self, start: int, size: int, text: str = "") -> tuple[list[User], bool]:
        return self.store.list_users(start, size, text)

    def user_privilege(self, username: str) -> str | None:
        self.user(username)
        return highest([r.privilege for r in self.store.roles_of(username)])

    def assign_roles(self, username: str, rolenames: list[str]) -> None:
        user = self._reachable_user(username)
        for role in self._roles(rolenames):
            self._check_reach(role)
        self.store.link(user.username, rolenames)
        _log(
            "user %s added to roles %s",
            "security.roles_assigned",
            user.username,
            rolenames,
        )

    def remove_roles(self, username: str, rolenames: list[str]) -> None:
        user = self._reachable_user(username)
        roles = self._roles(rolenames)
        taken = {key(r.rolename) for r in roles}
        self._keep_an_administrator(
            lambda u, r: key(u) == key(username) and key(r) in taken,
            f"taking user {user.username} out of role "
            f"{', '.join(r.rolename for r in roles)}",
        )
        self.store.unlink(user.username, [r.rolename for r in roles])
        _log(
            "user %s taken out of roles %s",
            "security.roles_removed",
            user.username,
            rolenames,
        )

    def roles_for_user(
        self, username: str, text: str, max_count: int
    ) -> tuple[list[str], bool]:
        self.user(username)
        names = [r.rolename for r in self.store.roles_of(username)]
        return _first(names, text, max_count)

    # -- roles ----------------------------------------------------------------

    def role(self, rolename: str) -> Role:
        found = self.store.get_role(rolename)
        if found is None:
            raise NotFound(f"role {rolename} does not exist")
        return found

    def add_role(self, role: Role) -> Role:
        role = Role(
            check_rolename(role.rolename),
            role.description,
            role.privilege,
            role.admin_privileges,
        )
        self._check_reach(role)
        self.store.add_role(role)
        _log(
            "role %s added with %s",
            "security.role_added",
            role.rolename,
            role.privilege,
        )
        return role

    def update_role(self, rolename: str, description: str) -> None:
        role = self.role(rolename)
        self._check_reach(role)
        self.store.update_role(role.rolename, description=description)
        _log("role %s updated", "security.role_updated", role.rolename)

    def remove_role(self, rolename: str) -> None:
        role = self.role(rolename)
        self._check_reach(role)
        self._keep_an_administrator(
            lambda _u, r: key(r) == key(rolename), f"removing role {role.rolename}"
        )
        self.store.remove_role(role.rolename)
        _log("role %s removed", "security.role_removed", role.rolename)

    def assign_privilege(
        self,
        rolename: str,
        privilege: str,
        admin_privileges: tuple[str, ...] | None = None,
    ) -> None:
        """Set a role's privilege; fine-grained ones too unless ``None``."""
        role = self.role(rolename)
        self._check_reach(role)
        extra = role.admin_privileges if admin_privileges is None else admin_privileges
        self._check_reach(
            Role(role.rolename, privilege=privilege, admin_privileges=extra)
        )
        if privilege != role.privilege:
            self._keep_an_administrator(
                lambda _u, r: key(r) == key(rolename),
                f"changing the privilege of role {role.rolename} to {privilege}",
            )
        self.store.update_role(
            role.rolename, privilege=privilege, admin_privileges=extra
        )
        _log(
            "role %s now grants %s",
            "security.privilege_assigned",
            role.rolename,
            [privilege, *extra],
        )

    def add_users_to_role(self, rolename: str, usernames: list[str]) -> None:
        role = self.role(rolename)
        self._check_reach(role)
        for username in usernames:
            self._reachable_user(username)
        for username in usernames:
            self.store.link(username, [role.rolename])
        _log(
            "users %s added to role %s",
            "security.users_added_to_role",
            usernames,
            role.rolename,
        )

    def remove_users_from_role(self, rolename: str, usernames: list[str]) -> None:
        role = self.role(rolename)
        self._check_reach(role)
        users = [self._reachable_user(u) for u in usernames]
        leaving = {key(u.username) for u in users}
        self._keep_an_administrator(
            lambda u, r: key(r) == key(rolename) and key(u) in leaving,
            f"taking user {', '.join(u.username for u in users)} out of role "
            f"{role.rolename}",
        )
        for user in users:
            self.store.unlink(user.username, [role.rolename])
        _log(
            "users %s taken out of role %s",
            "security.users_removed_from_role",
            usernames,
            role.rolename,
        )

    def roles(self, start: int, size: int, text: str = "") -> tuple[list[Role], bool]:
        return self.store.list_roles(start, size, text)

    def roles_by_privilege(self, privilege: str) -> list[str]:
        return [r.rolename for r in self.store.roles_with_privilege(privilege)]

    def users_within_role(
        self, rolename: str, text: str, max_count: int
    ) -> tuple[list[str], bool]:
        self.role(rolename)
        names = [u.username for u in self.store.users_in(rolename)]
        return _first(names, text, max_count)

    # -- the two rules --------------------------------------------------------

    def _keep_an_administrator(
        self, lost: Callable[[str, str], bool], change: str
    ) -> None:
        """Refuse ``change`` if it loses every (user, role) link granting ADMINISTER.

        A site that has no administrator already is not made worse, so a change
        there goes through.

        The check and the change are two transactions: two administrators removing
        each other at the same moment could both pass. Rare enough to accept; the
        command line can always make a new administrator.
        """
        links = self.store.administrator_links()
        if links and all(lost(u, r) for u, r in links):
            raise WouldLockOut(change)

    def _check_reach(self, role: Role) -> None:
        beyond = self._beyond(role)
        if beyond is not None:
            raise Forbidden(
                f"you may not change role {role.rolename}: it grants {beyond}, "
                "which you do not hold"
            )

    def _reachable_user(self, username: str) -> User:
        user = self.user(username)
        for role in self.store.roles_of(user.username):
            beyond = self._beyond(role)
            if beyond is not None:
                raise Forbidden(
                    f"you may not change user {user.username}: role {role.rolename} "
                    f"grants {beyond}, which you do not hold"
                )
        return user

    def _beyond(self, role: Role) -> str | None:
        """The first privilege of ``role`` the actor lacks; None if it holds them."""
        if self.actor is None or self.actor.is_admin:
            return None
        # ACCESS alone grants only what service permissions say, and the actor
        # may edit those anyway.
        wanted = [p for p in (role.privilege, *role.admin_privileges) if p != ACCESS]
        return next((p for p in wanted if not self.actor.holds(p)), None)

    def _roles(self, rolenames: list[str]) -> list[Role]:
        return [self.role(name) for name in rolenames]


def _first(names: list[str], text: str, max_count: int) -> tuple[list[str], bool]:
    """The first ``max_count`` names containing ``text``, and whether more match."""
    wanted = text.strip().lower()
    matching = [n for n in names if wanted in n.lower()]
    return matching[:max_count], len(matching) > max_count


def _log(message: str, event: str, *args: object) -> None:
    log.info(message, *args, extra={"event": event})
