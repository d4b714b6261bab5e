from __future__ import annotations

from pathlib import Path

import pytest

from gpserver.catalog.services import Catalog
from gpserver.config import load_site
from gpserver.errors import ConfigError

SAMPLE_KEYS = ["Samples/NaturalEarth", "Samples/Diagnostics", "Samples/DiagnosticsSync"]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "site.toml"
    path.write_text(text)
    return path


def test_without_a_file_the_samples_are_published(tmp_path: Path) -> None:
    site = load_site(None, tmp_path)
    assert [s.key for s in site.services] == SAMPLE_KEYS
    assert site.jobs_dir == tmp_path / "arcgisjobs"
    assert site.database_url == f"sqlite+pysqlite:///{tmp_path / 'gpserver.db'}"


def test_a_service_with_every_property(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[server]
samples = false
jobsDirectory = "jobs"

[[services]]
folder = "Tests"
name = "Diag"
toolbox = "gpserver.samples.diagnostics"
executionType = "Synchronous"
description = "checks"
minInstancesPerNode = 0
maxInstancesPerNode = 3
maxUsageTime = 2.5
maxWaitTime = 0
maximumRecords = 7
showMessages = "Warning"
""",
    )
    site = load_site(path, tmp_path)
    (service,) = site.services
    assert service.key == "Tests/Diag"
    assert service.is_async is False
    assert (service.min_instances, service.max_instances) == (0, 3)
    assert (service.max_usage_time, service.max_wait_time) == (2.5, 0.0)
    assert (service.maximum_records, service.show_messages) == (7, "Warning")
    assert site.jobs_dir == tmp_path / "jobs"
    assert list(Catalog.load(site.services).get("Tests/Diag").tasks) == [
        "Echo",
        "Wait",
        "Fail",
    ]


def test_the_database_url_comes_from_the_environment_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GPSERVER_DATABASE_URL", "sqlite+pysqlite:////tmp/x.db")
    assert load_site(None, tmp_path).database_url == "sqlite+pysqlite:////tmp/x.db"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            '[[services]]\nname = "A"\ntoolbox = "m"\nmaxUsageTime = "ten"',
            "services[0].maxUsageTime: expected a number, got 'ten'",
        ),
        (
            '[[services]]\nname = "A"\ntoolbox = "m"\nmaxInstancesPerNode = 1.5',
            "services[0].maxInstancesPerNode: expected an integer, got 1.5",
        ),
        (
            '[[services]]\nname = "A"\ntoolbox = "m"\nexecutionType = "async"',
            "services[0].executionType: 'async' is not one of "
            "('asynchronous', 'synchronous')",
        ),
        (
            '[[services]]\nname = "A"\ntoolbox = "m"\nshowMessages = "All"',
            "services[0].showMessages: 'All' is not one of "
            "('None', 'Error', 'Warning', 'Info')",
        ),
        (
            '[[services]]\ntoolbox = "m"',
            "services[0].name: missing; it is required",
        ),
        (
            '[[services]]\nname = "A B"\ntoolbox = "m"',
            "services[0].name: 'A B' may hold only letters, digits and '_'",
        ),
        (
            '[[services]]\nname = "A"\ntoolbox = "m"\n'
            "minInstancesPerNode = 3\nmaxInstancesPerNode = 2",
            "services[0].minInstancesPerNode: 3 is greater than "
            "maxInstancesPerNode (2)",
        ),
        (
            '[[services]]\nname = "A"\ntoolbox = "m"\nmaxWaitTme = 3',
            "services[0].maxWaitTme: unknown key; known keys are",
        ),
        (
            '[[services]]\nfolder = "Samples"\nname = "naturalearth"\ntoolbox = "m"',
            "service 'Samples/naturalearth' is already defined in "
            "gpserver/samples/site.toml: services[0]",
        ),
        ("[sever]\nsamples = false", "unknown section 'sever'"),
        ("[server\n", "not valid TOML"),
    ],
)
def test_a_broken_file_names_the_file_and_key(
    tmp_path: Path, body: str, message: str
) -> None:
    path = write(tmp_path, body)
    with pytest.raises(ConfigError) as caught:
        load_site(path, tmp_path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="the configuration file does not exist"):
        load_site(tmp_path / "nope.toml", tmp_path)


def test_a_toolbox_that_cannot_be_imported_is_named(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[server]\nsamples = false\n[[services]]\nname = "A"\ntoolbox = "no.such.mod"',
    )
    site = load_site(path, tmp_path)
    with pytest.raises(ConfigError) as caught:
        Catalog.load(site.services)
    assert str(caught.value) == (
        f"{path}: services[0].toolbox: cannot import toolbox module 'no.such.mod': "
        "No module named 'no'"
    )


def test_a_module_without_tools_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[server]\nsamples = false\n[[services]]\nname = "A"\ntoolbox = "json"',
    )
    with pytest.raises(ConfigError) as caught:
        Catalog.load(load_site(path, tmp_path).services)
    assert str(caught.value) == (
        f"{path}: services[0].toolbox: module 'json' defines no function marked "
        "with @tool"
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            '[[services]]\nname = "A"\ntoolbox = "m"\nmaxUsageTime = nan',
            "services[0].maxUsageTime: expected a finite number, got nan",
        ),
        (
            '[[services]]\nname = "A"\ntoolbox = "m"\nmaxWaitTime = inf',
            "services[0].maxWaitTime: expected a finite number, got inf",
        ),
        (
            '[[services]]\nname = "A"\ntoolbox = "m"\nmaximumRecords = 99999999999',
            "services[0].maximumRecords: must be at most 2.14748e+09, got 99999999999",
        ),
        (
            '[[services]]\nname = "A"\ntoolbox = "m"\nmaxInstancesPerNode = 100000',
            "services[0].maxInstancesPerNode: must be at most 256, got 100000",
        ),
        ("[server]\nsampels = false", "server.sampels: unknown key; known keys are"),
        (
            '[server]\nsamples = "no"',
            "server.samples: expected true or false, got 'no'",
        ),
    ],
)
def test_values_a_server_cannot_use_are_refused(
    tmp_path: Path, body: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_site(write(tmp_path, body), tmp_path)
    assert message in str(caught.value)


def test_a_directory_or_a_non_utf8_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory, not a configuration file"):
        load_site(tmp_path, tmp_path)
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'[server]\njobsDirectory = "caf\xe9"\n')
    with pytest.raises(ConfigError, match="the file is not UTF-8"):
        load_site(path, tmp_path)
