"""Signing in and out from a browser.

``rest/login`` and ``admin/login`` take a user name and password, get a token from
the same machinery as generateToken (its checks, throttling and log lines), and keep
it in an HttpOnly, SameSite=Strict cookie that lives as long as the token. The
cookie is read only for pages (see :func:`gpserver.web.auth.reads_page`); forms that
change something carry the token in their body.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import unquote, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gpserver.errors import GPServerError
from gpserver.jobs.model import now_ms
from gpserver.web.auth import COOKIE
from gpserver.web.endpoint import read_params
from gpserver.web.html.actions import see_other
from gpserver.web.html.pages import (
    clear_cookie,
    error_page,
    html_response,
    http_status,
    nearest_page,
    redirect,
    section_of,
)
from gpserver.web.tokens import generate_token
from gpserver.web.urls import CONTEXT

log = logging.getLogger(__name__)

HOMES = {"rest": f"{CONTEXT}/rest/services", "admin": f"{CONTEXT}/admin"}
REASONS = {
    "expired": "Your sign-in has expired or is no longer valid. Sign in again.",
    "required": "That page needs you to sign in.",
}
_CROSS_SITE = (
    "Signing in or out must start from this server's own pages: the request came "
    "from another site and was refused."
)
_BAD_REDIRECT = (
    "redirect must be a path on this server (starting with /arcgis/); it was ignored."
)


def safe_redirect(target: str) -> bool:
    """Whether ``target`` is a path on this site, never another site's address.

    A path with ``.`` or ``..`` steps is refused too: the browser would resolve
    ``/arcgis/../elsewhere`` to a path outside the site.
    """
    if any(ord(c) < 32 or c == "\\" for c in target):
        return False
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith("//"):
        return False
    steps = unquote(parts.path).split("/")
    if "." in steps or ".." in steps:
        return False
    return parts.path == CONTEXT or parts.path.startswith(f"{CONTEXT}/")


def cross_site(request: Request) -> bool:
    """Whether the browser says a POST comes from another site's page.

    A sign-in or sign-out is a change another site must not make for the reader
    (it could sign them in as someone else): refused when ``Origin`` names
    another origin, or ``Sec-Fetch-Site`` says the request did not start on this
    site's own pages or from the reader's own typing. Programs send neither.
    """
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
        return True
    fetched_from = request.headers.get("sec-fetch-site")
    return fetched_from is not None and fetched_from not in ("same-origin", "none")


def _refuse_cross_site(request: Request) -> Response:
    log.warning(
        "cross-site %s to %s refused",
        request.method,
        request.url.path,
        extra={"event": "session.cross_site"},
    )
    return error_page(request, 403, [_CROSS_SITE])


async def login(request: Request) -> Response:
    section = section_of(request)
    try:
        params = await read_params(request)
    except GPServerError as exc:
        return _form(request, section, "", [exc.message], 400)
    target = str(params.get("redirect") or HOMES[section])
    if not safe_redirect(target):
        return _form(request, section, "", [_BAD_REDIRECT], 400)
    target = nearest_page(target)
    if request.method != "POST":
        return _form(request, section, target, [])
    if cross_site(request):
        return _refuse_cross_site(request)

    credentials = {
        "username": str(params.get("username") or ""),
        "password": str(params.get("password") or ""),
    }
    try:
        answer = await run_in_threadpool(generate_token, request, credentials)
    except GPServerError as exc:
        errors = list(dict.fromkeys([exc.message, *exc.details]))
        status = http_status(exc.code)
        return _form(request, section, target, errors, status, credentials["username"])

    response = redirect(target)
    response.set_cookie(
        COOKIE,
        answer["token"],
        max_age=max(0, round((int(answer["expires"]) - now_ms()) / 1000)),
        path=CONTEXT,
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    return response


async def logout(request: Request) -> Response:
    section = section_of(request)
    if request.method != "POST":
        values = {"title": "Sign out", "json_url": None}
        return html_response(request, "logout.html", values)
    if cross_site(request):
        return _refuse_cross_site(request)
    response = see_other(request, f"{CONTEXT}/{section}/login", "signedOut")
    clear_cookie(response, request)
    return response


def _form(
    request: Request,
    section: str,
    target: str,
    errors: list[str],
    status: int = 200,
    username: str = "",
) -> Response:
    values: dict[str, Any] = {
        "title": "Sign in",
        "redirect": target,
        "username": username,
        "errors": errors,
        "reason": REASONS.get(request.query_params.get("reason", "")),
        "json_url": None,
        "section": section,
        "on_login": True,
    }
    return html_response(request, "login.html", values, status)


routes = [
    Route("/rest/login", login, methods=["GET", "POST"]),
    Route("/admin/login", login, methods=["GET", "POST"]),
    Route("/rest/logout", logout, methods=["GET", "POST"]),
    Route("/admin/logout", logout, methods=["GET", "POST"]),
]
