"""The Services Directory as pages, and signing in and out, over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.admin import ADMIN_USERNAME, start_site
from tests.e2e.html_site import (
    ADMIN_DIAG,
    CONFIG,
    CSP,
    DIAG,
    EARTH,
    SYNC,
    Browser,
    cookie_attributes,
    heading,
    job_id_from,
)
from tests.e2e.server import ServerProcess

POINTS = json.dumps(
    {
        "geometryType": "esriGeometryPoint",
        "spatialReference": {"wkid": 4326},
        "features": [{"geometry": {"x": 6.13, "y": 49.61}, "attributes": {"id": 7}}],
    }
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = start_site(tmp_path_factory.mktemp("html-directory"), CONFIG)
    yield process
    process.stop()


@pytest.fixture
def browser(site: ServerProcess) -> Iterator[Browser]:
    browser = Browser(site.root)
    yield browser
    browser.close()


def _submit(browser: Browser, task: str, **inputs: str) -> str:
    reply = browser.post(f"{task}/submitJob", f="html", **inputs)
    assert reply.status_code == 303
    return job_id_from(reply.headers["location"], task)


def test_every_services_directory_resource_is_a_page(browser: Browser) -> None:
    job_id = _submit(browser, f"{DIAG}/Echo", in_string="hello", in_long="42")
    browser.wait_finished(f"{DIAG}/Echo", job_id)
    job = f"{DIAG}/Echo/jobs/{job_id}"
    pages = {
        "rest/services": "Folder: /",
        "rest/services/Html": "Folder: Html",
        DIAG: "Html/Diagnostics (GPServer)",
        f"{DIAG}/Echo": "Task: Echo",
        job: f"Job {job_id}",
        f"{job}/results": f"results of {job_id}",
        f"{job}/results/out_long": "out_long",
        f"{job}/inputs": f"inputs of {job_id}",
        f"{job}/inputs/in_string": "in_string",
        "rest/info": "Info",
        "rest/info/healthCheck": "Health check",
    }
    for path, title in pages.items():
        for params in ({}, {"f": "html"}):
            reply = browser.get(path, **params)
            assert reply.status_code == 200, path
            assert reply.headers["content-type"] == "text/html; charset=utf-8"
            assert reply.headers["content-security-policy"] == CSP
            assert reply.headers["cache-control"] == "no-store"
            assert heading(reply.text) == title
            assert '<html lang="en">' in reply.text
            assert (
                '<meta name="viewport" content="width=device-width, '
                'initial-scale=1">' in reply.text
            )


def test_pages_show_fields_links_and_the_json_link(browser: Browser) -> None:
    catalog = browser.page("rest/services/Html")
    assert (
        '<li><a href="/arcgis/rest/services/Html/Diagnostics/GPServer">'
        "Html/Diagnostics</a> " in catalog
    )
    service = browser.page(DIAG)
    assert "<dt>Execution type</dt><dd>esriExecutionTypeAsynchronous</dd>" in service
    assert (
        '<li><a href="/arcgis/rest/services/Html/Diagnostics/GPServer/Wait">Wait</a>'
        in service
    )
    assert (
        '<a href="/arcgis/rest/services/Html/Diagnostics/GPServer?f=pjson">'
        "View this resource as JSON</a>" in service
    )
    wait = browser.page(f"{DIAG}/Wait")
    assert (
        '<tr>\n<th scope="row">seconds</th>\n<td>Seconds</td>\n<td>GPDouble</td>\n'
        "<td>Input</td>\n<td>Required</td>\n"
    ) in wait


def test_the_task_form_has_a_field_suited_to_each_type(browser: Browser) -> None:
    echo = browser.page(f"{DIAG}/Echo")
    assert (
        f'<form class="stacked" method="post" action="/arcgis/{DIAG}/Echo/submitJob">'
        in echo
    )
    assert '<label for="param-in_string">in_string</label>' in echo
    assert '<input id="param-in_string" name="in_string" type="text" value=""' in echo
    assert (
        '<input id="param-in_long" name="in_long" type="number" step="1" value=""'
        in echo
    )
    assert (
        '<input id="param-in_double" name="in_double" type="number" step="any" '
        'value=""' in echo
    )
    assert '<select id="param-in_boolean" name="in_boolean"' in echo
    assert (
        '<input id="param-in_date" name="in_date" type="datetime-local" step="1"'
        in echo
    )
    for name in ("in_feature_set", "in_record_set", "in_multi_string"):
        assert f'<textarea id="param-{name}" name="{name}" rows="8"' in echo
    assert '<button type="submit">Submit job</button>' in echo

    wait = browser.page(f"{DIAG}/Wait")
    assert (
        '<input id="param-seconds" name="seconds" type="number" step="any" min="0" '
        'max="600" value=""' in wait
    )
    buffer = browser.page(f"{EARTH}/BufferPoints")
    assert '<label for="param-points">points</label>' in buffer
    assert '<label for="param-distance">distance</label>' in buffer
    assert "&#34;geometryType&#34;: &#34;esriGeometryPoint&#34;" in buffer

    sync = browser.page(f"{SYNC}/Echo")
    assert f'action="/arcgis/{SYNC}/Echo/execute"' in sync
    assert '<button type="submit">Execute</button>' in sync


def test_submit_job_redirects_to_a_job_page_that_refreshes_until_done(
    browser: Browser,
) -> None:
    task = f"{DIAG}/Wait"
    reply = browser.post(f"{task}/submitJob", f="html", seconds="1.5")

    assert reply.status_code == 303
    job_id = job_id_from(reply.headers["location"], task)
    running = browser.page(f"{task}/jobs/{job_id}", f="html")
    assert '<meta http-equiv="refresh" content="2">' in running
    assert heading(running) == f"Job {job_id}"
    assert '<button type="submit" class="danger">Cancel job</button>' in running

    assert browser.wait_finished(task, job_id) == "esriJobSucceeded"
    done = browser.page(f"{task}/jobs/{job_id}", f="html")
    assert 'http-equiv="refresh"' not in done
    assert '<span id="job-status">esriJobSucceeded</span>' in done
    assert "<td>Informative</td><td>Waited 1.5 seconds.</td>" in done
    assert '<h3>waited <span class="muted">(GPDouble)</span></h3>\n1.5' in done


def test_buffer_points_from_the_form_shows_its_features(browser: Browser) -> None:
    task = f"{EARTH}/BufferPoints"
    job_id = _submit(browser, task, points=POINTS, distance="5 Kilometers")

    assert browser.wait_finished(task, job_id) == "esriJobSucceeded"
    page = browser.page(f"{task}/jobs/{job_id}")
    assert "<p>1 feature (esriGeometryPolygon).</p>" in page
    assert (
        '<thead><tr><th scope="col">OBJECTID</th><th scope="col">id</th></tr></thead>'
        "\n<tbody>\n<tr><td>1</td><td>7</td></tr>" in page
    )


def test_cancel_from_the_job_page_returns_to_it(browser: Browser) -> None:
    task = f"{DIAG}/Wait"
    job_id = _submit(browser, task, seconds="60")
    browser.wait_for_status(task, job_id, {"esriJobExecuting"})

    reply = browser.post(f"{task}/jobs/{job_id}/cancel", f="html")

    assert reply.status_code == 303
    assert reply.headers["location"] == (f"/arcgis/{task}/jobs/{job_id}?f=html")
    assert browser.wait_finished(task, job_id) == "esriJobCancelled"
    page = browser.page(f"{task}/jobs/{job_id}", f="html")
    assert '<p class="notice" role="status">The job was asked to cancel.</p>' in page


def test_execute_from_the_form_shows_the_results(browser: Browser) -> None:
    reply = browser.post(f"{SYNC}/Echo/execute", f="html", in_long="5")

    assert reply.status_code == 200
    assert heading(reply.text) == "Execute: Echo"
    assert '<h3>out_long <span class="muted">(GPLong)</span></h3>\n5' in reply.text


def test_a_form_error_is_a_page(browser: Browser) -> None:
    reply = browser.post(f"{DIAG}/Wait/submitJob", f="html", seconds="soon")

    assert reply.status_code == 400
    assert heading(reply.text) == "Error"
    assert "Invalid value for parameter &#39;seconds&#39;" in reply.text
    # A program that posts without f still gets the JSON envelope.
    plain = httpx.post(f"{browser.root}/{DIAG}/Wait/submitJob", data={"seconds": "x"})
    assert plain.json()["error"]["code"] == 400


def test_sign_in_keeps_the_token_in_a_strict_cookie(browser: Browser) -> None:
    reply = browser.sign_in()

    assert reply.headers["location"] == "/arcgis/rest/services"
    attributes = cookie_attributes(reply)
    assert attributes == {
        "value": attributes["value"],
        "path": "/arcgis",
        "max-age": "3600",
        "httponly": "True",
        "samesite": "strict",
    }
    page = browser.page("rest/services")
    assert f"<span>Signed in as <strong>{ADMIN_USERNAME}</strong></span>" in page
    assert (
        '<form method="post" action="/arcgis/rest/logout">\n'
        '<button type="submit" class="secondary">Sign out</button>' in page
    )


def test_sign_in_follows_a_same_site_redirect(browser: Browser) -> None:
    reply = browser.client.post(
        "/admin/login",
        data={
            "username": ADMIN_USERNAME,
            "password": "a test password, long enough",
            "redirect": f"/arcgis/{ADMIN_DIAG}?f=html",
        },
    )
    assert reply.status_code == 303
    assert reply.headers["location"] == f"/arcgis/{ADMIN_DIAG}?f=html"


@pytest.mark.parametrize(
    "target", ["//evil.example", "https://x", "/\\evil.example", "javascript:alert(1)"]
)
def test_sign_in_refuses_a_redirect_to_another_site(
    browser: Browser, target: str
) -> None:
    for method in ("GET", "POST"):
        reply = browser.client.request(
            method,
            "/rest/login",
            params={"redirect": target},
            data={
                "username": ADMIN_USERNAME,
                "password": "a test password, long enough",
            }
            if method == "POST"
            else None,
        )
        assert reply.status_code == 400
        assert "set-cookie" not in reply.headers
        assert (
            "<li>redirect must be a path on this server (starting with /arcgis/); "
            "it was ignored.</li>" in reply.text
        )
        assert 'name="redirect"' not in reply.text


def test_a_wrong_password_shows_the_form_again(browser: Browser) -> None:
    reply = browser.post("rest/login", username=ADMIN_USERNAME, password="wrong")

    assert reply.status_code == 400
    assert heading(reply.text) == "Sign in"
    assert "<li>Invalid username or password.</li>" in reply.text
    assert '<label for="username">Username</label>' in reply.text
    assert '<label for="password">Password</label>' in reply.text
    assert '<button type="submit">Sign in</button>' in reply.text


def test_an_anonymous_reader_of_a_secured_page_is_sent_to_sign_in(
    browser: Browser,
) -> None:
    reply = browser.get("admin/security/users", f="html")

    assert reply.status_code == 303
    assert reply.headers["location"] == (
        "/arcgis/admin/login?redirect=%2Farcgis%2Fadmin%2Fsecurity%2Fusers"
    )


def test_an_expired_cookie_is_cleared_and_explained(browser: Browser) -> None:
    browser.client.cookies.set("gpserver_token", "not.a-token", path="/arcgis")

    reply = browser.get("admin/security/users")

    assert reply.status_code == 303
    assert reply.headers["location"] == (
        "/arcgis/admin/login?redirect=%2Farcgis%2Fadmin%2Fsecurity%2Fusers"
        "&reason=expired"
    )
    attributes = cookie_attributes(reply)
    assert attributes["value"] == ""
    assert attributes["max-age"] == "0"
    login = browser.page("admin/login", reason="expired")
    assert "Your sign-in has expired or is no longer valid. Sign in again." in login


def test_the_cookie_is_only_for_pages(browser: Browser, site: ServerProcess) -> None:
    browser.sign_in()

    as_json = browser.get("admin/security/users", f="json")
    assert as_json.json() == {
        "status": "error",
        "messages": ["Token Required"],
        "code": 499,
    }
    cross_origin = browser.client.get(
        "/admin/security/users", headers={"Origin": "http://evil.example"}
    )
    assert cross_origin.status_code == 303
    same_origin = browser.client.get(
        "/admin/security/users",
        headers={"Origin": f"http://127.0.0.1:{site.port}"},
    )
    assert same_origin.status_code == 200


def test_a_post_with_only_the_cookie_changes_nothing(browser: Browser) -> None:
    browser.sign_in()
    token = browser.token_on(ADMIN_DIAG)

    refused = browser.post(f"{ADMIN_DIAG}/stop", f="html")
    assert refused.status_code == 403
    assert "<li>Token Required</li>" in refused.text
    state = browser.get(f"{ADMIN_DIAG}/status", f="json", token=token).json()
    assert state == {"configuredState": "STARTED", "realTimeState": "STARTED"}

    stopped = browser.post(f"{ADMIN_DIAG}/stop", f="html", token=token)
    assert stopped.status_code == 303
    assert stopped.headers["location"] == (f"/arcgis/{ADMIN_DIAG}?f=html")
    state = browser.get(f"{ADMIN_DIAG}/status", f="json", token=token).json()
    assert state == {"configuredState": "STOPPED", "realTimeState": "STOPPED"}
    page = browser.page(ADMIN_DIAG, f="html")
    assert '<p class="notice" role="status">The service was stopped.</p>' in page

    started = browser.post(f"{ADMIN_DIAG}/start", f="html", token=token)
    assert started.status_code == 303


def test_sign_out_clears_the_cookie(browser: Browser) -> None:
    browser.sign_in()

    reply = browser.post("rest/logout")

    assert reply.status_code == 303
    assert reply.headers["location"] == "/arcgis/rest/login"
    assert cookie_attributes(reply)["max-age"] == "0"
    page = browser.page("rest/login")
    assert '<p class="notice" role="status">You are signed out.</p>' in page
    assert "Signed in as" not in browser.page("rest/services")


def test_static_css_is_served_by_the_server(browser: Browser) -> None:
    reply = browser.get("static/gpserver.css")

    assert reply.status_code == 200
    assert reply.headers["content-type"] == "text/css; charset=utf-8"
    css = Path(__file__).parents[2] / "src/gpserver/web/static/gpserver.css"
    assert reply.text == css.read_text()
