"""The jobs of a service in the Administrator Directory: cancelling a job from its
page, and the statistics page against the JSON statistics.
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.browsing import Checks, reload_until_status, sign_in
from tests.e2e.admin import Admin
from tests.e2e.server import Client, ServerProcess

WAIT = "Samples/Diagnostics/GPServer/Wait"
FAIL = "Samples/Diagnostics/GPServer/Fail"
JOBS = "services/Samples/Diagnostics.GPServer/jobs"
COUNTS = ("Total", "Cancelled", "Failed", "Succeeded")


def test_cancel_a_wait_job_from_its_admin_page(
    page: Page, site: ServerProcess, client: Client, admin: Admin, checks: Checks
) -> None:
    job_id = client.submit(WAIT, seconds=60)
    client.wait_status(WAIT, job_id, "esriJobExecuting")
    sign_in(page, site.root, "admin")
    page.goto(f"{site.root}/admin/{JOBS}/{job_id}?f=html")
    expect(page.locator("#job-status")).to_have_text("esriJobExecuting")
    expect(page.get_by_role("button", name="Delete job", exact=True)).to_be_visible()
    checks.assert_page(page, "admin-job-executing", button="Cancel job")

    page.get_by_role("button", name="Cancel job", exact=True).click()
    page.wait_for_load_state()
    reload_until_status(page, "esriJobCancelled")

    checks.assert_page(page, "admin-job-cancelled", button="Delete job")
    assert client.get(f"rest/services/{WAIT}/jobs/{job_id}")["jobStatus"] == (
        "esriJobCancelled"
    )
    assert admin.get(f"{JOBS}/{job_id}")["status"] == "esriJobCancelled"


def test_statistics_page_shows_the_json_counts(
    page: Page, site: ServerProcess, client: Client, admin: Admin, checks: Checks
) -> None:
    before = admin.post(f"{JOBS}/statistics")
    _finish_jobs_of_each_end(client, admin)
    expected = {
        "total": before["total"] + 4,
        "cancelled": before["cancelled"] + 1,
        "failed": before["failed"] + 1,
        "succeeded": before["succeeded"] + 2,
    }
    assert admin.post(f"{JOBS}/statistics") == expected

    sign_in(page, site.root, "admin")
    page.goto(f"{site.root}/admin/{JOBS}/statistics?f=html")
    checks.assert_page(page, "admin-statistics-form", button="Get statistics")
    page.get_by_role("button", name="Get statistics", exact=True).click()
    page.wait_for_load_state()

    shown = {name.lower(): _count_in_row(page, name) for name in COUNTS}
    assert shown == expected
    assert admin.post(f"{JOBS}/statistics") == expected
    expect(page.locator("svg")).to_be_visible()
    checks.assert_page(page, "admin-statistics")


def _finish_jobs_of_each_end(client: Client, admin: Admin) -> None:
    """Two succeeded, one failed and one cancelled job of Samples/Diagnostics."""
    succeeded = [client.submit(WAIT, seconds=0) for _ in range(2)]
    failed = client.submit(FAIL)
    cancelled = client.submit(WAIT, seconds=60)
    client.wait_status(WAIT, cancelled, "esriJobExecuting")
    assert admin.post(f"{JOBS}/{cancelled}/cancel") == {"status": "success"}

    for job_id in succeeded:
        assert client.wait(WAIT, job_id)["jobStatus"] == "esriJobSucceeded"
    assert client.wait(FAIL, failed)["jobStatus"] == "esriJobFailed"
    assert client.wait(WAIT, cancelled)["jobStatus"] == "esriJobCancelled"


def _count_in_row(page: Page, name: str) -> int:
    header = page.get_by_role("rowheader", name=name, exact=True)
    row = page.get_by_role("row").filter(has=header)
    expect(row).to_have_count(1)
    return int(row.get_by_role("cell").inner_text().strip())
