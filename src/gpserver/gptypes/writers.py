"""Writing tool values as the JSON of each GP data type."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from numbers import Integral, Real
from typing import Any, TypeVar

import numpy as np

from gpserver.gptypes.dates import to_epoch_ms
from gpserver.gptypes.features import feature_set_to_json, record_set_to_json
from gpserver.gptypes.values import (
    LINEAR_UNITS,
    DataFile,
    FeatureSet,
    LinearUnit,
    RecordSet,
)

MULTIVALUE_PREFIX = "GPMultiValue:"

_T = TypeVar("_T")


@dataclass(frozen=True)
class Encoding:
    """How to write: outputs are limited and get derived fields; stored inputs not.

    ``file_url`` turns the path of a file a tool wrote into the URL it is served at.
    """

    max_records: int | None
    file_url: Callable[[str], str] | None
    derive_fields: bool


_Writer = Callable[[Any, Encoding], object]


def write_value(data_type: str, value: object, encoding: Encoding) -> object:
    """The JSON for ``value``; TypeError or ValueError when it is not of the type."""
    if value is None:
        return None
    if not data_type.startswith(MULTIVALUE_PREFIX):
        return _writer(data_type)(value, encoding)

    if not isinstance(value, list | tuple):
        raise TypeError(f"expected a list, got {type(value).__name__}")
    item_type = data_type.removeprefix(MULTIVALUE_PREFIX)
    items: list[object] = []
    for index, item in enumerate(value):
        try:
            items.append(write_value(item_type, item, encoding))
        except (TypeError, ValueError) as exc:
            raise TypeError(f"element {index}: {exc}") from None
    return items


def _as(value: object, kind: type[_T], name: str) -> _T:
    if not isinstance(value, kind):
        raise TypeError(f"expected {name}, got {type(value).__name__}")
    return value


def _write_string(value: object, encoding: Encoding) -> object:
    return _as(value, str, "a str")


def _write_long(value: object, encoding: Encoding) -> object:
    if isinstance(value, bool | np.bool_) or not isinstance(value, Integral):
        raise TypeError(f"expected an int, got {type(value).__name__}")
    return int(value)


def _write_double(value: object, encoding: Encoding) -> object:
    if isinstance(value, bool | np.bool_) or not isinstance(value, Real):
        raise TypeError(f"expected a float, got {type(value).__name__}")
    number = float(value)
    # JSON has no NaN or infinity; null is the nearest thing clients read.
    return number if np.isfinite(number) else None


def _write_boolean(value: object, encoding: Encoding) -> object:
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"expected a bool, got {type(value).__name__}")
    return bool(value)


def _write_date(value: object, encoding: Encoding) -> object:
    return to_epoch_ms(_as(value, date, "a datetime"))


def _write_linear_unit(value: object, encoding: Encoding) -> object:
    unit = _as(value, LinearUnit, "a LinearUnit")
    if unit.units not in LINEAR_UNITS:
        raise ValueError(f"{unit.units!r} is not one of the esri linear units")
    return {"distance": float(unit.distance), "units": unit.units}


def _write_data_file(value: object, encoding: Encoding) -> object:
    file = _as(value, DataFile, "a DataFile")
    if file.url:
        return {"url": file.url}
    if file.path and encoding.file_url is not None:
        return {"url": encoding.file_url(file.path)}
    raise ValueError("a DataFile needs a url (or, for an output, a path)")


def _write_feature_set(value: object, encoding: Encoding) -> object:
    return feature_set_to_json(
        _as(value, FeatureSet, "a FeatureSet"),
        max_records=encoding.max_records,
        derive=encoding.derive_fields,
    )


def _write_record_set(value: object, encoding: Encoding) -> object:
    return record_set_to_json(
        _as(value, RecordSet, "a RecordSet"),
        max_records=encoding.max_records,
        derive=encoding.derive_fields,
    )


_WRITERS: dict[str, _Writer] = {
    "GPString": _write_string,
    "GPLong": _write_long,
    "GPDouble": _write_double,
    "GPBoolean": _write_boolean,
    "GPDate": _write_date,
    "GPLinearUnit": _write_linear_unit,
    "GPDataFile": _write_data_file,
    "GPFeatureRecordSetLayer": _write_feature_set,
    "GPRecordSet": _write_record_set,
}


def _writer(data_type: str) -> _Writer:
    try:
        return _WRITERS[data_type]
    except KeyError:
        raise TypeError(f"the codec has no writer for data type {data_type}") from None
