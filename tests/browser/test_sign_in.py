"""Signing in and out on the login pages of the Services and Administrator
Directories.
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.browsing import Checks, sign_in
from tests.e2e.admin import ADMIN_USERNAME
from tests.e2e.server import ServerProcess

SIGNED_IN = f"Signed in as {ADMIN_USERNAME}"


def test_rest_login_page_passes_the_basics(
    page: Page, site: ServerProcess, checks: Checks
) -> None:
    page.goto(f"{site.root}/rest/login")

    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
    checks.assert_page(page, "rest-login", button="Sign in")


def test_sign_in_and_out_of_the_services_directory(
    page: Page, site: ServerProcess, checks: Checks
) -> None:
    sign_in(page, site.root, "rest")
    page.goto(f"{site.root}/rest/services")

    expect(page.get_by_text(SIGNED_IN, exact=True)).to_be_visible()
    checks.assert_page(page, "rest-services-signed-in", button="Sign out")

    page.get_by_role("button", name="Sign out", exact=True).click()
    page.wait_for_load_state()
    page.goto(f"{site.root}/rest/services")

    expect(page.get_by_text("Signed in as")).to_have_count(0)
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)


def test_a_wrong_password_keeps_the_login_page(page: Page, site: ServerProcess) -> None:
    page.goto(f"{site.root}/rest/login")
    page.get_by_label("Username", exact=True).fill(ADMIN_USERNAME)
    page.get_by_label("Password", exact=True).fill("not the password")
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_load_state()

    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
    expect(page.get_by_text("Signed in as")).to_have_count(0)


def test_sign_in_to_the_administrator_directory(
    page: Page, site: ServerProcess, checks: Checks
) -> None:
    page.goto(f"{site.root}/admin/login")
    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
    checks.assert_page(page, "admin-login", button="Sign in")

    sign_in(page, site.root, "admin")
    page.goto(f"{site.root}/admin/?f=html")

    expect(page.get_by_text(SIGNED_IN, exact=True)).to_be_visible()
    checks.assert_page(page, "admin-root", button="Sign out")
