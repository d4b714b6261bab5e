"""Users, roles and the principal a request acts as."""

from __future__ import annotations

from dataclasses import dataclass, field

ADMINISTER = "ADMINISTER"
PUBLISH = "PUBLISH"
ACCESS = "ACCESS"
PRIVILEGES = (ADMINISTER, PUBLISH, ACCESS)
_RANK = {ACCESS: 1, PUBLISH: 2, ADMINISTER: 3}

# Fine-grained administrative privileges a custom role may hold, as on ArcGIS
# Enterprise. A custom role reaches the Administrator API only with viewAllContent.
UPDATE = "update"
DELETE = "delete"
SECURITY = "securityAndInfrastructure"
SERVERS = "servers"
VIEW_ALL = "viewAllContent"
ADMIN_PRIVILEGES = (UPDATE, DELETE, SECURITY, SERVERS, VIEW_ALL)

EVERYONE = "esriEveryone"


def highest(privileges: list[str]) -> str | None:
    return max(privileges, key=_RANK.__getitem__) if privileges else None


@dataclass(frozen=True)
class User:
    username: str
    fullname: str = ""
    email: str = ""
    description: str = ""
    token_version: int = 1
    created_ms: int = 0

    def to_json(self) -> dict[str, str]:
        return {
            "username": self.username,
            "fullname": self.fullname,
            "email": self.email,
            "description": self.description,
        }


@dataclass(frozen=True)
class Role:
    rolename: str
    description: str = ""
    privilege: str = ACCESS
    admin_privileges: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {
            "rolename": self.rolename,
            "description": self.description,
            "privilege": self.privilege,
            "adminPrivileges": list(self.admin_privileges),
        }


@dataclass(frozen=True)
class Principal:
    """Who a request acts as; ``username`` None is an anonymous caller."""

    username: str | None = None
    roles: tuple[str, ...] = ()
    privilege: str | None = None
    admin_privileges: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_anonymous(self) -> bool:
        return self.username is None

    @property
    def is_admin(self) -> bool:
        return self.privilege == ADMINISTER

    @property
    def sees_all_services(self) -> bool:
        return self.privilege in (ADMINISTER, PUBLISH)

    def holds(self, privilege: str) -> bool:
        if privilege in PRIVILEGES:
            return (
                self.privilege is not None and _RANK[self.privilege] >= _RANK[privilege]
            )
        return privilege in self.admin_privileges

    def may_see_job_of(self, owner: str | None) -> bool:
        """Jobs of a signed-in user are theirs and the administrators' alone."""
        if owner is None or self.is_admin:
            return True
        return self.username is not None and self.username.lower() == owner.lower()


ANONYMOUS = Principal()
