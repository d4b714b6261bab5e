"""Esri JSON geometries and shapely geometries, both ways.

Polygons are handed to tools with shapely's usual orientation (counter-clockwise
shells, clockwise holes) and written back the Esri way (clockwise outer rings,
counter-clockwise holes). Fixing one orientation on the way in makes a decoded value
equal to itself after a round trip through JSON.

M values have no place in shapely 2 geometries and are dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import (
    LineString,
    MultiLineString,
    MultiPoint,
    MultiPolygon,
    Point,
    Polygon,
    box,
)
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient

from gpserver.gptypes.errors import shown

POINT = "esriGeometryPoint"
MULTIPOINT = "esriGeometryMultipoint"
POLYLINE = "esriGeometryPolyline"
POLYGON = "esriGeometryPolygon"
ENVELOPE = "esriGeometryEnvelope"
GEOMETRY_TYPES: tuple[str, ...] = (POINT, MULTIPOINT, POLYLINE, POLYGON, ENVELOPE)

# The key that sets each kind of Esri geometry apart from the others.
_MARKERS: tuple[tuple[str, str], ...] = (
    ("x", POINT),
    ("points", MULTIPOINT),
    ("paths", POLYLINE),
    ("rings", POLYGON),
    ("xmin", ENVELOPE),
)
_SHAPELY_TYPES: dict[str, str] = {
    "Point": POINT,
    "MultiPoint": MULTIPOINT,
    "LineString": POLYLINE,
    "LinearRing": POLYLINE,
    "MultiLineString": POLYLINE,
    "Polygon": POLYGON,
    "MultiPolygon": POLYGON,
}

Coordinates = npt.NDArray[np.float64]


def esri_type_of_json(geometry: Mapping[str, Any]) -> str | None:
    """The ``esriGeometry*`` name an Esri JSON geometry has, judged by its keys."""
    return next((name for key, name in _MARKERS if key in geometry), None)


def esri_type_of(geometry: BaseGeometry) -> str:
    """The ``esriGeometry*`` name a shapely geometry is written as."""
    try:
        return _SHAPELY_TYPES[geometry.geom_type]
    except KeyError:
        raise ValueError(f"a {geometry.geom_type} has no Esri JSON form") from None


def stored_type(geometry_type: str) -> str:
    """The geometry type values of ``geometry_type`` have once decoded.

    Envelopes become box polygons, so a set declared as envelopes holds polygons.
    """
    return POLYGON if geometry_type == ENVELOPE else geometry_type


def from_esri(
    geometry: object, *, has_z: bool = False, has_m: bool = False
) -> BaseGeometry | None:
    """Decode an Esri JSON geometry; ``None`` for a null or empty one.

    ``has_z`` and ``has_m`` are the flags of the enclosing feature set; the
    geometry's own flags win. They matter only to tell ``[x, y, m]`` from
    ``[x, y, z]``.
    """
    if geometry is None:
        return None
    if not isinstance(geometry, Mapping):
        raise ValueError('a geometry must be a JSON object like {"x": 1, "y": 2}')

    kind = esri_type_of_json(geometry)
    if kind is None:
        if set(geometry) <= {"spatialReference", "hasZ", "hasM"}:
            return None
        raise ValueError(
            "a geometry needs one of the keys x, points, paths, rings or xmin; "
            f"got {sorted(geometry)}"
        )

    z = bool(geometry.get("hasZ", has_z))
    m = bool(geometry.get("hasM", has_m))
    keep_third = z or not m
    if kind == POINT:
        return _point(geometry)
    if kind == MULTIPOINT:
        return _multipoint(geometry["points"], keep_third)
    if kind == POLYLINE:
        return _polyline(geometry["paths"], keep_third)
    if kind == POLYGON:
        return _polygon(geometry["rings"], keep_third)
    return _envelope(geometry)


def to_esri(geometry: BaseGeometry | None) -> dict[str, Any] | None:
    """Encode a shapely geometry as Esri JSON, without a spatial reference."""
    if geometry is None or geometry.is_empty:
        return None

    if isinstance(geometry, Point):
        point: dict[str, Any] = {"x": geometry.x, "y": geometry.y}
        if geometry.has_z:
            point["z"] = geometry.z
        return point

    kind = esri_type_of(geometry)
    if kind == MULTIPOINT:
        body: dict[str, Any] = {
            "points": _listed(
                shapely.get_coordinates(geometry, include_z=geometry.has_z)
            )
        }
    elif kind == POLYLINE:
        body = {"paths": [_listed(line.coords) for line in _parts(geometry)]}
    else:
        body = {"rings": _rings_of(geometry)}
    if geometry.has_z:
        body["hasZ"] = True
    return body


def _point(geometry: Mapping[str, Any]) -> BaseGeometry | None:
    # Esri writes an empty point as {"x": null} or {"x": "NaN"}.
    if geometry["x"] is None or geometry["x"] == "NaN":
        return None
    x = _number(geometry, "x")
    y = _number(geometry, "y")
    if geometry.get("z") is None:
        return Point(x, y)
    return Point(x, y, _number(geometry, "z"))


def _multipoint(points: object, keep_third: bool) -> BaseGeometry | None:
    array = _coordinates(points, "points", keep_third)
    return MultiPoint(array) if len(array) else None


def _polyline(paths: object, keep_third: bool) -> BaseGeometry | None:
    lines: list[LineString] = []
    for index, path in enumerate(_sequence(paths, "paths")):
        array = _coordinates(path, f"path {index}", keep_third)
        if len(array) == 0:
            continue
        if len(array) < 2:
            raise ValueError(f"path {index} needs at least 2 points")
        lines.append(LineString(array))

    if not lines:
        return None
    return lines[0] if len(lines) == 1 else MultiLineString(lines)


def _polygon(rings: object, keep_third: bool) -> BaseGeometry | None:
    closed: list[Coordinates] = []
    for index, ring in enumerate(_sequence(rings, "rings")):
        array = _coordinates(ring, f"ring {index}", keep_third)
        if len(array) == 0:
            continue
        if not np.array_equal(array[0], array[-1]):
            array = np.vstack([array, array[:1]])
        if len(array) < 4:
            raise ValueError(f"ring {index} needs at least 3 distinct points")
        closed.append(array)

    if not closed:
        return None
    polygons = [orient(p, sign=1.0) for p in _group_rings(closed)]
    return polygons[0] if len(polygons) == 1 else MultiPolygon(polygons)


def _group_rings(rings: list[Coordinates]) -> list[Polygon]:
    """Sort rings into shells and holes by how deeply each one is nested.

    Orientation would say the same for well-formed Esri JSON, but clients that build
    rings by hand often get it wrong; nesting cannot be wrong. A ring inside an even
    number of others is a shell, inside an odd number a hole of the smallest ring
    around it.
    """
    areas = [Polygon(ring) for ring in rings]
    tree = shapely.STRtree(areas)
    order = sorted(range(len(rings)), key=lambda i: -areas[i].area)
    rank = {ring: position for position, ring in enumerate(order)}

    depth: dict[int, int] = {}
    holes: dict[int, list[int]] = {}
    for ring in order:
        around = [
            int(other)
            for other in tree.query(areas[ring], predicate="covered_by")
            if rank[int(other)] < rank[ring]
        ]
        if not around:
            depth[ring] = 0
            continue
        parent = max(around, key=rank.__getitem__)
        depth[ring] = depth[parent] + 1
        if depth[ring] % 2:
            holes.setdefault(parent, []).append(ring)

    return [
        Polygon(rings[ring], [rings[hole] for hole in holes.get(ring, [])])
        for ring in sorted(depth)
        if depth[ring] % 2 == 0
    ]


def _envelope(geometry: Mapping[str, Any]) -> BaseGeometry | None:
    if geometry["xmin"] is None or geometry["xmin"] == "NaN":
        return None
    xmin, ymin, xmax, ymax = (
        _number(geometry, key) for key in ("xmin", "ymin", "xmax", "ymax")
    )
    if xmin > xmax or ymin > ymax:
        raise ValueError("an envelope needs xmin <= xmax and ymin <= ymax")
    return box(xmin, ymin, xmax, ymax)


def _rings_of(geometry: BaseGeometry) -> list[list[list[float]]]:
    rings: list[list[list[float]]] = []
    for polygon in _parts(geometry):
        esri_way = orient(polygon, sign=-1.0)
        rings.append(_listed(esri_way.exterior.coords))
        rings.extend(_listed(hole.coords) for hole in esri_way.interiors)
    return rings


def _parts(geometry: BaseGeometry) -> list[Any]:
    parts = getattr(geometry, "geoms", [geometry])
    return [part for part in parts if not part.is_empty]


def _listed(coords: Any) -> list[list[float]]:
    listed: list[list[float]] = np.asarray(coords, dtype=float).tolist()
    return listed


def _number(geometry: Mapping[str, Any], key: str) -> float:
    value = geometry.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key} must be a number; got {shown(value)}")
    if not np.isfinite(value):
        raise ValueError(f"{key} must be a finite number; got {value!r}")
    return float(value)


def _sequence(value: object, name: str) -> Sequence[Any]:
    if not isinstance(value, list | tuple):
        raise ValueError(f"{name} must be a list; got {type(value).__name__}")
    return value


def _coordinates(value: object, name: str, keep_third: bool) -> Coordinates:
    """An (n, 2) or (n, 3) array of finite x and y, from ``[[x, y, ...], ...]``."""
    pairs = _sequence(value, name)
    if not pairs:
        return np.empty((0, 2))
    try:
        array = np.asarray(pairs, dtype=float)
    except (TypeError, ValueError):
        array = np.empty(0)
    if array.ndim != 2 or array.shape[1] < 2:
        raise ValueError(f"{name} must be a list of [x, y] coordinate lists")
    if not np.isfinite(array[:, :2]).all():
        raise ValueError(f"{name} has a coordinate that is not a finite number")
    return array[:, :3] if keep_third and array.shape[1] > 2 else array[:, :2]
