"""Signed tokens that any web node can check with the key kept in the store.

A token is ``<payload>.<signature>``: the payload (base64url JSON) names the user,
the password version it was issued under, its expiry and the client it is bound to;
the signature is an HMAC-SHA256 of the payload with the site's shared key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
from dataclasses import dataclass

from gpserver.errors import BadRequest, InvalidToken
from gpserver.jobs.model import now_ms
from gpserver.security.model import User
from gpserver.security.store import SecurityStore

log = logging.getLogger(__name__)

KEY_SETTING = "tokens.sharedKey"
CONFIG_SETTING = "tokens.config"
MAX_MINUTES = 365 * 24 * 60


@dataclass(frozen=True)
class TokenSettings:
    short_timeout: int = 60
    """Minutes a token lives when the client asks for no expiration."""
    long_timeout: int = 1440
    """The most minutes a client may ask for; longer requests are capped."""

    def to_json(self) -> dict[str, object]:
        return {
            "type": "BUILTIN",
            "properties": {
                "shortTimeout": str(self.short_timeout),
                "longTimeout": str(self.long_timeout),
            },
        }


@dataclass(frozen=True)
class Binding:
    """What a token is tied to: nothing, a referer prefix, or a client address."""

    kind: str = ""
    value: str = ""

    def matches(self, referer: str | None, address: str | None) -> bool:
        if self.kind == "referer":
            return bool(referer) and str(referer).startswith(self.value)
        if self.kind == "ip":
            return address == self.value
        return True


@dataclass(frozen=True)
class Claims:
    username: str
    version: int
    expires_ms: int
    binding: Binding


class Tokens:
    def __init__(self, store: SecurityStore) -> None:
        self.store = store
        self._key: bytes | None = None

    # -- settings -------------------------------------------------------------

    def settings(self) -> TokenSettings:
        text = self.store.setting(CONFIG_SETTING)
        if text is None:
            return TokenSettings()
        data = json.loads(text)
        return TokenSettings(int(data["shortTimeout"]), int(data["longTimeout"]))

    def update_settings(self, short_timeout: int, long_timeout: int) -> TokenSettings:
        if not (1 <= short_timeout <= MAX_MINUTES and 1 <= long_timeout <= MAX_MINUTES):
            raise BadRequest(
                "shortTimeout and longTimeout must be from 1 minute to "
                f"{MAX_MINUTES} (a year)"
            )
        if short_timeout > long_timeout:
            raise BadRequest("shortTimeout may not be longer than longTimeout")
        value = json.dumps({"shortTimeout": short_timeout, "longTimeout": long_timeout})
        self.store.set_setting(CONFIG_SETTING, value)
        return TokenSettings(short_timeout, long_timeout)

    # -- issue and check ------------------------------------------------------

    def issue(
        self,
        user: User,
        minutes: int | None,
        binding: Binding,
        not_after_ms: int | None = None,
    ) -> tuple[str, int]:
        """A token for ``user`` and its expiry in epoch milliseconds."""
        limits = self.settings()
        lifetime = limits.short_timeout if minutes is None or minutes <= 0 else minutes
        lifetime = min(lifetime, limits.long_timeout)
        expires = now_ms() + lifetime * 60_000
        if not_after_ms is not None:
            expires = min(expires, not_after_ms)
        payload = {
            "u": user.username,
            "v": user.token_version,
            "x": expires,
            "b": [binding.kind, binding.value],
        }
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        return f"{body}.{self._sign(body)}", expires

    def verify(self, token: str, referer: str | None, address: str | None) -> User:
        """The user a token stands for; InvalidToken (498) for every kind of bad one."""
        claims = self.signed_claims(token)
        check_use(claims, referer, address)
        return self.holder(claims)

    def holder(self, claims: Claims) -> User:
        """The user the claims name, unless the token has been revoked since."""
        user = self.store.get_user(claims.username)
        if user is None or user.token_version != claims.version:
            raise InvalidToken("Invalid Token: the token has been revoked")
        return user

    def exchange(
        self, token: str, referer: str | None, address: str | None
    ) -> tuple[str, int]:
        """A new token for the holder of a valid one, bound and expiring as it was.

        Keeping the binding and the expiry means an exchange can neither unbind a
        token taken from its client nor keep one alive for ever.
        """
        user = self.verify(token, referer, address)
        claims = self.signed_claims(token)
        return self.issue(user, None, claims.binding, not_after_ms=claims.expires_ms)

    def signed_claims(self, token: str) -> Claims:
        """What a token says, once its signature is checked; InvalidToken if not."""
        body, _, signature = token.strip().partition(".")
        if not body or not hmac.compare_digest(signature, self._sign(body)):
            raise InvalidToken()
        try:
            data = json.loads(_unb64(body))
            kind, value = data["b"]
            return Claims(
                str(data["u"]), int(data["v"]), int(data["x"]), Binding(kind, value)
            )
        except (ValueError, KeyError, TypeError):
            raise InvalidToken() from None

    def _sign(self, body: str) -> str:
        return _b64(
            hmac.new(self._shared_key(), body.encode(), hashlib.sha256).digest()
        )

    def _shared_key(self) -> bytes:
        if self._key is None:
            # The first node to need a key makes it; every other node reads that one.
            stored = self.store.set_setting(
                KEY_SETTING, secrets.token_hex(32), only_if_missing=True
            )
            self._key = bytes.fromhex(stored)
        return self._key


def check_use(claims: Claims, referer: str | None, address: str | None) -> None:
    """Refuse a token past its expiry or sent by a client it was not issued to."""
    if claims.expires_ms <= now_ms():
        raise InvalidToken("Invalid Token: the token has expired")
    if not claims.binding.matches(referer, address):
        raise InvalidToken("Invalid Token: the token was issued to another client")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
