from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from gpserver.cli import main


def test_serve_with_a_broken_config_exits_2_naming_the_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "site.toml"
    config.write_text('[[services]]\nname = "A"\ntoolbox = "m"\nmaxWaitTime = -1\n')
    code = main(["serve", "--config", str(config), "--data-dir", str(tmp_path / "d")])
    assert code == 2
    assert capsys.readouterr().err == (
        f"gpserver: configuration error: {config}: services[0].maxWaitTime: "
        "must be at least 0, got -1\n"
    )


def test_db_upgrade_creates_the_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "upgrade", "--data-dir", str(tmp_path)]) == 0
    with sqlite3.connect(tmp_path / "gpserver.db") as conn:
        tables = {r[0] for r in conn.execute("select name from sqlite_master")}
    assert {"jobs", "service_counters"} <= tables
    assert "is up to date" in capsys.readouterr().out


def test_worker_without_a_broker_says_what_to_configure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GPSERVER_BROKER_URL", raising=False)
    assert main(["worker", "--data-dir", str(tmp_path)]) == 2
    assert "needs a broker" in capsys.readouterr().err
