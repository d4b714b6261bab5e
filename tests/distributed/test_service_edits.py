"""Edits made through one node reach the others: web nodes at their next request,
workers at their next job."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gpserver.catalog import live
from gpserver.catalog.live import LiveCatalog
from gpserver.catalog.state import STOPPED, ServiceStates
from gpserver.config import ServiceConfig
from gpserver.db import Database
from gpserver.execution.remote_worker import Instances
from gpserver.settings import SettingsStore
from tests.conftest import PostgresDatabases
from tests.distributed.cluster import RedisDatabase
from tests.distributed.conftest import running_cluster
from tests.e2e.admin import Admin
from tests.e2e.server import Client

EDITED = ServiceConfig(
    folder="Tests", name="Edited", toolbox="gpserver.samples.diagnostics"
)
OTHER = ServiceConfig(
    folder="Tests", name="Other", toolbox="gpserver.samples.diagnostics"
)


@pytest.fixture
def store(postgres_url: PostgresDatabases) -> Iterator[Database]:
    url = postgres_url()
    database = Database(url)
    database.upgrade()
    yield database
    database.dispose()
    postgres_url.drop(url)


def node(
    database: Database, heard: list[ServiceConfig] | None = None
) -> tuple[LiveCatalog, ServiceStates]:
    """One web node's catalog and service states on the shared store."""
    states = ServiceStates(SettingsStore(database))
    catalog = LiveCatalog.following([EDITED, OTHER], states)
    if heard is not None:
        catalog.on_edit = heard.append
    return catalog, states


def settled() -> None:
    """Let a generation read of this node grow older than its trust window."""
    time.sleep(live.RECHECK)


def test_an_edit_through_one_node_shows_on_the_other_at_its_next_look(
    store: Database,
) -> None:
    heard: list[ServiceConfig] = []
    _, states_a = node(store)
    catalog_b, _ = node(store, heard)

    states_a.edit(EDITED, {"maximumRecords": 5, "maxInstancesPerNode": 1})
    settled()

    edited = dataclasses.replace(EDITED, maximum_records=5, max_instances=1)
    assert catalog_b.get("Tests/Edited").config == edited
    assert catalog_b.get("Tests/Other").config == OTHER
    assert heard == [edited]


def test_a_node_reloads_once_per_change(store: Database) -> None:
    heard: list[ServiceConfig] = []
    _, states_a = node(store)
    catalog_b, _ = node(store, heard)

    states_a.edit(OTHER, {"description": "first"})
    settled()
    first = [s.config.description for s in catalog_b]
    settled()
    again = [s.config.description for s in catalog_b]
    states_a.edit(OTHER, {"description": "second"})
    settled()
    second = catalog_b.in_folder("Tests")[1].config.description

    assert (first, again, second) == (["", "first"], ["", "first"], "second")
    assert [c.description for c in heard] == ["first", "second"]


def test_start_and_stop_change_the_generation(store: Database) -> None:
    _, states = node(store)
    before = states.generation()

    states.set_state(EDITED.key, STOPPED)
    stopped = states.generation()
    states.set_state(EDITED.key, "STARTED")

    assert len({before, stopped, states.generation()}) == 3
    assert states.state(EDITED.key) == "STARTED"


def test_a_lowered_instance_limit_keeps_the_next_job_waiting() -> None:
    instances = Instances()
    assert instances.take(limit=2, wait=0)
    assert instances.take(limit=2, wait=0)

    # Edited down to one: nothing more until both running jobs ended.
    assert not instances.take(limit=1, wait=0.05)
    instances.give_back()
    assert not instances.take(limit=1, wait=0)
    threading.Timer(0.1, instances.give_back).start()
    started = time.monotonic()
    assert instances.take(limit=1, wait=5)

    assert 0.05 < time.monotonic() - started < 2
    assert instances.running == 1


LOWERED = """
[server]
samples = false
jobsDirectory = "{jobs}"

[[services]]
folder = "Tests"
name = "Lowered"
toolbox = "gpserver.samples.diagnostics"
maxInstancesPerNode = 2
"""
LOWERED_WAIT = "Tests/Lowered/GPServer/Wait"


def test_a_lowered_instance_limit_holds_on_every_worker(
    tmp_path: Path, postgres_url: PostgresDatabases, redis_db: RedisDatabase
) -> None:
    broker_url = f"redis://127.0.0.1:6379/{redis_db.number}"
    with running_cluster(tmp_path, postgres_url, broker_url, LOWERED, 1) as cluster:
        # Both workers started two threads for the service; one instance is left.
        edited = Admin(cluster.a.root).post(
            "services/Tests/Lowered.GPServer/edit", maxInstancesPerNode="1"
        )
        client = Client(cluster.b.root)
        running = [client.submit(LOWERED_WAIT, seconds=4) for _ in range(2)]
        for job_id in running:
            client.wait_status(LOWERED_WAIT, job_id, "esriJobExecuting")
        beyond = client.submit(LOWERED_WAIT, seconds=0)

        # Long enough for its task to go back to the queue a few times.
        time.sleep(2)
        held = client.get(f"rest/services/{LOWERED_WAIT}/jobs/{beyond}")
        done = [client.wait(LOWERED_WAIT, job_id) for job_id in [*running, beyond]]

    assert edited == {"status": "success"}
    assert held["jobStatus"] == "esriJobWaiting"
    assert [job["jobStatus"] for job in done] == ["esriJobSucceeded"] * 3
