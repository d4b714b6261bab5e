"""The geoprocessing environment a request sets: output and processing spatial
references and an extent, from ``context`` (10.6.1+) or ``env:outSR`` and
``env:processSR`` (older clients). Where both name a setting, ``context`` wins.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import shapely
from pyproj import CRS
from shapely.geometry import Polygon

from gpserver.gptypes.errors import InvalidParameterError, shown
from gpserver.gptypes.geometry import POLYGON, esri_type_of, from_esri
from gpserver.gptypes.spatialref import (
    crs_from_esri,
    crs_to_esri,
    project,
    project_many,
)
from gpserver.gptypes.values import Feature, FeatureSet

_CONTEXT_EXAMPLE = (
    '{"outSR": 102100, "processSR": 4326, "extent": {"xmin": 0, "ymin": 0, '
    '"xmax": 10, "ymax": 10, "spatialReference": {"wkid": 4326}}}'
)
# An extent is densified before it is projected, so that its edges follow the
# curve they become in the other CRS rather than cutting the corners.
_EXTENT_VERTICES_PER_SIDE = 64


@dataclass(frozen=True)
class GPContext:
    """What a request asked of the environment; every part may be absent.

    ``extent_crs`` is the extent's own spatial reference; ``None`` means it is in
    the spatial reference of whatever it is compared with.
    """

    out_crs: CRS | None = None
    process_crs: CRS | None = None
    extent: Polygon | None = None
    extent_crs: CRS | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, object]) -> GPContext:
        return parse_context(params)

    @classmethod
    def from_json(cls, stored: Mapping[str, Any]) -> GPContext:
        """Read back what :meth:`to_json` wrote (the same shape as ``context``)."""
        return parse_context({"context": stored})

    def to_json(self) -> dict[str, Any]:
        """The ``context`` JSON that asks for this environment, for storing a job."""
        stored: dict[str, Any] = {}
        if self.out_crs is not None:
            stored["outSR"] = crs_to_esri(self.out_crs)
        if self.process_crs is not None:
            stored["processSR"] = crs_to_esri(self.process_crs)
        if self.extent is not None:
            xmin, ymin, xmax, ymax = self.extent.bounds
            stored["extent"] = {"xmin": xmin, "ymin": ymin, "xmax": xmax, "ymax": ymax}
            if self.extent_crs is not None:
                stored["extent"]["spatialReference"] = crs_to_esri(self.extent_crs)
        return stored


def parse_context(params: Mapping[str, object]) -> GPContext:
    """Read ``context``, ``env:outSR`` and ``env:processSR`` from request params."""
    settings = _context_object(params.get("context"))

    out_crs = _crs(settings.get("outSR"), "context", "outSR")
    if out_crs is None:
        out_crs = _crs(params.get("env:outSR"), "env:outSR", None)
    process_crs = _crs(settings.get("processSR"), "context", "processSR")
    if process_crs is None:
        process_crs = _crs(params.get("env:processSR"), "env:processSR", None)

    extent, extent_crs = _extent(settings.get("extent"))
    return GPContext(
        out_crs=out_crs,
        process_crs=process_crs,
        extent=extent,
        extent_crs=extent_crs,
    )


def prepare_input(value: FeatureSet, context: GPContext) -> FeatureSet:
    """Keep the features that meet the extent and move them to the processing CRS.

    Features without a geometry are kept: the extent says nothing about them. A set
    with no spatial reference cannot be projected and is left where it is.
    """
    features = value.features
    if context.extent is not None:
        area = _extent_in(context, value.crs)
        features = [
            feature
            for feature in features
            if feature.geometry is None or feature.geometry.intersects(area)
        ]

    crs = value.crs
    target = context.process_crs
    if target is not None and crs is not None and crs != target:
        moved = project_many([f.geometry for f in features], crs, target)
        features = [
            Feature(geometry, dict(feature.attributes))
            for geometry, feature in zip(moved, features, strict=True)
        ]
        crs = target
    return replace(value, features=list(features), crs=crs)


def finish_output(
    value: FeatureSet, context: GPContext, input_crs: CRS | None
) -> FeatureSet:
    """Put an output feature set in the spatial reference the request asked for.

    ``outSR`` wins; with only ``processSR`` the output is in that. Otherwise the
    output stays as the tool made it. A tool that gave no spatial reference is taken
    to have worked in the processing CRS, or else in ``input_crs`` (that of the
    task's feature-set inputs).
    """
    source = value.crs or context.process_crs or input_crs
    target = context.out_crs or context.process_crs
    if target is None or source is None or source == target:
        return replace(value, crs=source)

    moved = project_many([f.geometry for f in value.features], source, target)
    features = [
        Feature(geometry, dict(feature.attributes))
        for geometry, feature in zip(moved, value.features, strict=True)
    ]
    return replace(value, features=features, crs=target)


def _context_object(raw: object) -> Mapping[str, Any]:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            raise InvalidParameterError(
                "context", f"expected a JSON object like {_CONTEXT_EXAMPLE}"
            ) from None
    if not isinstance(raw, Mapping):
        raise InvalidParameterError(
            "context", f"expected a JSON object like {_CONTEXT_EXAMPLE}"
        )
    return raw


def _crs(raw: object, param: str, key: str | None) -> CRS | None:
    try:
        return crs_from_esri(raw)
    except ValueError as exc:
        reason = f"{key}: {exc}" if key else str(exc)
        raise InvalidParameterError(param, reason) from None


def _extent(raw: object) -> tuple[Polygon | None, CRS | None]:
    if raw is None:
        return None, None
    try:
        area = from_esri(raw)
    except ValueError as exc:
        raise InvalidParameterError("context", f"extent: {exc}") from None
    if area is None:
        return None, None
    if esri_type_of(area) != POLYGON or not isinstance(area, Polygon):
        raise InvalidParameterError(
            "context",
            'extent: expected an envelope like {"xmin": 0, "ymin": 0, "xmax": 10, '
            f'"ymax": 10}}; got {shown(raw)}',
        )
    assert isinstance(raw, Mapping)
    return area, _crs(raw.get("spatialReference"), "context", "extent")


def _extent_in(context: GPContext, crs: CRS | None) -> Polygon:
    assert context.extent is not None
    area = context.extent
    if context.extent_crs is None or crs is None or context.extent_crs == crs:
        return area
    step = max(area.length / 4 / _EXTENT_VERTICES_PER_SIDE, 1e-12)
    projected = project(shapely.segmentize(area, step), context.extent_crs, crs)
    assert isinstance(projected, Polygon)
    return projected
