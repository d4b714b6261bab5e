"""What every Administrator API route shares: its envelope, its check, its audit.

Each admin route is declared with :func:`admin_route` under a name from the privilege
table in :mod:`gpserver.security.access`; a name missing from the table fails at
import, so no admin route can exist without a rule.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gpserver.errors import GPServerError
from gpserver.security.access import ADMIN_ENDPOINTS, check_admin
from gpserver.security.model import Principal
from gpserver.web.auth import principal_of
from gpserver.web.endpoint import inline_allowed, read_params
from gpserver.web.errors import wants_error_page
from gpserver.web.formats import render, wanted_format
from gpserver.web.html.actions import after_change, answers_with_page, form_params

log = logging.getLogger(__name__)
audit = logging.getLogger("gpserver.audit")

AdminHandler = Callable[[Request, dict[str, Any], Principal], Any]
INTERNAL_MESSAGE = "The server failed to complete the operation; see its log."
SUCCESS = {"status": "success"}


def admin_error_body(code: int, messages: list[str]) -> dict[str, Any]:
    return {"status": "error", "messages": messages, "code": code}


@dataclass(frozen=True)
class Operation:
    name: str
    handler: AdminHandler
    methods: tuple[str, ...]
    action: bool
    rule: str
    """The privilege-table entry that guards it; several operations may share one."""
    quick: bool = False
    """It only reads the store: on the embedded store it runs on the event loop."""


OPERATIONS: dict[str, Operation] = {}
Resolver = Callable[[Request], str]


def operation(
    name: str,
    *,
    methods: Sequence[str] = ("GET", "POST"),
    action: bool = False,
    rule: str | None = None,
    quick: bool = False,
) -> Callable[[AdminHandler], AdminHandler]:
    """Register an admin operation; ``action`` marks those that change something.

    The operation is guarded by the privilege-table entry ``rule`` (its own name
    when not given), which must exist, or the import fails: no admin operation can
    exist without a rule.
    """
    rule = rule or name

    def register(handler: AdminHandler) -> AdminHandler:
        if rule not in ADMIN_ENDPOINTS:
            raise KeyError(
                f"admin endpoint {rule!r} is missing from the privilege table"
            )
        OPERATIONS[name] = Operation(name, handler, tuple(methods), action, rule, quick)
        return handler

    return register


def admin_route(path: str, resolve: Resolver | str) -> Route:
    """A route whose path names one operation, or several through ``resolve``.

    A resolver returns the operation's name and may leave what it found (a service,
    a job) on ``request.state.target`` for the handler.
    """

    def run(request: Request, params: dict[str, Any]) -> Response:
        name = _resolved(request, resolve)
        request.state.operation = OPERATIONS[name]
        if request.method not in request.state.operation.methods:
            raise MethodNotAllowed(name, request.state.operation.methods)
        principal = principal_of(request, params, body_only=request.method == "POST")
        request.state.principal = principal
        check_admin(request.state.operation.rule, principal)
        from_form = answers_with_page(request.method, params)
        if from_form:
            params = form_params(name, params)
        data = request.state.operation.handler(request, params, principal)
        if isinstance(data, Response):
            return data
        changed = request.state.operation.action and data.get("status") == "success"
        if from_form and changed:
            # A form's change went through: show the page it changed (no JSON).
            return after_change(request, name, data, params)
        return render(request, params, data, title=name, view=name)

    async def endpoint(request: Request) -> Response:
        params: dict[str, Any] = {}
        try:
            params = await read_params(request)
            quick = OPERATIONS[_resolved(request, resolve)].quick
            if quick and inline_allowed(request):
                response = run(request, params)
            else:
                response = await run_in_threadpool(run, request, params)
        except Exception as exc:
            _audit(request, "refused", str(exc))
            return admin_error(request, params, exc)
        _audit(request, "done", "")
        return response

    endpoint.guarded = True  # type: ignore[attr-defined]
    return Route(path, endpoint, methods=["GET", "POST"])


def _resolved(request: Request, resolve: Resolver | str) -> str:
    """The operation's name, found once per request."""
    name: str | None = getattr(request.state, "operation_name", None)
    if name is None:
        name = resolve if isinstance(resolve, str) else resolve(request)
        request.state.operation_name = name
    return name


class MethodNotAllowed(GPServerError):
    code = 405

    def __init__(self, name: str, methods: tuple[str, ...]) -> None:
        super().__init__(
            f"{name.rsplit('.', 1)[-1]} accepts {' or '.join(methods)} only"
        )


def admin_error(request: Request, params: dict[str, Any], exc: Exception) -> Response:
    if isinstance(exc, GPServerError):
        body = admin_error_body(exc.code, [exc.message, *exc.details])
    else:
        log.error(
            "unexpected error on %s %s",
            request.method,
            request.url.path,
            exc_info=exc,
            extra={"event": "request.error"},
        )
        body = admin_error_body(500, [INTERNAL_MESSAGE])
    fmt = wanted_format(params)
    if fmt == "html" and wants_error_page(request, params):
        from gpserver.web.html.pages import error_page

        return error_page(request, body["code"], body["messages"])
    if fmt == "html":
        fmt = "json"
    try:
        return render(request, params, body, title="Error", fmt=fmt)
    except GPServerError:
        return render(request, {}, body, fmt="json")


def _audit(request: Request, result: str, detail: str) -> None:
    operation = getattr(request.state, "operation", None)
    if operation is None or not operation.action:
        return
    name = operation.name
    principal = getattr(request.state, "principal", None)
    who = principal.username if principal and principal.username else "anonymous"
    audit.info(
        "admin %s by %s on %s: %s%s",
        name,
        who,
        request.url.path,
        result,
        f" ({detail})" if detail else "",
        extra={"event": "admin.action", "action": name, "user": who},
    )
