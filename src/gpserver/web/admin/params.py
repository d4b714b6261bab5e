"""Reading Administrator API parameters, refusing bad ones by name.

Each function takes the request's parameters and the name of one, and raises
BadRequest with a message that names the parameter and what was wrong with it.
"""

from __future__ import annotations

import json
from typing import Any

from gpserver.errors import BadRequest

MAX_PAGE_SIZE = 1000


def text(params: dict[str, Any], name: str, default: str = "") -> str:
    value = params.get(name)
    return default if value is None else str(value)


# The largest whole number a parameter may carry: it fits the store's integers.
LARGEST = 2**31 - 1


def required(params: dict[str, Any], name: str) -> str:
    value = text(params, name).strip()
    if not value:
        raise BadRequest(f"{name} is required")
    return value


def whole_number(params: dict[str, Any], name: str, default: int, least: int) -> int:
    raw = text(params, name).strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number, not {raw!r}") from None
    if value < least:
        raise BadRequest(f"{name} must be at least {least}, not {value}")
    if value > LARGEST:
        raise BadRequest(f"{name} must be at most {LARGEST}, not {value}")
    return value


def page(params: dict[str, Any]) -> tuple[int, int]:
    """``startIndex`` and ``pageSize``; a page larger than the most is cut to it."""
    start = whole_number(params, "startIndex", 0, 0)
    size = whole_number(params, "pageSize", 10, 1)
    return start, min(size, MAX_PAGE_SIZE)


def max_count(params: dict[str, Any]) -> int:
    return min(whole_number(params, "maxCount", 10, 1), MAX_PAGE_SIZE)


def json_object(params: dict[str, Any], name: str) -> dict[str, Any]:
    """A JSON object, or an empty one when the parameter is absent."""
    raw = text(params, name).strip()
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise BadRequest(f"{name} must be a JSON object")
    return value


def merged(
    params: dict[str, Any], name: str, fields: tuple[str, ...]
) -> dict[str, str]:
    """The ``fields`` given in the JSON object ``name`` or as parameters of their own.

    ArcGIS clients send either form; a parameter of its own wins over the JSON.
    Other keys in the JSON are ignored, as a client may send back what it read.
    """
    found: dict[str, str] = {}
    for field, value in json_object(params, name).items():
        if field in fields:
            found[field] = _json_text(value, f"{name}.{field}")
    for field in fields:
        if field in params:
            found[field] = text(params, field)
    return found


def _json_text(value: Any, name: str) -> str:
    # A list of names comes back as JSON from what we answer (adminPrivileges);
    # it means the same as the comma-separated form.
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ",".join(value)
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be a string")
    return value
