"""The browser tests' own machinery: the loopback guard and the checks."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.browser.browsing import DESKTOP, Checks, Tab
from tests.e2e.server import ServerProcess


def test_the_browser_is_the_chromium_at_the_given_path(
    browser: Browser, chromium_path: Path
) -> None:
    reply = subprocess.run(
        [chromium_path, "--version"], capture_output=True, text=True, check=True
    )
    context = browser.new_context()
    try:
        agent = context.new_page().evaluate("navigator.userAgent")
    finally:
        context.close()

    assert f"Chromium {browser.version} " in reply.stdout
    assert "HeadlessChrome/" in agent


def test_a_request_beyond_loopback_is_refused_and_recorded(browser: Browser) -> None:
    tab = Tab.open(browser)
    try:
        with tab.page.expect_event("requestfailed") as failed:
            tab.page.set_content(
                '<img alt="" src="http://gpserver-test.invalid/a.png">'
            )
    finally:
        tab.close()

    assert failed.value.url == "http://gpserver-test.invalid/a.png"
    assert tab.outside == ["http://gpserver-test.invalid/a.png"]


def test_axe_finds_an_unlabelled_field(page: Page, checks: Checks) -> None:
    page.set_content("<html><body><input id=x></body></html>")

    found = {violation["id"] for violation in checks.accessibility(page)}

    assert {"label", "html-has-lang", "document-title"} <= found


def test_an_error_in_a_page_is_recorded(browser: Browser) -> None:
    tab = Tab.open(browser)
    try:
        tab.page.set_content("<script>no_such_function()</script>")
    finally:
        tab.close()

    assert tab.console_errors == ["ReferenceError: no_such_function is not defined"]


def test_the_phone_check_finds_a_page_wider_than_the_screen(
    page: Page, checks: Checks
) -> None:
    page.set_content('<h1>Wide</h1><p><img alt="" width="600" height="10"></p>')

    with pytest.raises(AssertionError) as failure:
        checks.phone(page, "wide")

    assert str(failure.value).startswith(
        "wide: the page is 608 px wide on a 375 px phone screen"
    )
    assert page.viewport_size == DESKTOP


def test_the_catalog_page_passes_the_basics(
    page: Page, site: ServerProcess, checks: Checks
) -> None:
    page.goto(f"{site.root}/rest/services")

    checks.assert_page(page, "catalog")
