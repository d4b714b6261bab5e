"""Absolute URLs, built from the scheme and host the client used."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

CONTEXT = "/arcgis"


def site_root(request: Request) -> str:
    """``http://host:port/arcgis`` as the client reached it."""
    return f"{request.url.scheme}://{request.url.netloc}{CONTEXT}"


def absolute_file_urls(result: dict[str, Any], root: str) -> dict[str, Any]:
    """A result whose file URL the worker stored site-relative, made absolute."""
    value = result.get("value")
    if (
        result.get("dataType") == "GPDataFile"
        and isinstance(value, dict)
        and str(value.get("url", "")).startswith("rest/directories/")
    ):
        return {**result, "value": {**value, "url": f"{root}/{value['url']}"}}
    return result
