"""The registry of page views, by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request

View = Callable[[Request, Any], tuple[str, dict[str, Any]]]
"""Takes the request and the resource's data; returns a template and its values."""

VIEWS: dict[str, View] = {}
FORM_ERRORS: dict[str, Callable[[Request], tuple[str, dict[str, Any]]]] = {}
"""Pages that show their own error above their form, by operation name: a
mistake in a form read with GET keeps the form and what was typed in it."""

# Titles of pages whose handler names no resource of its own; a view may also
# set ``title`` among its values.
TITLES = {
    "root": "Administrator Directory",
    "info": "Server information",
    "security": "Security",
    "security.tokens": "Token settings",
    "security.users": "Users",
    "security.users.getUsers": "Users",
    "security.users.search": "Users found",
    "security.users.getPrivilege": "Privilege of a user",
    "security.roles": "Roles",
    "security.roles.getRoles": "Roles",
    "security.roles.search": "Roles found",
    "services.service.status": "Service status",
    "system": "System",
    "system.directories": "Server directories",
    "system.directories.directory": "Jobs directory",
    "generateToken": "Token",
}


def view(*names: str) -> Callable[[View], View]:
    def register(function: View) -> View:
        for name in names:
            VIEWS[name] = function
        return function

    return register
