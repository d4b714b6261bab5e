"""maximumRecords: a larger feature set output comes back empty, flagged, not cut."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from shapely.geometry import box

from tests.e2e.gp import full_point_set, result_value, run_job
from tests.e2e.reference import countries_meeting, haversine_km, place, places
from tests.e2e.server import Client, ServerProcess

FEW = "Tests/FewRecords/GPServer"
PLACES_NEAR = f"{FEW}/PlacesNear"
EXTRACT = f"{FEW}/ExtractLayer"

FEW_RECORDS_CONFIG = """
[server]
samples = false

[[services]]
folder = "Tests"
name = "FewRecords"
toolbox = "gpserver.samples.naturalearth"
maximumRecords = 5
"""

PARIS = place("ne_50m_populated_places", "Paris")
EUROPE = box(-10, 35, 30, 60)


@pytest.fixture(scope="module")
def few(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    folder = tmp_path_factory.mktemp("few-records")
    config = folder / "site.toml"
    config.write_text(FEW_RECORDS_CONFIG)
    process = ServerProcess(folder / "data", config)
    process.start()
    yield Client(process.root)
    process.stop()


def _places_within(km: float) -> int:
    return sum(
        haversine_km(*PARIS, lon, lat) <= km
        for _, lon, lat in places("ne_50m_populated_places")
    )


def _near_paris(client: Client, km: float) -> str:
    return run_job(
        client,
        PLACES_NEAR,
        features=full_point_set({"Paris": PARIS}),
        distance=json.dumps({"distance": km, "units": "esriKilometers"}),
    )


def test_the_service_advertises_its_maximum(few: Client) -> None:
    assert few.get(f"rest/services/{FEW}")["maximumRecords"] == 5


def test_more_features_than_the_maximum_come_back_empty(few: Client) -> None:
    job_id = _near_paris(few, 500)
    found = result_value(few, PLACES_NEAR, job_id, "places")
    assert found["features"] == []
    assert found["exceededTransferLimit"] is True
    # The count is a plain number, not a feature set: it is not limited.
    assert result_value(few, PLACES_NEAR, job_id, "count") == _places_within(500)


def test_exactly_the_maximum_is_within_the_limit(few: Client) -> None:
    assert _places_within(135) == 5
    job_id = _near_paris(few, 135)
    found = result_value(few, PLACES_NEAR, job_id, "places")
    assert len(found["features"]) == 5
    assert found["exceededTransferLimit"] is False


def test_a_file_output_is_not_limited(few: Client) -> None:
    area = {
        "geometryType": "esriGeometryPolygon",
        "spatialReference": {"wkid": 4326},
        "features": [{"geometry": {"rings": [list(EUROPE.exterior.coords)[::-1]]}}],
    }
    job_id = run_job(few, EXTRACT, layer="countries", area_of_interest=json.dumps(area))
    features = result_value(few, EXTRACT, job_id, "features")
    assert features["features"] == []
    assert features["exceededTransferLimit"] is True
    url = result_value(few, EXTRACT, job_id, "geojson")["url"]
    written = httpx.get(url).json()["features"]
    assert len(written) == len(countries_meeting(EUROPE)) > 5
