"""A site for the HTML page tests, and a browser-like client that signs in."""

from __future__ import annotations

import re
import time
from http.cookies import SimpleCookie
from typing import Any

import httpx

from tests.e2e.admin import ADMIN_PASSWORD, ADMIN_USERNAME
from tests.e2e.server import FINISHED

CONFIG = """
[server]
samples = false

[[services]]
folder = "Html"
name = "Diagnostics"
toolbox = "gpserver.samples.diagnostics"
maxInstancesPerNode = 3

[[services]]
folder = "Html"
name = "DiagnosticsSync"
toolbox = "gpserver.samples.diagnostics_sync"
executionType = "synchronous"

[[services]]
folder = "Html"
name = "NaturalEarth"
toolbox = "gpserver.samples.naturalearth"
minInstancesPerNode = 0
"""

DIAG = "rest/services/Html/Diagnostics/GPServer"
SYNC = "rest/services/Html/DiagnosticsSync/GPServer"
EARTH = "rest/services/Html/NaturalEarth/GPServer"
ADMIN_DIAG = "admin/services/Html/Diagnostics.GPServer"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
_TOKEN_FIELD = re.compile(r'<input type="hidden" name="token" value="([^"]+)">')
_HEADING = re.compile(r"<h1>(.*?)</h1>", re.S)


class Browser:
    """An httpx client that keeps cookies and does not follow redirects, as the
    tests look at each answer."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.client = httpx.Client(base_url=root, timeout=30)
        self.token = ""
        """The token the signed-in pages put in their forms, once read."""

    def close(self) -> None:
        self.client.close()

    def sign_in(
        self,
        username: str = ADMIN_USERNAME,
        password: str = ADMIN_PASSWORD,
        section: str = "rest",
    ) -> httpx.Response:
        reply = self.client.post(
            f"/{section}/login", data={"username": username, "password": password}
        )
        assert reply.status_code == 303, reply.text
        return reply

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.client.get(f"/{path}", params=params)

    def page(self, path: str, **params: Any) -> str:
        """A page that must answer 200 with HTML."""
        reply = self.get(path, **params)
        assert reply.status_code == 200, (path, reply.status_code, reply.text[-2000:])
        assert reply.headers["content-type"] == "text/html; charset=utf-8"
        return reply.text

    def post(self, path: str, **data: Any) -> httpx.Response:
        return self.client.post(f"/{path}", data=data)

    def token_on(self, path: str, **params: Any) -> str:
        """The token a signed-in page puts in its forms."""
        match = _TOKEN_FIELD.search(self.page(path, **params))
        assert match, f"no token field on {path}"
        self.token = match.group(1)
        return self.token

    def wait_for_status(self, task_path: str, job_id: str, statuses: set[str]) -> str:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            reply = httpx.get(
                f"{self.root}/{task_path}/jobs/{job_id}", params={"f": "json"}
            )
            status = str(reply.json()["jobStatus"])
            if status in statuses:
                return status
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} never reached {statuses}")

    def wait_finished(self, task_path: str, job_id: str) -> str:
        return self.wait_for_status(task_path, job_id, FINISHED)


def heading(page: str) -> str:
    found = _HEADING.findall(page)
    assert len(found) == 1, found
    return str(found[0])


def cookie_attributes(
    reply: httpx.Response, name: str = "gpserver_token"
) -> dict[str, str]:
    """The one Set-Cookie header of a reply for cookie ``name``, as attribute ->
    value."""
    headers = [
        h for h in reply.headers.get_list("set-cookie") if h.startswith(f"{name}=")
    ]
    assert len(headers) == 1, reply.headers.get_list("set-cookie")
    cookie = SimpleCookie()
    cookie.load(headers[0])
    morsel = cookie[name]
    attributes = {k: str(v) for k, v in morsel.items() if v}
    return {"value": morsel.value, **attributes}


def job_id_from(location: str, task_path: str) -> str:
    prefix = f"/arcgis/{task_path}/jobs/"
    assert location.startswith(prefix) and location.endswith("?f=html"), location
    return location[len(prefix) : -len("?f=html")]
