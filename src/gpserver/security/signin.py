"""Checking a username and password, slowed down after repeated failures.

Failures are counted in the store per user name and per client address, so every
web node sees them. After a few free attempts each further one must wait twice as
long as the last, which makes guessing impractical without locking anyone out for
good. The answer never says whether the user exists.
"""

from __future__ import annotations

import logging

from gpserver.errors import BadRequest, TooManyAttempts
from gpserver.jobs.model import now_ms
from gpserver.security.model import User
from gpserver.security.passwords import verify_password
from gpserver.security.store import SecurityStore, key

log = logging.getLogger(__name__)

FREE_ATTEMPTS = 5
MAX_DELAY_SECONDS = 300


class SignInFailed(BadRequest):
    def __init__(self) -> None:
        super().__init__("Unable to generate token.", ["Invalid username or password."])


def sign_in(store: SecurityStore, username: str, password: str, address: str) -> User:
    subjects = [f"user:{key(username)}", f"ip:{address}"]
    for subject in subjects:
        _check_delay(store, subject)

    user = store.get_user(username) if username else None
    stored_hash = store.password_hash(username) if user is not None else None
    if user is None or not verify_password(stored_hash, password):
        when = now_ms()
        for subject in subjects:
            store.record_failure(subject, when)
        log.warning(
            "sign-in failed for user %r from %s",
            username,
            address,
            extra={"event": "security.signin_failed"},
        )
        raise SignInFailed()

    for subject in subjects:
        store.clear_failures(subject)
    log.info(
        "user %s signed in from %s",
        user.username,
        address,
        extra={"event": "security.signin"},
    )
    return user


def _check_delay(store: SecurityStore, subject: str) -> None:
    failures, last_ms = store.failures(subject)
    if failures < FREE_ATTEMPTS:
        return
    delay = min(2 ** (failures - FREE_ATTEMPTS), MAX_DELAY_SECONDS)
    remaining = delay - (now_ms() - last_ms) / 1000
    if remaining > 0:
        log.warning(
            "sign-in refused for %s: %d failures in a row",
            subject,
            failures,
            extra={"event": "security.signin_throttled"},
        )
        raise TooManyAttempts(
            "Too many failed sign-ins; try again in "
            f"{max(1, round(remaining))} seconds."
        )
