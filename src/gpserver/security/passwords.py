"""Password hashing with argon2id, and checks of what a password must be."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from gpserver.errors import BadRequest

_hasher = PasswordHasher()
# Verifying against this when a user does not exist costs the same time as a real
# check, so the answer's timing does not tell whether the name exists.
_DECOY = _hasher.hash(secrets.token_urlsafe(16))

MIN_LENGTH = 8


def hash_password(password: str) -> str:
    check_password_rules(password)
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    try:
        return (
            _hasher.verify(stored_hash or _DECOY, password) and stored_hash is not None
        )
    except (VerificationError, InvalidHashError):
        return False


def check_password_rules(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise BadRequest(f"the password must have at least {MIN_LENGTH} characters")


def generate_password() -> str:
    return secrets.token_urlsafe(18)
