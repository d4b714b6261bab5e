"""Indexes that keep the pool's queue look-up and the cleanup's sweep cheap.

The queue look-up orders by submission time and job id; an index that ends with
both answers it without walking the service's other jobs. The sweep walks jobs by
their last change.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_index("ix_jobs_service_status_submitted")
        batch.create_index(
            "ix_jobs_service_status_submitted",
            ["service", "status", "submitted_ms", "job_id"],
        )
        batch.create_index("ix_jobs_modified", ["modified_ms"])


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_index("ix_jobs_modified")
        batch.drop_index("ix_jobs_service_status_submitted")
        batch.create_index(
            "ix_jobs_service_status_submitted", ["service", "status", "submitted_ms"]
        )
