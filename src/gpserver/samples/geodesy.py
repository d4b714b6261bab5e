"""Geodesic buffers and distances on the WGS 84 ellipsoid.

Both rest on one property: an azimuthal equidistant projection centred on a point keeps
the true geodesic distance from that point to every other (PROJ computes it with
Karney's geodesic algorithms). So a planar circle drawn around the projection's origin
is a geodesic circle, and a planar distance measured from the origin is a geodesic one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import Geod, Transformer
from pyproj.enums import TransformDirection
from shapely.geometry import MultiPolygon, Point, box
from shapely.geometry.base import BaseGeometry

from gpserver.samples.reproject import transform

GEOD = Geod(ellps="WGS84")

# Beyond this the search window of a place reaches towards its antipode, where the
# centred projection tears; the samples have no use for longer searches.
MAX_SEARCH_METRES = 5_000_000.0

# The smallest radius of curvature of WGS 84 (along the meridian at the equator): a
# geodesic of length d spans at most d / this radians, so windows built on it are wide
# enough. The extra percent covers the sphere formula used for the longitude span.
_MIN_RADIUS = 6_335_439.0
_WINDOW_MARGIN = 1.01

# Target edges are straight in longitude/latitude; extra vertices every 0.1 degrees keep
# them so once projected, where edges become curves.
_DENSIFY_DEGREES = 0.1

_ORIGIN = Point(0.0, 0.0)


def centred_projection(lon: float, lat: float) -> Transformer:
    """From EPSG:4326 degrees to metres of the equidistant projection centred there."""
    # A bare PROJ pipeline builds in tens of microseconds, a CRS-to-CRS transformer in
    # milliseconds; that matters when PlacesNear builds one per populated place.
    return Transformer.from_pipeline(
        "+proj=pipeline +step +proj=unitconvert +xy_in=deg +xy_out=rad "
        f"+step +proj=aeqd +lat_0={lat:.12f} +lon_0={lon:.12f} +ellps=WGS84"
    )


def geodesic_buffer(centre: Point, metres: float, quad_segs: int = 64) -> BaseGeometry:
    """The polygon, in EPSG:4326, of points within ``metres`` of ``centre``.

    A circle that covers a pole or crosses the antimeridian cannot be drawn as one
    plain polygon in longitude/latitude; splitting it is not done, so it is refused.
    """
    lon, lat = centre.x, centre.y
    where = f"a {metres / 1000:g} km buffer around ({lon:.4f}, {lat:.4f})"
    _, _, to_north_pole = GEOD.inv(lon, lat, lon, 90.0)
    _, _, to_south_pole = GEOD.inv(lon, lat, lon, -90.0)
    if metres >= min(to_north_pole, to_south_pole):
        raise ValueError(f"{where} would cover a pole, which is not supported")

    circle = _ORIGIN.buffer(metres, quad_segs=quad_segs)
    polygon = transform(
        circle, centred_projection(lon, lat), TransformDirection.INVERSE
    )
    longitudes = shapely.get_coordinates(polygon)[:, 0]
    if np.abs(np.diff(longitudes)).max() > 180.0:
        raise ValueError(f"{where} crosses the antimeridian, which is not supported")
    return polygon


def search_window(lon: float, lat: float, metres: float) -> BaseGeometry:
    """A longitude/latitude box (two across the antimeridian) holding the disk.

    Everything within ``metres`` of the point lies inside; much else does too. The
    longitude span is the spherical cap's, asin(sin(angle) / cos(lat)).
    """
    angle = metres / _MIN_RADIUS * _WINDOW_MARGIN
    south, north = lat - math.degrees(angle), lat + math.degrees(angle)
    if north >= 90.0 or south <= -90.0:
        return box(-180.0, max(south, -90.0), 180.0, min(north, 90.0))

    ratio = math.sin(angle) / math.cos(math.radians(lat))
    if ratio >= 1.0:
        return box(-180.0, south, 180.0, north)

    half = math.degrees(math.asin(ratio))
    west, east = lon - half, lon + half
    boxes = [box(max(west, -180.0), south, min(east, 180.0), north)]
    if west < -180.0:
        boxes.append(box(west + 360.0, south, 180.0, north))
    if east > 180.0:
        boxes.append(box(-180.0, south, east - 360.0, north))
    return boxes[0] if len(boxes) == 1 else MultiPolygon(boxes)


def nearest_within(
    places: Sequence[Point], targets: Sequence[BaseGeometry], metres: float
) -> list[float | None]:
    """For each place, the geodesic distance to the nearest target if within ``metres``.

    Places and targets are in EPSG:4326. The distance is to the nearest point of the
    target (zero inside a polygon): exact to a vertex, within a few metres to an edge.
    """
    if metres > MAX_SEARCH_METRES:
        raise ValueError(
            f"the search distance may be at most {MAX_SEARCH_METRES / 1000:g} km"
        )
    if not targets:
        return [None] * len(places)

    dense = shapely.segmentize(np.asarray(targets, dtype=object), _DENSIFY_DEGREES)
    tree = shapely.STRtree(dense)
    return [_nearest(place, dense, tree, metres) for place in places]


def _nearest(
    place: Point,
    targets: npt.NDArray[np.object_],
    tree: shapely.STRtree,
    metres: float,
) -> float | None:
    # Only the parts of targets inside the window are projected: far parts could come
    # near the place's antipode, where the projection is torn and distances go wrong.
    # The window's own edges, added by clipping, lie farther away than ``metres``.
    window = search_window(place.x, place.y, metres)
    candidates = tree.query(window, predicate="intersects")
    if len(candidates) == 0:
        return None

    projection = centred_projection(place.x, place.y)
    clipped = shapely.intersection(targets[candidates], window)
    nearest = min(
        float(shapely.distance(_ORIGIN, transform(part, projection)))
        for part in clipped
    )
    return nearest if nearest <= metres else None
