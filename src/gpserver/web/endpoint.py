"""The wrapper every REST handler runs in.

It reads the request's parameters from the query string and the form body alike
(clients switch from GET to POST above 2,000 characters), runs the handler in a
thread (the domain code is synchronous), and turns every exception into the
error envelope.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from gpserver.errors import BadRequest
from gpserver.web.errors import rest_error

Handler = Callable[[Request, dict[str, Any]], Response]

# Feature sets of a hundred thousand points are tens of megabytes of JSON in one
# field; ArcGIS clients send them as they are.
MAX_FIELD = 256 * 2**20
MAX_FIELDS = 10_000


async def read_params(request: Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query_params)
    request.state.form_keys = set()
    if request.method == "POST":
        content_type = request.headers.get("content-type", "")
        if "form" in content_type:
            try:
                form = await request.form(
                    max_files=MAX_FIELDS, max_fields=MAX_FIELDS, max_part_size=MAX_FIELD
                )
            except HTTPException as exc:
                raise BadRequest(
                    f"The request body cannot be read: {exc.detail} (at most "
                    f"{MAX_FIELDS} fields of {MAX_FIELD // 2**20} MB each)"
                ) from None
            for key, value in form.multi_items():
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


def rest_endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        params: dict[str, Any] = {}
        try:
            params = await read_params(request)
            return await run_in_threadpool(handler, request, params)
        except Exception as exc:
            return rest_error(request, params, exc)

    endpoint.__name__ = handler.__name__
    return endpoint
