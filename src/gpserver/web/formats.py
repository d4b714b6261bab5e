"""Deciding a response's format once, and rendering any resource in it.

Every handler returns plain data and calls :func:`render`; nothing else looks at
``f`` or ``callback``. JSON and its page come from the same data, so they agree:
a page is the data laid out by the resource's view (:mod:`gpserver.web.html`).
"""

from __future__ import annotations

import json
import re
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import Response

from gpserver.errors import BadRequest

FORMATS = ("html", "json", "pjson")
_CALLBACK = re.compile(r"^[A-Za-z_$][\w$.]*(\[[\w'\"]+\])*$")

templates = Environment(
    loader=PackageLoader("gpserver.web", "templates"),
    autoescape=select_autoescape(["html"]),
)


def wanted_format(params: dict[str, Any]) -> str:
    value = str(params.get("f") or "html").lower()
    if value not in FORMATS:
        # Unknown formats fall back to JSON rather than failing: some clients send
        # f=geojson or f=kmz to operations that have only one sensible answer.
        return "json"
    return value


def dumps(data: Any, *, pretty: bool = False) -> str:
    if pretty:
        return json.dumps(data, indent=2, ensure_ascii=False)
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def render(
    request: Request,
    params: dict[str, Any],
    data: Any,
    *,
    title: str = "",
    fmt: str | None = None,
    view: str = "",
) -> Response:
    """``data`` in the wanted format; ``view`` names the page that shows it."""
    fmt = fmt or wanted_format(params)
    if fmt == "html":
        # Imported here, not above: pages reach into the site for what they show
        # beside the data, and the JSON path never needs them.
        from gpserver.web.html.pages import page

        return page(request, data, title=title or request.url.path, view=view)

    text = dumps(data, pretty=fmt == "pjson")
    callback = params.get("callback")
    if callback:
        if not _CALLBACK.match(str(callback)):
            raise BadRequest(
                "Invalid value for parameter 'callback': expected a JavaScript "
                "function name"
            )
        return Response(f"{callback}({text});", media_type="application/javascript")
    media = "text/plain" if fmt == "pjson" else "application/json"
    return Response(text, media_type=f"{media}; charset=utf-8")
