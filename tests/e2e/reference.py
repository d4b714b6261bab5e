"""Independent answers for the Natural Earth samples.

Read straight from the bundled GeoJSON files and computed with formulas written
here, so that a test compares the server with something that shares none of its
code.
"""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from pyproj import Geod
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

DATA = Path(__file__).resolve().parents[2] / "src" / "gpserver" / "samples" / "data"
# The mean radius of the Earth (IUGG), the usual radius for haversine distances.
EARTH_RADIUS_KM = 6371.0088
WGS84 = Geod(ellps="WGS84")


@cache
def _layer(name: str) -> dict[str, Any]:
    layer: dict[str, Any] = json.loads((DATA / f"{name}.json").read_text("utf-8"))
    return layer


def places(layer: str) -> list[tuple[str, float, float]]:
    """Name, longitude and latitude of every point of a populated places layer."""
    found = []
    for feature in _layer(layer)["features"]:
        geometry = feature["geometry"]
        if geometry is not None and geometry["type"] == "Point":
            lon, lat = geometry["coordinates"][:2]
            found.append((feature["properties"]["NAME"], lon, lat))
    return found


def place(layer: str, name: str) -> tuple[float, float]:
    (only,) = [(lon, lat) for n, lon, lat in places(layer) if n == name]
    return only


def countries_meeting(area: BaseGeometry) -> list[str]:
    """The names of the 1:110m countries that meet an area, sorted."""
    features = _layer("ne_110m_admin_0_countries")["features"]
    return sorted(
        f["properties"]["NAME"]
        for f in features
        if shape(f["geometry"]).intersects(area)
    )


def haversine_km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    half_dphi = (phi2 - phi1) / 2
    half_dlambda = math.radians(lon2 - lon1) / 2
    a = (
        math.sin(half_dphi) ** 2
        + math.cos(phi1) * math.cos(phi2) * math.sin(half_dlambda) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def geodesic_circle_area(lon: float, lat: float, metres: float) -> float:
    """Square metres inside the points ``metres`` from a centre, every half degree."""
    azimuths = np.arange(0, 360, 0.5)
    centre_lons = np.full(azimuths.size, lon)
    centre_lats = np.full(azimuths.size, lat)
    lons, lats, _ = WGS84.fwd(
        centre_lons, centre_lats, azimuths, np.full(azimuths.size, metres)
    )
    area, _ = WGS84.polygon_area_perimeter(lons, lats)
    return abs(area)
