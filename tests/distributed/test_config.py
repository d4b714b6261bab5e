"""The distributed mode's settings: the broker and the heartbeat timeout."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpserver.config import load_site
from gpserver.errors import ConfigError
from gpserver.execution.celery_app import queue_name

POSTGRES = "postgresql+psycopg://gp@db.example/gp"


def site_file(tmp_path: Path, server: str) -> Path:
    path = tmp_path / "site.toml"
    path.write_text(f"[server]\nsamples = false\n{server}\n")
    return path


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GPSERVER_BROKER_URL", raising=False)
    monkeypatch.delenv("GPSERVER_DATABASE_URL", raising=False)


def test_without_a_broker_the_site_is_embedded(tmp_path: Path) -> None:
    config = load_site(None, tmp_path)

    assert config.broker_url is None
    assert not config.is_distributed


def test_the_broker_comes_from_the_file_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = site_file(
        tmp_path,
        f'databaseUrl = "{POSTGRES}"\nbrokerUrl = "redis://127.0.0.1:6379/3"\n'
        "workerHeartbeatTimeout = 12",
    )
    config = load_site(path, tmp_path)
    assert config.broker_url == "redis://127.0.0.1:6379/3"
    assert config.worker_heartbeat_timeout == 12

    monkeypatch.setenv("GPSERVER_BROKER_URL", "amqp://guest@127.0.0.1:5672//")
    assert load_site(path, tmp_path).broker_url == "amqp://guest@127.0.0.1:5672//"


def test_a_broker_with_a_sqlite_store_is_refused(tmp_path: Path) -> None:
    path = site_file(tmp_path, 'brokerUrl = "redis://127.0.0.1:6379/3"')

    with pytest.raises(ConfigError, match="needs a shared PostgreSQL store"):
        load_site(path, tmp_path)


def test_an_unknown_broker_scheme_is_refused(tmp_path: Path) -> None:
    path = site_file(
        tmp_path, f'databaseUrl = "{POSTGRES}"\nbrokerUrl = "kafka://127.0.0.1"'
    )

    with pytest.raises(ConfigError, match="'kafka' is not a broker"):
        load_site(path, tmp_path)


def test_each_service_has_a_queue_named_after_its_path() -> None:
    assert queue_name("Samples/Diagnostics") == "gpserver.Samples.Diagnostics"
    assert queue_name("Buffer") == "gpserver.Buffer"
