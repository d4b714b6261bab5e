"""Fixtures for the browser tests: Debian's Chromium driven by Playwright against a
real server on loopback.

Playwright's own browser builds are never used (nor downloaded): the tests launch
the Chromium at ``GPSERVER_CHROMIUM`` (default ``/usr/bin/chromium``) and fail,
rather than skip, when it is not there.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from tests.browser.browsing import CHROMIUM_ARGS, Checks, Tab
from tests.e2e.admin import ADMIN_ENV, Admin
from tests.e2e.server import Client, ServerProcess

REPO = Path(__file__).resolve().parents[2]
AXE = REPO / "tests" / "clients" / "node" / "node_modules" / "axe-core" / "axe.min.js"

# Playwright's 5 s for an expectation is short on a small, busy machine.
expect.set_options(timeout=10_000)


@pytest.fixture(scope="package")
def chromium_path() -> Path:
    path = Path(os.environ.get("GPSERVER_CHROMIUM", "/usr/bin/chromium"))
    if not path.is_file():
        pytest.fail(
            f"the browser tests need Chromium at {path}: install Debian's package "
            "(apt-get install chromium) or set GPSERVER_CHROMIUM to its path",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    # Package-scoped: Playwright's sync driver keeps an asyncio loop marked as
    # running on the main thread until it stops, which would make every later
    # test's asyncio.run() fail.
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright: Playwright, chromium_path: Path) -> Iterator[Browser]:
    # Playwright gives each launch a new, empty profile directory and removes it.
    launched = playwright.chromium.launch(
        executable_path=chromium_path, args=CHROMIUM_ARGS
    )
    yield launched
    launched.close()


@pytest.fixture(scope="package")
def checks() -> Checks:
    if not AXE.is_file():
        pytest.fail(
            f"axe-core is missing at {AXE}: run `npm ci` in tests/clients/node "
            "(`make install-test` does)",
            pytrace=False,
        )
    folder = Path(
        os.environ.get("GPSERVER_TEST_ARTEFACTS", REPO / "test-artefacts" / "browser")
    )
    folder.mkdir(parents=True, exist_ok=True)
    return Checks(AXE.read_text(), folder)


@pytest.fixture(scope="package")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The sample services, with the site administrator of tests/e2e/admin.py."""
    process = ServerProcess(tmp_path_factory.mktemp("browser") / "data", env=ADMIN_ENV)
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="package")
def client(site: ServerProcess) -> Client:
    return Client(site.root)


@pytest.fixture(scope="package")
def admin(site: ServerProcess) -> Admin:
    return Admin(site.root)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page of its own (no cookies from other tests), at a desktop's size.

    The test fails if the browser tried to reach anything beyond loopback (so no
    asset came from outside the server), the server answered 5xx, or a page
    logged an error.
    """
    tab = Tab.open(browser)
    yield tab.page
    tab.close()
    tab.assert_clean()
