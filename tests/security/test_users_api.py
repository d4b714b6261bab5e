"""``admin/security/users`` over HTTP, in process."""

from __future__ import annotations

import json

from starlette.testclient import TestClient

from tests.security.conftest import (
    ADMIN,
    ADMIN_PASSWORD,
    PASSWORD,
    SUCCESS,
    Admin,
    error,
)

ADMIN_JSON = {
    "username": ADMIN,
    "fullname": "",
    "email": "",
    "description": "Primary site administrator",
}


def user_json(name: str, **fields: str) -> dict[str, str]:
    return {"username": name, "fullname": "", "email": "", "description": "", **fields}


def test_the_resource_lists_its_operations(admin: Admin) -> None:
    assert admin.get("users") == {
        "resources": [],
        "operations": [
            "add",
            "update",
            "remove",
            "assignRoles",
            "removeRoles",
            "getUsers",
            "search",
            "getPrivilege",
        ],
    }


def test_add_takes_fields_or_user_json_and_never_answers_a_hash(
    admin: Admin,
) -> None:
    assert admin.post("users/add", username="bob", password=PASSWORD) == SUCCESS
    carol = {"username": "carol", "password": PASSWORD, "email": "c@example.org"}
    assert admin.post("users/add", user=json.dumps(carol), fullname="Carol") == SUCCESS

    answer = admin.get("users/getUsers")

    assert answer == {
        "users": [
            ADMIN_JSON,
            user_json("bob"),
            user_json("carol", fullname="Carol", email="c@example.org"),
        ],
        "hasMore": False,
    }
    assert "password" not in json.dumps(answer)


def test_add_names_what_is_wrong(admin: Admin) -> None:
    assert admin.post("users/add", password=PASSWORD) == error(
        400, "username is required"
    )
    assert admin.post("users/add", username="bob") == error(400, "password is required")
    assert admin.post("users/add", username="bob", password="short") == error(
        400, "the password must have at least 8 characters"
    )
    assert admin.post("users/add", username="Admin", password=PASSWORD) == error(
        400, "user Admin already exists"
    )
    assert admin.post("users/add", user="[1]") == error(
        400, "user must be a JSON object"
    )
    assert admin.post("users/add", user='{"username": 5}') == error(
        400, "user.username must be a string"
    )


def test_get_users_pages_ten_at_a_time(admin: Admin) -> None:
    for n in range(24):
        admin.post("users/add", username=f"user{n:02}", password=PASSWORD)

    first = admin.get("users/getUsers")
    second = admin.get("users/getUsers", startIndex="10")
    third = admin.post("users/getUsers", startIndex="20")

    assert [len(p["users"]) for p in (first, second, third)] == [10, 10, 5]
    assert [p["hasMore"] for p in (first, second, third)] == [True, True, False]
    assert first["users"][0]["username"] == ADMIN
    assert second["users"][0]["username"] == "user09"
    assert [u["username"] for u in third["users"]] == [
        "user19",
        "user20",
        "user21",
        "user22",
        "user23",
    ]
    assert admin.get("users/getUsers", pageSize="30")["hasMore"] is False


def test_paging_parameters_are_checked(admin: Admin) -> None:
    assert admin.get("users/getUsers", startIndex="x") == error(
        400, "startIndex must be a whole number, not 'x'"
    )
    assert admin.get("users/getUsers", startIndex="-1") == error(
        400, "startIndex must be at least 0, not -1"
    )
    assert admin.get("users/getUsers", pageSize="0") == error(
        400, "pageSize must be at least 1, not 0"
    )
    assert admin.get("users/search", maxCount="many") == error(
        400, "maxCount must be a whole number, not 'many'"
    )


def test_search_filters_by_name(admin: Admin) -> None:
    for name in ("alice", "malika", "bob"):
        admin.post("users/add", username=name, password=PASSWORD)

    assert admin.get("users/search", filter="ALI") == {
        "users": [user_json("alice"), user_json("malika")],
        "hasMore": False,
    }
    assert admin.get("users/search", filter="a", maxCount="1") == {
        "users": [ADMIN_JSON],
        "hasMore": True,
    }


def test_a_new_password_ends_the_old_token(admin: Admin) -> None:
    old = admin.token
    assert (
        admin.post("users/update", username=ADMIN, password="a-new-password") == SUCCESS
    )

    admin.token = old
    assert admin.get("users") == error(498, "Invalid Token: the token has been revoked")
    admin.token = admin.sign_in(ADMIN, "a-new-password")
    assert admin.get("users")["resources"] == []


def test_update_changes_fields_and_keeps_the_password(admin: Admin) -> None:
    old = admin.token
    change = json.dumps({"username": ADMIN, "email": "root@example.org"})

    assert admin.post("users/update", user=change, password="") == SUCCESS

    assert admin.token == old
    assert admin.get("users/search", filter=ADMIN)["users"] == [
        {**ADMIN_JSON, "email": "root@example.org"}
    ]
    assert admin.post("users/update", username="ghost", fullname="G") == error(
        404, "user ghost does not exist"
    )
    assert admin.post("users/update", fullname="G") == error(
        400, "username is required"
    )


def test_a_user_removed_and_added_again_gets_no_old_tokens(
    admin: Admin, client: TestClient
) -> None:
    admin.post("users/add", username="bob", password=PASSWORD)
    bob = Admin(client, "bob", PASSWORD)
    admin.post("users/remove", username="bob")
    admin.post("users/add", username="bob", password=PASSWORD)

    assert bob.get("users") == error(498, "Invalid Token: the token has been revoked")


def test_the_last_administrator_stays(admin: Admin) -> None:
    lockout = (
        "{} would leave the site without an administrator; make another user an "
        "administrator first"
    )
    assert admin.post("users/remove", username=ADMIN) == error(
        400, lockout.format("removing user admin")
    )
    assert admin.post(
        "users/removeRoles", username=ADMIN, roles="Administrators"
    ) == error(400, lockout.format("taking user admin out of role Administrators"))


def test_roles_are_assigned_and_removed(admin: Admin) -> None:
    admin.post("users/add", username="bob", password=PASSWORD)
    admin.post("roles/add", rolename="Publishers", privilege="PUBLISH")
    admin.post("roles/add", rolename="Viewers")

    assert admin.post("users/getPrivilege", username="bob") == {"privilege": None}
    assert (
        admin.post("users/assignRoles", username="bob", roles="Viewers, Publishers")
        == SUCCESS
    )
    assert admin.get("users/getPrivilege", username="BOB") == {"privilege": "PUBLISH"}
    assert admin.post("users/removeRoles", username="bob", roles="publishers") == (
        SUCCESS
    )
    assert admin.post("users/getPrivilege", username="bob") == {"privilege": "ACCESS"}
    assert admin.post("users/assignRoles", username="bob", roles="Nope") == error(
        404, "role Nope does not exist"
    )
    assert admin.post("users/assignRoles", username="bob", roles=" , ") == error(
        400, "roles is required: a comma-separated list of names"
    )
    assert admin.post("users/remove", username="bob") == SUCCESS
    assert admin.post("users/remove", username="bob") == error(
        404, "user bob does not exist"
    )


def test_changes_take_post_only_and_unknown_operations_are_404(
    admin: Admin,
) -> None:
    assert admin.get("users/add", username="x", password=PASSWORD) == error(
        405, "add accepts POST only"
    )
    assert admin.get("users/getPassword") == error(
        404, "security/users has no operation getPassword"
    )


def test_only_administrators_and_security_officers_may_call(
    admin: Admin, client: TestClient
) -> None:
    anonymous = client.get("/arcgis/admin/security/users", params={"f": "json"})
    assert anonymous.json()["code"] == 499

    admin.post("users/add", username="bob", password=PASSWORD)
    admin.post("roles/add", rolename="Publishers", privilege="PUBLISH")
    admin.post("users/assignRoles", username="bob", roles="Publishers")
    bob = Admin(client, "bob", PASSWORD)
    assert bob.get("users/getUsers") == error(
        403,
        "You do not have permissions to access this resource or perform this "
        "operation.",
    )


def test_a_security_officer_cannot_take_over_an_administrator(
    admin: Admin, client: TestClient
) -> None:
    admin.post(
        "roles/add",
        rolename="Security",
        adminPrivileges="securityAndInfrastructure,viewAllContent",
    )
    admin.post("users/add", username="officer", password=PASSWORD)
    admin.post("users/assignRoles", username="officer", roles="Security")
    officer = Admin(client, "officer", PASSWORD)

    assert officer.post("users/add", username="dan", password=PASSWORD) == SUCCESS
    assert officer.post(
        "users/update", username=ADMIN, password="i-own-this-now"
    ) == error(
        403,
        "you may not change user admin: role Administrators grants ADMINISTER, "
        "which you do not hold",
    )
    assert officer.post(
        "users/assignRoles", username="officer", roles="Administrators"
    ) == error(
        403,
        "you may not change role Administrators: it grants ADMINISTER, which you "
        "do not hold",
    )
    assert Admin(client, ADMIN, ADMIN_PASSWORD).token
