"""The schema as it stood when the store began to carry revisions.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("job_id", sa.String(33), primary_key=True),
        sa.Column("service", sa.String(255), nullable=False),
        sa.Column("task", sa.String(255), nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("username", sa.String(255)),
        sa.Column("machine", sa.String(255)),
        sa.Column("submitted_ms", sa.BigInteger, nullable=False),
        sa.Column("started_ms", sa.BigInteger),
        sa.Column("ended_ms", sa.BigInteger),
        sa.Column("modified_ms", sa.BigInteger, nullable=False),
        sa.Column("progress_percent", sa.Integer),
        sa.Column("progress_message", sa.Text),
        sa.Column("worker", sa.String(255)),
        sa.Column("heartbeat_ms", sa.BigInteger),
    )
    op.create_index(
        "ix_jobs_service_status_submitted",
        "jobs",
        ["service", "status", "submitted_ms"],
    )
    op.create_index(
        "ix_jobs_service_submitted", "jobs", ["service", "submitted_ms", "job_id"]
    )
    op.create_table(
        "service_counters",
        sa.Column("service", sa.String(255), primary_key=True),
        sa.Column("total", sa.BigInteger, nullable=False),
        sa.Column("cancelled", sa.BigInteger, nullable=False),
        sa.Column("failed", sa.BigInteger, nullable=False),
        sa.Column("succeeded", sa.BigInteger, nullable=False),
    )

    op.create_table(
        "users",
        sa.Column("user_key", sa.String(255), primary_key=True),
        sa.Column("username", sa.String(255), nullable=False),
        sa.Column("fullname", sa.String(255), nullable=False),
        sa.Column("email", sa.String(255), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("token_version", sa.Integer, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "roles",
        sa.Column("role_key", sa.String(255), primary_key=True),
        sa.Column("rolename", sa.String(255), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("privilege", sa.String(16), nullable=False),
        sa.Column("admin_privileges", sa.Text, nullable=False),
    )
    op.create_table(
        "user_roles",
        sa.Column("user_key", sa.String(255), primary_key=True),
        sa.Column("role_key", sa.String(255), primary_key=True),
    )
    op.create_table(
        "permissions",
        sa.Column("resource", sa.String(512), primary_key=True),
        sa.Column("principal_key", sa.String(255), primary_key=True),
        sa.Column("principal", sa.String(255), nullable=False),
        sa.Column("is_allowed", sa.Boolean, nullable=False),
    )
    op.create_table(
        "signin_failures",
        sa.Column("subject", sa.String(512), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("last_ms", sa.BigInteger, nullable=False),
    )

    op.create_table(
        "settings",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "settings",
        "signin_failures",
        "permissions",
        "user_roles",
        "roles",
        "users",
        "service_counters",
    ):
        op.drop_table(table)
    op.drop_index("ix_jobs_service_submitted", table_name="jobs")
    op.drop_index("ix_jobs_service_status_submitted", table_name="jobs")
    op.drop_table("jobs")
