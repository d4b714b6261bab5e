"""Signing in as the primary site administrator and calling the Administrator API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.server import ServerProcess

ADMIN_USERNAME = "siteadmin"
ADMIN_PASSWORD = "a test password, long enough"
ADMIN_ENV = {
    "GPSERVER_ADMIN_USERNAME": ADMIN_USERNAME,
    "GPSERVER_ADMIN_PASSWORD": ADMIN_PASSWORD,
}


def start_site(folder: Path, config_text: str) -> ServerProcess:
    """A server publishing ``config_text``, whose administrator is the one above."""
    config = folder / "site.toml"
    config.write_text(config_text)
    process = ServerProcess(folder / "data", config, env=ADMIN_ENV)
    process.start()
    return process


def sign_in(root: str) -> str:
    reply = httpx.post(
        f"{root}/tokens/generateToken",
        data={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD, "f": "json"},
        timeout=30,
    )
    assert reply.status_code == 200, reply.text
    return str(reply.json()["token"])


class Admin:
    """The Administrator API as the signed-in primary administrator calls it.

    GET requests carry the token in the X-Esri-Authorization header and POST
    requests in the body, as the admin API wants them.
    """

    def __init__(self, root: str) -> None:
        self.root = root
        self.token = sign_in(root)

    def get_text(self, path: str, **params: Any) -> str:
        params.setdefault("f", "json")
        reply = httpx.get(
            f"{self.root}/admin/{path}",
            params=params,
            headers={"X-Esri-Authorization": f"Bearer {self.token}"},
            timeout=30,
        )
        assert reply.status_code == 200, reply.text
        return reply.text

    def post_text(self, path: str, **data: Any) -> str:
        data.setdefault("f", "json")
        data.setdefault("token", self.token)
        reply = httpx.post(f"{self.root}/admin/{path}", data=data, timeout=30)
        assert reply.status_code == 200, reply.text
        return reply.text

    def get(self, path: str, **params: Any) -> Any:
        return json.loads(self.get_text(path, **params))

    def post(self, path: str, **data: Any) -> Any:
        return json.loads(self.post_text(path, **data))
