"""The Administrator Directory as pages: every resource, and its forms."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.e2e.admin import start_site
from tests.e2e.html_site import (
    ADMIN_DIAG,
    CONFIG,
    CSP,
    DIAG,
    Browser,
    heading,
    job_id_from,
)
from tests.e2e.server import ServerProcess

JOBS = f"{ADMIN_DIAG}/jobs"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = start_site(tmp_path_factory.mktemp("html-admin"), CONFIG)
    yield process
    process.stop()


@pytest.fixture
def admin(site: ServerProcess) -> Iterator[Browser]:
    browser = Browser(site.root)
    browser.sign_in(section="admin")
    browser.token_on("admin/security/tokens")
    yield browser
    browser.close()


def _submit(browser: Browser, task: str, **inputs: str) -> str:
    reply = browser.post(f"{DIAG}/{task}/submitJob", f="html", **inputs)
    assert reply.status_code == 303
    return job_id_from(reply.headers["location"], f"{DIAG}/{task}")


def test_every_admin_resource_is_a_page(admin: Browser) -> None:
    pages = {
        "admin": "Administrator Directory",
        "admin/info": "Server information",
        "admin/security": "Security",
        "admin/security/tokens": "Token settings",
        "admin/security/users": "Users",
        "admin/security/users/getUsers": "Users",
        "admin/security/roles": "Roles",
        "admin/security/roles/getRoles": "Roles",
        "admin/services": "Services",
        "admin/services/Html": "Services in Html",
        ADMIN_DIAG: "Html/Diagnostics (GPServer)",
        f"{ADMIN_DIAG}/permissions": "Permissions of Html/Diagnostics.GPServer",
        f"{ADMIN_DIAG}/status": "Service status",
        JOBS: "Jobs of Html/Diagnostics",
        f"{JOBS}/query": "Jobs of Html/Diagnostics",
        f"{JOBS}/statistics": "Job statistics of Html/Diagnostics",
        "admin/system": "System",
        "admin/system/directories": "Server directories",
        "admin/system/directories/arcgisjobs": "Jobs directory",
    }
    for path, title in pages.items():
        reply = admin.get(path)
        assert reply.status_code == 200, path
        assert reply.headers["content-security-policy"] == CSP
        assert reply.headers["cache-control"] == "no-store"
        assert heading(reply.text) == title
        assert "<span>Signed in as <strong>siteadmin</strong></span>" in reply.text


def test_root_links_its_resources(admin: Browser) -> None:
    page = admin.page("admin")
    for name in ("services", "security", "system", "info"):
        assert f'<li><a href="/arcgis/admin/{name}?f=html">{name}</a></li>' in page


def test_every_form_carries_the_token_in_its_body(admin: Browser) -> None:
    token = admin.token
    for path in (ADMIN_DIAG, "admin/security/users", "admin/security/roles"):
        page = admin.page(path)
        forms = re.findall(r'<form[^>]*method="post"[^>]*>(.*?)</form>', page, re.S)
        # Every form but the sign-out button changes something.
        changing = [f for f in forms if "Sign out" not in f]
        assert changing, path
        for form in changing:
            assert f'<input type="hidden" name="token" value="{token}">' in form


def test_the_admin_job_page_cancels_and_deletes(admin: Browser) -> None:
    job_id = _submit(admin, "Wait", seconds="60")
    admin.wait_for_status(f"{DIAG}/Wait", job_id, {"esriJobExecuting"})
    page = admin.page(f"{JOBS}/{job_id}", f="html")
    assert heading(page) == f"Job {job_id}"
    assert '<span id="job-status">esriJobExecuting</span>' in page
    assert '<button type="submit">Cancel job</button>' in page
    assert '<button type="submit" class="danger">Delete job</button>' in page

    cancelled = admin.post(f"{JOBS}/{job_id}/cancel", f="html", token=admin.token)
    assert cancelled.status_code == 303
    assert cancelled.headers["location"] == (f"/arcgis/{JOBS}/{job_id}?f=html")
    assert admin.wait_finished(f"{DIAG}/Wait", job_id) == "esriJobCancelled"
    page = admin.page(f"{JOBS}/{job_id}", f="html")
    assert '<p class="notice" role="status">The job was asked to cancel.</p>' in page
    assert '<span id="job-status">esriJobCancelled</span>' in page
    assert "Cancel job" not in page

    deleted = admin.post(f"{JOBS}/{job_id}/delete", f="html", token=admin.token)
    assert deleted.status_code == 303
    assert deleted.headers["location"] == (f"/arcgis/{JOBS}?f=html")
    assert admin.get(f"{JOBS}/{job_id}", f="html").status_code == 404


def test_the_statistics_page_shows_counts_and_a_chart(admin: Browser) -> None:
    for seconds in ("0", "0.1"):
        job_id = _submit(admin, "Wait", seconds=seconds)
        admin.wait_finished(f"{DIAG}/Wait", job_id)
    failed = _submit(admin, "Fail")
    admin.wait_finished(f"{DIAG}/Fail", failed)
    form = admin.page(f"{JOBS}/statistics", f="html")
    assert '<button type="submit">Get statistics</button>' in form

    reply = admin.post(f"{JOBS}/statistics", f="html", token=admin.token)

    assert reply.status_code == 200
    counts = admin.post(f"{JOBS}/statistics", f="json", token=admin.token).json()
    page = reply.text
    for label, key in (
        ("Total", "total"),
        ("Cancelled", "cancelled"),
        ("Failed", "failed"),
        ("Succeeded", "succeeded"),
    ):
        row = f'<tr><th scope="row">{label}</th><td class="number">{counts[key]}</td>'
        assert row in page
    assert counts["failed"] >= 1 and counts["succeeded"] >= 2
    assert (
        '<svg class="chart" role="img" aria-labelledby="chart-title chart-desc"' in page
    )
    assert '<title id="chart-title">Jobs of Html/Diagnostics by outcome</title>' in page
    assert (
        f'<desc id="chart-desc">Total: {counts["total"]}, Cancelled: '
        f"{counts['cancelled']}, Failed: {counts['failed']}, Succeeded: "
        f"{counts['succeeded']}</desc>" in page
    )
    # The largest count, the total, draws the longest bar: 310 units.
    assert '<rect class="bar" x="100" y="10" width="310" height="24"/>' in page


def test_the_job_query_pages_keep_the_filter(admin: Browser) -> None:
    for text in ("a", "b", "c"):
        job_id = _submit(admin, "Echo", in_string=text)
        admin.wait_finished(f"{DIAG}/Echo", job_id)
    total = admin.get(
        f"{JOBS}/query", f="json", startTime="0", jobStatus="esriJobSucceeded"
    )
    assert total.status_code == 200

    first = admin.page(f"{JOBS}/query", jobStatus="esriJobSucceeded", number="2")

    assert '<option value="esriJobSucceeded" selected>' in first
    following = re.search(r'<a href="([^"]+)" rel="next">Next page</a>', first)
    assert following is not None
    assert following.group(1) == (
        f"/arcgis/{JOBS}/query?jobStatus=esriJobSucceeded&amp;number=2&amp;start=3"
        "&amp;f=html"
    )
    second = admin.page(
        f"{JOBS}/query", jobStatus="esriJobSucceeded", number="2", start="3"
    )
    assert (
        f'<a href="/arcgis/{JOBS}/query?jobStatus=esriJobSucceeded&amp;number=2'
        '&amp;start=1&amp;f=html" rel="prev">Previous page</a>'
    ) in second


def test_users_and_roles_are_managed_from_their_pages(admin: Browser) -> None:
    token = admin.token
    added = admin.post(
        "admin/security/users/add",
        f="html",
        token=token,
        username="carol",
        password="carol's password 1",
        fullname="Carol Jones",
    )
    assert added.status_code == 303
    assert added.headers["location"] == ("/arcgis/admin/security/users?f=html")
    role = admin.post(
        "admin/security/roles/add",
        f="html",
        token=token,
        rolename="Editors",
        description="Edit things",
        privilege="PUBLISH",
    )
    assert role.status_code == 303
    members = admin.post(
        "admin/security/roles/addUsersToRole",
        f="html",
        token=token,
        rolename="Editors",
        users="carol",
    )
    assert members.status_code == 303

    users = admin.page("admin/security/users")
    assert '<p class="notice" role="status">The user was added.</p>' in users
    assert (
        '<tr><th scope="row">carol</th><td>Carol Jones</td><td></td><td></td>'
        "<td>Editors</td></tr>" in users
    )
    roles = admin.page("admin/security/roles")
    assert (
        '<tr><th scope="row">Editors</th><td>Edit things</td><td>PUBLISH</td>'
        "<td></td><td>carol</td></tr>" in roles
    )

    refused = admin.post("admin/security/users/add", f="html", token=token)
    assert refused.status_code == 400
    assert "<li>password is required</li>" in refused.text


def test_token_settings_and_cleanup_are_edited_from_forms(admin: Browser) -> None:
    token = admin.token
    updated = admin.post(
        "admin/security/tokens/update",
        f="html",
        token=token,
        shortTimeout="30",
        longTimeout="600",
    )
    assert updated.status_code == 303
    page = admin.page("admin/security/tokens")
    assert 'name="shortTimeout" type="number" min="1" step="1" value="30"' in page
    assert 'name="longTimeout" type="number" min="1" step="1" value="600"' in page
    admin.post(
        "admin/security/tokens/update",
        f="html",
        token=token,
        shortTimeout="60",
        longTimeout="1440",
    )

    directory = "admin/system/directories/arcgisjobs"
    edited = admin.post(f"{directory}/edit", f="html", token=token, maxFileAge="720")
    assert edited.status_code == 303
    assert edited.headers["location"] == (f"/arcgis/{directory}?f=html")
    assert "<dt>Maximum file age</dt><dd>720 minutes</dd>" in admin.page(directory)
    cleaned = admin.post(f"{directory}/clean", f="html", token=token)
    assert cleaned.status_code == 303


def test_the_service_is_edited_from_its_json(admin: Browser) -> None:
    page = admin.page(ADMIN_DIAG)
    assert '<label for="service-json">Service JSON</label>' in page

    edited = admin.post(
        f"{ADMIN_DIAG}/edit",
        f="html",
        token=admin.token,
        service='{"description": "Checks for the page tests"}',
    )

    assert edited.status_code == 303
    assert "<p>Checks for the page tests</p>" in admin.page(ADMIN_DIAG)
    assert "<p>Checks for the page tests</p>" in admin.page(
        "rest/services/Html/Diagnostics/GPServer"
    )
