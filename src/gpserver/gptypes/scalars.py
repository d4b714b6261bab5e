"""Readers for the GP data types that hold one simple value.

Each reader takes the parameter's declaration and a value that was given (the codec
has already dealt with "not given") and returns the tool's value, or ``None`` where
the wire form itself means "not given" (``{"url": ""}``, JSON ``null``). A value it
cannot read raises ValueError whose text is the reason a client is shown.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from gpserver.catalog.tool import ParamSpec
from gpserver.gptypes.errors import shown
from gpserver.gptypes.values import LINEAR_UNITS, DataFile, LinearUnit

_INTEGER = re.compile(r"[+-]?[0-9]+")
# ArcGIS Server 11.2 widened GPLong to the integers a double holds exactly; a
# larger value would reach JavaScript clients changed, so it is refused.
LONG_LIMIT = 4503599627370495
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_LINEAR_UNIT_TEXT = re.compile(rf"({_NUMBER.pattern})\s*([A-Za-z]*)")
_LINEAR_UNIT_EXAMPLE = '{"distance": 5, "units": "esriKilometers"}'
_DATA_FILE_EXAMPLE = '{"url": "https://example.com/data.csv"}'
# "Kilometers", "esriKilometers" and "kilometers" all name esriKilometers.
_UNIT_NAMES: dict[str, str] = {
    **{unit.lower(): unit for unit in LINEAR_UNITS},
    **{unit.removeprefix("esri").lower(): unit for unit in LINEAR_UNITS},
    "unknown": "esriUnknownUnits",
}


def parse_string(spec: ParamSpec, raw: object) -> str:
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise ValueError(f"expected text; got {shown(raw)}")
    text = raw if isinstance(raw, str) else json.dumps(raw)
    if spec.choices and text not in spec.choices:
        listed = ", ".join(repr(choice) for choice in spec.choices)
        raise ValueError(f"expected one of {listed}; got {shown(text)}")
    return text


def parse_long(spec: ParamSpec, raw: object) -> int:
    if isinstance(raw, str) and _INTEGER.fullmatch(raw.strip()):
        value = int(raw)
    elif isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    else:
        # Integral decimals ("5.0", 1e3) are whole numbers too; 2.5 is not.
        number = _number(raw, "a whole number like 7")
        if not number.is_integer():
            raise ValueError(f"expected a whole number like 7; got {shown(raw)}")
        value = int(number)
    if abs(value) > LONG_LIMIT:
        raise ValueError(
            f"expected a whole number between -{LONG_LIMIT} and {LONG_LIMIT}; "
            f"got {shown(raw)}"
        )
    _check_range(spec, value)
    return value


def parse_double(spec: ParamSpec, raw: object) -> float:
    value = _number(raw, "a number like 2.5")
    _check_range(spec, value)
    return value


def parse_boolean(spec: ParamSpec, raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
        return raw.strip().lower() == "true"
    raise ValueError(f"expected true or false; got {shown(raw)}")


def parse_linear_unit(spec: ParamSpec, raw: object) -> LinearUnit | None:
    if isinstance(raw, str) and not raw.strip().startswith("{"):
        return _linear_unit_from_text(raw.strip())
    body = _json_object(raw, _LINEAR_UNIT_EXAMPLE)
    if body is None:
        return None

    distance = body.get("distance")
    if distance is None:
        raise ValueError(f"expected a JSON object like {_LINEAR_UNIT_EXAMPLE}")
    units = body.get("units")
    return LinearUnit(
        distance=_number(distance, "distance to be a number"),
        units=_unit_name(units) if units not in (None, "") else "esriMeters",
    )


def parse_data_file(spec: ParamSpec, raw: object) -> DataFile | None:
    if isinstance(raw, str) and "://" in raw and not raw.strip().startswith("{"):
        raw = {"url": raw.strip()}
    body = _json_object(raw, _DATA_FILE_EXAMPLE)
    if body is None:
        return None

    url = body.get("url")
    if url is None or url == "":
        if body.get("itemID") or body.get("portalItemID"):
            raise ValueError(
                "uploaded items (itemID) are not supported; "
                f"give the file as {_DATA_FILE_EXAMPLE}"
            )
        return None
    if not isinstance(url, str):
        raise ValueError(f"expected a JSON object like {_DATA_FILE_EXAMPLE}")
    # Tools fetch what they are given; a file: URL would let a client read the
    # server's own disk through them.
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        raise ValueError(f"url must be an http or https URL; got {shown(url)}")
    return DataFile(url=url)


def _number(raw: object, expected: str) -> float:
    """A finite float; text or integers too large for a double are refused."""
    number: float | None = None
    if isinstance(raw, int) and not isinstance(raw, bool):
        try:
            number = float(raw)
        except OverflowError:
            number = None
    elif isinstance(raw, float):
        number = raw
    elif isinstance(raw, str) and _NUMBER.fullmatch(raw.strip()):
        number = float(raw)
    if number is None or not math.isfinite(number):
        raise ValueError(f"expected {expected}; got {shown(raw)}")
    return number


def _check_range(spec: ParamSpec, value: float) -> None:
    if spec.minimum is not None and value < spec.minimum:
        raise ValueError(f"must be at least {_plain(spec.minimum)}; got {value}")
    if spec.maximum is not None and value > spec.maximum:
        raise ValueError(f"must be at most {_plain(spec.maximum)}; got {value}")


def _plain(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def _json_object(raw: object, example: str) -> Mapping[str, Any] | None:
    """A JSON object, from text or already decoded; ``None`` for JSON null."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            raise ValueError(f"expected a JSON object like {example}") from None
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise ValueError(f"expected a JSON object like {example}")
    return raw


def _linear_unit_from_text(text: str) -> LinearUnit:
    match = _LINEAR_UNIT_TEXT.fullmatch(text)
    if match is None:
        raise ValueError(
            f"expected a JSON object like {_LINEAR_UNIT_EXAMPLE} "
            f'or text like "5 Kilometers"; got {shown(text)}'
        )
    distance, units = match.groups()
    return LinearUnit(
        _number(distance, "distance to be a number"),
        _unit_name(units) if units else "esriMeters",
    )


def _unit_name(units: object) -> str:
    name = _UNIT_NAMES.get(units.lower()) if isinstance(units, str) else None
    if name is None:
        raise ValueError(
            f"units must be one of the esri linear units ({', '.join(LINEAR_UNITS)}); "
            f"got {shown(units)}"
        )
    return name
