"""A shared store is upgraded on purpose; the embedded one follows the code."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from gpserver import migrations
from gpserver.cli import main
from gpserver.config import load_site
from gpserver.db import Database, StoreSchemaError, sqlite_url
from gpserver.site import Site
from tests.conftest import PostgresDatabases


def open_site(data_dir: Path) -> Site:
    config = data_dir.parent / "site.toml"
    config.write_text("[server]\nsamples = false\n")
    return Site.open(load_site(config, data_dir))


@pytest.fixture
def empty_postgres(postgres_url: PostgresDatabases) -> Iterator[str]:
    url = postgres_url()
    yield url
    postgres_url.drop(url)


def test_an_out_of_date_postgresql_store_is_refused_naming_the_fix(
    empty_postgres: str,
) -> None:
    # trust authentication ignores the password, so it can be checked it is hidden
    url = make_url(empty_postgres).set(password="secret")
    database = Database(url.render_as_string(hide_password=False))
    with pytest.raises(StoreSchemaError) as refused:
        database.check_schema()
    database.dispose()
    assert str(refused.value) == (
        f"the store at postgresql+psycopg://postgres:***@127.0.0.1:5432/"
        f"{url.database} is at revision none, this gpserver needs "
        f"{migrations.head()}; run `gpserver db upgrade`"
    )


def test_serve_refuses_an_out_of_date_postgresql_store_with_exit_2(
    empty_postgres: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("GPSERVER_DATABASE_URL", empty_postgres)
    assert main(["serve", "--data-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        f"gpserver: configuration error: the store at {empty_postgres} is at "
        f"revision none, this gpserver needs {migrations.head()}; run "
        "`gpserver db upgrade`\n"
    )


def test_db_upgrade_readies_a_fresh_postgresql_store_for_serve(
    empty_postgres: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("GPSERVER_DATABASE_URL", empty_postgres)
    for _ in range(2):
        assert main(["db", "upgrade", "--data-dir", str(tmp_path)]) == 0
        assert capsys.readouterr().out == (
            f"gpserver: the job store at {empty_postgres} is up to date\n"
        )

    site = open_site(tmp_path / "data")
    site.jobs.store.dispose()


def test_the_embedded_store_upgrades_itself_when_the_site_opens(
    tmp_path: Path,
) -> None:
    site = open_site(tmp_path / "data")
    site.jobs.store.dispose()
    database = Database(sqlite_url(tmp_path / "data" / "gpserver.db"))
    with database.read() as conn:
        assert migrations.current(conn) == migrations.head()
    database.dispose()
