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
# An address may be shared by many people (a proxy, an office's NAT), so it gets
# more free failures than one user name does.
FREE_ATTEMPTS_PER_ADDRESS = 25
MAX_DELAY_SECONDS = 300
# Failures older than this are forgotten, so an address shared by many people is
# not slowed down for ever by old typos.
WINDOW_MS = 15 * 60_000


class SignInFailed(BadRequest):
    def __init__(self) -> None:
        super().__init__("Unable to generate token.", ["Invalid username or password."])


def sign_in(store: SecurityStore, username: str, password: str, address: str) -> User:
    subjects = [f"user:{key(username)}", f"ip:{address}"]
    _check_delay(store, subjects[0], FREE_ATTEMPTS)
    _check_delay(store, subjects[1], FREE_ATTEMPTS_PER_ADDRESS)

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

    # Only the user's count is cleared: clearing the address's too would let
    # someone with one valid account reset the limit on guessing other accounts.
    store.clear_failures(subjects[0])
    log.info(
        "user %s signed in from %s",
        user.username,
        address,
        extra={"event": "security.signin"},
    )
    return user


def _check_delay(store: SecurityStore, subject: str, free: int) -> None:
    failures, last_ms = store.failures(subject)
    if now_ms() - last_ms > WINDOW_MS:
        store.clear_failures(subject)
        return
    if failures < free:
        return
    delay = min(2 ** (failures - free), MAX_DELAY_SECONDS)
    remaining = delay - (now_ms() - last_ms) / 1000
    if remaining > 0:
        log.warning(
            "sign-in refused for %s: %d failures in a row",
            subject,
            failures,
            extra={"event": "security.signin_throttled"},
        )
        seconds = max(1, round(remaining))
        raise TooManyAttempts(
            f"Too many failed sign-ins; try again in {seconds} "
            f"second{'s' if seconds != 1 else ''}."
        )
