"""What the pages say and do when a form is half filled in, fails or comes from
elsewhere: the findings of a new user's trial of the HTML directories."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.admin import ADMIN_PASSWORD, ADMIN_USERNAME, Admin, start_site
from tests.e2e.html_site import (
    ADMIN_DIAG,
    DIAG,
    Browser,
    cookie_attributes,
    heading,
    job_id_from,
)
from tests.e2e.server import ServerProcess

CONFIG = """
[server]
samples = false

[[services]]
folder = "Html"
name = "Diagnostics"
toolbox = "gpserver.samples.diagnostics"

[[services]]
folder = "Html"
name = "Stoppable"
toolbox = "gpserver.samples.diagnostics"

[[services]]
folder = "Html"
name = "NaturalEarth"
toolbox = "gpserver.samples.naturalearth"
minInstancesPerNode = 0
maximumRecords = 3
"""
STOPPABLE = "rest/services/Html/Stoppable/GPServer"
ADMIN_STOPPABLE = "admin/services/Html/Stoppable.GPServer"
BUFFER = "rest/services/Html/NaturalEarth/GPServer/BufferPoints"
USERS = "admin/security/users"
ROLES = "admin/security/roles"
PUBLISHER_PASSWORD = "pat's password, long enough"
_SIGN_IN_LINK = re.compile(r'<a href="/arcgis/(rest|admin)/login\?redirect=([^"]+)">')


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = start_site(tmp_path_factory.mktemp("html-feedback"), CONFIG)
    yield process
    process.stop()


@pytest.fixture(scope="module")
def api(site: ServerProcess) -> Admin:
    return Admin(site.root)


@pytest.fixture
def browser(site: ServerProcess) -> Iterator[Browser]:
    browser = Browser(site.root)
    yield browser
    browser.close()


@pytest.fixture
def admin(browser: Browser) -> Browser:
    browser.sign_in(section="admin")
    browser.token_on("admin/security/tokens")
    return browser


def _user_row(page: str, username: str) -> str:
    found = re.search(rf'<tr><th scope="row">{username}</th>.*?</tr>', page)
    assert found, f"no row for {username}"
    return found.group(0)


def test_updating_a_user_from_the_form_keeps_the_fields_left_empty(
    admin: Browser, api: Admin
) -> None:
    api.post(
        "security/users/add",
        username="dave",
        password="dave's password, long enough",
        fullname="Dave Davidson",
        email="dave@example.org",
        description="GIS analyst",
    )

    reply = admin.post(
        f"{USERS}/update",
        f="html",
        token=admin.token,
        username="dave",
        password="",
        fullname="",
        email="",
        description="Cartographer",
    )

    assert reply.status_code == 303
    assert _user_row(admin.page(USERS), "dave") == (
        '<tr><th scope="row">dave</th><td>Dave Davidson</td><td>dave@example.org</td>'
        "<td>Cartographer</td><td></td></tr>"
    )
    # The JSON API is unchanged: a program that sends a field empty means it.
    api.post("security/users/update", username="dave", email="")
    assert _user_row(admin.page(USERS), "dave") == (
        '<tr><th scope="row">dave</th><td>Dave Davidson</td><td></td>'
        "<td>Cartographer</td><td></td></tr>"
    )


def test_a_form_that_would_change_nothing_is_refused(admin: Browser) -> None:
    user = admin.post(f"{USERS}/update", f="html", token=admin.token, username="x")
    tokens = admin.post(
        "admin/security/tokens/update",
        f="html",
        token=admin.token,
        shortTimeout="",
        longTimeout="",
    )

    assert user.status_code == 400
    assert (
        "<li>Nothing was changed: fill in at least one of password, fullname, email, "
        "description</li>" in user.text
    )
    assert tokens.status_code == 400
    assert (
        "<li>Nothing was changed: fill in at least one of shortTimeout, "
        "longTimeout</li>" in tokens.text
    )
    assert "gpserver_notice" not in str(tokens.headers.get_list("set-cookie"))


def test_assigning_a_privilege_keeps_admin_privileges_left_empty(
    admin: Browser, api: Admin
) -> None:
    api.post(
        "security/roles/add",
        rolename="Pubs",
        privilege="PUBLISH",
        adminPrivileges="update",
    )
    form = {"f": "html", "token": admin.token, "rolename": "Pubs"}

    kept = admin.post(
        f"{ROLES}/assignPrivilege", **form, privilege="PUBLISH", adminPrivileges=""
    )
    assert kept.status_code == 303
    role = api.get("security/roles/getRoles")["roles"]
    assert [r for r in role if r["rolename"] == "Pubs"] == [
        {
            "rolename": "Pubs",
            "description": "",
            "privilege": "PUBLISH",
            "adminPrivileges": ["update"],
        }
    ]

    cleared = admin.post(
        f"{ROLES}/assignPrivilege", **form, privilege="PUBLISH", adminPrivileges="none"
    )
    assert cleared.status_code == 303
    role = api.get("security/roles/getRoles")["roles"]
    assert [r["adminPrivileges"] for r in role if r["rolename"] == "Pubs"] == [[]]


def test_the_role_forms_take_admin_privileges(admin: Browser, api: Admin) -> None:
    page = admin.page(ROLES)
    assert '<label for="add-adminPrivileges">Administrative privileges</label>' in page
    assert "<h2>Update a role</h2>" in page

    added = admin.post(
        f"{ROLES}/add",
        f="html",
        token=admin.token,
        rolename="Viewers",
        description="Look only",
        privilege="ACCESS",
        adminPrivileges="viewAllContent",
    )
    updated = admin.post(
        f"{ROLES}/update",
        f="html",
        token=admin.token,
        rolename="Viewers",
        description="",
        privilege="",
        adminPrivileges="",
    )
    described = admin.post(
        f"{ROLES}/update",
        f="html",
        token=admin.token,
        rolename="Viewers",
        description="Look, never touch",
        privilege="",
        adminPrivileges="",
    )

    assert added.status_code == 303
    assert updated.status_code == 400
    assert described.status_code == 303
    roles = api.get("security/roles/getRoles")["roles"]
    assert [r for r in roles if r["rolename"] == "Viewers"] == [
        {
            "rolename": "Viewers",
            "description": "Look, never touch",
            "privilege": "ACCESS",
            "adminPrivileges": ["viewAllContent"],
        }
    ]


def test_a_stopped_service_says_so_and_its_errors_answer_503(
    admin: Browser, api: Admin
) -> None:
    api.post("services/Html/Stoppable.GPServer/stop")
    try:
        task = admin.page(f"{STOPPABLE}/Echo")
        service = admin.page(STOPPABLE)
        admin_page = admin.page(ADMIN_STOPPABLE)
        reply = admin.post(f"{STOPPABLE}/Echo/submitJob", f="html", in_string="x")
    finally:
        api.post("services/Html/Stoppable.GPServer/start")

    stopped = (
        '<p class="error" role="status" id="service-stopped">This service is stopped: '
        "it accepts no jobs until an administrator starts it.</p>"
    )
    assert stopped in task
    assert stopped in service
    assert stopped not in admin.page(STOPPABLE)
    assert "Start service" in admin_page
    assert "Stop service" not in admin_page
    assert "Stop service" in admin.page(ADMIN_STOPPABLE)
    assert reply.status_code == 503
    assert "<h2>Error 503</h2>" in reply.text


def test_every_error_page_answers_the_status_it_shows(admin: Browser) -> None:
    missing = admin.get(f"{DIAG}/Echo/jobs/j{'0' * 32}")
    get_only = admin.get("admin/security/tokens/update")
    no_token = admin.post(f"{ADMIN_DIAG}/stop", f="html")
    bad_value = admin.post(f"{DIAG}/Wait/submitJob", f="html", seconds="soon")

    assert [r.status_code for r in (missing, get_only, no_token, bad_value)] == [
        404,
        405,
        403,
        400,
    ]
    assert "<h2>Error 404</h2>" in missing.text
    assert "<h2>Error 405</h2>" in get_only.text
    assert '<h2>Error 403 <span class="muted">(code 499)</span></h2>' in no_token.text
    assert "<h2>Error 400</h2>" in bad_value.text


def test_an_error_page_lists_each_message_once_and_links_back(
    admin: Browser, site: ServerProcess
) -> None:
    form_page = f"{site.root}/{USERS}?f=html"
    reply = admin.client.post(
        f"/{USERS}/add",
        data={"f": "html", "token": admin.token, "username": "eve"},
        headers={"Referer": form_page},
    )
    elsewhere = admin.client.post(
        f"/{USERS}/add",
        data={"f": "html", "token": admin.token, "username": "eve"},
        headers={"Referer": "http://evil.example/page"},
    )

    assert reply.status_code == 400
    assert reply.text.count("password is required") == 1
    assert f'<p><a href="/arcgis/{USERS}?f=html">Back</a>' in reply.text
    assert f'<p><a href="/arcgis/{USERS}?f=html">Back</a>' in elsewhere.text


def test_a_job_query_mistake_keeps_the_form(admin: Browser) -> None:
    reply = admin.get(f"{ADMIN_DIAG}/jobs/query", f="html", number="abc")

    assert reply.status_code == 400
    assert heading(reply.text) == "Jobs of Html/Diagnostics"
    assert re.search(
        r'<div class="error" role="alert">\n<p><strong>The jobs could not be found'
        r"</strong></p>\n<ul>\n<li>[^<]*number[^<]*</li>",
        reply.text,
    )
    assert '<form class="stacked" method="get"' in reply.text


def test_the_jobs_page_lists_the_latest_jobs(admin: Browser) -> None:
    reply = admin.post(f"{DIAG}/Echo/submitJob", f="html", in_string="listed")
    job_id = job_id_from(reply.headers["location"], f"{DIAG}/Echo")

    page = admin.page(f"{ADMIN_DIAG}/jobs")

    assert "<h2>Jobs found</h2>" in page
    assert (
        f'<th scope="row"><a href="/arcgis/{ADMIN_DIAG}/jobs/{job_id}?f=html">'
        f"{job_id}</a></th><td>Echo</td>" in page
    )


@pytest.mark.parametrize("section", ["rest", "admin"])
@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ],
)
def test_sign_in_and_out_from_another_site_are_refused(
    browser: Browser, section: str, headers: dict[str, str]
) -> None:
    credentials = {"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD}
    login = browser.client.post(f"/{section}/login", data=credentials, headers=headers)
    assert login.status_code == 403
    assert "set-cookie" not in login.headers
    assert (
        "<li>Signing in or out must start from this server&#39;s own pages: the "
        "request came from another site and was refused.</li>" in login.text
    )

    browser.sign_in(section=section)
    logout = browser.client.post(f"/{section}/logout", headers=headers)
    assert logout.status_code == 403
    assert "set-cookie" not in logout.headers


def test_sign_in_and_out_from_the_site_itself_go_through(
    browser: Browser, site: ServerProcess
) -> None:
    own = {"Origin": f"http://127.0.0.1:{site.port}", "Sec-Fetch-Site": "same-origin"}
    credentials = {"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD}

    login = browser.client.post("/rest/login", data=credentials, headers=own)
    typed = browser.client.post(
        "/rest/login", data=credentials, headers={"Sec-Fetch-Site": "none"}
    )
    logout = browser.client.post("/rest/logout", headers=own)

    assert (login.status_code, typed.status_code, logout.status_code) == (303, 303, 303)
    assert cookie_attributes(logout)["max-age"] == "0"


def test_the_json_link_reads_the_cookie_only_as_a_same_origin_navigation(
    browser: Browser,
) -> None:
    browser.sign_in(section="admin")
    navigation = {"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "navigate"}

    followed = browser.client.get(
        "/admin/security/tokens", params={"f": "pjson"}, headers=navigation
    )
    assert followed.status_code == 200
    assert followed.headers["content-type"] == "text/plain; charset=utf-8"
    assert json.loads(followed.text)["properties"]["shortTimeout"] == "60"

    refused = {"status": "error", "messages": ["Token Required"], "code": 499}
    asked = [
        ({"f": "json"}, {}),
        ({"f": "json"}, {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}),
        ({"f": "json"}, {"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors"}),
    ]
    for params, headers in asked:
        reply = browser.client.get(
            "/admin/security/tokens", params=params, headers=headers
        )
        assert reply.json() == refused, (params, headers)
    jsonp = browser.client.get(
        "/admin/security/tokens",
        params={"f": "json", "callback": "grab"},
        headers=navigation,
    )
    assert jsonp.text == f"grab({json.dumps(refused, separators=(',', ':'))});"
    posted = browser.client.post(
        "/admin/security/tokens", data={"f": "json"}, headers=navigation
    )
    assert posted.json() == refused


@pytest.mark.parametrize(
    ("target", "landing"),
    [
        (
            f"/arcgis/{DIAG}/Wait/submitJob?seconds=1",
            f"/arcgis/{DIAG}/Wait?f=html",
        ),
        (f"/arcgis/{DIAG}/Wait/jobs/j{'0' * 32}/cancel", None),
        (
            "/arcgis/admin/security/tokens/update",
            "/arcgis/admin/security/tokens?f=html",
        ),
        (
            "/arcgis/admin/security/users/getUsers",
            "/arcgis/admin/security/users/getUsers",
        ),
    ],
)
def test_sign_in_never_comes_back_to_an_operation_it_cannot_show(
    browser: Browser, target: str, landing: str | None
) -> None:
    landing = landing or target.removesuffix("/cancel") + "?f=html"
    reply = browser.client.post(
        "/admin/login",
        data={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD},
        params={"redirect": target},
    )

    assert reply.status_code == 303
    assert reply.headers["location"] == landing


def test_an_operation_refused_for_want_of_a_token_offers_its_page(
    admin: Browser,
) -> None:
    reply = admin.post("admin/security/tokens/update", f="html", shortTimeout="5")

    assert reply.status_code == 403
    found = _SIGN_IN_LINK.search(reply.text)
    assert found and found.groups() == (
        "admin",
        "/arcgis/admin/security/tokens%3Ff%3Dhtml",
    )


@pytest.mark.parametrize(
    "target",
    [
        "/arcgis/../evil",
        "/arcgis/rest/../../evil",
        "/arcgis/./x",
        "/arcgis/%2e%2e/evil",
    ],
)
def test_sign_in_refuses_a_redirect_with_dot_steps(
    browser: Browser, target: str
) -> None:
    reply = browser.client.post(
        "/rest/login",
        data={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD},
        params={"redirect": target},
    )

    assert reply.status_code == 400
    assert "set-cookie" not in reply.headers


def test_a_failed_sign_in_keeps_the_username_and_throttling_is_429(
    browser: Browser,
) -> None:
    statuses = []
    for _ in range(6):
        reply = browser.post("rest/login", username="mallory", password="wrong")
        statuses.append(reply.status_code)

    assert statuses == [400, 400, 400, 400, 400, 429]
    assert 'name="username" type="text" value="mallory"' in reply.text
    assert "<li>Too many failed sign-ins; try again in 1 second.</li>" in reply.text


def test_a_notice_comes_only_from_a_change_made_here(admin: Browser) -> None:
    forged = admin.page(ADMIN_DIAG, f="html", done="services.service.stop")
    assert 'class="notice"' not in forged

    reply = admin.post(
        "admin/system/directories/arcgisjobs/clean", f="html", token=admin.token
    )
    assert reply.status_code == 303
    assert (
        reply.headers["location"]
        == "/arcgis/admin/system/directories/arcgisjobs?f=html"
    )
    assert cookie_attributes(reply, "gpserver_notice") == {
        "value": "system.directories.clean:0",
        "httponly": "True",
        "max-age": "60",
        "path": "/arcgis/admin/system/directories/arcgisjobs",
        "samesite": "strict",
    }
    page = admin.page("admin/system/directories/arcgisjobs")
    assert (
        '<p class="notice" role="status">The jobs directory was cleaned: 0 jobs '
        "removed.</p>" in page
    )
    again = admin.page("admin/system/directories/arcgisjobs")
    assert 'class="notice"' not in again


def test_changing_your_own_password_says_so_on_the_login_page(
    browser: Browser, api: Admin
) -> None:
    api.post(
        "security/users/add",
        username="pat",
        password=PUBLISHER_PASSWORD,
        fullname="Pat",
    )
    api.post("security/roles/add", rolename="Admins2", privilege="ADMINISTER")
    api.post("security/roles/addUsersToRole", rolename="Admins2", users="pat")
    browser.sign_in("pat", PUBLISHER_PASSWORD, section="admin")
    token = browser.token_on(USERS)

    reply = browser.post(
        f"{USERS}/update",
        f="html",
        token=token,
        username="pat",
        password="a new one, long enough",
    )

    assert reply.status_code == 303
    assert reply.headers["location"] == (
        "/arcgis/admin/login?redirect=/arcgis/admin/security/users"
    )
    login = browser.page("admin/login", redirect="/arcgis/admin/security/users")
    assert (
        '<p class="notice" role="status">Your password was changed, which ended your '
        "sign-in. Sign in with the new password.</p>" in login
    )


def test_a_publisher_sees_no_links_it_cannot_open(browser: Browser, api: Admin) -> None:
    api.post("security/users/add", username="quinn", password=PUBLISHER_PASSWORD)
    api.post(
        "security/roles/add",
        rolename="Publishers",
        privilege="PUBLISH",
        adminPrivileges="update",
    )
    api.post("security/roles/addUsersToRole", rolename="Publishers", users="quinn")
    browser.sign_in("quinn", PUBLISHER_PASSWORD, section="admin")

    root = browser.page("admin")
    service = browser.page(ADMIN_DIAG)

    assert '<a href="/arcgis/admin/services?f=html">services</a>' in root
    assert "/arcgis/admin/security" not in root.split("<main>")[1]
    assert "/arcgis/admin/system" not in root.split("<main>")[1]
    assert "/permissions" not in service
    assert "Stop service" in service


def test_a_result_over_the_maximum_records_says_so(admin: Browser) -> None:
    points = {
        "geometryType": "esriGeometryPoint",
        "spatialReference": {"wkid": 4326},
        "features": [
            {"geometry": {"x": x, "y": 0}, "attributes": {}} for x in range(4)
        ],
    }
    reply = admin.post(
        f"{BUFFER}/submitJob", f="html", points=json.dumps(points), distance="1"
    )
    job_id = job_id_from(reply.headers["location"], BUFFER)
    assert admin.wait_finished(BUFFER, job_id) == "esriJobSucceeded"

    page = admin.page(f"{BUFFER}/jobs/{job_id}")

    assert (
        '<p class="error">The result has more features than the service\'s maximum '
        "records (3), so none were returned (exceededTransferLimit is true). Ask for "
        "fewer, or have an administrator raise the service's maximum records.</p>"
        in page
    )


def test_a_large_input_is_cut_short_on_the_job_page(admin: Browser) -> None:
    text = "x" * 150_000
    reply = admin.post(f"{DIAG}/Echo/submitJob", f="html", in_string=text)
    job_id = job_id_from(reply.headers["location"], f"{DIAG}/Echo")
    admin.wait_finished(f"{DIAG}/Echo", job_id)

    page = admin.page(f"{DIAG}/Echo/jobs/{job_id}")
    whole = httpx.get(
        f"{admin.root}/{DIAG}/Echo/jobs/{job_id}/inputs/in_string", params={"f": "json"}
    )

    assert len(page) < 250_000
    assert page.count("... (50,000 more characters: see the JSON)") == 2
    assert whole.json()["value"] == text


def test_pages_name_a_favicon_of_their_own(browser: Browser) -> None:
    assert '<link rel="icon" href="data:,">' in browser.page("rest/services")


def test_a_public_page_read_with_a_lost_sign_in_says_so(browser: Browser) -> None:
    browser.client.cookies.set("gpserver_token", "not.a-token", path="/arcgis")

    reply = browser.get("rest/services")

    assert reply.status_code == 200
    assert (
        '<p class="notice" role="status">Your sign-in has expired or is no longer '
        "valid; you are signed out.</p>" in reply.text
    )
    assert cookie_attributes(reply)["max-age"] == "0"


def test_a_service_edit_refuses_keys_it_cannot_change(
    admin: Browser, api: Admin
) -> None:
    service = api.get("services/Html/Diagnostics.GPServer")
    changed = {
        **service,
        "serviceName": "Other",
        "maxRecordCount": "many",
        "properties": {**service["properties"], "toolbox": "elsewhere"},
    }
    message = (
        "The service JSON cannot be applied: unknown keys maxRecordCount; keys set "
        "by the configuration file, not by edit: serviceName, properties.toolbox. "
        "Editable: description, minInstancesPerNode, maxInstancesPerNode, "
        "maxUsageTime, maxWaitTime, maximumRecords, showMessages"
    )

    as_json = api.post(
        "services/Html/Diagnostics.GPServer/edit", service=json.dumps(changed)
    )
    page = admin.post(
        f"{ADMIN_DIAG}/edit",
        f="html",
        token=admin.token,
        service=json.dumps(changed),
    )
    unchanged = api.post(
        "services/Html/Diagnostics.GPServer/edit",
        service=json.dumps({**service, "description": "Still the same service"}),
    )

    assert as_json == {"status": "error", "messages": [message], "code": 400}
    assert page.status_code == 400
    assert f"<li>{message}</li>" in page.text
    assert unchanged == {"status": "success"}
    assert api.get("services/Html/Diagnostics.GPServer")["serviceName"] == (
        "Diagnostics"
    )
