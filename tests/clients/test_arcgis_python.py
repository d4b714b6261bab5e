"""The sample services driven by the ArcGIS API for Python (`arcgis`), anonymously.

import_toolbox reads a GPServer and generates one Python function per task; calling one
submits a job and polls it every second (asynchronous services) or calls execute
(synchronous ones).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from types import ModuleType

import pytest
from arcgis.auth import EsriSession
from arcgis.features import Feature, FeatureSet
from arcgis.geoprocessing import LinearUnit, import_toolbox

from tests.e2e.server import ServerProcess


@pytest.fixture(scope="module")
def session() -> EsriSession:
    # What stands for `gis` without a Portal. `GIS()` signs in to arcgis.com
    # anonymously, and `GIS(url=<our root>)` looks for a Portal we do not have; a bare
    # EsriSession is what the client itself falls back on when no GIS is active, and
    # every call accepts it as `gis=`. Passing it explicitly keeps the tests off
    # arcgis.env.active_gis, which another test could have set.
    return EsriSession()


def _toolbox(server: ServerProcess, service: str, session: EsriSession) -> ModuleType:
    url = f"{server.root}/rest/services/Samples/{service}/GPServer"
    toolbox: ModuleType = import_toolbox(url, gis=session)
    return toolbox


@pytest.fixture(scope="module")
def diagnostics(server: ServerProcess, session: EsriSession) -> ModuleType:
    return _toolbox(server, "Diagnostics", session)


@pytest.fixture(scope="module")
def natural_earth(server: ServerProcess, session: EsriSession) -> ModuleType:
    return _toolbox(server, "NaturalEarth", session)


@pytest.mark.parametrize("service", ["Diagnostics", "DiagnosticsSync"])
def test_echo_returns_each_simple_type_unchanged(
    server: ServerProcess, session: EsriSession, service: str
) -> None:
    toolbox = _toolbox(server, service, session)

    echoed = toolbox.echo(
        in_string="Zürich, 1 km",
        in_long=-7,
        in_double=2.25,
        in_boolean=False,
        in_date=datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC),
        in_linear_unit=LinearUnit(2.5, "esriKilometers"),
        in_multi_string=["a", "b,c", "d"],
        in_multi_long=[3, -1],
        gis=session,
    )

    assert echoed.out_string == "Zürich, 1 km"
    assert echoed.out_long == -7
    assert echoed.out_double == 2.25
    assert echoed.out_boolean is False
    # The client gives a GPDate output back as the epoch milliseconds it received.
    assert echoed.out_date == 1_714_979_289_000
    # The client title-cases units both ways: it sends "Esrikilometers", the server
    # answers "esriKilometers", and the client turns that into "Esrikilometers" again.
    assert echoed.out_linear_unit.to_dict() == {
        "distance": 2.5,
        "units": "Esrikilometers",
    }
    # "b,c" survives: the client sends a multi-value as a JSON array.
    assert echoed.out_multi_string == ["a", "b,c", "d"]
    assert echoed.out_multi_long == [3, -1]
    assert echoed.out_data_file is None


def test_buffer_points_returns_one_polygon_per_point(
    natural_earth: ModuleType, session: EsriSession
) -> None:
    paris = Feature(
        geometry={"x": 2.35, "y": 48.86, "spatialReference": {"wkid": 4326}},
        attributes={"name": "Paris"},
    )
    points = FeatureSet(
        [paris],
        geometry_type="esriGeometryPoint",
        spatial_reference={"wkid": 4326},
    )

    buffered = natural_earth.buffer_points(
        points=points, distance=LinearUnit(10, "esriKilometers"), gis=session
    )

    assert isinstance(buffered, FeatureSet)
    assert buffered.geometry_type == "esriGeometryPolygon"
    assert len(buffered.features) == 1
    assert buffered.spatial_reference["wkid"] == 4326
    assert buffered.features[0].attributes["name"] == "Paris"
    assert buffered.features[0].geometry["rings"]


def test_wait_job_is_polled_to_success(
    diagnostics: ModuleType, session: EsriSession
) -> None:
    started = time.monotonic()
    job = diagnostics.wait(seconds=2, gis=session, future=True)

    waited = job.result()

    assert waited == 2
    assert time.monotonic() - started >= 2
    assert job.status == "esriJobSucceeded"
    descriptions = [message["description"] for message in job.messages]
    assert "Waited 2 seconds." in descriptions


def test_failed_job_raises_with_the_tool_error(
    diagnostics: ModuleType, session: EsriSession
) -> None:
    with pytest.raises(Exception, match="Job failed") as raised:
        diagnostics.fail(
            message="Failing on purpose for the Python client", gis=session
        )

    assert "Failing on purpose for the Python client" in str(raised.value)
