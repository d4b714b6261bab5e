"""The REST error envelope, built in one place for every path and format."""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from gpserver.errors import GPServerError
from gpserver.web.formats import render, wanted_format
from gpserver.web.html.actions import answers_with_page

log = logging.getLogger(__name__)

INTERNAL_MESSAGE = "The server failed to complete the operation; see its log."


def rest_error_body(code: int, message: str, details: list[str]) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def rest_error(request: Request, params: dict[str, Any], exc: Exception) -> Response:
    """The envelope for an exception, always with HTTP 200 as ArcGIS clients expect.

    A 5xx status would make the ArcGIS API for Python repeat a POST, and a repeated
    submitJob is a duplicate job.
    """
    if isinstance(exc, GPServerError):
        body = rest_error_body(exc.code, exc.message, exc.details)
        if exc.code < 500:
            log.info("request %s refused: %s", request.url.path, exc.message)
    else:
        log.error(
            "unexpected error on %s %s",
            request.method,
            request.url.path,
            exc_info=exc,
            extra={"event": "request.error"},
        )
        body = rest_error_body(500, INTERNAL_MESSAGE, [])
    fmt = wanted_format(params)
    if fmt == "html" and wants_error_page(request, params):
        # Imported here: the pages import this module's neighbours.
        from gpserver.web.html.pages import error_page

        error = body["error"]
        return error_page(request, error["code"], [error["message"], *error["details"]])
    if fmt == "html":
        fmt = "json"
    try:
        return render(request, params, body, title="Error", fmt=fmt)
    except GPServerError:
        # A malformed callback name: answer the error as plain JSON instead.
        return render(request, {}, body, fmt="json")


def wants_error_page(request: Request, params: dict[str, Any]) -> bool:
    """A page for GET requests and for forms, which send f=html; a POST without
    ``f`` comes from a program and gets JSON."""
    return request.method != "POST" or answers_with_page(request.method, params)
