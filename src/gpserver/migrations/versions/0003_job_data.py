"""Keep each job's inputs and results in the store, beside its row.

They were JSON files in the job's folder, each written and flushed to disk on
its own before the row: two waits for the disk per file, on every submit and
every finished job. In the store they share the row's transaction. Jobs made
before this revision keep their files, which are still read when a job has no
data row.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_data",
        sa.Column("job_id", sa.String(33), primary_key=True),
        sa.Column("inputs", sa.Text(), nullable=False),
        sa.Column("results", sa.Text()),
    )


def downgrade() -> None:
    op.drop_table("job_data")
