"""What a form that changes something sends, and where it sends its reader next.

A form posts with ``f=html``. Its empty optional fields mean "unchanged"
(:func:`form_params`), and a change that went through answers with a 303 redirect
to the page the change shows on, with a short-lived cookie naming what was done,
so that page can say it (:mod:`gpserver.web.html.notices`). The cookie, unlike a
parameter in the address, cannot be put there by a link from elsewhere.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from gpserver.errors import BadRequest
from gpserver.web.urls import CONTEXT

NOTICE_COOKIE = "gpserver_notice"
NOTICE_SECONDS = 60
NONE = "none"
"""What a form's adminPrivileges field takes to clear them: empty keeps them."""
# Operations whose page is not the one just above them in the path.
_TWO_UP = ("jobs.job.delete",)
# The fields of update forms that a browser sends empty when left alone; dropped
# from a form's request, they keep what they would otherwise erase. The JSON API
# is unchanged: a program that sends a field empty means it.
KEEP_WHEN_EMPTY = {
    "security.users.update": ("password", "fullname", "email", "description"),
    "security.roles.update": ("description", "privilege", "adminPrivileges"),
    "security.roles.assignPrivilege": ("adminPrivileges",),
    "security.tokens.update": ("shortTimeout", "longTimeout", "tokenManagerConfig"),
    "services.service.edit": (
        "service",
        "description",
        "minInstancesPerNode",
        "maxInstancesPerNode",
        "maxUsageTime",
        "maxWaitTime",
        "maximumRecords",
        "showMessages",
    ),
    "system.directories.edit": ("cleanupMode", "maxFileAge"),
}
# Forms that change nothing but those fields: one of them must be filled in, or
# the form would report a change that did not happen.
_ONE_NEEDED = (
    "security.users.update",
    "security.roles.update",
    "security.tokens.update",
    "services.service.edit",
    "system.directories.edit",
)


def answers_with_page(method: str, params: dict[str, Any]) -> bool:
    """Whether a POST came from a page's form, which always sends f=html."""
    return method == "POST" and str(params.get("f", "")).lower() == "html"


def form_params(operation: str, params: dict[str, Any]) -> dict[str, Any]:
    """A form's parameters without the empty fields that mean "unchanged"."""
    kept = KEEP_WHEN_EMPTY.get(operation)
    if kept is None:
        return params
    given = {k: v for k, v in params.items() if not (k in kept and _empty(v))}
    if str(given.get("adminPrivileges", "")).strip().lower() == NONE:
        # Empty keeps a role's fine-grained privileges; this word takes them away.
        given["adminPrivileges"] = ""
    if operation in _ONE_NEEDED and not any(name in given for name in kept):
        raise BadRequest(
            "Nothing was changed: fill in at least one of "
            + ", ".join(name for name in kept if name != "tokenManagerConfig")
        )
    return given


def _empty(value: Any) -> bool:
    return isinstance(value, str) and not value.strip()


def page_after(path: str, operation: str) -> str:
    levels = 2 if operation in _TWO_UP else 1
    return f"{path.rsplit('/', levels)[0]}?f=html"


def notice_value(operation: str, data: dict[str, Any]) -> str:
    """What the notice cookie says: the operation, and a count where there is one."""
    removed = data.get("removedJobs")
    return f"{operation}:{removed}" if isinstance(removed, int) else operation


def after_change(
    request: Request, operation: str, data: dict[str, Any], params: dict[str, Any]
) -> Response:
    """The 303 that follows a form's change, carrying its notice in a cookie."""
    location = page_after(request.url.path, operation)
    notice = notice_value(operation, data)
    if operation == "security.users.update" and _own_password(request, params):
        # The change revoked the token this sign-in holds: sign in again.
        location = f"{CONTEXT}/admin/login?redirect={CONTEXT}/admin/security/users"
        notice = "ownPasswordChanged"
    return see_other(request, location, notice)


def _own_password(request: Request, params: dict[str, Any]) -> bool:
    principal = getattr(request.state, "principal", None)
    username = str(params.get("username", "")).strip().lower()
    return bool(
        params.get("password")
        and principal is not None
        and principal.username
        and str(principal.username).lower() == username
    )


def see_other(request: Request, location: str, notice: str) -> Response:
    response = RedirectResponse(location, 303, headers={"Cache-Control": "no-store"})
    response.set_cookie(
        NOTICE_COOKIE,
        notice,
        max_age=NOTICE_SECONDS,
        path=location.split("?", 1)[0],
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    return response
