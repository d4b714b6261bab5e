"""What a node keeps of a verified token and of the permissions, and when it stops.

Two Security objects on one store stand for two web nodes sharing it.
"""

from __future__ import annotations

import pytest

from gpserver.errors import InvalidToken, NotFound
from gpserver.security import tokens as token_module
from gpserver.security.model import PUBLISH, Principal, Role, User
from gpserver.security.passwords import hash_password
from gpserver.security.service import Security
from gpserver.security.store import SecurityStore
from gpserver.security.tokens import Binding

SERVICE = "Tools/Buffer"
REVOKED = "Invalid Token: the token has been revoked"
BOB = Principal(username="bob", roles=("Editors",), privilege=PUBLISH)


@pytest.fixture
def nodes(store: SecurityStore) -> tuple[Security, Security]:
    store.add_role(Role("Editors", "", PUBLISH))
    store.add_user(User("bob"), hash_password("bob-password"))
    store.link("bob", ["Editors"])
    return Security(store.db), Security(store.db)


def bob_token(node: Security, binding: Binding | None = None) -> str:
    user = node.store.get_user("bob")
    assert user is not None
    token, _ = node.issue_token(user, 60, binding or Binding())
    return token


def test_a_token_is_verified_once_while_nothing_changes(
    nodes: tuple[Security, Security], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, _ = nodes
    token = bob_token(a)
    reads: list[str] = []
    get_user = a.store.get_user

    def counted(username: str) -> User | None:
        reads.append(username)
        return get_user(username)

    monkeypatch.setattr(a.store, "get_user", counted)

    answers = [a.authenticate(token, None, "10.0.0.1") for _ in range(3)]

    assert answers == [BOB, BOB, BOB]
    assert reads == ["bob"]


@pytest.mark.parametrize("where", ["this node", "another node"])
def test_a_password_change_anywhere_revokes_at_once(
    nodes: tuple[Security, Security], where: str
) -> None:
    a, b = nodes
    token = bob_token(a)
    assert a.authenticate(token, None, None) == BOB
    changer = a if where == "this node" else b

    changer.store.set_password("bob", hash_password("another-password"))

    with pytest.raises(InvalidToken, match=REVOKED):
        a.authenticate(token, None, None)


def test_a_user_removed_on_another_node_is_refused_at_once(
    nodes: tuple[Security, Security],
) -> None:
    a, b = nodes
    token = bob_token(a)
    a.authenticate(token, None, None)

    b.store.remove_user("bob")

    with pytest.raises(InvalidToken, match=REVOKED):
        a.authenticate(token, None, None)


def test_a_role_taken_away_on_another_node_applies_at_once(
    nodes: tuple[Security, Security],
) -> None:
    a, b = nodes
    token = bob_token(a)
    assert a.authenticate(token, None, None).privilege == PUBLISH

    b.store.unlink("bob", ["Editors"])

    assert a.authenticate(token, None, None) == Principal(username="bob")


def test_a_kept_token_is_still_checked_for_expiry_and_client(
    nodes: tuple[Security, Security], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, _ = nodes
    token = bob_token(a, Binding("ip", "10.0.0.1"))
    assert a.authenticate(token, None, "10.0.0.1") == BOB

    with pytest.raises(InvalidToken, match="issued to another client"):
        a.authenticate(token, None, "10.0.0.2")
    an_hour_later = token_module.now_ms() + 3600_000
    monkeypatch.setattr(token_module, "now_ms", lambda: an_hour_later)
    with pytest.raises(InvalidToken, match="the token has expired"):
        a.authenticate(token, None, "10.0.0.1")


def test_permissions_set_on_another_node_apply_at_once(
    nodes: tuple[Security, Security],
) -> None:
    a, b = nodes
    anonymous = Principal()
    assert a.may_use_service(anonymous, SERVICE)

    b.store.set_permission(f"{SERVICE}.GPServer", "Editors", True)

    assert not a.may_use_service(anonymous, SERVICE)
    assert a.may_use_service(BOB, SERVICE)


def test_a_failed_change_leaves_the_generation_alone(
    nodes: tuple[Security, Security],
) -> None:
    a, _ = nodes
    before = a.store.generation()

    with pytest.raises(NotFound, match="user ghost does not exist"):
        a.store.set_password("ghost", hash_password("whatever-password"))

    assert a.store.generation() == before
    a.store.set_password("bob", hash_password("another-password"))
    assert a.store.generation() == before + 1
