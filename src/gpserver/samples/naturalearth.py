"""The Natural Earth sample toolbox (service ``Samples/NaturalEarth``).

Four small tools over the bundled Natural Earth layers that use the kinds of GP
parameter real services use: feature sets in and out, linear units, a choice list,
several outputs and a file output. Distances are geodesic on the WGS 84 ellipsoid.
"""

from __future__ import annotations

from typing import Annotated, Any, NamedTuple

import shapely
from pyproj import Transformer
from shapely.geometry import MultiLineString, MultiPoint, MultiPolygon, Point
from shapely.geometry.base import BaseGeometry

from gpserver.catalog.tool import Context, Param, tool
from gpserver.gptypes.values import DataFile, Feature, FeatureSet, Field, LinearUnit
from gpserver.samples.geodesy import MAX_SEARCH_METRES, geodesic_buffer, nearest_within
from gpserver.samples.geojson import write_feature_collection
from gpserver.samples.naturalearth_data import load_layer
from gpserver.samples.reproject import WGS84, crs_from_wkid, to_wgs84, transform

POINT = "esriGeometryPoint"
POLYGON = "esriGeometryPolygon"
PLACES_LAYER = "ne_50m_populated_places"

# What ExtractLayer offers, by the name a client picks, and the bundled file behind it.
EXTRACT_LAYERS: dict[str, str] = {
    "countries": "ne_110m_admin_0_countries",
    "populated_places": "ne_50m_populated_places",
    "airports": "ne_50m_airports",
    "lakes": "ne_50m_lakes",
    "rivers": "ne_50m_rivers_lake_centerlines",
    "urban_areas": "ne_50m_urban_areas",
}


@tool(
    display_name="Buffer Points",
    description=(
        "Draws a geodesic circle of the given radius around each point: the true "
        "distance on the WGS 84 ellipsoid, not a circle in map units. The polygons are "
        "returned in WGS 84 with the attributes of their points. Circles that would "
        "cover a pole or cross the 180th meridian are refused."
    ),
)
def buffer_points(
    context: Context,
    points: Annotated[
        FeatureSet,
        Param(
            display_name="Input Points",
            description="The points to buffer, in any spatial reference.",
            geometry_types=[POINT],
        ),
    ],
    distance: Annotated[
        LinearUnit,
        Param(display_name="Distance", description="The radius of each circle."),
    ],
) -> Annotated[
    FeatureSet,
    Param(
        name="buffered",
        display_name="Buffered Points",
        description="One circle polygon per input point.",
        geometry_types=[POLYGON],
        wkid=4326,
    ),
]:
    if points.geometry_type != POINT:
        raise ValueError(f"BufferPoints needs points, not {points.geometry_type}")
    metres = _positive_metres(distance)

    buffered = []
    for feature, point in zip(points.features, to_wgs84(points), strict=True):
        if point is None:
            continue
        if not isinstance(point, Point):
            raise ValueError(f"BufferPoints needs points, not a {point.geom_type}")
        circle = geodesic_buffer(point, metres)
        buffered.append(Feature(circle, dict(feature.attributes)))

    context.message(f"Buffered {len(buffered)} points by {metres / 1000:g} km.")
    return FeatureSet(
        features=buffered,
        geometry_type=POLYGON,
        crs=WGS84,
        fields=list(points.fields),
        display_field_name=points.display_field_name,
    )


class PlacesNearResult(NamedTuple):
    places: Annotated[
        FeatureSet,
        Param(
            display_name="Nearby Places",
            description=(
                "The populated places within the distance, nearest first, with their "
                "geodesic distance in kilometres in the field distance_km."
            ),
            geometry_types=[POINT],
            wkid=4326,
        ),
    ]
    # Published as "count"; the field has another name because a tuple field called
    # count would hide tuple.count.
    place_count: Annotated[
        int,
        Param(
            name="count",
            display_name="Count",
            description="How many places were found.",
        ),
    ]


@tool(
    display_name="Places Near",
    description=(
        "Finds the populated places of Natural Earth's 1:50m layer within a distance "
        "of any input feature. Distances are geodesic on the WGS 84 ellipsoid "
        "(computed with PROJ), measured to the nearest point of the nearest feature, "
        "and may be at most 5,000 km. A spherical (haversine) distance differs from "
        "them by up to about 0.5 %."
    ),
)
def places_near(
    context: Context,
    features: Annotated[
        FeatureSet,
        Param(
            display_name="Input Features",
            description="Points, lines or polygons to search around.",
        ),
    ],
    distance: Annotated[
        LinearUnit,
        Param(display_name="Distance", description="How far to search."),
    ],
) -> PlacesNearResult:
    metres = _positive_metres(distance)
    if metres > MAX_SEARCH_METRES:
        raise ValueError(
            f"PlacesNear searches at most {MAX_SEARCH_METRES / 1000:g} km, "
            f"not {metres / 1000:g} km"
        )
    targets = [g for g in to_wgs84(features) if g is not None]
    places = load_layer(PLACES_LAYER)
    context.message(
        f"Searching {len(places.features)} places near {len(targets)} features."
    )

    located = [
        (f, f.geometry) for f in places.features if isinstance(f.geometry, Point)
    ]
    distances = nearest_within([point for _, point in located], targets, metres)
    found = [
        Feature(point, {**f.attributes, "distance_km": round(d / 1000, 3)})
        for (f, point), d in zip(located, distances, strict=True)
        if d is not None
    ]
    found.sort(key=lambda f: (f.attributes["distance_km"], f.attributes["NAME"]))

    context.message(f"Found {len(found)} places within {metres / 1000:g} km.")
    fields = [
        *places.fields,
        Field("distance_km", "esriFieldTypeDouble", "Distance (km)"),
    ]
    result = FeatureSet(found, POINT, WGS84, fields, places.display_field_name)
    return PlacesNearResult(places=result, place_count=len(found))


@tool(
    display_name="Project Features",
    description=(
        "Projects features of any geometry type to another spatial reference, given "
        "by its well-known ID (an EPSG code, or an Esri code such as 102100). Vertices "
        "are transformed one by one; edges are not densified."
    ),
)
def project_features(
    context: Context,
    features: Annotated[
        FeatureSet,
        Param(display_name="Input Features", description="The features to project."),
    ],
    output_wkid: Annotated[
        int,
        Param(
            display_name="Output Spatial Reference",
            description="The wkid of the output spatial reference, e.g. 3857.",
        ),
    ],
) -> Annotated[
    FeatureSet,
    Param(name="projected", display_name="Projected Features"),
]:
    target = crs_from_wkid(output_wkid)
    source = features.crs or WGS84
    transformer = Transformer.from_crs(source, target, always_xy=True)

    projected = []
    for index, feature in enumerate(features.features):
        try:
            geometry = (
                None
                if feature.geometry is None
                else transform(feature.geometry, transformer)
            )
        except ValueError as exc:
            raise ValueError(
                f"feature {index} cannot go to wkid {output_wkid}: {exc}"
            ) from None
        projected.append(Feature(geometry, dict(feature.attributes)))

    context.message(
        f"Projected {len(projected)} features from {source.name} to {target.name}."
    )
    return FeatureSet(
        features=projected,
        geometry_type=features.geometry_type,
        crs=target,
        fields=list(features.fields),
        display_field_name=features.display_field_name,
    )


class ExtractLayerResult(NamedTuple):
    features: Annotated[
        FeatureSet,
        Param(
            display_name="Extracted Features",
            description="The layer's features clipped to the area of interest.",
            wkid=4326,
        ),
    ]
    geojson: Annotated[
        DataFile,
        Param(
            display_name="GeoJSON File",
            description="The same features as a GeoJSON file named after the layer.",
        ),
    ]


@tool(
    display_name="Extract Layer",
    description=(
        "Clips one Natural Earth layer to an area of interest and returns the result "
        "both as features and as a GeoJSON file. Clipping is done in WGS 84 "
        "longitude/latitude."
    ),
)
def extract_layer(
    context: Context,
    layer: Annotated[
        str,
        Param(
            display_name="Layer",
            description="Which Natural Earth layer to extract.",
            choices=tuple(EXTRACT_LAYERS),
        ),
    ],
    area_of_interest: Annotated[
        FeatureSet,
        Param(
            display_name="Area of Interest",
            description="Polygons to clip the layer to, in any spatial reference.",
            geometry_types=[POLYGON],
        ),
    ],
) -> ExtractLayerResult:
    if layer not in EXTRACT_LAYERS:
        raise ValueError(
            f"no layer {layer!r}; choose one of {', '.join(EXTRACT_LAYERS)}"
        )
    if area_of_interest.geometry_type != POLYGON:
        kind = area_of_interest.geometry_type
        raise ValueError(f"the area of interest must be polygons, not {kind}")
    polygons = [g for g in to_wgs84(area_of_interest) if g is not None]
    if not polygons:
        raise ValueError("the area of interest holds no polygon")
    area = shapely.union_all(polygons)

    source = load_layer(EXTRACT_LAYERS[layer])
    context.progress(10, f"Clipping {len(source.features)} features of {layer}")
    clipped = []
    for feature in source.features:
        if feature.geometry is None or not feature.geometry.intersects(area):
            continue
        part = _clip(feature.geometry, area)
        if part is not None:
            clipped.append(Feature(part, feature.attributes))
    result = FeatureSet(
        clipped, source.geometry_type, WGS84, source.fields, source.display_field_name
    )

    context.progress(90, "Writing the GeoJSON file")
    path = context.output_dir / f"{layer}.geojson"
    write_feature_collection(result, path)
    context.message(f"Extracted {len(clipped)} features of {layer}.")
    return ExtractLayerResult(features=result, geojson=DataFile(path=str(path)))


def _positive_metres(distance: LinearUnit) -> float:
    metres = distance.to_meters()
    if not metres > 0:
        raise ValueError(
            f"the distance must be positive, not {distance.distance} {distance.units}"
        )
    return metres


def _clip(geometry: BaseGeometry, area: BaseGeometry) -> BaseGeometry | None:
    """The part of ``geometry`` inside ``area``, of the same dimension, or ``None``.

    An intersection can come back as a collection with stray lower-dimensional bits
    (a polygon touching the area's edge along a line); a feature set holds one
    geometry type, so those are dropped.
    """
    dimension = shapely.get_dimensions(geometry)
    parts = shapely.get_parts(shapely.get_parts(shapely.intersection(geometry, area)))
    kept = [
        p for p in parts if shapely.get_dimensions(p) == dimension and not p.is_empty
    ]
    if not kept:
        return None
    if len(kept) == 1:
        single: BaseGeometry = kept[0]
        return single
    multi: Any = {0: MultiPoint, 1: MultiLineString, 2: MultiPolygon}[int(dimension)]
    combined: BaseGeometry = multi(kept)
    return combined
