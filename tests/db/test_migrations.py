"""The revisions build exactly the tables the code declares, on both stores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from gpserver import migrations
from gpserver.db import Database, StoreSchemaError, load_tables, metadata, sqlite_url
from gpserver.jobs import tables as job_tables
from gpserver.jobs.jobsdir import JobsDirectory
from gpserver.jobs.model import Statistics
from gpserver.jobs.service import Jobs
from gpserver.jobs.states import JobStatus
from gpserver.jobs.store import JobStore
from tests.conftest import PostgresDatabases


@pytest.fixture(params=["sqlite", "postgresql"])
def database(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_url: PostgresDatabases
) -> Iterator[Database]:
    """An empty store of each kind, without a schema."""
    if request.param == "sqlite":
        database = Database(sqlite_url(tmp_path / "store.db"))
        yield database
        database.dispose()
        return
    url = postgres_url()
    database = Database(url)
    yield database
    database.dispose()
    postgres_url.drop(url)


def differences(database: Database) -> list[object]:
    load_tables()
    with database.read() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, metadata))


def test_the_revisions_build_the_tables_the_code_declares(database: Database) -> None:
    database.upgrade()
    assert differences(database) == []
    database.check_schema()


def test_an_upgraded_store_upgrades_again_to_no_effect(database: Database) -> None:
    database.upgrade()
    database.upgrade()
    with database.read() as conn:
        assert migrations.current(conn) == migrations.head()


def test_the_revisions_go_back_down_to_nothing(database: Database) -> None:
    database.upgrade()
    with database.write() as conn:
        command.downgrade(migrations.alembic_config(conn), "base")
    with database.read() as conn:
        assert inspect(conn).get_table_names() == ["alembic_version"]


def test_a_store_from_a_newer_gpserver_is_refused(database: Database) -> None:
    database.upgrade()
    with database.write() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    message = (
        f"the store at {database.url} is at revision 9999, which this gpserver does "
        f"not know (it needs {migrations.head()}): a newer gpserver upgraded it; run "
        "that version"
    )
    with pytest.raises(StoreSchemaError) as refused:
        database.check_schema()
    assert str(refused.value) == message
    with pytest.raises(StoreSchemaError) as refused:
        database.upgrade()
    assert str(refused.value) == message


def test_the_job_data_revision_keeps_the_jobs_of_an_older_store(
    database: Database, tmp_path: Path
) -> None:
    # A store at revision 0002 holds a queued job; its inputs are in its folder.
    job_id = "j" + "0123456789abcdef" * 2
    with database.write() as conn:
        command.upgrade(migrations.alembic_config(conn), "0002")
        conn.execute(
            job_tables.jobs.insert().values(
                job_id=job_id,
                service="A/B",
                task="Wait",
                status=JobStatus.SUBMITTED.ordinal,
                submitted_ms=1000,
                modified_ms=1000,
            )
        )
        conn.execute(
            job_tables.service_counters.insert().values(service="A/B", total=1)
        )
    directory = JobsDirectory(tmp_path / "arcgisjobs")
    folder = directory.prepare("A/B", job_id)
    (folder / "inputs.json").write_text('{"inputs": {"seconds": 1}}')

    database.upgrade()

    database.check_schema()
    jobs = Jobs(JobStore(database), directory, machine="test-host")
    job = jobs.get(job_id)
    assert (job.service, job.task, job.status, job.submitted_ms) == (
        "A/B",
        "Wait",
        JobStatus.SUBMITTED,
        1000,
    )
    assert jobs.statistics("A/B") == Statistics(total=1)
    assert jobs.store.inputs_of(job_id) is None
    assert jobs.inputs(job) == {"inputs": {"seconds": 1}}
    with database.read() as conn:
        assert conn.execute(job_tables.job_data.select()).all() == []


def test_a_store_made_before_revisions_is_adopted_with_its_rows(
    tmp_path: Path,
) -> None:
    # What `gpserver serve` made before the schema had revisions: the tables of
    # that day (revision 0001's), and no revision table.
    url = sqlite_url(tmp_path / "gpserver.db")
    engine = create_engine(url)
    with engine.begin() as conn:
        command.upgrade(migrations.alembic_config(conn), migrations.BASELINE)
        conn.exec_driver_sql("DROP TABLE alembic_version")
        conn.execute(job_tables.service_counters.insert().values(service="A/B"))
    engine.dispose()

    database = Database(url)
    database.upgrade()
    database.check_schema()
    with database.read() as conn:
        rows = conn.execute(job_tables.service_counters.select()).all()
    database.dispose()
    assert [(r.service, r.total) for r in rows] == [("A/B", 0)]


def test_a_store_with_tables_of_its_own_is_not_adopted(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "other.db")
    database = Database(url)
    with database.write() as conn:
        conn.execute(text("CREATE TABLE jobs (id INTEGER PRIMARY KEY)"))
    with pytest.raises(StoreSchemaError, match="has tables but no revision") as refused:
        database.upgrade()
    database.dispose()
    assert "(different: jobs; missing: permissions, roles," in str(refused.value)
