"""Finding the token a request carries and the principal it stands for."""

from __future__ import annotations

import ipaddress
from typing import Any

from starlette.requests import Request

from gpserver.errors import TokenRequired
from gpserver.security.model import Principal
from gpserver.site import Site

BEARER = "bearer "


def token_of(
    request: Request, params: dict[str, Any], *, body_only: bool
) -> str | None:
    """The token from the X-Esri-Authorization header, the form, or the query.

    With ``body_only`` (admin POST requests) a token in the URL alone is refused:
    URLs end up in logs and browser histories.
    """
    header = request.headers.get("x-esri-authorization") or request.headers.get(
        "authorization", ""
    )
    if header.lower().startswith(BEARER):
        bearer = header[len(BEARER) :].strip()
        # The ArcGIS API for Python sends "Bearer None" once it has no token.
        if bearer and bearer != "None":
            return bearer
    token = params.get("token") or None
    in_body = "token" in getattr(request.state, "form_keys", set())
    if token and body_only and not in_body:
        raise TokenRequired(
            "Token Required: an Administrator API POST must carry its token in the "
            "request body or the X-Esri-Authorization header, not in the URL"
        )
    return str(token) if token else None


def principal_of(
    request: Request, params: dict[str, Any], *, body_only: bool = False
) -> Principal:
    site: Site = request.app.state.site
    token = token_of(request, params, body_only=body_only)
    return site.security.authenticate(
        token, request.headers.get("referer"), client_address(request)
    )


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""


def is_loopback(request: Request) -> bool:
    try:
        return ipaddress.ip_address(client_address(request)).is_loopback
    except ValueError:
        return False
