"""The store's schema, declared once for SQLite and PostgreSQL alike."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from gpserver.db import metadata

jobs = Table(
    "jobs",
    metadata,
    Column("job_id", String(33), primary_key=True),
    Column("service", String(255), nullable=False),
    Column("task", String(255), nullable=False),
    Column("status", Integer, nullable=False),
    Column("username", String(255)),
    Column("machine", String(255)),
    Column("submitted_ms", BigInteger, nullable=False),
    Column("started_ms", BigInteger),
    Column("ended_ms", BigInteger),
    Column("modified_ms", BigInteger, nullable=False),
    Column("progress_percent", Integer),
    Column("progress_message", Text),
    Column("worker", String(255)),
    Column("heartbeat_ms", BigInteger),
    # The pool takes the oldest queued job of a service first.
    Index(
        "ix_jobs_service_status_submitted",
        "service",
        "status",
        "submitted_ms",
        "job_id",
    ),
    # Admin queries page through a service's jobs by submission time.
    Index("ix_jobs_service_submitted", "service", "submitted_ms", "job_id"),
    # The cleanup takes the jobs changed longest ago first.
    Index("ix_jobs_modified", "modified_ms"),
)

# What a job was given and what it gave back, as JSON text, apart from its row so
# that status polls and queries never read them. A job's data is written in the
# same transaction as the row change it goes with: inputs with the insert, results
# with the move to Succeeded, so a job is never found without them.
job_data = Table(
    "job_data",
    metadata,
    Column("job_id", String(33), primary_key=True),
    Column("inputs", Text, nullable=False),
    Column("results", Text),
)

# Per-service counts behind jobs/statistics. They change in the same transaction as
# the job rows they count, so reading them is O(1) and always exact.
service_counters = Table(
    "service_counters",
    metadata,
    Column("service", String(255), primary_key=True),
    Column("total", BigInteger, nullable=False, default=0),
    Column("cancelled", BigInteger, nullable=False, default=0),
    Column("failed", BigInteger, nullable=False, default=0),
    Column("succeeded", BigInteger, nullable=False, default=0),
)
