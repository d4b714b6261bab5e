from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.exceptions import StarletteDeprecationWarning

# Starlette 1.x asks for httpx2 and warns when its test client runs on httpx, which
# is what the test dependencies install; the client works the same either way.
with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore", message="Using `httpx`", category=StarletteDeprecationWarning
    )
    from starlette.testclient import TestClient

from gpserver.config import load_site
from gpserver.db import Database, sqlite_url
from gpserver.security.admin_ops import SecurityAdmin
from gpserver.security.model import ADMINISTER, Role, User
from gpserver.security.passwords import hash_password
from gpserver.security.service import ADMIN_ROLE
from gpserver.security.store import SecurityStore
from gpserver.site import Site
from gpserver.web.app import create_app

ADMIN = "admin"
ADMIN_PASSWORD = "admin-password-1"
PASSWORD = "user-password-1"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SecurityStore]:
    """A store with the Administrators role and one administrator in it."""
    database = Database(sqlite_url(tmp_path / "store.db"))
    database.create_schema()
    store = SecurityStore(database)
    store.add_role(Role(ADMIN_ROLE, "Site administrators", ADMINISTER))
    store.add_user(User(ADMIN), hash_password(ADMIN_PASSWORD))
    store.link(ADMIN, [ADMIN_ROLE])
    yield store
    database.dispose()


@pytest.fixture
def ops(store: SecurityStore) -> SecurityAdmin:
    return SecurityAdmin(store)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    monkeypatch.setenv("GPSERVER_ADMIN_USERNAME", ADMIN)
    monkeypatch.setenv("GPSERVER_ADMIN_PASSWORD", ADMIN_PASSWORD)
    config = tmp_path / "site.toml"
    # TestClient's address is "testclient", not loopback: allow tokens over HTTP.
    config.write_text('[server]\ntokensOverHttp = "always"\nsamples = false\n')
    site = Site.open(load_site(config, tmp_path / "data"))
    site.security.ensure_primary_admin(tmp_path / "data")
    yield site
    site.jobs.store.dispose()


class Admin:
    """A client of the Administrator API's security resources, signed in as one user."""

    def __init__(self, client: TestClient, username: str, password: str) -> None:
        self.client = client
        self.token = self.sign_in(username, password)

    def sign_in(self, username: str, password: str) -> str:
        answer = self.client.post(
            "/arcgis/admin/generateToken",
            data={"username": username, "password": password, "f": "json"},
        ).json()
        token: str = answer["token"]
        return token

    def post(self, path: str, **params: str) -> Any:
        data = {"f": "json", "token": self.token, **params}
        return self.client.post(f"/arcgis/admin/security/{path}", data=data).json()

    def get(self, path: str, **params: str) -> Any:
        query = {"f": "json", "token": self.token, **params}
        return self.client.get(f"/arcgis/admin/security/{path}", params=query).json()


@pytest.fixture
def client(site: Site) -> TestClient:
    return TestClient(create_app(site, manage_site=False))


@pytest.fixture
def admin(client: TestClient) -> Admin:
    return Admin(client, ADMIN, ADMIN_PASSWORD)


def error(code: int, message: str) -> dict[str, Any]:
    return {"status": "error", "messages": [message], "code": code}


SUCCESS = {"status": "success"}
