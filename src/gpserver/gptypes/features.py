"""FeatureSet and RecordSet JSON and the values tools see.

Clients send much less than the documented schema: @arcgis/core sends only
``features``, esri-leaflet puts the spatial reference on each geometry. What is
missing is inferred from the features and then from the task's declaration.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from pyproj import CRS
from shapely.geometry.base import BaseGeometry

from gpserver.gptypes.errors import shown
from gpserver.gptypes.fields import (
    DATE,
    decode_row,
    derive_fields,
    encode_row,
    field_from_json,
    field_to_json,
    with_object_ids,
)
from gpserver.gptypes.geometry import (
    GEOMETRY_TYPES,
    POINT,
    esri_type_of,
    esri_type_of_json,
    from_esri,
    stored_type,
    to_esri,
)
from gpserver.gptypes.spatialref import crs_from_esri, crs_to_esri, project
from gpserver.gptypes.values import Feature, FeatureSet, Field, RecordSet

_FEATURE_SET_EXAMPLE = (
    '{"geometryType": "esriGeometryPoint", "features": '
    '[{"geometry": {"x": 1, "y": 2}, "attributes": {}}]}'
)
_RECORD_SET_EXAMPLE = '{"features": [{"attributes": {"NAME": "a"}}]}'


def feature_set_from_json(
    raw: object,
    *,
    default_geometry_type: str | None = None,
    default_crs: CRS | None = None,
) -> FeatureSet:
    """Decode a feature set; the defaults stand in for what the JSON leaves out.

    The geometry type comes from ``geometryType``, else the first geometry, else
    ``default_geometry_type``, else point. The spatial reference comes from
    ``spatialReference``, else the first geometry's own, else ``default_crs``.
    """
    body = _body(raw, _FEATURE_SET_EXAMPLE)
    raw_features = _list(body, "features")
    fields = [field_from_json(f, i) for i, f in enumerate(_list(body, "fields"))]
    first = _first_geometry(raw_features)

    declared = body.get("geometryType")
    if declared is not None and declared not in GEOMETRY_TYPES:
        raise ValueError(
            f"geometryType must be one of {', '.join(GEOMETRY_TYPES)}; "
            f"got {shown(declared)}"
        )
    inferred = esri_type_of_json(first) if first is not None else None
    geometry_type = declared or inferred or default_geometry_type or POINT

    sr_json = body.get("spatialReference")
    if sr_json is None and first is not None:
        sr_json = first.get("spatialReference")
    crs = _crs(sr_json, "spatialReference") if sr_json is not None else default_crs

    reader = _FeatureReader(
        geometry_type=stored_type(geometry_type),
        sr_json=sr_json,
        crs=crs,
        date_fields=[f.name for f in fields if f.type == DATE],
        has_z=body.get("hasZ") is True,
        has_m=body.get("hasM") is True,
    )
    return FeatureSet(
        features=[reader.read(item, index) for index, item in enumerate(raw_features)],
        geometry_type=stored_type(geometry_type),
        crs=crs,
        fields=fields,
        display_field_name=str(body.get("displayFieldName") or ""),
    )


def record_set_from_json(raw: object) -> RecordSet:
    body = _body(raw, _RECORD_SET_EXAMPLE)
    fields = [field_from_json(f, i) for i, f in enumerate(_list(body, "fields"))]
    date_fields = [f.name for f in fields if f.type == DATE]
    rows = [
        decode_row(_attributes(_feature_object(item, index), index), date_fields)
        for index, item in enumerate(_list(body, "features"))
    ]
    return RecordSet(rows=rows, fields=fields)


def feature_set_to_json(
    value: FeatureSet, *, max_records: int | None, derive: bool
) -> dict[str, Any]:
    """Encode a feature set; ``derive`` adds fields and object ids for outputs.

    Past ``max_records`` the features are left out, not cut short, and
    ``exceededTransferLimit`` says so: that is what ArcGIS Server answers.
    """
    geometries = [_checked_geometry(f, i) for i, f in enumerate(value.features)]
    rows = [_checked_row(f.attributes, i) for i, f in enumerate(value.features)]
    fields, rows = _schema(value.fields, rows, derive)
    exceeded = max_records is not None and len(rows) > max_records

    body: dict[str, Any] = {
        "displayFieldName": value.display_field_name,
        "geometryType": _geometry_type_of(value, geometries),
    }
    if value.crs is not None:
        body["spatialReference"] = crs_to_esri(value.crs)
    if any(g is not None and g.has_z for g in geometries):
        body["hasZ"] = True
    body["fields"] = [field_to_json(field) for field in fields]
    body["features"] = [] if exceeded else _features(geometries, rows, fields)
    body["exceededTransferLimit"] = exceeded
    return body


def record_set_to_json(
    value: RecordSet, *, max_records: int | None, derive: bool
) -> dict[str, Any]:
    rows = [_checked_row(row, i) for i, row in enumerate(value.rows)]
    fields, rows = _schema(value.fields, rows, derive)
    exceeded = max_records is not None and len(rows) > max_records
    types = {field.name: field.type for field in fields}
    features = (
        [] if exceeded else [{"attributes": attrs} for attrs in _rows(rows, types)]
    )
    return {
        "fields": [field_to_json(field) for field in fields],
        "features": features,
        "exceededTransferLimit": exceeded,
    }


class _FeatureReader:
    """Reads the features of one set against the set's type and spatial reference."""

    def __init__(
        self,
        *,
        geometry_type: str,
        sr_json: object,
        crs: CRS | None,
        date_fields: list[str],
        has_z: bool,
        has_m: bool,
    ) -> None:
        self.geometry_type = geometry_type
        self.sr_json = sr_json
        self.crs = crs
        self.date_fields = date_fields
        self.has_z = has_z
        self.has_m = has_m

    def read(self, raw: object, index: int) -> Feature:
        item = _feature_object(raw, index)
        attributes = decode_row(_attributes(item, index), self.date_fields)
        raw_geometry = item.get("geometry")
        try:
            geometry = from_esri(raw_geometry, has_z=self.has_z, has_m=self.has_m)
        except ValueError as exc:
            raise ValueError(f"feature {index}: {exc}") from None
        if geometry is None:
            return Feature(None, attributes)

        kind = esri_type_of(geometry)
        if kind != self.geometry_type:
            raise ValueError(
                f"feature {index} has a {kind} geometry in a set of "
                f"{self.geometry_type} features"
            )
        assert isinstance(raw_geometry, Mapping)
        return Feature(self._in_set_crs(geometry, raw_geometry, index), attributes)

    def _in_set_crs(
        self, geometry: BaseGeometry, raw: Mapping[str, Any], index: int
    ) -> BaseGeometry:
        # A geometry may carry its own spatial reference; one that differs from the
        # set's is projected so that every feature is in the set's CRS.
        own = raw.get("spatialReference")
        if own is None or own == self.sr_json or self.crs is None:
            return geometry
        own_crs = _crs(own, f"feature {index}: spatialReference")
        if own_crs is None or own_crs == self.crs:
            return geometry
        return project(geometry, own_crs, self.crs)


def _body(raw: object, example: str) -> Mapping[str, Any]:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            raise ValueError(f"expected a JSON object like {example}") from None
    if not isinstance(raw, Mapping):
        raise ValueError(f"expected a JSON object like {example}")
    if "url" in raw or "itemID" in raw:
        raise ValueError(
            "features given by url or itemID are not supported; "
            f"send them as JSON like {example}"
        )
    # A layer object of a feature collection wraps the feature set.
    inner = raw.get("featureSet")
    return inner if isinstance(inner, Mapping) else raw


def _list(body: Mapping[str, Any], key: str) -> list[Any]:
    value = body.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"{key} must be a JSON array; got {type(value).__name__}")
    return value


def _first_geometry(features: list[Any]) -> Mapping[str, Any] | None:
    for item in features:
        geometry = item.get("geometry") if isinstance(item, Mapping) else None
        if isinstance(geometry, Mapping) and esri_type_of_json(geometry):
            return geometry
    return None


def _crs(value: object, where: str) -> CRS | None:
    try:
        return crs_from_esri(value)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def _feature_object(raw: object, index: int) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise ValueError(f"feature {index} must be a JSON object")
    return raw


def _attributes(item: Mapping[str, Any], index: int) -> Mapping[str, Any]:
    attributes = item.get("attributes")
    if attributes is None:
        return {}
    if not isinstance(attributes, Mapping):
        raise ValueError(f"feature {index}: attributes must be a JSON object")
    for name, value in attributes.items():
        # A field holds a number, a string, a boolean or null; a nested value has
        # no field type, and would only fail later when the result is written.
        if isinstance(value, Mapping | list):
            raise ValueError(
                f"feature {index}: attribute {name!r} must be a number, a string, "
                "a boolean or null, not a JSON object or array"
            )
    return attributes


def _schema(
    fields: Sequence[Field], rows: list[dict[str, Any]], derive: bool
) -> tuple[list[Field], list[dict[str, Any]]]:
    if not derive:
        return list(fields), rows
    return with_object_ids(list(fields) or derive_fields(rows), rows)


def _features(
    geometries: list[BaseGeometry | None],
    rows: list[dict[str, Any]],
    fields: list[Field],
) -> list[dict[str, Any]]:
    types = {field.name: field.type for field in fields}
    features: list[dict[str, Any]] = []
    for geometry, attributes in zip(geometries, _rows(rows, types), strict=True):
        feature: dict[str, Any] = {}
        if geometry is not None:
            feature["geometry"] = to_esri(geometry)
        feature["attributes"] = attributes
        features.append(feature)
    return features


def _rows(rows: list[dict[str, Any]], types: Mapping[str, str]) -> list[dict[str, Any]]:
    encoded: list[dict[str, Any]] = []
    for index, row in enumerate(rows):
        try:
            encoded.append(encode_row(row, types))
        except TypeError as exc:
            raise TypeError(f"feature {index}: {exc}") from None
    return encoded


def _checked_geometry(feature: object, index: int) -> BaseGeometry | None:
    if not isinstance(feature, Feature):
        raise TypeError(f"feature {index} is a {type(feature).__name__}, not a Feature")
    geometry = feature.geometry
    if geometry is not None and not isinstance(geometry, BaseGeometry):
        raise TypeError(
            f"feature {index} has a {type(geometry).__name__} geometry, "
            "not a shapely geometry"
        )
    return geometry if geometry is not None and not geometry.is_empty else None


def _checked_row(row: object, index: int) -> dict[str, Any]:
    if not isinstance(row, Mapping):
        raise TypeError(f"row {index} is a {type(row).__name__}, not a dict")
    return dict(row)


def _geometry_type_of(value: FeatureSet, geometries: list[BaseGeometry | None]) -> str:
    """The type the geometries have, which wins over a forgotten declaration.

    ``FeatureSet.geometry_type`` defaults to point, so a tool that returns polygons
    without saying so still gets ``esriGeometryPolygon``.
    """
    kinds = {esri_type_of(g) for g in geometries if g is not None}
    if len(kinds) > 1:
        raise TypeError(f"the features mix geometry types {', '.join(sorted(kinds))}")
    return kinds.pop() if kinds else stored_type(value.geometry_type)
