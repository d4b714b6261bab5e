"""The admin root, info, generateToken and the security resources."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from gpserver.errors import BadRequest
from gpserver.security.model import Principal
from gpserver.site import Site
from gpserver.web.admin.framework import SUCCESS, admin_route, operation
from gpserver.web.rest.resources import CURRENT_VERSION, FULL_VERSION
from gpserver.web.tokens import generate_token


@operation("root")
def root(request: Request, params: dict[str, Any], principal: Principal) -> Any:
    return {
        "resources": ["services", "security", "system", "info"],
        "currentVersion": CURRENT_VERSION,
        "fullVersion": FULL_VERSION,
    }


@operation("info")
def info(request: Request, params: dict[str, Any], principal: Principal) -> Any:
    return {
        "fullVersion": FULL_VERSION,
        "currentversion": str(CURRENT_VERSION),
        "loggedInUser": principal.username,
        "loggedInUserPrivilege": principal.privilege,
    }


@operation("generateToken")
def admin_generate_token(
    request: Request, params: dict[str, Any], principal: Principal
) -> Any:
    return generate_token(request, params)


@operation("security")
def security(request: Request, params: dict[str, Any], principal: Principal) -> Any:
    return {"resources": ["users", "roles", "tokens"]}


@operation("security.tokens")
def token_settings(
    request: Request, params: dict[str, Any], principal: Principal
) -> Any:
    site: Site = request.app.state.site
    return site.security.tokens.settings().to_json()


@operation("security.tokens.update", methods=("POST",), action=True)
def update_token_settings(
    request: Request, params: dict[str, Any], principal: Principal
) -> Any:
    site: Site = request.app.state.site
    current = site.security.tokens.settings()
    short, long = current.short_timeout, current.long_timeout
    config = params.get("tokenManagerConfig")
    if config:
        properties = _json_object(config, "tokenManagerConfig").get("properties", {})
        short = _minutes(properties.get("shortTimeout", short), "shortTimeout")
        long = _minutes(properties.get("longTimeout", long), "longTimeout")
    short = _minutes(params.get("shortTimeout") or short, "shortTimeout")
    long = _minutes(params.get("longTimeout") or long, "longTimeout")
    site.security.tokens.update_settings(short, long)
    return SUCCESS


def _json_object(text: Any, name: str) -> dict[str, Any]:
    try:
        value = json.loads(str(text))
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise BadRequest(f"{name} must be a JSON object")
    return value


def _minutes(value: Any, name: str) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise BadRequest(
            f"{name} must be a whole number of minutes, not {value!r}"
        ) from None


routes = [
    admin_route("/admin", "root"),
    admin_route("/admin/info", "info"),
    admin_route("/admin/generateToken", "generateToken"),
    admin_route("/admin/security", "security"),
    admin_route("/admin/security/tokens", "security.tokens"),
    admin_route("/admin/security/tokens/update", "security.tokens.update"),
]
