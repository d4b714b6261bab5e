"""Moving shapely geometries between spatial references with pyproj."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import CRS, Transformer
from pyproj.enums import TransformDirection
from pyproj.exceptions import CRSError
from shapely.geometry.base import BaseGeometry

from gpserver.gptypes.values import FeatureSet

WGS84 = CRS.from_epsg(4326)


def crs_from_wkid(wkid: int) -> CRS:
    """The spatial reference an Esri well-known ID names.

    Esri wkids are EPSG codes where EPSG has one, and Esri's own codes (such as
    102100 for Web Mercator) where it has not.
    """
    for authority in ("EPSG", "ESRI"):
        try:
            return CRS.from_authority(authority, str(wkid))
        except CRSError:
            continue
    raise ValueError(f"unknown spatial reference: no EPSG or ESRI wkid {wkid}")


def transform(
    geometry: BaseGeometry,
    transformer: Transformer,
    direction: TransformDirection = TransformDirection.FORWARD,
) -> BaseGeometry:
    """The geometry with every vertex transformed; refuses points that have no image.

    PROJ answers ``inf`` for a point a projection cannot show (the south pole in the
    French Lambert-93 conic, say); such a geometry would be unreadable downstream, so
    it is refused. Points merely outside a projection's area of use still pass.
    """

    def vertices(xy: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        x, y = transformer.transform(xy[:, 0], xy[:, 1], direction=direction)
        return np.column_stack([x, y])

    result: BaseGeometry = shapely.transform(geometry, vertices)
    if not np.isfinite(shapely.get_coordinates(result)).all():
        raise ValueError(
            "a coordinate lies outside the output spatial reference's area"
        )
    return result


def to_wgs84(features: FeatureSet) -> list[BaseGeometry | None]:
    """Each feature's geometry in EPSG:4326 longitude/latitude; ``None`` where empty.

    A feature set without a spatial reference is taken to be in EPSG:4326 already.
    """
    geometries = [
        f.geometry if f.geometry is not None and not f.geometry.is_empty else None
        for f in features.features
    ]
    source = features.crs or WGS84
    if source != WGS84:
        transformer = Transformer.from_crs(source, WGS84, always_xy=True)
        geometries = [g if g is None else transform(g, transformer) for g in geometries]
    for geometry in geometries:
        if geometry is not None:
            _check_longitude_latitude(geometry)
    return geometries


def _check_longitude_latitude(geometry: BaseGeometry) -> None:
    """Refuses a geometry whose vertices are not longitudes and latitudes.

    Geodesic work on latitude 95 fails deep inside PROJ with a message that means
    nothing to a client; this one names the coordinate.
    """
    xy = shapely.get_coordinates(geometry)
    bad = (np.abs(xy[:, 0]) > 180.0) | (np.abs(xy[:, 1]) > 90.0)
    if bad.any():
        lon, lat = xy[np.argmax(bad)]
        raise ValueError(
            f"the coordinate ({lon:g}, {lat:g}) is not a longitude and latitude: "
            "longitude must be between -180 and 180 and latitude between -90 and 90"
        )
