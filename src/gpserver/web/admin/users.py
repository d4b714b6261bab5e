"""The ``admin/security/users`` resource and its operations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request

from gpserver.errors import BadRequest, NotFound
from gpserver.security.admin_ops import USER_FIELDS, SecurityAdmin
from gpserver.security.model import Principal, User
from gpserver.security.names import split_names
from gpserver.site import Site
from gpserver.web.admin import params as p
from gpserver.web.admin.framework import (
    SUCCESS,
    AdminHandler,
    admin_route,
    operation,
)

PREFIX = "security.users."
RULE = "security.users.operation"
READS = ("getUsers", "search", "getPrivilege")
CHANGES = ("add", "update", "remove", "assignRoles", "removeRoles")


def resolve(request: Request) -> str:
    name: str = request.path_params["op"]
    if name not in READS + CHANGES:
        raise NotFound(f"security/users has no operation {name}")
    return PREFIX + name


def user_operation(name: str) -> Callable[[AdminHandler], AdminHandler]:
    """Register one operation; those that change something take POST only."""
    if name in READS:
        return operation(PREFIX + name, rule=RULE)
    return operation(PREFIX + name, methods=("POST",), action=True, rule=RULE)


def security_admin(request: Request, principal: Principal) -> SecurityAdmin:
    site: Site = request.app.state.site
    return SecurityAdmin(site.security.store, principal)


@operation("security.users")
def users_resource(
    request: Request, params: dict[str, Any], principal: Principal
) -> Any:
    return {"resources": [], "operations": list(CHANGES + READS)}


@user_operation("add")
def add(request: Request, params: dict[str, Any], principal: Principal) -> Any:
    fields = p.merged(params, "user", ("username", "password", *USER_FIELDS))
    password = fields.get("password", "")
    if not password:
        raise BadRequest("password is required")
    user = User(
        fields.get("username", ""),
        fullname=fields.get("fullname", ""),
        email=fields.get("email", ""),
        description=fields.get("description", ""),
    )
    security_admin(request, principal).add_user(user, password)
    return SUCCESS


@user_operation("update")
def update(request: Request, params: dict[str, Any], principal: Principal) -> Any:
    fields = p.merged(params, "user", ("username", "password", *USER_FIELDS))
    username = fields.pop("username", "").strip()
    if not username:
        raise BadRequest("username is required")
    # Clients that send the whole form back send an empty password: no change.
    password = fields.pop("password", "") or None
    security_admin(request, principal).update_user(username, fields, password)
    return SUCCESS


@user_operation("remove")
def remove(request: Request, params: dict[str, Any], principal: Principal) -> Any:
    username = p.required(params, "username")
    security_admin(request, principal).remove_user(username)
    return SUCCESS


@user_operation("getUsers")
def get_users(request: Request, params: dict[str, Any], principal: Principal) -> Any:
    start, size = p.page(params)
    users, more = security_admin(request, principal).users(start, size)
    return {"users": [u.to_json() for u in users], "hasMore": more}


@user_operation("search")
def search(request: Request, params: dict[str, Any], principal: Principal) -> Any:
    text, count = p.text(params, "filter"), p.max_count(params)
    users, more = security_admin(request, principal).users(0, count, text)
    return {"users": [u.to_json() for u in users], "hasMore": more}


@user_operation("assignRoles")
def assign_roles(request: Request, params: dict[str, Any], principal: Principal) -> Any:
    username = p.required(params, "username")
    roles = split_names(p.text(params, "roles"), "roles")
    security_admin(request, principal).assign_roles(username, roles)
    return SUCCESS


@user_operation("removeRoles")
def remove_roles(request: Request, params: dict[str, Any], principal: Principal) -> Any:
    username = p.required(params, "username")
    roles = split_names(p.text(params, "roles"), "roles")
    security_admin(request, principal).remove_roles(username, roles)
    return SUCCESS


@user_operation("getPrivilege")
def get_privilege(
    request: Request, params: dict[str, Any], principal: Principal
) -> Any:
    username = p.required(params, "username")
    return {"privilege": security_admin(request, principal).user_privilege(username)}


routes = [
    admin_route("/admin/security/users", "security.users"),
    admin_route("/admin/security/users/{op}", resolve),
]
