"""Attribute fields of feature sets and record sets, and the values they hold."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from gpserver.gptypes.dates import from_epoch_ms, to_epoch_ms
from gpserver.gptypes.errors import shown
from gpserver.gptypes.values import Field

OID = "esriFieldTypeOID"
SMALL_INTEGER = "esriFieldTypeSmallInteger"
INTEGER = "esriFieldTypeInteger"
BIG_INTEGER = "esriFieldTypeBigInteger"
DOUBLE = "esriFieldTypeDouble"
STRING = "esriFieldTypeString"
DATE = "esriFieldTypeDate"
_WHOLE_NUMBER_TYPES = {OID, SMALL_INTEGER, INTEGER, BIG_INTEGER}
_INT32 = range(-(2**31), 2**31)
# Derived string fields get at least the length ArcGIS gives new text fields.
_STRING_LENGTH = 255


def field_from_json(raw: object, index: int) -> Field:
    if not isinstance(raw, Mapping):
        raise ValueError(
            f"fields[{index}] must be a JSON object like "
            '{"name": "NAME", "type": "esriFieldTypeString"}'
        )
    name = raw.get("name")
    kind = raw.get("type")
    if not isinstance(name, str) or not name:
        raise ValueError(f"fields[{index}] needs a name")
    if not isinstance(kind, str) or not kind.startswith("esriFieldType"):
        raise ValueError(
            f"field {name!r} needs a type like esriFieldTypeString; got {shown(kind)}"
        )
    alias = raw.get("alias")
    length = raw.get("length")
    return Field(
        name=name,
        type=kind,
        # An alias that repeats the name says nothing; None keeps round trips equal.
        alias=alias if isinstance(alias, str) and alias != name else None,
        length=length
        if isinstance(length, int) and not isinstance(length, bool)
        else None,
    )


def field_to_json(field: Field) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": field.name,
        "type": field.type,
        "alias": field.alias or field.name,
    }
    if field.length is not None:
        body["length"] = field.length
    return body


def decode_row(raw: Mapping[str, Any], date_fields: Iterable[str]) -> dict[str, Any]:
    """Attributes as a tool sees them: values of date fields become datetimes."""
    row = dict(raw)
    for name in date_fields:
        value = row.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            row[name] = from_epoch_ms(value)
    return row


def encode_row(row: Mapping[str, Any], types: Mapping[str, str]) -> dict[str, Any]:
    return {name: encode_value(value, types.get(name)) for name, value in row.items()}


def encode_value(value: object, field_type: str | None = None) -> object:
    """The JSON form of one attribute value; TypeError for what JSON cannot hold."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return int(value) if field_type in _WHOLE_NUMBER_TYPES else value
    if isinstance(value, date):
        return to_epoch_ms(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        # JSON has no NaN or infinity; Esri clients read a missing value as null.
        return number if math.isfinite(number) else None
    raise TypeError(f"an attribute value {shown(value)} has no JSON form")


def derive_fields(rows: Sequence[Mapping[str, Any]]) -> list[Field]:
    """Fields for attributes a tool returned without declaring a schema."""
    columns: dict[str, list[Any]] = {}
    for row in rows:
        for name, value in row.items():
            columns.setdefault(name, []).append(value)
    return [_field_for(name, values) for name, values in columns.items()]


def with_object_ids(
    fields: Sequence[Field], rows: Sequence[Mapping[str, Any]]
) -> tuple[list[Field], list[dict[str, Any]]]:
    """Add an ``OBJECTID`` field numbered from 1 unless an OID field is there.

    Clients key features by their object id; without one, @arcgis/core and the
    Python client's spatially enabled DataFrame cannot tell features apart.
    """
    if any(field.type == OID for field in fields):
        return list(fields), [dict(row) for row in rows]

    taken = {field.name.upper() for field in fields}
    taken.update(name.upper() for row in rows for name in row)
    name = "OBJECTID"
    suffix = 0
    while name in taken:
        suffix += 1
        name = f"OBJECTID_{suffix}"

    numbered = [{name: number, **row} for number, row in enumerate(rows, start=1)]
    return [Field(name, OID), *fields], numbered


def _field_for(name: str, values: list[Any]) -> Field:
    kinds = {_kind(value) for value in values if value is not None}
    if name.upper() == "OBJECTID" and kinds == {"int"}:
        return Field(name, OID)
    if not kinds or "other" in kinds or "str" in kinds:
        longest = max((len(v) for v in values if isinstance(v, str)), default=0)
        return Field(name, STRING, length=max(_STRING_LENGTH, longest))
    if kinds == {"date"}:
        return Field(name, DATE, length=8)
    if kinds == {"bool"}:
        return Field(name, SMALL_INTEGER)
    if kinds <= {"bool", "int"}:
        fits = all(int(v) in _INT32 for v in values if v is not None)
        return Field(name, INTEGER if fits else BIG_INTEGER)
    if kinds <= {"bool", "int", "float"}:
        return Field(name, DOUBLE)
    return Field(name, STRING, length=_STRING_LENGTH)


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "str"
    if isinstance(value, date):
        return "date"
    if isinstance(value, numbers.Integral):
        return "int"
    if isinstance(value, numbers.Real):
        return "float"
    return "other"
