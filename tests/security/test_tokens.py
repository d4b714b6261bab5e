"""Token issue, check and exchange on a real store."""

from __future__ import annotations

import pytest

from gpserver.errors import InvalidToken
from gpserver.security.model import User
from gpserver.security.store import SecurityStore
from gpserver.security.tokens import Binding, Tokens


@pytest.fixture
def alice(store: SecurityStore) -> User:
    store.add_user(User("alice"), "not-a-real-hash")
    user = store.get_user("alice")
    assert user is not None
    return user


def test_an_exchanged_token_keeps_its_binding(
    store: SecurityStore, alice: User
) -> None:
    tokens = Tokens(store)
    bound, _ = tokens.issue(alice, 60, Binding("referer", "http://good.example/"))
    renewed, _ = tokens.exchange(bound, "http://good.example/app", None)
    assert tokens.verify(renewed, "http://good.example/page", None) == alice
    with pytest.raises(InvalidToken, match="issued to another client"):
        tokens.verify(renewed, "http://evil.example/", None)


def test_an_exchange_never_extends_the_expiry(
    store: SecurityStore, alice: User
) -> None:
    tokens = Tokens(store)
    short, expires = tokens.issue(alice, 2, Binding())
    _, renewed_expires = tokens.exchange(short, None, None)
    assert renewed_expires == expires


def test_a_bad_token_cannot_be_exchanged(store: SecurityStore, alice: User) -> None:
    tokens = Tokens(store)
    token, _ = tokens.issue(alice, 60, Binding())
    with pytest.raises(InvalidToken):
        tokens.exchange(token[:-2] + "xx", None, None)
