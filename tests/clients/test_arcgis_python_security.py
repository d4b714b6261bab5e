"""Signing in and administering the server with the ArcGIS API for Python.

``arcgis.gis.server.Server`` signs in at the token URL it is given and then calls the
Administrator API with the token in the X-Esri-Authorization header. The module has a
site of its own, whose administrator it knows; the loopback guard of this folder
fails the test if the client reaches for any other host.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from arcgis.gis.server import Server

from tests.e2e.admin import ADMIN_PASSWORD, ADMIN_USERNAME, start_site
from tests.e2e.server import ServerProcess

CONFIG = """
[server]
samples = false

[[services]]
folder = "Tools"
name = "Diagnostics"
toolbox = "gpserver.samples.diagnostics"
minInstancesPerNode = 0

[[services]]
name = "Echo"
toolbox = "gpserver.samples.diagnostics_sync"
executionType = "synchronous"
minInstancesPerNode = 0
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = start_site(tmp_path_factory.mktemp("arcgis-security"), CONFIG)
    yield process
    process.stop()


@pytest.fixture(scope="module")
def admin_server(site: ServerProcess) -> Server:
    """The client, signed in as the site's administrator."""
    return Server(
        url=f"{site.root}/admin",
        token_url=f"{site.root}/tokens/generateToken",
        username=ADMIN_USERNAME,
        password=ADMIN_PASSWORD,
        all_ssl=False,
    )


def test_services_are_listed_through_the_client(admin_server: Server) -> None:
    root = admin_server.services.list()
    tools = admin_server.services.list(folder="Tools")

    assert [s.properties["serviceName"] for s in root] == ["Echo"]
    assert [s.properties["serviceName"] for s in tools] == ["Diagnostics"]
    # The client adds the root folder, "/", to the folders the server lists.
    assert admin_server.services.folders == ["Tools", "/"]


def test_users_are_found_and_added_through_the_client(admin_server: Server) -> None:
    users = admin_server.users

    created = users.create("dana", "dana's password 1", fullname="Dana D")
    found = users.search("dana")

    assert created.username == "dana"
    assert [(u.username, u.fullname) for u in found] == [("dana", "Dana D")]
    assert users.me.username == ADMIN_USERNAME
    assert [r.rolename for r in users.roles.all()] == ["Administrators"]


def test_the_client_signs_in_once_and_no_secret_reaches_the_log(
    site: ServerProcess, admin_server: Server
) -> None:
    admin_server.services.list()

    log = site.log_text()

    assert log.count(f"user {ADMIN_USERNAME} signed in from 127.0.0.1") == 1
    assert ADMIN_PASSWORD not in log
    assert "dana's password 1" not in log
