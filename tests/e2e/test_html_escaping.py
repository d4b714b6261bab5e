"""Every page escapes what users and tools wrote.

Markup and script go in through each field a person or a tool controls (user and
role names and descriptions, a service's description, a job's inputs, results and
messages); every page that shows them must show the escaped text, never the markup.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.admin import start_site
from tests.e2e.html_site import (
    ADMIN_DIAG,
    CONFIG,
    CSP,
    DIAG,
    SYNC,
    Browser,
    job_id_from,
)
from tests.e2e.server import ServerProcess

SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE = '"><img src=x onerror=alert(1)>'
ESCAPED = {
    SCRIPT: "&lt;script&gt;alert(1)&lt;/script&gt;",
    ATTRIBUTE: "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;",
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = start_site(tmp_path_factory.mktemp("html-escaping"), CONFIG)
    yield process
    process.stop()


@pytest.fixture(scope="module")
def admin(site: ServerProcess) -> Iterator[Browser]:
    browser = Browser(site.root)
    browser.sign_in(section="admin")
    browser.token_on("admin/security/tokens")
    yield browser
    browser.close()


def assert_escaped(page: str, *texts: str) -> None:
    for text in (SCRIPT, ATTRIBUTE):
        assert text not in page
    for text in texts:
        assert ESCAPED[text] in page, text


def _submit(browser: Browser, task: str, **inputs: str) -> str:
    reply = browser.post(f"{DIAG}/{task}/submitJob", f="html", **inputs)
    assert reply.status_code == 303
    job_id = job_id_from(reply.headers["location"], f"{DIAG}/{task}")
    browser.wait_finished(f"{DIAG}/{task}", job_id)
    return job_id


def test_names_and_descriptions_of_users_and_roles(admin: Browser) -> None:
    for username, extra in ((SCRIPT, ATTRIBUTE), (ATTRIBUTE, SCRIPT)):
        reply = admin.post(
            "admin/security/users/add",
            f="html",
            token=admin.token,
            username=username,
            password="a password for the test",
            fullname=extra,
            description=extra,
            email=extra,
        )
        assert reply.status_code == 303
        reply = admin.post(
            "admin/security/roles/add",
            f="html",
            token=admin.token,
            rolename=username,
            description=extra,
        )
        assert reply.status_code == 303
        reply = admin.post(
            "admin/security/roles/addUsersToRole",
            f="html",
            token=admin.token,
            rolename=username,
            users=username,
        )
        assert reply.status_code == 303

    for path in (
        "admin/security/users",
        "admin/security/users/getUsers",
        "admin/security/roles",
        "admin/security/roles/getRoles",
    ):
        page = admin.page(path)
        assert_escaped(page, SCRIPT, ATTRIBUTE)
    page = admin.page("admin/security/users/search", filter="img")
    assert_escaped(page, ATTRIBUTE)


def test_a_service_description(admin: Browser) -> None:
    description = f"{SCRIPT} {ATTRIBUTE}"
    reply = admin.post(
        f"{ADMIN_DIAG}/edit",
        f="html",
        token=admin.token,
        description=description,
    )
    assert reply.status_code == 303

    for path in (ADMIN_DIAG, "admin/services/Html", DIAG):
        reply = admin.get(path)
        assert reply.status_code == 200
        assert reply.headers["content-security-policy"] == CSP
        assert_escaped(reply.text, SCRIPT, ATTRIBUTE)


def test_job_inputs_results_and_messages(admin: Browser) -> None:
    echo = _submit(admin, "Echo", in_string=SCRIPT, in_multi_string=f'["{SCRIPT}"]')
    failed = _submit(admin, "Fail", message=ATTRIBUTE)

    job = f"{DIAG}/Echo/jobs/{echo}"
    for path in (
        job,
        f"{job}/results",
        f"{job}/results/out_string",
        f"{job}/inputs",
        f"{job}/inputs/in_string",
    ):
        assert_escaped(admin.page(path), SCRIPT)
    assert_escaped(admin.page(f"{DIAG}/Fail/jobs/{failed}"), ATTRIBUTE)
    assert_escaped(admin.page(f"{ADMIN_DIAG}/jobs/{failed}"), ATTRIBUTE)
    listed = admin.page(f"{ADMIN_DIAG}/jobs/query", f="html")
    assert SCRIPT not in listed and ATTRIBUTE not in listed


def test_execute_results_and_errors(admin: Browser) -> None:
    reply = admin.post(f"{SYNC}/Echo/execute", f="html", in_string=ATTRIBUTE)
    assert reply.status_code == 200
    assert_escaped(reply.text, ATTRIBUTE)

    refused = admin.post(f"{DIAG}/Wait/submitJob", f="html", seconds=SCRIPT)
    assert refused.status_code == 400
    assert_escaped(refused.text, SCRIPT)


def test_parameters_of_the_query_string(admin: Browser) -> None:
    page = admin.page(f"{ADMIN_DIAG}/jobs/query", userName=ATTRIBUTE)
    assert_escaped(page, ATTRIBUTE)
    missing = admin.get(f"rest/services/{SCRIPT}")
    assert missing.status_code == 404
    assert_escaped(missing.text, SCRIPT)
