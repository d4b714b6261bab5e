"""The wrapper every REST handler runs in.

It reads the request's parameters from the query string and the form body alike
(clients switch from GET to POST above 2,000 characters), runs the handler in a
thread (the domain code is synchronous) unless it is quick, and turns every
exception into the error envelope.

A handler run on the event loop (``request.state.inline``) may return a
coroutine instead of a response, for work that waits without computing: a
submit's commit.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote_plus

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from gpserver.errors import BadRequest
from gpserver.web.errors import rest_error

Handler = Callable[[Request, dict[str, Any]], Response | Awaitable[Response]]
Quick = Callable[[Request], bool]

# Feature sets of a hundred thousand points are tens of megabytes of JSON in one
# field; ArcGIS clients send them as they are.
MAX_FIELD = 256 * 2**20
MAX_FIELDS = 10_000
URLENCODED = "application/x-www-form-urlencoded"


async def read_params(request: Request) -> dict[str, Any]:
    params: dict[str, Any] = (
        dict(request.query_params) if request.scope["query_string"] else {}
    )
    request.state.form_keys = set()
    if request.method == "POST":
        content_type = request.headers.get("content-type", "")
        if "form" in content_type:
            try:
                form = await _form_items(request, content_type)
            except HTTPException as exc:
                raise BadRequest(
                    f"The request body cannot be read: {exc.detail} (at most "
                    f"{MAX_FIELDS} fields of {MAX_FIELD // 2**20} MB each)"
                ) from None
            for key, value in form:
                if isinstance(value, UploadFile):
                    continue
                params[key] = value
                request.state.form_keys.add(key)
        elif "json" in content_type:
            raise BadRequest(
                "Request body must be form-encoded "
                "(application/x-www-form-urlencoded), not JSON"
            )
    return params


async def _form_items(request: Request, content_type: str) -> list[tuple[str, Any]]:
    media_type = content_type.partition(";")[0].strip().lower()
    if media_type != URLENCODED:
        form = await request.form(
            max_files=MAX_FIELDS, max_fields=MAX_FIELDS, max_part_size=MAX_FIELD
        )
        return form.multi_items()
    return _urlencoded(await request.body())


def _urlencoded(body: bytes) -> list[tuple[str, str]]:
    """The fields of a form-encoded body, decoded as Starlette's form parser does.

    Nearly every POST is one of these: splitting it here costs a tenth of what the
    general parser's callbacks cost, on each submitJob and token request.
    """
    fields = [field for field in body.split(b"&") if field]
    if len(fields) > MAX_FIELDS:
        raise HTTPException(
            400, f"Too many fields. Maximum number of fields is {MAX_FIELDS}."
        )
    items = []
    for field in fields:
        if len(field) > MAX_FIELD:
            raise HTTPException(
                400, f"Field exceeded maximum size of {MAX_FIELD // 1024}KB."
            )
        name, _, value = field.partition(b"=")
        items.append(
            (
                unquote_plus(name.decode("latin-1")),
                unquote_plus(value.decode("latin-1")),
            )
        )
    return items


def inline_allowed(request: Request) -> bool:
    """Whether the site's store is quick enough to use from the event loop itself.

    A read of the embedded store or of the jobs directory takes a few tens of
    microseconds, less than the two thread switches it would take to run it in a
    thread. A shared store's reads cross the network, so they go to a thread.
    """
    return bool(request.app.state.site.quick_reads)


async def _respond(request: Request, handler: Handler, params: dict[str, Any]) -> Any:
    request.state.inline = True
    response = handler(request, params)
    if inspect.isawaitable(response):
        return await response
    return response


def _in_thread(request: Request, handler: Handler, params: dict[str, Any]) -> Any:
    request.state.inline = False
    response = handler(request, params)
    assert not inspect.isawaitable(response), "only an inline handler may await"
    return response


def rest_endpoint(
    handler: Handler, *, quick: Quick | None = None
) -> Callable[[Request], Awaitable[Response]]:
    """The handler as an endpoint; where ``quick`` says the request only reads,
    it runs on the event loop (see :func:`inline_allowed`)."""

    async def endpoint(request: Request) -> Response:
        params: dict[str, Any] = {}
        try:
            params = await read_params(request)
            if quick is not None and quick(request) and inline_allowed(request):
                response: Response = await _respond(request, handler, params)
            else:
                response = await run_in_threadpool(_in_thread, request, handler, params)
            return response
        except Exception as exc:
            return rest_error(request, params, exc)

    endpoint.__name__ = handler.__name__
    return endpoint
