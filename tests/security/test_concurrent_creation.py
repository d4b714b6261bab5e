"""Nodes that create the same account at the same moment, on one PostgreSQL store.

Two web nodes started together both find the store without users; two
administrators may add the same user on two nodes. Each race must end with one
account, whole, and a clear answer for the loser, never a database error.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gpserver.db import Database
from gpserver.errors import BadRequest
from gpserver.security.model import ADMINISTER, Role, User
from gpserver.security.service import ADMIN_ROLE, Security
from tests.conftest import PostgresDatabases

NODES = 6


@pytest.fixture
def databases(postgres_url: PostgresDatabases) -> Iterator[list[Database]]:
    url = postgres_url()
    first = Database(url)
    first.upgrade()
    nodes = [first] + [Database(url) for _ in range(NODES - 1)]
    yield nodes
    for database in nodes:
        database.dispose()
    postgres_url.drop(url)


def race(calls: list[Callable[[], object]]) -> list[object]:
    """Run the calls in threads released together; each one's result or error."""
    start = threading.Barrier(len(calls))
    outcomes: list[object] = [None] * len(calls)

    def run(index: int) -> None:
        start.wait()
        try:
            outcomes[index] = calls[index]()
        except Exception as exc:
            outcomes[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_nodes_starting_together_make_one_whole_primary_administrator(
    databases: list[Database], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GPSERVER_ADMIN_USERNAME", "chief")
    monkeypatch.setenv("GPSERVER_ADMIN_PASSWORD", "chief-password-1")
    nodes = [Security(database) for database in databases]

    outcomes = race([lambda s=s: s.ensure_primary_admin(tmp_path) for s in nodes])

    assert outcomes == [None] * NODES
    store = nodes[0].store
    assert store.count_users() == 1
    assert [role.rolename for role in store.roles_of("chief")] == [ADMIN_ROLE]
    assert store.get_role(ADMIN_ROLE) == Role(
        ADMIN_ROLE, "Site administrators", ADMINISTER
    )


def test_exactly_one_first_user_is_made(databases: list[Database]) -> None:
    stores = [Security(database).store for database in databases]
    role = Role(ADMIN_ROLE, "Site administrators", ADMINISTER)

    outcomes = race(
        [
            lambda s=s, i=i: s.add_first_user(User(f"first{i}"), "hash", role)
            for i, s in enumerate(stores)
        ]
    )

    assert sorted(outcomes, key=str) == [False] * (NODES - 1) + [True]
    assert stores[0].count_users() == 1


def test_the_same_user_added_on_several_nodes_is_one_success_and_clear_refusals(
    databases: list[Database],
) -> None:
    stores = [Security(database).store for database in databases]

    outcomes = race([lambda s=s: s.add_user(User("twin"), "hash") for s in stores])

    assert outcomes.count(None) == 1
    refusals = [o for o in outcomes if o is not None]
    assert [type(o) for o in refusals] == [BadRequest] * (NODES - 1)
    assert {str(o) for o in refusals} == {"user twin already exists"}


def test_the_same_role_added_on_several_nodes_is_one_success_and_clear_refusals(
    databases: list[Database],
) -> None:
    stores = [Security(database).store for database in databases]

    outcomes = race(
        [lambda s=s: s.add_role(Role("twins", "", "ACCESS")) for s in stores]
    )

    assert outcomes.count(None) == 1
    refusals = [o for o in outcomes if o is not None]
    assert [type(o) for o in refusals] == [BadRequest] * (NODES - 1)
    assert {str(o) for o in refusals} == {"role twins already exists"}
