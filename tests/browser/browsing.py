"""Driving pages in headless Chromium: a guard on where the browser goes, an
accessibility check with axe-core, a look at the phone's width, and screenshots.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Error,
    Locator,
    Page,
    Response,
    Route,
    ViewportSize,
    expect,
)

from tests.e2e.admin import ADMIN_PASSWORD, ADMIN_USERNAME

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 375, "height": 667}
JOB_PAGE = re.compile(r"/jobs/(j[0-9a-f]{32})(\?|$)")

# The axe-core rules behind "the basics": every control named, headings in order,
# contrast, a title and a language, content inside landmarks.
AXE_RULES = [
    "label",
    "select-name",
    "form-field-multiple-labels",
    "button-name",
    "input-button-name",
    "link-name",
    "svg-img-alt",
    "heading-order",
    "page-has-heading-one",
    "empty-heading",
    "color-contrast",
    "document-title",
    "html-has-lang",
    "html-lang-valid",
    "meta-viewport",
    "landmark-one-main",
    "landmark-no-duplicate-main",
    "landmark-unique",
    "region",
    "duplicate-id-aria",
    "aria-allowed-attr",
    "aria-valid-attr-value",
    "list",
    "listitem",
    "th-has-data-cells",
    "td-headers-attr",
]

_RUN_AXE = """
async (rules) => {
  const result = await axe.run(document, {
    runOnly: {type: "rule", values: rules},
    resultTypes: ["violations"],
  });
  return result.violations.map((v) => ({
    id: v.id,
    help: v.help,
    nodes: v.nodes.map((n) => n.target.join(" ") + ": " + n.failureSummary),
  }));
}
"""


@dataclass
class Tab:
    """A page in a fresh browser context that records what should never happen:
    a request beyond loopback (refused), a server error, and an error in the
    page's console.

    A page the server answers with 4xx (a failed sign-in, say) is fine, so the
    console line Chromium writes about that document is not counted.
    """

    page: Page
    context: BrowserContext
    outside: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    documents: set[str] = field(default_factory=set)

    @classmethod
    def open(cls, browser: Browser) -> Tab:
        context = browser.new_context(viewport=DESKTOP)
        # Shorter than Playwright's 30 s, so that a missing element fails soon.
        context.set_default_timeout(10_000)
        tab = cls(context.new_page(), context)
        context.route("**/*", tab._only_loopback)
        tab.page.on("response", tab._on_response)
        tab.page.on("console", tab._on_console)
        tab.page.on("pageerror", tab._on_page_error)
        return tab

    def _only_loopback(self, route: Route) -> None:
        url = route.request.url
        if urlsplit(url).hostname == "127.0.0.1":
            route.continue_()
        else:
            self.outside.append(url)
            route.abort("blockedbyclient")

    def _on_response(self, response: Response) -> None:
        if response.status >= 500:
            self.server_errors.append(f"{response.status} {response.url}")
        if response.request.is_navigation_request():
            self.documents.add(response.url)

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        url = message.location.get("url", "")
        if message.text.startswith("Failed to load resource") and url in self.documents:
            return
        self.console_errors.append(f"{message.text} ({url})")

    def _on_page_error(self, error: Error) -> None:
        self.console_errors.append(f"{error.name}: {error.message}")

    def assert_clean(self) -> None:
        assert self.outside == [], (
            f"the browser tried to leave loopback: {self.outside}"
        )
        assert self.server_errors == [], f"server errors: {self.server_errors}"
        assert self.console_errors == [], f"errors in the page: {self.console_errors}"

    def close(self) -> None:
        self.context.close()


@dataclass(frozen=True)
class Checks:
    """Where the checks find axe-core and put their screenshots."""

    axe_source: str
    artefacts: Path

    def assert_page(self, page: Page, name: str, *, button: str | None = None) -> None:
        """Check the page as it stands: axe's basics, then the phone's width.

        ``button`` names the page's primary form button, which must be reachable
        on a phone too. Screenshots go to ``<name>.png`` and ``<name>-phone.png``.
        """
        violations = self.accessibility(page)
        assert violations == [], f"{name}: axe found\n" + _listed(violations)
        self.screenshot(page, name)
        self.phone(page, name, button=button)

    def accessibility(self, page: Page) -> list[dict[str, Any]]:
        if not page.evaluate("typeof window.axe !== 'undefined'"):
            # Evaluated through the DevTools protocol, so the page's
            # Content-Security-Policy (no inline script) does not stop it.
            page.evaluate(self.axe_source)
        violations: list[dict[str, Any]] = page.evaluate(_RUN_AXE, AXE_RULES)
        return violations

    def phone(self, page: Page, name: str, *, button: str | None = None) -> None:
        page.set_viewport_size(PHONE)
        try:
            widths = page.evaluate(
                "[document.documentElement.scrollWidth, window.innerWidth]"
            )
            assert widths[0] <= widths[1], (
                f"{name}: the page is {widths[0]} px wide on a "
                f"{widths[1]} px phone screen"
            )
            heading = page.locator("h1")
            expect(heading).to_have_count(1)
            _assert_across_screen(page, heading, f"{name}: the main heading")
            if button is not None:
                control = page.get_by_role("button", name=button, exact=True)
                _assert_across_screen(page, control, f"{name}: button {button!r}")
            self.screenshot(page, f"{name}-phone")
        finally:
            page.set_viewport_size(DESKTOP)

    def screenshot(self, page: Page, name: str) -> None:
        page.screenshot(path=self.artefacts / f"{name}.png", full_page=True)


def _listed(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"- {violation['id']}: {violation['help']}")
        lines += [f"    {node}".replace("\n", " ") for node in violation["nodes"]]
    return "\n".join(lines)


def _assert_across_screen(page: Page, locator: Locator, what: str) -> None:
    expect(locator).to_be_visible()
    box = locator.bounding_box()
    width = page.viewport_size["width"] if page.viewport_size else 0
    assert box is not None, f"{what} has no box"
    assert box["x"] >= 0, f"{what} starts left of the screen: {box}"
    assert box["x"] + box["width"] <= width, f"{what} ends right of the screen: {box}"


def sign_in(page: Page, root: str, area: str) -> None:
    """Sign in as the site administrator on the login page of ``rest`` or ``admin``."""
    page.goto(f"{root}/{area}/login")
    page.get_by_label("Username", exact=True).fill(ADMIN_USERNAME)
    page.get_by_label("Password", exact=True).fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_load_state()


def status_text(page: Page) -> str:
    """The job status the page shows, read even while the page refreshes itself."""
    for _ in range(20):
        try:
            return page.locator("#job-status").inner_text(timeout=10_000).strip()
        except Error as exc:
            # A meta refresh that lands between finding the element and reading it.
            if "context was destroyed" not in str(exc):
                raise
            time.sleep(0.1)
    raise AssertionError("the job page kept navigating while read")


def reload_until_status(page: Page, status: str, timeout: float = 30) -> None:
    """Reload the page until ``#job-status`` reads ``status``."""
    deadline = time.monotonic() + timeout
    shown = status_text(page)
    while shown != status:
        assert time.monotonic() < deadline, f"the job page still shows {shown}"
        time.sleep(0.25)
        page.reload()
        shown = status_text(page)
