"""Signing in over HTTPS, and the tokensOverHttp setting, on real servers.

Both servers refuse to issue tokens over plain HTTP (``tokensOverHttp = "never"``):
one serves HTTPS with a self-signed certificate made for the test, the other plain
HTTP only. They start side by side to save time.
"""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from gpserver.jobs.model import now_ms
from tests.e2e.admin import ADMIN_ENV, ADMIN_PASSWORD, ADMIN_USERNAME
from tests.e2e.server import ServerProcess

CONFIG = """
[server]
samples = false
tokensOverHttp = "never"

[[services]]
folder = "Open"
name = "Diagnostics"
toolbox = "gpserver.samples.diagnostics"
minInstancesPerNode = 0
"""

CREDENTIALS = {"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD, "f": "json"}
NEVER_OVER_HTTP = "Tokens are issued over HTTPS only (setting tokensOverHttp)"


class HttpsServer(ServerProcess):
    """A server started with --certfile and --keyfile, checked with that certificate."""

    def __init__(self, data_dir: Path, config: Path, cert: Path, key: Path) -> None:
        super().__init__(data_dir, config, env=ADMIN_ENV)
        self.cert, self.key = cert, key
        self.root = f"https://127.0.0.1:{self.port}/arcgis"
        self.trust = ssl.create_default_context(cafile=str(cert))

    def start(self, timeout: float = 60) -> None:
        command = [sys.executable, "-m", "gpserver.cli", "serve"]
        command += ["--port", str(self.port), "--data-dir", str(self.data_dir)]
        command += ["--config", str(self.config)]
        command += ["--certfile", str(self.cert), "--keyfile", str(self.key)]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=log, env={**os.environ, **ADMIN_ENV}
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log_text()
            try:
                url = f"{self.root}/rest/info/healthCheck"
                httpx.get(url, verify=self.trust, timeout=2)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        raise AssertionError(f"server did not start; see {self.log_path}")

    def post(self, path: str, **data: Any) -> Any:
        reply = httpx.post(f"{self.root}/{path}", data=data, verify=self.trust)
        assert reply.status_code == 200, reply.text
        return reply.json()

    def get(self, path: str, token: str = "", **params: Any) -> Any:
        headers = {"X-Esri-Authorization": f"Bearer {token}"} if token else {}
        reply = httpx.get(
            f"{self.root}/{path}",
            params={"f": "json", **params},
            headers=headers,
            verify=self.trust,
        )
        assert reply.status_code == 200, reply.text
        return reply.json()


def make_certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@dataclass(frozen=True)
class Sites:
    https: HttpsServer
    http: ServerProcess


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sites]:
    folder = tmp_path_factory.mktemp("https")
    config = folder / "site.toml"
    config.write_text(CONFIG)
    cert, key = make_certificate(folder)
    https = HttpsServer(folder / "tls", config, cert, key)
    http = ServerProcess(folder / "plain", config, env=ADMIN_ENV)
    with ThreadPoolExecutor(2) as pool:
        started = [pool.submit(https.start), pool.submit(http.start)]
    try:
        for future in started:
            future.result()
        yield Sites(https, http)
    finally:
        https.stop()
        http.stop()


def test_a_token_over_https_says_ssl(sites: Sites) -> None:
    before = now_ms()
    answer = sites.https.post("tokens/generateToken", **CREDENTIALS)

    assert sorted(answer) == ["expires", "ssl", "token"]
    assert answer["ssl"] is True
    assert before + 60 * 60_000 <= answer["expires"] <= now_ms() + 60 * 60_000
    info = sites.https.get("admin/info", answer["token"])
    assert info["loggedInUser"] == ADMIN_USERNAME


def test_rest_info_points_at_the_https_token_service(sites: Sites) -> None:
    info = sites.https.get("rest/info")

    url = f"https://127.0.0.1:{sites.https.port}/arcgis/tokens/"
    assert info["authInfo"]["tokenServicesUrl"] == url


def test_the_certificate_is_checked(sites: Sites) -> None:
    # A client that does not trust the test's certificate refuses the server.
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"{sites.https.root}/rest/info")


@pytest.mark.parametrize(
    "endpoint", ["tokens/", "tokens/generateToken", "sharing/rest/generateToken"]
)
def test_plain_http_refuses_to_issue_a_token(sites: Sites, endpoint: str) -> None:
    reply = httpx.post(f"{sites.http.root}/{endpoint}", data=CREDENTIALS)

    assert reply.json() == {
        "error": {"code": 403, "message": NEVER_OVER_HTTP, "details": []}
    }


def test_plain_http_refuses_to_issue_an_admin_token(sites: Sites) -> None:
    reply = httpx.post(f"{sites.http.root}/admin/generateToken", data=CREDENTIALS)

    assert reply.json() == {
        "status": "error",
        "messages": [NEVER_OVER_HTTP],
        "code": 403,
    }
