"""Running sample jobs over HTTP and reading the Esri JSON they answer."""

from __future__ import annotations

import http.client
import json
from collections.abc import Mapping
from typing import Any

from shapely.geometry import LineString, MultiLineString, Point, Polygon
from shapely.geometry.base import BaseGeometry

from tests.e2e.server import Client, ServerProcess

WGS84_JSON = {"wkid": 4326}
WEB_MERCATOR_JSON = {"wkid": 102100, "latestWkid": 3857}


def run_job(client: Client, task: str, **inputs: Any) -> str:
    """Submit a job, wait for it and return its id; it must succeed."""
    job_id = client.submit(task, **inputs)
    job = client.wait(task, job_id)
    assert job["jobStatus"] == "esriJobSucceeded", job
    return job_id


def result_value(client: Client, task: str, job_id: str, name: str) -> Any:
    return client.result(task, job_id, name)["value"]


def point_features(
    points: Mapping[str, tuple[float, float]], *, sr_on_each: bool = False
) -> list[dict[str, Any]]:
    features = []
    for name, (x, y) in points.items():
        geometry: dict[str, Any] = {"x": x, "y": y}
        if sr_on_each:
            geometry["spatialReference"] = WGS84_JSON
        features.append({"geometry": geometry, "attributes": {"name": name}})
    return features


def full_point_set(points: Mapping[str, tuple[float, float]]) -> str:
    """Points as a complete feature set, the way the Python client sends them."""
    return json.dumps(
        {
            "geometryType": "esriGeometryPoint",
            "spatialReference": WGS84_JSON,
            "fields": [
                {
                    "name": "name",
                    "type": "esriFieldTypeString",
                    "alias": "Name",
                    "length": 50,
                }
            ],
            "features": point_features(points),
        }
    )


def arcgis_core_point_set(points: Mapping[str, tuple[float, float]]) -> str:
    """Points the way @arcgis/core sends them: features only, each with its SR."""
    features = [
        {**feature, "aggregateGeometries": None, "symbol": None, "popupTemplate": None}
        for feature in point_features(points, sr_on_each=True)
    ]
    return json.dumps({"features": features})


def shape(geometry: Mapping[str, Any]) -> BaseGeometry:
    """A shapely geometry from Esri JSON (one polygon per feature is enough here)."""
    if "x" in geometry:
        return Point(geometry["x"], geometry["y"])
    if "paths" in geometry:
        paths = geometry["paths"]
        return LineString(paths[0]) if len(paths) == 1 else MultiLineString(paths)
    rings = geometry["rings"]
    return Polygon(rings[0], rings[1:])


def vertices(geometry: Mapping[str, Any]) -> list[list[float]]:
    """Every vertex of an Esri JSON geometry, in the order it is written."""
    if "x" in geometry:
        return [[geometry["x"], geometry["y"]]]
    parts = geometry.get("paths") or geometry["rings"]
    return [list(vertex) for part in parts for vertex in part]


def raw_get(server: ServerProcess, path: str) -> tuple[int, bytes]:
    """GET a path exactly as written: httpx would remove its ``..`` segments."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request("GET", path)
        reply = connection.getresponse()
        return reply.status, reply.read()
    finally:
        connection.close()
