"""Turning request values into tool values and tool values into result JSON.

Inputs arrive as form-field text or, when the worker re-reads what the server
stored, as already decoded JSON; :func:`parse_input` takes both.
:func:`canonical_input` gives the JSON the server stores and shows under
``inputs/<param>``, and reading it again gives back an equal value.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable
from typing import Any

from gpserver.catalog.tool import ParamSpec
from gpserver.gptypes.dates import parse_date
from gpserver.gptypes.errors import InvalidParameterError, shown
from gpserver.gptypes.features import (
    feature_set_from_json,
    record_set_from_json,
)
from gpserver.gptypes.geometry import stored_type
from gpserver.gptypes.scalars import (
    parse_boolean,
    parse_data_file,
    parse_double,
    parse_linear_unit,
    parse_long,
    parse_string,
)
from gpserver.gptypes.spatialref import crs_from_wkid
from gpserver.gptypes.writers import MULTIVALUE_PREFIX, Encoding, write_value

# Element types whose values never hold a comma of their own, so that "a,b,c"
# can only be a list.
_SPLITTABLE = {"GPString", "GPLong", "GPDouble", "GPBoolean", "GPDate"}
_ARRAY_EXAMPLE = '["a", "b"]'

_Parser = Callable[[ParamSpec, object], object]


def parse_input(spec: ParamSpec, raw: object) -> object:
    """The tool's value for one input; its default when none was given.

    ``None``, ``""`` and (except for text) ``null`` mean "not given", as do
    ``{"url": ""}`` for a file and ``[]`` for a list.
    """
    try:
        value = None if _not_given(spec, raw) else _parse(spec, raw)
    except ValueError as exc:
        raise InvalidParameterError(spec.name, str(exc)) from exc
    if value is not None:
        return value

    if spec.default is not None:
        # A tool may change the list it gets; the declaration's own must not change.
        return list(spec.default) if isinstance(spec.default, list) else spec.default
    if spec.required:
        raise InvalidParameterError(spec.name, "a value is required")
    return None


def encode_output(
    spec: ParamSpec,
    value: object,
    *,
    max_records: int,
    file_url: Callable[[str], str],
) -> object:
    """The result JSON of one output; TypeError names the output a tool got wrong.

    ``file_url`` turns the path of a file the tool wrote into the URL it is served
    at. The error's text is meant for the job's failure message.
    """
    encoding = Encoding(max_records, file_url, derive_fields=True)
    return _encode_named(spec, value, encoding, "output")


def canonical_input(spec: ParamSpec, value: object) -> object:
    """The JSON an input value is stored and shown as; it parses back to ``value``."""
    encoding = Encoding(None, None, derive_fields=False)
    return _encode_named(spec, value, encoding, "parameter")


def wrap(spec: ParamSpec, json_value: object) -> dict[str, Any]:
    return {"paramName": spec.name, "dataType": spec.data_type, "value": json_value}


def _encode_named(
    spec: ParamSpec, value: object, encoding: Encoding, role: str
) -> object:
    try:
        return write_value(spec.data_type, value, encoding)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{role} {spec.name!r} ({spec.data_type}): {exc}") from exc


def _not_given(spec: ParamSpec, raw: object) -> bool:
    if raw is None:
        return True
    if not isinstance(raw, str):
        return False
    text = raw.strip()
    return text == "" or (text == "null" and spec.data_type != "GPString")


def _parse(spec: ParamSpec, raw: object) -> object:
    if not spec.data_type.startswith(MULTIVALUE_PREFIX):
        return _parser(spec.data_type)(spec, raw)

    item_type = spec.data_type.removeprefix(MULTIVALUE_PREFIX)
    parse_item = _parser(item_type)
    items = _items(raw, item_type in _SPLITTABLE)
    if not items:
        return None

    values: list[object] = []
    for index, item in enumerate(items):
        try:
            value = None if _not_given(spec, item) else parse_item(spec, item)
        except ValueError as exc:
            raise ValueError(f"element {index}: {exc}") from None
        if value is None:
            raise ValueError(f"element {index} is empty")
        values.append(value)
    return values


def _items(raw: object, splittable: bool) -> list[Any]:
    """The elements of a list given as an array, a comma list or a Python list."""
    if isinstance(raw, list | tuple):
        return list(raw)
    if not isinstance(raw, str):
        return [raw]

    text = raw.strip()
    if text.startswith("["):
        return _list_literal(text)
    if splittable:
        return [part.strip() for part in text.split(",")]
    return [text]


def _list_literal(text: str) -> list[Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        # The Python client sends a default it did not change as the list's repr,
        # such as ['a', 'b']; literal_eval reads literals only and runs no code.
        try:
            value = ast.literal_eval(text)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            value = None
    if not isinstance(value, list):
        raise ValueError(
            f"expected a JSON array like {_ARRAY_EXAMPLE}; got {shown(text)}"
        )
    return value


def _parse_date(spec: ParamSpec, raw: object) -> object:
    return parse_date(raw)


def _parse_feature_set(spec: ParamSpec, raw: object) -> object:
    declared = spec.geometry_types or ()
    value = feature_set_from_json(
        raw,
        default_geometry_type=declared[0] if declared else None,
        default_crs=crs_from_wkid(spec.wkid) if spec.wkid else None,
    )

    allowed = {stored_type(kind) for kind in declared}
    has_geometry = any(f.geometry is not None for f in value.features)
    if allowed and has_geometry and value.geometry_type not in allowed:
        raise ValueError(
            f"expected {' or '.join(declared)} features; got {value.geometry_type}"
        )
    return value


def _parse_record_set(spec: ParamSpec, raw: object) -> object:
    return record_set_from_json(raw)


_PARSERS: dict[str, _Parser] = {
    "GPString": parse_string,
    "GPLong": parse_long,
    "GPDouble": parse_double,
    "GPBoolean": parse_boolean,
    "GPDate": _parse_date,
    "GPLinearUnit": parse_linear_unit,
    "GPDataFile": parse_data_file,
    "GPFeatureRecordSetLayer": _parse_feature_set,
    "GPRecordSet": _parse_record_set,
}


def _parser(data_type: str) -> _Parser:
    # An unknown type is the catalog's mistake, not the client's: TypeError.
    try:
        return _PARSERS[data_type]
    except KeyError:
        raise TypeError(f"the codec has no reader for data type {data_type}") from None
