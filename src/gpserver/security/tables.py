"""The security tables: users, roles, their links, permissions and settings."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Integer, String, Table, Text

from gpserver.db import metadata

# Names are matched without regard to case, as ArcGIS Server does: the key column
# holds the lower-cased name, the other the name as it was written.
users = Table(
    "users",
    metadata,
    Column("user_key", String(255), primary_key=True),
    Column("username", String(255), nullable=False),
    Column("fullname", String(255), nullable=False, default=""),
    Column("email", String(255), nullable=False, default=""),
    Column("description", Text, nullable=False, default=""),
    Column("password_hash", String(255), nullable=False),
    # Raised on every password change; tokens carry the value they were issued
    # with, so older tokens stop working at once on every node.
    Column("token_version", Integer, nullable=False, default=1),
    Column("created_ms", BigInteger, nullable=False),
)

roles = Table(
    "roles",
    metadata,
    Column("role_key", String(255), primary_key=True),
    Column("rolename", String(255), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("privilege", String(16), nullable=False, default="ACCESS"),
    # Fine-grained administrative privileges, comma-separated (update,delete,...).
    Column("admin_privileges", Text, nullable=False, default=""),
)

user_roles = Table(
    "user_roles",
    metadata,
    Column("user_key", String(255), primary_key=True),
    Column("role_key", String(255), primary_key=True),
)

permissions = Table(
    "permissions",
    metadata,
    # "" for the root folder, "Samples" for a folder, "Samples/Buffer.GPServer".
    Column("resource", String(512), primary_key=True),
    Column("principal_key", String(255), primary_key=True),
    Column("principal", String(255), nullable=False),
    Column("is_allowed", Boolean, nullable=False),
)

signin_failures = Table(
    "signin_failures",
    metadata,
    # "user:<name>" or "ip:<address>".
    Column("subject", String(512), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_ms", BigInteger, nullable=False),
)
