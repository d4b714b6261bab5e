"""Password hashing with argon2id, and checks of what a password must be."""

from __future__ import annotations

import secrets
import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from gpserver.errors import BadRequest

_hasher = PasswordHasher()
HASHING_AT_ONCE = 2
"""Argon2 hashes that may run at the same time in one process.

Each takes 64 MiB for its moment; sixteen sign-ins at once would take a gigabyte.
More at once than cores is no faster, so the others wait their turn.
"""
_turns = threading.BoundedSemaphore(HASHING_AT_ONCE)
# Verifying against this when a user does not exist costs the same time as a real
# check, so the answer's timing does not tell whether the name exists.
_DECOY = _hasher.hash(secrets.token_urlsafe(16))

MIN_LENGTH = 8


def hash_password(password: str) -> str:
    check_password_rules(password)
    with _turns:
        return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    try:
        with _turns:
            matches = _hasher.verify(stored_hash or _DECOY, password)
        return matches and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def check_password_rules(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise BadRequest(f"the password must have at least {MIN_LENGTH} characters")


def generate_password() -> str:
    return secrets.token_urlsafe(18)
