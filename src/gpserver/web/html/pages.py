"""Every page's frame, its headers, and the error page.

:func:`gpserver.web.formats.render` hands each ``f=html`` answer to :func:`page`,
which runs the resource's view and puts the result in the frame every page shares:
breadcrumbs, who is signed in, a link to the JSON. Pages carry a strict content
security policy (no inline script or style) and are never cached, since the forms
on a signed-in page hold the viewer's token.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from gpserver import __version__
from gpserver.errors import GPServerError
from gpserver.security.model import ANONYMOUS
from gpserver.web.auth import COOKIE, principal_of
from gpserver.web.formats import dumps, templates
from gpserver.web.html import admin_pages, rest_pages
from gpserver.web.html.actions import NOTICE_COOKIE
from gpserver.web.html.filters import FILTERS
from gpserver.web.html.notices import notice_for
from gpserver.web.html.views import FORM_ERRORS, TITLES, VIEWS
from gpserver.web.rest.resources import FULL_VERSION
from gpserver.web.urls import CONTEXT

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
# Query parameters a page's links never repeat: a token in a link would leak.
_PRIVATE = ("token", "f")
_SIGN_IN_CODES = (498, 499)
_NO_RESOURCE = (CONTEXT, f"{CONTEXT}/rest")
# REST operations a sign-in cannot come back to: the cookie never runs them.
_COOKIELESS = ("submitJob", "execute", "cancel")

templates.filters.update(FILTERS)
assert admin_pages and rest_pages  # imported for the views they register


def page(request: Request, data: Any, *, title: str, view: str) -> Response:
    template, values = VIEWS.get(view, generic)(request, data)
    title = TITLES.get(view, title)
    return html_response(request, template, {"title": title, "data": data, **values})


def html_response(
    request: Request, template: str, values: dict[str, Any], status: int = 200
) -> Response:
    text = templates.get_template(template).render({**frame(request), **values})
    response = Response(
        text, status, headers=HEADERS, media_type="text/html; charset=utf-8"
    )
    if getattr(request.state, "cookie_rejected", False):
        clear_cookie(response, request)
    if NOTICE_COOKIE in request.cookies:
        # A notice is said once, on the page its change led to.
        response.delete_cookie(
            NOTICE_COOKIE, path=request.url.path, httponly=True, samesite="strict"
        )
    return response


def frame(request: Request) -> dict[str, Any]:
    path = request.url.path
    return {
        "context": CONTEXT,
        "static": f"{CONTEXT}/static",
        "section": section_of(request),
        "crumbs": crumbs(path),
        "here": nearest_page(here(request)),
        "viewer": viewer(request),
        "token": getattr(request.state, "token", None),
        "notice": notice(request),
        "json_url": json_url(request),
        "version": __version__,
        "api_version": FULL_VERSION,
        "refresh": None,
    }


def notice(request: Request) -> str | None:
    """What the change that led here did, or that a sign-in was lost.

    Read after :func:`viewer`, which finds whether the cookie was rejected.
    """
    rejected = getattr(request.state, "cookie_rejected", False)
    if rejected and not request.url.path.endswith("/login"):
        return "Your sign-in has expired or is no longer valid; you are signed out."
    return notice_for(request.cookies.get(NOTICE_COOKIE, ""))


def crumbs(path: str) -> list[tuple[str, str]]:
    """A link for each step of the path that is a resource of its own.

    ``/arcgis`` and ``/arcgis/rest`` are none, nor a service's name without its
    ``GPServer`` or a task's ``jobs``; the service's step says both.
    """
    parts = [p for p in path.split("/") if p]
    found = []
    for index, part in enumerate(parts):
        href = "/" + "/".join(parts[: index + 1])
        following = parts[index + 1] if index + 1 < len(parts) else ""
        if href in _NO_RESOURCE or following == "GPServer":
            continue
        if part == "jobs" and parts[1:2] == ["rest"]:
            continue
        name = f"{parts[index - 1]} (GPServer)" if part == "GPServer" else part
        found.append((name, href))
    return found


def here(request: Request) -> str:
    """The page's path and query, as a sign-in should come back to it."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k not in _PRIVATE]
    return request.url.path + (f"?{urlencode(query)}" if query else "")


def json_url(request: Request) -> str | None:
    if request.method == "POST":
        return None
    query = [(k, v) for k, v in request.query_params.multi_items() if k not in _PRIVATE]
    return f"{request.url.path}?{urlencode([*query, ('f', 'pjson')])}"


def viewer(request: Request) -> str | None:
    """Who is signed in, for the page's header."""
    principal = getattr(request.state, "principal", None)
    if principal is None:
        # A page that needs no one (info, an error) still shows its viewer.
        try:
            principal = principal_of(request, dict(request.query_params))
        except GPServerError:
            principal = ANONYMOUS
        request.state.principal = principal
    return None if principal.is_anonymous else str(principal.username)


def redirect(url: str) -> Response:
    return RedirectResponse(url, 303, headers={"Cache-Control": "no-store"})


def with_query(path: str, **values: str) -> str:
    return f"{path}?{urlencode({'f': 'html', **values})}"


def http_status(code: int) -> int:
    """The HTTP status of an error page, from the code in the error envelope.

    JSON errors keep status 200 for ArcGIS clients; a browser is better told the
    truth. A missing or refused token is 403; a code that is no HTTP status is a
    client's mistake (400) unless it says the server failed (500).
    """
    if code in _SIGN_IN_CODES:
        return 403
    if code in HTTPStatus.__members__.values() and 400 <= code < 600:
        return code
    return 500 if code >= 500 else 400


def error_page(request: Request, code: int, messages: list[str]) -> Response:
    """An error as a page; a page that needs a sign-in sends a reader to it."""
    if code in _SIGN_IN_CODES and request.method in ("GET", "HEAD"):
        return _to_sign_in(request)
    status = http_status(code)
    messages = list(dict.fromkeys(messages))
    form = FORM_ERRORS.get(getattr(request.state, "operation_name", ""))
    if form is not None and request.method == "GET" and status < 500:
        template, values = form(request)
        values |= {"errors": messages, "json_url": None}
        return html_response(request, template, values, status)
    values = {
        "title": "Error",
        "status": status,
        "code": code,
        "messages": messages,
        "sign_in": code in _SIGN_IN_CODES,
        "sign_in_target": nearest_page(here(request)),
        "back": back_link(request),
        "json_url": None,
    }
    return html_response(request, "error.html", values, status)


def back_link(request: Request) -> str:
    """The page the reader came from, if it is on this site, or the parent page."""
    referer = urlsplit(request.headers.get("referer", ""))
    own = f"{request.url.scheme}://{request.url.netloc}"
    if f"{referer.scheme}://{referer.netloc}" == own and referer.path.startswith(
        f"{CONTEXT}/"
    ):
        return referer.path + (f"?{referer.query}" if referer.query else "")
    parent = request.url.path.rsplit("/", 1)[0]
    if parent in _NO_RESOURCE or not parent.startswith(f"{CONTEXT}/"):
        parent = f"{CONTEXT}/rest/services"
    return with_query(parent)


def nearest_page(target: str) -> str:
    """``target``, or the nearest page above it if it is an operation a sign-in
    cannot come back to: one the cookie never runs, or one that takes POST only."""
    path = target.split("?", 1)[0]
    parent, _, last = path.rpartition("/")
    if last in _COOKIELESS and parent.startswith(f"{CONTEXT}/rest/"):
        return with_query(parent)
    if path.startswith(f"{CONTEXT}/admin/") and last in _post_only_operations():
        return with_query(parent)
    return target


def _post_only_operations() -> set[str]:
    from gpserver.web.admin.framework import OPERATIONS

    return {
        name.rsplit(".", 1)[-1]
        for name, operation in OPERATIONS.items()
        if "GET" not in operation.methods
    }


def _to_sign_in(request: Request) -> Response:
    expired = getattr(request.state, "cookie_rejected", False)
    query = {"redirect": nearest_page(here(request))}
    query |= {"reason": "expired"} if expired else {}
    response = redirect(f"{CONTEXT}/{section_of(request)}/login?{urlencode(query)}")
    if expired:
        clear_cookie(response, request)
    return response


def section_of(request: Request) -> str:
    """Which directory a page belongs to: ``rest`` or ``admin``."""
    return "admin" if request.url.path.startswith(f"{CONTEXT}/admin") else "rest"


def clear_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        COOKIE,
        path=CONTEXT,
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )


def generic(request: Request, data: Any) -> tuple[str, dict[str, Any]]:
    """Any resource without a view of its own: its fields and child resources."""
    links: list[tuple[str, str]] = []
    fields = data
    if isinstance(data, dict) and isinstance(data.get("resources"), list):
        base = request.url.path
        links = [(str(r), with_query(f"{base}/{r}")) for r in data["resources"]]
        fields = {k: v for k, v in data.items() if k != "resources"}
    return "resource.html", {
        "links": links,
        "fields": fields,
        "json_text": dumps(data, pretty=True),
    }
