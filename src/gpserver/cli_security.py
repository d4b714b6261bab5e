"""``gpserver user`` and ``gpserver role``: managing accounts on the store directly.

These commands need no running server and no token: whoever may write the store
owns the site. They follow the same rules as the Administrator API (names,
password length, keeping an administrator) by calling the same operations.
Passwords are never taken from the command line, where other users of the
machine could read them in the process list or the shell history.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

from gpserver.cli_table import print_table
from gpserver.config import load_site
from gpserver.errors import BadRequest, GPServerError
from gpserver.security.model import ACCESS
from gpserver.security.names import parse_admin_privileges, parse_privilege

if TYPE_CHECKING:
    from gpserver.security.admin_ops import SecurityAdmin

SiteOptions = Callable[[argparse.ArgumentParser], None]
T = TypeVar("T")
PAGE = 1000
USAGE = 2


def add_security_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    site_options: SiteOptions,
) -> None:
    _user_commands(commands, site_options)
    _role_commands(commands, site_options)


def _user_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    site_options: SiteOptions,
) -> None:
    user = commands.add_parser("user", help="manage users")
    actions = user.add_subparsers(required=True, metavar="ACTION")

    add = actions.add_parser("add", help="add a user, asking for its password")
    site_options(add)
    add.add_argument("username")
    add.add_argument("--fullname", default="")
    add.add_argument("--email", default="")
    add.add_argument("--description", default="")
    add.add_argument(
        "--role", action="append", default=[], help="put the user in this role"
    )
    _password_option(add)
    add.set_defaults(command=user_add)

    passwd = actions.add_parser("passwd", help="set a user's password")
    site_options(passwd)
    passwd.add_argument("username")
    _password_option(passwd)
    passwd.set_defaults(command=user_passwd)

    remove = actions.add_parser("remove", help="remove a user")
    site_options(remove)
    remove.add_argument("username")
    remove.set_defaults(command=user_remove)

    listing = actions.add_parser("list", help="list users and their roles")
    site_options(listing)
    listing.set_defaults(command=user_list)


def _role_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    site_options: SiteOptions,
) -> None:
    role = commands.add_parser("role", help="manage roles")
    actions = role.add_subparsers(required=True, metavar="ACTION")

    add = actions.add_parser("add", help="add a role")
    site_options(add)
    add.add_argument("rolename")
    add.add_argument("--description", default="")
    add.add_argument("--privilege", type=_privilege, default=ACCESS)
    _admin_privileges_option(add)
    add.set_defaults(command=role_add)

    remove = actions.add_parser("remove", help="remove a role")
    site_options(remove)
    remove.add_argument("rolename")
    remove.set_defaults(command=role_remove)

    listing = actions.add_parser("list", help="list roles, privileges and users")
    site_options(listing)
    listing.set_defaults(command=role_list)

    for name, command, verb in (
        ("assign", role_assign, "put users in"),
        ("unassign", role_unassign, "take users out of"),
    ):
        members = actions.add_parser(name, help=f"{verb} a role")
        site_options(members)
        members.add_argument("rolename")
        members.add_argument("usernames", nargs="+", metavar="username")
        members.set_defaults(command=command)

    privilege = actions.add_parser(
        "privilege", help="show a role's privilege, or set it"
    )
    site_options(privilege)
    privilege.add_argument("rolename")
    privilege.add_argument(
        "privilege", type=_privilege, nargs="?", help="ADMINISTER, PUBLISH or ACCESS"
    )
    _admin_privileges_option(privilege)
    privilege.set_defaults(command=role_privilege)


def _password_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input",
    )


def _admin_privileges_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--admin-privileges",
        type=_admin_privileges,
        help="comma-separated: update, delete, securityAndInfrastructure, "
        "servers, viewAllContent",
    )


def _privilege(value: str) -> str:
    return _usage(parse_privilege, value)


def _admin_privileges(value: str) -> tuple[str, ...]:
    return _usage(parse_admin_privileges, value)


def _usage(parse: Callable[[str], T], value: str) -> T:
    try:
        return parse(value)
    except BadRequest as exc:
        raise argparse.ArgumentTypeError(exc.message) from None


# -- the commands -------------------------------------------------------------


def user_add(args: argparse.Namespace) -> int:
    from gpserver.security.model import User

    password = _read_password(args)
    if password is None:
        return USAGE
    with _security(args) as admin:
        user = User(args.username, args.fullname, args.email, args.description)
        for rolename in args.role:
            admin.role(rolename)
        added = admin.add_user(user, password)
        if args.role:
            admin.assign_roles(added.username, args.role)
        _done(admin, f"user {added.username} added")
    return 0


def user_passwd(args: argparse.Namespace) -> int:
    password = _read_password(args)
    if password is None:
        return USAGE
    with _security(args) as admin:
        admin.update_user(args.username, {}, password)
        _done(admin, f"password of user {args.username} changed")
    return 0


def user_remove(args: argparse.Namespace) -> int:
    with _security(args) as admin:
        admin.remove_user(args.username)
        _done(admin, f"user {args.username} removed")
    return 0


def user_list(args: argparse.Namespace) -> int:
    with _security(args) as admin:
        rows = [
            [
                u.username,
                u.fullname,
                u.email,
                ",".join(r.rolename for r in admin.store.roles_of(u.username)),
            ]
            for u in _all(admin.users)
        ]
    print_table(["USERNAME", "FULL NAME", "EMAIL", "ROLES"], rows)
    return 0


def role_add(args: argparse.Namespace) -> int:
    from gpserver.security.model import Role

    with _security(args) as admin:
        role = Role(
            args.rolename, args.description, args.privilege, args.admin_privileges or ()
        )
        added = admin.add_role(role)
        _done(admin, f"role {added.rolename} added with {added.privilege}")
    return 0


def role_remove(args: argparse.Namespace) -> int:
    with _security(args) as admin:
        admin.remove_role(args.rolename)
        _done(admin, f"role {args.rolename} removed")
    return 0


def role_list(args: argparse.Namespace) -> int:
    with _security(args) as admin:
        rows = [
            [
                r.rolename,
                r.privilege,
                ",".join(r.admin_privileges),
                ",".join(u.username for u in admin.store.users_in(r.rolename)),
            ]
            for r in _all(admin.roles)
        ]
    print_table(["ROLE", "PRIVILEGE", "ADMIN PRIVILEGES", "USERS"], rows)
    return 0


def role_assign(args: argparse.Namespace) -> int:
    with _security(args) as admin:
        admin.add_users_to_role(args.rolename, args.usernames)
        _done(admin, f"role {args.rolename} given to {', '.join(args.usernames)}")
    return 0


def role_unassign(args: argparse.Namespace) -> int:
    with _security(args) as admin:
        admin.remove_users_from_role(args.rolename, args.usernames)
        _done(admin, f"role {args.rolename} taken from {', '.join(args.usernames)}")
    return 0


def role_privilege(args: argparse.Namespace) -> int:
    with _security(args) as admin:
        if args.privilege is None and args.admin_privileges is None:
            role = admin.role(args.rolename)
            print(" ".join([role.privilege, *role.admin_privileges]))
            return 0
        privilege = args.privilege or admin.role(args.rolename).privilege
        admin.assign_privilege(args.rolename, privilege, args.admin_privileges)
        role = admin.role(args.rolename)
        granted = ", ".join([role.privilege, *role.admin_privileges])
        _done(admin, f"role {role.rolename} now grants {granted}")
    return 0


# -- helpers ------------------------------------------------------------------


@contextmanager
def _security(args: argparse.Namespace) -> Iterator[SecurityAdmin]:
    from gpserver.db import Database
    from gpserver.security.admin_ops import SecurityAdmin
    from gpserver.security.store import SecurityStore

    config = load_site(args.config, args.data_dir.resolve())
    config.data_dir.mkdir(parents=True, exist_ok=True)
    database = Database(config.database_url)
    try:
        database.prepare_schema()
        yield SecurityAdmin(SecurityStore(database))
    finally:
        database.dispose()


class PasswordMismatch(GPServerError):
    def __init__(self) -> None:
        super().__init__("the two passwords differ; nothing was changed")


def _read_password(args: argparse.Namespace) -> str | None:
    """The password from standard input or the terminal; None (said why) if neither."""
    if args.password_stdin:
        # Only the line end goes: spaces may be part of a password.
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        print(
            "gpserver: no terminal to ask for the password on; "
            "pipe it in with --password-stdin",
            file=sys.stderr,
        )
        return None
    password = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != password:
        raise PasswordMismatch()
    return password


def _all(list_page: Callable[[int, int], tuple[list[T], bool]]) -> Iterator[T]:
    start, more = 0, True
    while more:
        items, more = list_page(start, PAGE)
        yield from items
        start += len(items)


def _done(admin: SecurityAdmin, message: str) -> None:
    print(f"gpserver: {message}")
    if not admin.store.administrator_links():
        # Allowed (the site had none before), but the Administrator API is then
        # closed to everyone; say so while the operator is still at the prompt.
        print(
            "gpserver: warning: no user holds ADMINISTER; give one a role with "
            "`gpserver role assign <role> <user>` (a role made with "
            "`gpserver role add <name> --privilege ADMINISTER`)",
            file=sys.stderr,
        )
