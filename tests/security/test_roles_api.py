"""``admin/security/roles`` over HTTP, in process."""

from __future__ import annotations

import json
from typing import Any

from tests.security.conftest import ADMIN, PASSWORD, SUCCESS, Admin, error

ADMINISTRATORS = {
    "rolename": "Administrators",
    "description": "Site administrators",
    "privilege": "ADMINISTER",
    "adminPrivileges": [],
}


def role_json(name: str, **fields: Any) -> dict[str, Any]:
    found = {"rolename": name, "description": "", "privilege": "ACCESS"}
    return {**found, "adminPrivileges": [], **fields}


def test_the_resource_lists_its_operations(admin: Admin) -> None:
    assert admin.get("roles") == {
        "resources": [],
        "operations": [
            "add",
            "update",
            "remove",
            "addUsersToRole",
            "removeUsersFromRole",
            "assignPrivilege",
            "getRoles",
            "search",
            "getPrivilege",
            "getRolesForUser",
            "getUsersWithinRole",
            "getRolesByPrivilege",
        ],
    }


def test_the_resource_is_a_page_too(admin: Admin) -> None:
    page = admin.client.get(
        "/arcgis/admin/security/roles", params={"token": admin.token}
    )
    assert page.headers["content-type"].startswith("text/html")
    assert "getRolesByPrivilege" in page.text


def test_add_takes_fields_or_role_json(admin: Admin) -> None:
    assert admin.post("roles/add", rolename="Viewers", description="See") == SUCCESS
    editors = {"rolename": "Editors", "adminPrivileges": ["update", "viewAllContent"]}
    assert admin.post("roles/add", role=json.dumps(editors)) == SUCCESS
    assert admin.post("roles/add", rolename="Publishers", privilege="publish") == (
        SUCCESS
    )

    assert admin.get("roles/getRoles") == {
        "roles": [
            ADMINISTRATORS,
            role_json("Editors", adminPrivileges=["update", "viewAllContent"]),
            role_json("Publishers", privilege="PUBLISH"),
            role_json("Viewers", description="See"),
        ],
        "hasMore": False,
    }


def test_add_names_what_is_wrong(admin: Admin) -> None:
    assert admin.post("roles/add", description="x") == error(
        400, "rolename is required"
    )
    assert admin.post("roles/add", rolename="R", privilege="ROOT") == error(
        400, "unknown privilege 'ROOT': one of ADMINISTER, PUBLISH, ACCESS"
    )
    assert admin.post("roles/add", rolename="R", adminPrivileges="update,sudo") == (
        error(
            400,
            "unknown privilege 'sudo' in adminPrivileges: one of update, delete, "
            "securityAndInfrastructure, servers, viewAllContent",
        )
    )
    assert admin.post("roles/add", rolename="administrators") == error(
        400, "role administrators already exists"
    )
    assert admin.post("roles/add", rolename="esriEveryone") == error(
        400, "rolename esriEveryone is reserved for anonymous callers"
    )


def test_get_roles_pages_and_search_filters(admin: Admin) -> None:
    for n in range(11):
        admin.post("roles/add", rolename=f"Team{n:02}")

    first = admin.get("roles/getRoles", pageSize="5")
    last = admin.get("roles/getRoles", startIndex="10", pageSize="5")

    assert [r["rolename"] for r in first["roles"]][:2] == ["Administrators", "Team00"]
    assert first["hasMore"] is True
    assert [r["rolename"] for r in last["roles"]] == ["Team09", "Team10"]
    assert last["hasMore"] is False
    assert admin.get("roles/search", filter="team1", maxCount="1") == {
        "roles": [role_json("Team10")],
        "hasMore": False,
    }
    assert admin.get("roles/search", filter="team0", maxCount="3")["hasMore"] is True


def test_update_changes_the_description_and_privileges(admin: Admin) -> None:
    admin.post("roles/add", rolename="Editors")

    change = json.dumps({"rolename": "editors", "description": "They edit"})
    assert admin.post("roles/update", role=change, privilege="PUBLISH") == SUCCESS

    assert admin.get("roles/search", filter="editors")["roles"] == [
        role_json("Editors", description="They edit", privilege="PUBLISH")
    ]
    assert admin.post("roles/update", rolename="Ghosts") == error(
        404, "role Ghosts does not exist"
    )


def test_assign_privilege_defaults_to_access_and_takes_admin_privileges(
    admin: Admin,
) -> None:
    admin.post("roles/add", rolename="Ops", privilege="PUBLISH")

    assert admin.post("roles/assignPrivilege", rolename="Ops") == SUCCESS
    assert admin.get("roles/getPrivilege", rolename="Ops") == {"privilege": "ACCESS"}
    assert (
        admin.post(
            "roles/assignPrivilege",
            rolename="Ops",
            privilege="ACCESS",
            adminPrivileges="servers, viewAllContent",
        )
        == SUCCESS
    )
    assert admin.get("roles/search", filter="ops")["roles"] == [
        role_json("Ops", adminPrivileges=["servers", "viewAllContent"])
    ]
    assert admin.post(
        "roles/assignPrivilege", rolename="Ops", privilege="ROOT"
    ) == error(400, "unknown privilege 'ROOT': one of ADMINISTER, PUBLISH, ACCESS")


def test_the_last_administrator_role_stays(admin: Admin) -> None:
    lockout = (
        "{} would leave the site without an administrator; make another user an "
        "administrator first"
    )
    assert admin.post("roles/remove", rolename="Administrators") == error(
        400, lockout.format("removing role Administrators")
    )
    assert admin.post(
        "roles/assignPrivilege", rolename="Administrators", privilege="PUBLISH"
    ) == error(
        400,
        lockout.format("changing the privilege of role Administrators to PUBLISH"),
    )
    assert admin.post(
        "roles/removeUsersFromRole", rolename="Administrators", users=ADMIN
    ) == error(400, lockout.format("taking user admin out of role Administrators"))
    assert admin.get("roles/getPrivilege", rolename="Administrators") == {
        "privilege": "ADMINISTER"
    }


def test_another_administrator_role_lets_the_first_go(admin: Admin) -> None:
    admin.post("roles/add", rolename="Operators", privilege="ADMINISTER")
    admin.post("roles/addUsersToRole", rolename="Operators", users=ADMIN)

    assert admin.post("roles/remove", rolename="Administrators") == SUCCESS
    assert admin.get("roles/getRolesByPrivilege", privilege="ADMINISTER") == {
        "roles": ["Operators"]
    }


def test_membership_in_both_directions(admin: Admin) -> None:
    for name in ("bob", "carol", "dave"):
        admin.post("users/add", username=name, password=PASSWORD)
    admin.post("roles/add", rolename="Editors")
    admin.post("roles/add", rolename="Editors-West")

    assert (
        admin.post("roles/addUsersToRole", rolename="Editors", users="bob,carol,dave")
        == SUCCESS
    )
    admin.post("roles/addUsersToRole", rolename="Editors-West", users="bob")

    assert admin.get("roles/getUsersWithinRole", rolename="editors") == {
        "users": ["bob", "carol", "dave"],
        "hasMore": False,
    }
    assert admin.post(
        "roles/getUsersWithinRole", rolename="Editors", filter="a", maxCount="1"
    ) == {"users": ["carol"], "hasMore": True}
    assert admin.post("roles/getRolesForUser", username="bob") == {
        "roles": ["Editors", "Editors-West"],
        "hasMore": False,
    }
    assert admin.post("roles/getRolesForUser", username="bob", filter="west") == {
        "roles": ["Editors-West"],
        "hasMore": False,
    }
    assert (
        admin.post("roles/removeUsersFromRole", rolename="Editors", users="carol")
        == SUCCESS
    )
    assert admin.get("roles/getUsersWithinRole", rolename="Editors")["users"] == [
        "bob",
        "dave",
    ]
    assert admin.post("roles/addUsersToRole", rolename="Editors", users="eve") == error(
        404, "user eve does not exist"
    )
    assert admin.post("roles/getRolesForUser", username="eve") == error(
        404, "user eve does not exist"
    )
    assert admin.post("roles/addUsersToRole", rolename="Editors") == error(
        400, "users is required: a comma-separated list of names"
    )


def test_roles_by_privilege_needs_a_known_privilege(admin: Admin) -> None:
    admin.post("roles/add", rolename="Publishers", privilege="PUBLISH")

    assert admin.get("roles/getRolesByPrivilege", privilege="publish") == {
        "roles": ["Publishers"]
    }
    assert admin.get("roles/getRolesByPrivilege") == error(400, "privilege is required")


def test_remove_takes_the_role_from_its_users(admin: Admin) -> None:
    admin.post("roles/add", rolename="Editors")
    admin.post("roles/addUsersToRole", rolename="Editors", users=ADMIN)

    assert admin.post("roles/remove", rolename="Editors") == SUCCESS

    assert admin.post("roles/getRolesForUser", username=ADMIN)["roles"] == [
        "Administrators"
    ]
    assert admin.post("roles/remove", rolename="Editors") == error(
        404, "role Editors does not exist"
    )
    assert admin.get("roles/remove", rolename="x") == error(
        405, "remove accepts POST only"
    )
