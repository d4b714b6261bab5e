"""The user and role operations on a real SQLite store, without the web."""

from __future__ import annotations

import pytest

from gpserver.errors import BadRequest, Forbidden, NotFound
from gpserver.security.admin_ops import SecurityAdmin, WouldLockOut
from gpserver.security.model import (
    ADMINISTER,
    PUBLISH,
    SECURITY,
    UPDATE,
    VIEW_ALL,
    Principal,
    Role,
    User,
)
from gpserver.security.passwords import verify_password
from gpserver.security.service import ADMIN_ROLE
from gpserver.security.store import SecurityStore
from tests.security.conftest import ADMIN, PASSWORD


def message(info: pytest.ExceptionInfo[Exception]) -> str:
    assert isinstance(info.value, BadRequest | NotFound | Forbidden)
    return info.value.message


def test_add_user_stores_a_hash_and_strips_the_name(
    ops: SecurityAdmin, store: SecurityStore
) -> None:
    added = ops.add_user(User("  bob ", fullname="Bob"), PASSWORD)

    assert added == User("bob", fullname="Bob")
    stored = store.password_hash("bob")
    assert stored is not None and PASSWORD not in stored
    assert verify_password(stored, PASSWORD)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("", "username is required"),
        ("a,b", "username may not contain a comma: 'a,b'"),
        ("x" * 256, "username may have at most 255 characters"),
        ("tab\there", "username may not contain control characters"),
    ],
)
def test_add_user_refuses_bad_names(
    ops: SecurityAdmin, name: str, expected: str
) -> None:
    with pytest.raises(BadRequest) as info:
        ops.add_user(User(name), PASSWORD)
    assert message(info) == expected


def test_add_user_refuses_a_short_password_and_a_taken_name(
    ops: SecurityAdmin,
) -> None:
    with pytest.raises(BadRequest) as info:
        ops.add_user(User("bob"), "short")
    assert message(info) == "the password must have at least 8 characters"
    with pytest.raises(BadRequest) as info:
        ops.add_user(User("ADMIN"), PASSWORD)
    assert message(info) == "user ADMIN already exists"


def test_a_new_password_revokes_tokens_and_fields_change_alone(
    ops: SecurityAdmin, store: SecurityStore
) -> None:
    ops.add_user(User("bob"), PASSWORD)
    version = ops.user("bob").token_version

    ops.update_user("bob", {"email": "bob@example.org"})
    assert ops.user("bob").token_version == version
    ops.update_user("bob", {}, "another-password")

    assert ops.user("bob").email == "bob@example.org"
    assert ops.user("bob").token_version == version + 1
    assert verify_password(store.password_hash("bob"), "another-password")


def test_update_refuses_unknown_users_and_fields(ops: SecurityAdmin) -> None:
    with pytest.raises(NotFound) as missing:
        ops.update_user("nobody", {"fullname": "X"})
    assert message(missing) == "user nobody does not exist"
    with pytest.raises(BadRequest) as info:
        ops.update_user(ADMIN, {"token_version": "7"})
    assert message(info) == "a user has no field 'token_version'"


def test_a_user_added_again_does_not_inherit_the_old_token_version(
    ops: SecurityAdmin,
) -> None:
    ops.add_user(User("bob"), PASSWORD)
    first = ops.user("bob").token_version
    ops.remove_user("bob")
    ops.add_user(User("bob"), PASSWORD)
    assert ops.user("bob").token_version != first


def test_the_last_administrator_cannot_be_removed(ops: SecurityAdmin) -> None:
    with pytest.raises(WouldLockOut) as info:
        ops.remove_user(ADMIN)
    assert message(info) == (
        "removing user admin would leave the site without an administrator; "
        "make another user an administrator first"
    )


def test_an_administrator_can_go_once_another_exists(ops: SecurityAdmin) -> None:
    ops.add_user(User("bob"), PASSWORD)
    ops.assign_roles("bob", [ADMIN_ROLE])

    ops.remove_user(ADMIN)

    assert ops.user_privilege("bob") == ADMINISTER


def test_an_administrator_in_two_admin_roles_may_leave_one(
    ops: SecurityAdmin,
) -> None:
    ops.add_role(Role("Operators", privilege=ADMINISTER))
    ops.assign_roles(ADMIN, ["Operators"])

    ops.remove_roles(ADMIN, [ADMIN_ROLE])

    with pytest.raises(WouldLockOut) as info:
        ops.remove_users_from_role("operators", [ADMIN])
    assert message(info).startswith("taking user admin out of role Operators would")


def test_the_administrators_role_cannot_be_removed_or_demoted(
    ops: SecurityAdmin,
) -> None:
    with pytest.raises(WouldLockOut) as info:
        ops.remove_role(ADMIN_ROLE)
    assert message(info).startswith("removing role Administrators would leave")
    with pytest.raises(WouldLockOut) as info:
        ops.assign_privilege(ADMIN_ROLE, PUBLISH)
    assert message(info).startswith(
        "changing the privilege of role Administrators to PUBLISH would leave"
    )
    with pytest.raises(WouldLockOut):
        ops.remove_roles(ADMIN, [ADMIN_ROLE])


def test_fine_grained_privileges_change_without_the_lockout_check(
    ops: SecurityAdmin,
) -> None:
    ops.assign_privilege(ADMIN_ROLE, ADMINISTER, (VIEW_ALL,))
    assert ops.role(ADMIN_ROLE).admin_privileges == (VIEW_ALL,)
    ops.assign_privilege(ADMIN_ROLE, ADMINISTER)
    assert ops.role(ADMIN_ROLE).admin_privileges == (VIEW_ALL,)


def test_a_site_without_administrators_is_not_held_to_the_rule(
    store: SecurityStore,
) -> None:
    ops = SecurityAdmin(store)
    ops.add_role(Role("Empty", privilege=ADMINISTER))
    store.unlink(ADMIN, [ADMIN_ROLE])
    ops.remove_role(ADMIN_ROLE)
    ops.remove_role("Empty")
    ops.remove_user(ADMIN)
    assert store.count_users() == 0


def test_membership_operations_name_what_is_missing(ops: SecurityAdmin) -> None:
    with pytest.raises(NotFound) as info:
        ops.assign_roles(ADMIN, ["Nope"])
    assert message(info) == "role Nope does not exist"
    with pytest.raises(NotFound) as info:
        ops.add_users_to_role(ADMIN_ROLE, [ADMIN, "ghost"])
    assert message(info) == "user ghost does not exist"
    assert ops.users_within_role(ADMIN_ROLE, "", 10) == ([ADMIN], False)


def test_lists_filter_and_say_whether_more_match(ops: SecurityAdmin) -> None:
    for name in ("Editors", "Viewers", "Reviewers"):
        ops.add_role(Role(name))
        ops.assign_roles(ADMIN, [name])

    assert ops.roles_for_user(ADMIN, "", 10) == (
        ["Administrators", "Editors", "Reviewers", "Viewers"],
        False,
    )
    assert ops.roles_for_user(ADMIN, "VIEW", 1) == (["Reviewers"], True)
    assert ops.roles_by_privilege(ADMINISTER) == [ADMIN_ROLE]


def test_esri_everyone_is_not_a_role_name(ops: SecurityAdmin) -> None:
    with pytest.raises(BadRequest) as info:
        ops.add_role(Role("esrieveryone"))
    assert message(info) == "rolename esriEveryone is reserved for anonymous callers"


@pytest.fixture
def officer(store: SecurityStore) -> SecurityAdmin:
    """Acting as a custom role that may manage security but is no administrator."""
    ops = SecurityAdmin(store)
    ops.add_role(
        Role("Security", privilege="ACCESS", admin_privileges=(SECURITY, VIEW_ALL))
    )
    ops.add_user(User("officer"), PASSWORD)
    ops.assign_roles("officer", ["Security"])
    actor = Principal(
        "officer", ("Security",), "ACCESS", frozenset({SECURITY, VIEW_ALL})
    )
    return SecurityAdmin(store, actor)


def test_a_security_officer_manages_plain_users(officer: SecurityAdmin) -> None:
    officer.add_user(User("carol"), PASSWORD)
    officer.add_role(Role("Readers"))
    officer.assign_roles("carol", ["Readers"])
    officer.update_user("carol", {}, "carols-new-password")
    officer.remove_user("carol")


def test_a_security_officer_cannot_make_or_touch_administrators(
    officer: SecurityAdmin,
) -> None:
    with pytest.raises(Forbidden) as info:
        officer.assign_roles("officer", [ADMIN_ROLE])
    assert message(info) == (
        "you may not change role Administrators: it grants ADMINISTER, "
        "which you do not hold"
    )
    with pytest.raises(Forbidden) as info:
        officer.update_user(ADMIN, {}, "taken-over-password")
    assert message(info) == (
        "you may not change user admin: role Administrators grants ADMINISTER, "
        "which you do not hold"
    )
    with pytest.raises(Forbidden):
        officer.add_role(Role("Editors", admin_privileges=(UPDATE,)))
    with pytest.raises(Forbidden):
        officer.assign_privilege("Security", PUBLISH)
