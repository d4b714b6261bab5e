"""The ``admin/security/roles`` resource and its operations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request

from gpserver.errors import BadRequest, NotFound
from gpserver.security.model import ACCESS, Principal, Role
from gpserver.security.names import (
    parse_admin_privileges,
    parse_privilege,
    split_names,
)
from gpserver.web.admin import params as p
from gpserver.web.admin.framework import (
    SUCCESS,
    AdminHandler,
    admin_route,
    operation,
)
from gpserver.web.admin.users import security_admin

PREFIX = "security.roles."
RULE = "security.roles.operation"
READS = (
    "getRoles",
    "search",
    "getPrivilege",
    "getRolesForUser",
    "getUsersWithinRole",
    "getRolesByPrivilege",
)
CHANGES = (
    "add",
    "update",
    "remove",
    "addUsersToRole",
    "removeUsersFromRole",
    "assignPrivilege",
)
ROLE_FIELDS = ("rolename", "description", "privilege", "adminPrivileges")


def resolve(request: Request) -> str:
    name: str = request.path_params["op"]
    if name not in READS + CHANGES:
        raise NotFound(f"security/roles has no operation {name}")
    return PREFIX + name


def role_operation(name: str) -> Callable[[AdminHandler], AdminHandler]:
    """Register one operation; those that change something take POST only."""
    if name in READS:
        return operation(PREFIX + name, rule=RULE)
    return operation(PREFIX + name, methods=("POST",), action=True, rule=RULE)


@operation("security.roles")
def roles_resource(
    request: Request, params: dict[str, Any], principal: Principal
) -> Any:
    return {"resources": [], "operations": list(CHANGES + READS)}


@role_operation("add")
def add(request: Request, params: dict[str, Any], principal: Principal) -> Any:
    fields = p.merged(params, "role", ROLE_FIELDS)
    role = Role(
        fields.get("rolename", ""),
        fields.get("description", ""),
        parse_privilege(fields.get("privilege") or ACCESS),
        parse_admin_privileges(fields.get("adminPrivileges", "")),
    )
    security_admin(request, principal).add_role(role)
    return SUCCESS


@role_operation("update")
def update(request: Request, params: dict[str, Any], principal: Principal) -> Any:
    fields = p.merged(params, "role", ROLE_FIELDS)
    rolename = fields.get("rolename", "").strip()
    if not rolename:
        raise BadRequest("rolename is required")
    admin = security_admin(request, principal)
    role = admin.role(rolename)
    # The privilege first: it is the change that may be refused, and then the
    # description should stay as it was too.
    if "privilege" in fields or "adminPrivileges" in fields:
        privilege = parse_privilege(fields.get("privilege") or role.privilege)
        admin.assign_privilege(role.rolename, privilege, _admin_privileges(fields))
    if "description" in fields:
        admin.update_role(role.rolename, fields["description"])
    return SUCCESS


@role_operation("remove")
def remove(request: Request, params: dict[str, Any], principal: Principal) -> Any:
    security_admin(request, principal).remove_role(p.required(params, "rolename"))
    return SUCCESS


@role_operation("getRoles")
def get_roles(request: Request, params: dict[str, Any], principal: Principal) -> Any:
    start, size = p.page(params)
    roles, more = security_admin(request, principal).roles(start, size)
    return {"roles": [r.to_json() for r in roles], "hasMore": more}


@role_operation("search")
def search(request: Request, params: dict[str, Any], principal: Principal) -> Any:
    text, count = p.text(params, "filter"), p.max_count(params)
    roles, more = security_admin(request, principal).roles(0, count, text)
    return {"roles": [r.to_json() for r in roles], "hasMore": more}


@role_operation("addUsersToRole")
def add_users(request: Request, params: dict[str, Any], principal: Principal) -> Any:
    rolename = p.required(params, "rolename")
    users = split_names(p.text(params, "users"), "users")
    security_admin(request, principal).add_users_to_role(rolename, users)
    return SUCCESS


@role_operation("removeUsersFromRole")
def remove_users(request: Request, params: dict[str, Any], principal: Principal) -> Any:
    rolename = p.required(params, "rolename")
    users = split_names(p.text(params, "users"), "users")
    security_admin(request, principal).remove_users_from_role(rolename, users)
    return SUCCESS


@role_operation("assignPrivilege")
def assign_privilege(
    request: Request, params: dict[str, Any], principal: Principal
) -> Any:
    rolename = p.required(params, "rolename")
    privilege = parse_privilege(p.text(params, "privilege").strip() or ACCESS)
    extra = _admin_privileges(params)
    security_admin(request, principal).assign_privilege(rolename, privilege, extra)
    return SUCCESS


@role_operation("getPrivilege")
def get_privilege(
    request: Request, params: dict[str, Any], principal: Principal
) -> Any:
    role = security_admin(request, principal).role(p.required(params, "rolename"))
    return {"privilege": role.privilege}


@role_operation("getRolesForUser")
def roles_for_user(
    request: Request, params: dict[str, Any], principal: Principal
) -> Any:
    username = p.required(params, "username")
    text, count = p.text(params, "filter"), p.max_count(params)
    admin = security_admin(request, principal)
    roles, more = admin.roles_for_user(username, text, count)
    return {"roles": roles, "hasMore": more}


@role_operation("getUsersWithinRole")
def users_within_role(
    request: Request, params: dict[str, Any], principal: Principal
) -> Any:
    rolename = p.required(params, "rolename")
    text, count = p.text(params, "filter"), p.max_count(params)
    admin = security_admin(request, principal)
    users, more = admin.users_within_role(rolename, text, count)
    return {"users": users, "hasMore": more}


@role_operation("getRolesByPrivilege")
def roles_by_privilege(
    request: Request, params: dict[str, Any], principal: Principal
) -> Any:
    privilege = parse_privilege(p.required(params, "privilege"))
    return {"roles": security_admin(request, principal).roles_by_privilege(privilege)}


def _admin_privileges(values: dict[str, Any]) -> tuple[str, ...] | None:
    """The fine-grained privileges asked for; None keeps the role's own."""
    if "adminPrivileges" not in values:
        return None
    return parse_admin_privileges(str(values["adminPrivileges"]))


routes = [
    admin_route("/admin/security/roles", "security.roles"),
    admin_route("/admin/security/roles/{op}", resolve),
]
