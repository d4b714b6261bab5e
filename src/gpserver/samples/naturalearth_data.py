"""The bundled Natural Earth layers, loaded as feature sets in EPSG:4326."""

from __future__ import annotations

import json
from dataclasses import replace
from functools import lru_cache
from importlib import resources

from pyproj import CRS

from gpserver.gptypes.values import Feature, FeatureSet
from gpserver.samples.geojson import esri_geometry_type, fields_of, read_features

# File names (without ``.json``) in ``gpserver/samples/data``.
LAYERS: tuple[str, ...] = (
    "ne_110m_admin_0_countries",
    "ne_110m_populated_places",
    "ne_50m_airports",
    "ne_50m_lakes",
    "ne_50m_populated_places",
    "ne_50m_rivers_lake_centerlines",
    "ne_50m_urban_areas",
)

# Natural Earth spells the name column differently from layer to layer.
_NAME_FIELDS = ("NAME", "name")


def load_layer(name: str) -> FeatureSet:
    """A fresh copy of a bundled layer, which the caller may change freely."""
    cached = _read_layer(name)
    features = [Feature(f.geometry, dict(f.attributes)) for f in cached.features]
    return replace(cached, features=features, fields=list(cached.fields))


@lru_cache(maxsize=len(LAYERS))
def _read_layer(name: str) -> FeatureSet:
    # Parsing a larger layer takes a tenth of a second or more, so each is read once per
    # process; load_layer hands out copies so that no tool can change the cached one.
    if name not in LAYERS:
        raise ValueError(f"no Natural Earth layer {name!r}; choose one of {LAYERS}")
    resource = resources.files("gpserver.samples").joinpath("data", f"{name}.json")
    features = read_features(json.loads(resource.read_text(encoding="utf-8")))
    fields = fields_of([f.attributes for f in features])
    field_names = {f.name for f in fields}
    return FeatureSet(
        features=features,
        geometry_type=esri_geometry_type(f.geometry for f in features),
        crs=CRS.from_epsg(4326),
        fields=fields,
        display_field_name=next((n for n in _NAME_FIELDS if n in field_names), ""),
    )
