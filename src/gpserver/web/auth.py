"""Finding the token a request carries and the principal it stands for."""

from __future__ import annotations

import ipaddress
from typing import Any

from starlette.requests import Request

from gpserver.errors import InvalidToken, TokenRequired
from gpserver.security.model import ANONYMOUS, Principal
from gpserver.site import Site
from gpserver.web.formats import wanted_format

BEARER = "bearer "
COOKIE = "gpserver_token"
"""The cookie the sign-in pages keep a token in, for reading pages only."""
# GET requests to these operations change something (or run a tool), so the
# cookie never authorises them, even as pages.
_COOKIELESS_OPERATIONS = ("/submitJob", "/execute", "/cancel")


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
    if token is None:
        if reads_page(request, params):
            return _cookie_principal(request, site)
        request.state.token = None
        return ANONYMOUS
    principal = site.security.authenticate(
        token, request.headers.get("referer"), client_address(request)
    )
    request.state.token = token
    return principal


def reads_page(request: Request, params: dict[str, Any]) -> bool:
    """Whether the sign-in cookie may stand in for a token on this request.

    Only a page read with GET qualifies: a cookie alone never authorises a change
    (every form that changes something carries its token in the body), and never
    a request from another origin, which could read the page and the token in it.
    JSON qualifies only when the browser says the reader opened it from one of
    this site's pages (the "View this resource as JSON" link): a same-origin,
    top-level navigation, which no script can make and read, and never JSONP.
    """
    if request.method not in ("GET", "HEAD"):
        return False
    if wanted_format(params) != "html" and not _json_link_followed(request, params):
        return False
    if request.url.path.endswith(_COOKIELESS_OPERATIONS):
        return False
    origin = request.headers.get("origin")
    return origin is None or origin == f"{request.url.scheme}://{request.url.netloc}"


def _json_link_followed(request: Request, params: dict[str, Any]) -> bool:
    headers = request.headers
    return (
        not params.get("callback")
        and headers.get("sec-fetch-site") == "same-origin"
        and headers.get("sec-fetch-mode") == "navigate"
    )


def _cookie_principal(request: Request, site: Site) -> Principal:
    token = request.cookies.get(COOKIE)
    if not token:
        return ANONYMOUS
    try:
        principal = site.security.authenticate(
            token, request.headers.get("referer"), client_address(request)
        )
    except InvalidToken:
        # An expired or revoked sign-in: the page is read anonymously and the
        # answer clears the cookie.
        request.state.cookie_rejected = True
        return ANONYMOUS
    request.state.token = token
    return principal


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""


def is_loopback(request: Request) -> bool:
    try:
        return ipaddress.ip_address(client_address(request)).is_loopback
    except ValueError:
        return False
