"""Esri spatial references and pyproj CRS objects, and projecting between them."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from shapely.geometry.base import BaseGeometry

from gpserver.gptypes.errors import shown

# Web Mercator under its codes from before EPSG had one (Esri's 102100 and 102113,
# the unofficial 900913). ArcGIS clients still send 102100 for basemap-aligned maps.
_WEB_MERCATOR_ALIASES = {102100: 3857, 102113: 3857, 900913: 3857}
_WEB_MERCATOR_AUTHORITIES = {("EPSG", "3857"), ("ESRI", "102100"), ("ESRI", "102113")}
_WKID = re.compile(r"[0-9]+")
_EXPECTED = 'expected a wkid like 4326 or a JSON object like {"wkid": 4326}'


@lru_cache(maxsize=256)
def crs_from_wkid(wkid: int) -> CRS:
    """The CRS of an Esri wkid: an EPSG code, or else one of Esri's own."""
    code = _WEB_MERCATOR_ALIASES.get(wkid, wkid)
    for authority in ("EPSG", "ESRI"):
        try:
            return CRS.from_user_input(f"{authority}:{code}")
        except CRSError:
            continue
    raise ValueError(f"unknown spatial reference wkid {wkid}")


def crs_from_esri(value: object) -> CRS | None:
    """Read ``{"wkid": ...}``, ``{"latestWkid": ...}``, ``{"wkt": ...}`` or a wkid.

    A number or a numeric string is a wkid; other text must be the JSON of an
    object. ``None``, ``""`` and an object with none of the keys mean "no spatial
    reference".
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"{_EXPECTED}; got {value!r}")
    if isinstance(value, int | float):
        return _wkid(value)
    if isinstance(value, str):
        return _from_text(value)
    if isinstance(value, Mapping):
        return _from_object(value)
    raise ValueError(f"{_EXPECTED}; got {type(value).__name__}")


def crs_to_esri(crs: CRS) -> dict[str, Any]:
    """Esri JSON for a CRS: ``{"wkid", "latestWkid"}`` where a code is known."""
    return dict(_esri_form(crs))


@lru_cache(maxsize=64)
def transformer(from_crs: CRS, to_crs: CRS) -> Transformer:
    """A cached x/y-ordered transformer; building one costs milliseconds.

    Sharing one between threads is safe with pyproj 3.1 and later.
    """
    return Transformer.from_crs(from_crs, to_crs, always_xy=True)


def project(geometry: BaseGeometry, from_crs: CRS, to_crs: CRS) -> BaseGeometry:
    (projected,) = project_many([geometry], from_crs, to_crs)
    assert projected is not None
    return projected


def project_many(
    geometries: Sequence[BaseGeometry | None], from_crs: CRS, to_crs: CRS
) -> list[BaseGeometry | None]:
    """Project many geometries with one transformer call per dimension."""
    move = _mover(transformer(from_crs, to_crs))
    array = np.empty(len(geometries), dtype=object)
    array[:] = list(geometries)
    has_z = np.array([g is not None and g.has_z for g in geometries], dtype=bool)

    # One call cannot both keep and ignore z (shapely 2.0 has no per-geometry mode).
    result = array.copy()
    for with_z in (False, True):
        chosen = has_z == with_z
        if chosen.any():
            result[chosen] = shapely.transform(array[chosen], move, include_z=with_z)
    return list(result)


def _mover(
    operation: Transformer,
) -> Callable[[np.ndarray[Any, Any]], np.ndarray[Any, Any]]:
    def move(coords: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        moved = operation.transform(*coords.T)
        return np.column_stack(moved)

    return move


def _wkid(value: int | float) -> CRS:
    if not float(value).is_integer() or value <= 0:
        raise ValueError(f"a wkid is a positive whole number; got {value!r}")
    return crs_from_wkid(int(value))


def _whole(value: object, key: str) -> int | float:
    if isinstance(value, str) and _WKID.fullmatch(value.strip()):
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key} must be a number; got {shown(value)}")
    return value


def _from_text(text: str) -> CRS | None:
    text = text.strip()
    if not text:
        return None
    if _WKID.fullmatch(text):
        return _wkid(int(text))
    try:
        decoded = json.loads(text)
    except json.JSONDecodeError:
        raise ValueError(f"{_EXPECTED}; got {shown(text)}") from None
    if not isinstance(decoded, dict):
        raise ValueError(f"{_EXPECTED}; got {shown(text)}")
    return crs_from_esri(decoded)


def _from_object(value: Mapping[str, Any]) -> CRS | None:
    # latestWkid is the current code; wkid may be one Esri or EPSG has retired, so
    # it is the fallback rather than the first choice.
    problem: ValueError | None = None
    for key in ("latestWkid", "wkid"):
        if value.get(key) is None:
            continue
        try:
            return _wkid(_whole(value[key], key))
        except ValueError as exc:
            problem = problem or exc
    if problem is not None:
        raise problem

    for key in ("wkt", "wkt2"):
        wkt = value.get(key)
        if isinstance(wkt, str) and wkt.strip():
            try:
                crs = CRS.from_wkt(wkt)
            except CRSError:
                raise ValueError(f"{key} is not a coordinate system WKT") from None
            # WKT that is exactly a known wkid reads as that wkid, so that it equals
            # the CRS it becomes after being written back as {"wkid": ...}.
            wkid = dict(_esri_form(crs)).get("wkid")
            return crs_from_wkid(wkid) if wkid is not None else crs
    return None


@lru_cache(maxsize=64)
def _esri_form(crs: CRS) -> tuple[tuple[str, Any], ...]:
    authority = crs.to_authority(min_confidence=100)
    if authority in _WEB_MERCATOR_AUTHORITIES:
        return (("wkid", 102100), ("latestWkid", 3857))
    if authority is not None and authority[1].isdigit():
        code = int(authority[1])
        if authority[0] == "EPSG":
            return (("wkid", code), ("latestWkid", code))
        if authority[0] == "ESRI":
            return (("wkid", code),)

    try:
        esri_wkt = crs.to_wkt("WKT1_ESRI")
    except CRSError:
        esri_wkt = None
    if esri_wkt:
        return (("wkt", esri_wkt),)
    return (("wkt2", crs.to_wkt()),)
