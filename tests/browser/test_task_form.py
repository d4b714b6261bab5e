"""Submitting jobs from a task's form and watching their page in the Services
Directory.
"""

from __future__ import annotations

import json
import re

from playwright.sync_api import Locator, Page, expect

from tests.browser.browsing import JOB_PAGE, Checks, status_text
from tests.e2e.server import Client, ServerProcess

BUFFER = "Samples/NaturalEarth/GPServer/BufferPoints"
WAIT = "Samples/Diagnostics/GPServer/Wait"
PARIS = {"x": 2.3522, "y": 48.8566}
POINTS = {
    "geometryType": "esriGeometryPoint",
    "spatialReference": {"wkid": 4326},
    "features": [{"geometry": PARIS, "attributes": {}}],
}
RUNNING = ("esriJobSubmitted", "esriJobWaiting", "esriJobExecuting")


def task_form(page: Page, site: ServerProcess, task: str) -> None:
    page.goto(f"{site.root}/rest/services/{task}?f=html")


def field(page: Page, parameter: str) -> Locator:
    """The form field of a parameter: its label starts with the parameter's name."""
    return page.get_by_label(re.compile(rf"^{re.escape(parameter)}\b"))


def job_id_of(page: Page) -> str:
    found = JOB_PAGE.search(page.url)
    assert found, f"not a job page: {page.url}"
    return found.group(1)


def test_buffer_points_from_the_task_form(
    page: Page, site: ServerProcess, client: Client, checks: Checks
) -> None:
    task_form(page, site, BUFFER)
    checks.assert_page(page, "rest-task-buffer-points", button="Submit job")
    field(page, "points").fill(json.dumps(POINTS))
    field(page, "distance").fill(
        json.dumps({"distance": 100, "units": "esriKilometers"})
    )

    page.get_by_role("button", name="Submit job", exact=True).click()
    expect(page).to_have_url(JOB_PAGE)
    job_id = job_id_of(page)
    expect(page.locator("#job-status")).to_have_text("esriJobSucceeded", timeout=30_000)

    expect(page.get_by_role("heading", level=1)).to_contain_text(job_id)
    checks.assert_page(page, "rest-job-buffer-points")
    inputs = f"rest/services/{BUFFER}/jobs/{job_id}/inputs"
    assert client.get(f"{inputs}/points")["value"]["features"] == [
        {"geometry": PARIS, "attributes": {}}
    ]
    assert client.get(f"{inputs}/distance")["value"] == {
        "distance": 100.0,
        "units": "esriKilometers",
    }
    buffered = client.result(BUFFER, job_id, "buffered")["value"]
    assert buffered["geometryType"] == "esriGeometryPolygon"
    assert len(buffered["features"]) == 1


def test_the_job_page_refreshes_itself_until_the_job_ends(
    page: Page, site: ServerProcess, client: Client, checks: Checks
) -> None:
    task_form(page, site, WAIT)
    field(page, "seconds").fill("3")
    loads: list[str] = []
    page.on("load", lambda loaded: loads.append(loaded.url))

    page.get_by_role("button", name="Submit job", exact=True).click()
    expect(page).to_have_url(JOB_PAGE)
    assert status_text(page) in RUNNING
    refresh = page.locator('meta[http-equiv="refresh"]')
    expect(refresh).to_have_count(1)
    expect(page.locator("#job-status")).to_have_text("esriJobSucceeded", timeout=30_000)

    job_id = job_id_of(page)
    assert len(loads) >= 2, f"the job page never refreshed: {loads}"
    assert set(loads) == {page.url}
    expect(refresh).to_have_count(0)
    assert client.get(f"rest/services/{WAIT}/jobs/{job_id}")["jobStatus"] == (
        "esriJobSucceeded"
    )
    checks.assert_page(page, "rest-job-wait-succeeded")


def test_a_job_page_with_a_file_result_fits_a_phone(
    page: Page, site: ServerProcess, client: Client, checks: Checks
) -> None:
    task = "Samples/NaturalEarth/GPServer/ExtractLayer"
    square = [[2.0, 48.0], [3.0, 48.0], [3.0, 49.0], [2.0, 49.0], [2.0, 48.0]]
    area = {
        "geometryType": "esriGeometryPolygon",
        "spatialReference": {"wkid": 4326},
        "features": [{"geometry": {"rings": [square]}, "attributes": {}}],
    }
    job_id = client.submit(
        task, layer="populated_places", area_of_interest=json.dumps(area)
    )
    assert client.wait(task, job_id)["jobStatus"] == "esriJobSucceeded"

    page.goto(f"{site.root}/rest/services/{task}/jobs/{job_id}?f=html")

    expect(page.get_by_role("link", name=re.compile(r"\.geojson$"))).to_be_visible()
    checks.assert_page(page, "rest-job-extract-layer")
