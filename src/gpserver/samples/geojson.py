"""GeoJSON in and out of :class:`FeatureSet` for the sample toolboxes.

This is only what the samples need: reading the bundled Natural Earth files and writing
a tool's result as a file. It is not the server's wire codec, which speaks Esri JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

from gpserver.gptypes.values import Feature, FeatureSet, Field

# Esri has one geometry type for a shape and its multi-part form, except for points.
ESRI_GEOMETRY_TYPES: dict[str, str] = {
    "Point": "esriGeometryPoint",
    "MultiPoint": "esriGeometryMultipoint",
    "LineString": "esriGeometryPolyline",
    "MultiLineString": "esriGeometryPolyline",
    "Polygon": "esriGeometryPolygon",
    "MultiPolygon": "esriGeometryPolygon",
}

_INT32 = range(-(2**31), 2**31)


def esri_geometry_type(geometries: Iterable[BaseGeometry | None]) -> str:
    """The one Esri geometry type shared by all the geometries."""
    kinds = {ESRI_GEOMETRY_TYPES[g.geom_type] for g in geometries if g is not None}
    if len(kinds) != 1:
        raise ValueError(f"expected one geometry type, found {sorted(kinds) or 'none'}")
    return kinds.pop()


def read_features(collection: Mapping[str, Any]) -> list[Feature]:
    """The features of a parsed GeoJSON FeatureCollection, properties as attributes."""
    return [
        Feature(
            geometry=shape(item["geometry"]) if item.get("geometry") else None,
            attributes=dict(item.get("properties") or {}),
        )
        for item in collection["features"]
    ]


def fields_of(rows: list[dict[str, Any]]) -> list[Field]:
    """Fields for the attribute columns, typed from the values that are not null.

    A column of whole numbers that fit in 32 bits is an integer field; any other
    numbers make it a double; anything else, or only nulls, makes it a string.
    """
    names = list(dict.fromkeys(name for row in rows for name in row))
    return [
        _field(name, [row[name] for row in rows if row.get(name) is not None])
        for name in names
    ]


def _field(name: str, values: list[Any]) -> Field:
    if values and all(type(v) is int and v in _INT32 for v in values):
        return Field(name, "esriFieldTypeInteger")
    if values and all(type(v) in (int, float) for v in values):
        return Field(name, "esriFieldTypeDouble")
    length = max((len(str(v)) for v in values), default=1)
    return Field(name, "esriFieldTypeString", length=length)


def write_feature_collection(features: FeatureSet, path: Path) -> None:
    """Write features (already in EPSG:4326, as GeoJSON requires) to ``path``."""
    collection = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": feature.attributes,
                "geometry": mapping(feature.geometry) if feature.geometry else None,
            }
            for feature in features.features
        ],
    }
    with path.open("w", encoding="utf-8") as stream:
        json.dump(collection, stream, ensure_ascii=False)
