"""Who may do what: the Administrator API's privilege table and service permissions.

Every admin endpoint is registered under a name in :data:`ADMIN_ENDPOINTS`; the web
layer refuses to register an admin route whose name is missing, and checks the
caller's privileges against this one table, so the rule for each endpoint is
written once and published from here (``docs/security.md``).
"""

from __future__ import annotations

from collections.abc import Mapping

from gpserver.errors import Forbidden, TokenRequired
from gpserver.security.model import (
    ADMINISTER,
    DELETE,
    EVERYONE,
    PUBLISH,
    SECURITY,
    SERVERS,
    UPDATE,
    VIEW_ALL,
    Principal,
)

PUBLIC = frozenset({"PUBLIC"})
_READ_SERVICES = frozenset({ADMINISTER, PUBLISH, UPDATE, DELETE, SECURITY, SERVERS})
_EDIT_SERVICES = frozenset({ADMINISTER, PUBLISH, UPDATE, SERVERS})
_SECURITY = frozenset({ADMINISTER, SECURITY})
_READ_JOBS = frozenset({ADMINISTER, UPDATE, DELETE, SECURITY, SERVERS})
_CHANGE_JOBS = frozenset({ADMINISTER, DELETE})
_SYSTEM = frozenset({ADMINISTER, SERVERS, SECURITY})
_CHANGE_SYSTEM = frozenset({ADMINISTER, SERVERS})

ADMIN_ENDPOINTS: dict[str, frozenset[str]] = {
    "generateToken": PUBLIC,
    "root": _READ_SERVICES,
    "info": _READ_SERVICES,
    "security": _SECURITY,
    "security.tokens": _SECURITY,
    "security.tokens.update": _SECURITY,
    "security.users": _SECURITY,
    "security.users.operation": _SECURITY,
    "security.roles": _SECURITY,
    "security.roles.operation": _SECURITY,
    "services.folder": _READ_SERVICES,
    "services.service": _READ_SERVICES,
    "services.service.status": _READ_SERVICES,
    "services.service.start": _EDIT_SERVICES,
    "services.service.stop": _EDIT_SERVICES,
    "services.service.edit": _EDIT_SERVICES,
    "services.permissions": _SECURITY,
    "services.permissions.add": _SECURITY,
    "jobs": _READ_JOBS,
    "jobs.query": _READ_JOBS,
    "jobs.statistics": _READ_JOBS,
    "jobs.job": _READ_JOBS,
    "jobs.job.cancel": _CHANGE_JOBS,
    "jobs.job.delete": _CHANGE_JOBS,
    "jobs.purgeQueue": _CHANGE_JOBS,
    "system": _SYSTEM,
    "system.directories": _SYSTEM,
    "system.directories.directory": _SYSTEM,
    "system.directories.edit": _CHANGE_SYSTEM,
    "system.directories.clean": _CHANGE_SYSTEM,
}


def check_admin(endpoint: str, principal: Principal) -> None:
    """Raise TokenRequired or Forbidden unless the principal may call the endpoint."""
    allowed = ADMIN_ENDPOINTS[endpoint]
    if allowed is PUBLIC:
        return
    if principal.is_anonymous:
        raise TokenRequired()
    if principal.is_admin:
        return
    # A custom role reaches the Administrator API only if it may also view all
    # content, as on ArcGIS Enterprise; publishers see all services anyway.
    if not (principal.sees_all_services or principal.holds(VIEW_ALL)):
        raise Forbidden()
    if not any(principal.holds(p) for p in allowed):
        raise Forbidden()


def resource_chain(service_key: str) -> list[str]:
    """A service's permission resources, most specific first: service, folder, root."""
    folder, _, _ = service_key.rpartition("/")
    chain = [f"{service_key}.GPServer"]
    if folder:
        chain.append(folder)
    chain.append("")
    return chain


def may_use_service(
    principal: Principal,
    service_key: str,
    permissions: Mapping[str, list[tuple[str, bool]]],
) -> bool:
    """Whether the principal may use a service, by the nearest level that has rules.

    A service with no rules of its own inherits its folder's, the folder the root's;
    with no rules anywhere a service is open to everyone, as the samples are.
    """
    if principal.sees_all_services:
        return True
    principals = {EVERYONE.lower(), *(r.lower() for r in principal.roles)}
    for resource in resource_chain(service_key):
        entries = permissions.get(resource)
        if entries:
            return any(
                allowed and who.lower() in principals for who, allowed in entries
            )
    return True


def check_service(
    principal: Principal,
    service_key: str,
    permissions: Mapping[str, list[tuple[str, bool]]],
) -> None:
    if may_use_service(principal, service_key, permissions):
        return
    if principal.is_anonymous:
        raise TokenRequired()
    raise Forbidden()
