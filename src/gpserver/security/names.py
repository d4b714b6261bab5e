"""Checking the names and privileges a caller writes, with messages naming the field.

The Administrator API and the command line take the same values, so both read them
through these functions and refuse them in the same words.
"""

from __future__ import annotations

from gpserver.errors import BadRequest
from gpserver.security.model import ADMIN_PRIVILEGES, EVERYONE, PRIVILEGES

MAX_NAME_LENGTH = 255  # the width of the name columns


def check_name(value: str, field: str) -> str:
    """A new user or role name, stripped; ``field`` is the parameter it came from."""
    name = value.strip()
    if not name:
        raise BadRequest(f"{field} is required")
    if len(name) > MAX_NAME_LENGTH:
        raise BadRequest(f"{field} may have at most {MAX_NAME_LENGTH} characters")
    # Names travel in comma-separated lists (roles=a,b), so a comma would split one.
    if "," in name:
        raise BadRequest(f"{field} may not contain a comma: {name!r}")
    if not name.isprintable():
        raise BadRequest(f"{field} may not contain control characters")
    return name


def check_rolename(value: str, field: str = "rolename") -> str:
    name = check_name(value, field)
    # Service permissions name anonymous callers esriEveryone; a role of that name
    # would be granted whatever the public is.
    if name.lower() == EVERYONE.lower():
        raise BadRequest(f"{field} {EVERYONE} is reserved for anonymous callers")
    return name


def split_names(value: str, field: str) -> list[str]:
    """The names of a comma-separated list, in order, without blanks or repeats."""
    names: list[str] = []
    for part in value.split(","):
        name = part.strip()
        if name and name.lower() not in (n.lower() for n in names):
            names.append(name)
    if not names:
        raise BadRequest(f"{field} is required: a comma-separated list of names")
    return names


def parse_privilege(value: str, field: str = "privilege") -> str:
    privilege = value.strip().upper()
    if privilege not in PRIVILEGES:
        raise BadRequest(
            f"unknown {field} {value.strip()!r}: one of {', '.join(PRIVILEGES)}"
        )
    return privilege


def parse_admin_privileges(
    value: str, field: str = "adminPrivileges"
) -> tuple[str, ...]:
    """Fine-grained privileges from a comma-separated list, in their written form."""
    known = {p.lower(): p for p in ADMIN_PRIVILEGES}
    found: list[str] = []
    for part in value.split(","):
        entry = part.strip()
        if not entry:
            continue
        privilege = known.get(entry.lower())
        if privilege is None:
            raise BadRequest(
                f"unknown privilege {entry!r} in {field}: one of "
                f"{', '.join(ADMIN_PRIVILEGES)}"
            )
        if privilege not in found:
            found.append(privilege)
    return tuple(found)
