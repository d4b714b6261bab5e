"""Reading the site configuration (TOML) into checked, immutable settings.

Every problem is reported as a ConfigError whose message names the file, the key and
what is wrong, so a broken configuration stops start-up with one clear line.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from gpserver.errors import ConfigError

EXECUTION_TYPES = ("asynchronous", "synchronous")
SHOW_MESSAGES = ("None", "Error", "Warning", "Info")
SAMPLES_CONFIG = "site.toml"
TOKENS_OVER_HTTP = ("never", "loopback", "always")
CLEANUP_MODES = ("NONE", "TIME_ELAPSED_SINCE_LAST_MODIFIED")
# The largest value any numeric setting may take: it fits the store's integers.
LARGEST = 2**31 - 1
MAX_INSTANCES = 256
SERVER_KEYS = {
    "samples",
    "jobsDirectory",
    "databaseUrl",
    "brokerUrl",
    "tokensOverHttp",
    "forwardedAllowIps",
    "jobsCleanupMode",
    "jobsMaxFileAge",
    "cleanupInterval",
    "workerHeartbeatTimeout",
    "resendQueuedAfter",
}
BROKER_SCHEMES = ("redis", "rediss", "amqp", "amqps", "pyamqp")


@dataclass(frozen=True)
class ServiceConfig:
    folder: str
    name: str
    toolbox: str
    execution_type: str = "asynchronous"
    description: str = ""
    min_instances: int = 1
    max_instances: int = 2
    max_usage_time: float = 600.0
    max_wait_time: float = 60.0
    maximum_records: int = 1000
    show_messages: str = "Info"
    source: str = ""

    @property
    def key(self) -> str:
        """The service's path: ``Samples/NaturalEarth`` or ``Buffer``."""
        return f"{self.folder}/{self.name}" if self.folder else self.name

    @property
    def is_async(self) -> bool:
        return self.execution_type == "asynchronous"

    def to_table(self) -> dict[str, Any]:
        """The service as a [[services]] table, the form edits are checked in."""
        return {
            "folder": self.folder,
            "name": self.name,
            "toolbox": self.toolbox,
            "executionType": self.execution_type,
            "description": self.description,
            "minInstancesPerNode": self.min_instances,
            "maxInstancesPerNode": self.max_instances,
            "maxUsageTime": self.max_usage_time,
            "maxWaitTime": self.max_wait_time,
            "maximumRecords": self.maximum_records,
            "showMessages": self.show_messages,
        }

    def edited(self, changes: dict[str, Any], where: str) -> ServiceConfig:
        """This service with ``changes`` applied, checked like the file is."""
        edited = parse_service({**self.to_table(), **changes}, where)
        return dataclasses.replace(edited, source=self.source)


@dataclass(frozen=True)
class SiteConfig:
    data_dir: Path
    jobs_dir: Path
    database_url: str
    services: tuple[ServiceConfig, ...]
    source: Path | None = None
    tokens_over_http: str = "loopback"
    cleanup_mode: str = "TIME_ELAPSED_SINCE_LAST_MODIFIED"
    max_file_age: int = 360
    cleanup_interval: float = 60.0
    broker_url: str | None = None
    """Set in the distributed mode: Celery workers run the asynchronous jobs."""
    forwarded_allow_ips: str = ""
    """Proxies whose X-Forwarded-* headers are believed (comma-separated)."""
    worker_heartbeat_timeout: float = 30.0
    """How long a job may go without a heartbeat before its worker counts as lost."""
    resend_queued_after: float = 120.0
    """How long a job may stay queued before its task is sent to the broker again."""

    @property
    def is_distributed(self) -> bool:
        return self.broker_url is not None


def load_site(config_path: Path | None, data_dir: Path) -> SiteConfig:
    """The site's settings: the given file (if any), the samples, the environment."""
    server: dict[str, Any] = {}
    services: list[ServiceConfig] = []
    if config_path is not None:
        server, services = _read_site_file(config_path)
    services = _with_samples(server, services, config_path)
    _check_unique(services)
    where = str(config_path) if config_path else "configuration"
    jobs_dir = Path(_text(server, "jobsDirectory", where, str(data_dir / "arcgisjobs")))
    database_url = os.environ.get("GPSERVER_DATABASE_URL") or _text(
        server, "databaseUrl", where, f"sqlite+pysqlite:///{data_dir / 'gpserver.db'}"
    )
    tokens_over_http = _choice(
        _text(server, "tokensOverHttp", where, "loopback"),
        f"{where}: server.tokensOverHttp",
        TOKENS_OVER_HTTP,
    )
    cleanup_mode = _choice(
        _text(server, "jobsCleanupMode", where, CLEANUP_MODES[1]),
        f"{where}: server.jobsCleanupMode",
        CLEANUP_MODES,
    )
    server_where = f"{where}: server"
    broker_url = _broker_url(server, where, database_url)
    return SiteConfig(
        forwarded_allow_ips=_text(server, "forwardedAllowIps", where, ""),
        broker_url=broker_url,
        worker_heartbeat_timeout=_number(
            server, "workerHeartbeatTimeout", server_where, 30, low=1
        ),
        resend_queued_after=_number(
            server, "resendQueuedAfter", server_where, 120, low=1
        ),
        cleanup_mode=cleanup_mode,
        max_file_age=int(
            _number(server, "jobsMaxFileAge", server_where, 360, integer=True)
        ),
        cleanup_interval=_number(server, "cleanupInterval", server_where, 60, low=0.1),
        data_dir=data_dir,
        tokens_over_http=tokens_over_http,
        jobs_dir=jobs_dir if jobs_dir.is_absolute() else data_dir / jobs_dir,
        database_url=database_url,
        services=tuple(services),
        source=config_path,
    )


def _broker_url(server: dict[str, Any], where: str, database_url: str) -> str | None:
    """The Celery broker of the distributed mode, or None for the embedded mode."""
    url = os.environ.get("GPSERVER_BROKER_URL") or _text(server, "brokerUrl", where, "")
    if not url:
        return None
    scheme = url.partition("://")[0].lower()
    if scheme not in BROKER_SCHEMES:
        raise ConfigError(
            f"{where}: server.brokerUrl (or GPSERVER_BROKER_URL): {scheme!r} is not "
            f"a broker this gpserver speaks; use one of {BROKER_SCHEMES}"
        )
    if database_url.startswith("sqlite"):
        # Workers on other machines must reach the store; a SQLite file cannot be
        # shared that way, so the mix is refused rather than half working.
        raise ConfigError(
            f"{where}: server.brokerUrl needs a shared PostgreSQL store; set "
            "server.databaseUrl (or GPSERVER_DATABASE_URL) to a postgresql:// URL"
        )
    return url


def _read_site_file(path: Path) -> tuple[dict[str, Any], list[ServiceConfig]]:
    document = _read_toml(path)
    unknown = set(document) - {"server", "services"}
    if unknown:
        raise ConfigError(
            f"{path}: unknown section {sorted(unknown)[0]!r}; "
            "expected [server] and [[services]]"
        )
    server = _table(document, "server", str(path))
    _check_server_keys(server, str(path))
    return server, _services(document, str(path))


def _with_samples(
    server: dict[str, Any], services: list[ServiceConfig], path: Path | None
) -> list[ServiceConfig]:
    """The sample services ahead of the site's own, unless the file turns them off."""
    samples = server.get("samples", True)
    if not isinstance(samples, bool):
        raise ConfigError(
            f"{path}: server.samples: expected true or false, got {samples!r}"
        )
    if not samples:
        return services
    sample_text = resources.files("gpserver.samples").joinpath(SAMPLES_CONFIG)
    sample_doc = tomllib.loads(sample_text.read_text(encoding="utf-8"))
    return _services(sample_doc, "gpserver/samples/site.toml") + services


def _choice(value: str, label: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ConfigError(f"{label}: {value!r} is not one of {choices}")
    return value


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{path}: the configuration file does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a configuration file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not valid TOML: the file is not UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def _table(document: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = document.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: {key}: expected a table ([{key}])")
    return value


def _services(document: dict[str, Any], where: str) -> list[ServiceConfig]:
    entries = document.get("services", [])
    if not isinstance(entries, list):
        raise ConfigError(
            f"{where}: services: expected an array of tables ([[services]])"
        )
    return [
        parse_service(entry, f"{where}: services[{i}]")
        for i, entry in enumerate(entries)
    ]


_SERVICE_KEYS = {
    "folder",
    "name",
    "toolbox",
    "executionType",
    "description",
    "minInstancesPerNode",
    "maxInstancesPerNode",
    "maxUsageTime",
    "maxWaitTime",
    "maximumRecords",
    "showMessages",
}


def parse_service(entry: Any, where: str) -> ServiceConfig:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: expected a table")
    unknown = set(entry) - _SERVICE_KEYS
    if unknown:
        raise ConfigError(
            f"{where}.{sorted(unknown)[0]}: unknown key; known keys are "
            + ", ".join(sorted(_SERVICE_KEYS))
        )
    name = _text(entry, "name", where, None)
    folder = _text(entry, "folder", where, "")
    for key, value in (("name", name), ("folder", folder)):
        if value and not all(c.isalnum() or c == "_" for c in value):
            raise ConfigError(
                f"{where}.{key}: {value!r} may hold only letters, digits and '_'"
            )
    if not name:
        raise ConfigError(f"{where}.name: must not be empty")

    execution = _choice(
        _text(entry, "executionType", where, "asynchronous").lower(),
        f"{where}.executionType",
        EXECUTION_TYPES,
    )
    show = _choice(
        _text(entry, "showMessages", where, "Info"),
        f"{where}.showMessages",
        SHOW_MESSAGES,
    )

    minimum = int(_number(entry, "minInstancesPerNode", where, 1, integer=True, low=0))
    maximum = int(
        _number(
            entry,
            "maxInstancesPerNode",
            where,
            2,
            integer=True,
            low=1,
            high=MAX_INSTANCES,
        )
    )
    if minimum > maximum:
        raise ConfigError(
            f"{where}.minInstancesPerNode: {minimum} is greater than "
            f"maxInstancesPerNode ({maximum})"
        )
    return ServiceConfig(
        folder=folder,
        name=name,
        toolbox=_text(entry, "toolbox", where, None),
        execution_type=execution,
        description=_text(entry, "description", where, ""),
        min_instances=minimum,
        max_instances=maximum,
        max_usage_time=_number(entry, "maxUsageTime", where, 600, low=0.001),
        max_wait_time=_number(entry, "maxWaitTime", where, 60, low=0),
        maximum_records=int(
            _number(entry, "maximumRecords", where, 1000, integer=True)
        ),
        show_messages=show,
        source=where,
    )


def _text(table: dict[str, Any], key: str, where: str, default: str | None) -> str:
    if key not in table:
        if default is None:
            raise ConfigError(f"{where}.{key}: missing; it is required")
        return default
    value = table[key]
    if not isinstance(value, str):
        raise ConfigError(f"{where}.{key}: expected a string, got {value!r}")
    return value


def _number(
    table: dict[str, Any],
    key: str,
    where: str,
    default: float,
    *,
    integer: bool = False,
    low: float = 1,
    high: float = LARGEST,
) -> float:
    value = table.get(key, default)
    wrong_kind = integer and not isinstance(value, int)
    if isinstance(value, bool) or not isinstance(value, int | float) or wrong_kind:
        kind = "an integer" if integer else "a number"
        raise ConfigError(f"{where}.{key}: expected {kind}, got {value!r}")
    # NaN compares false with everything, so it is refused by name, as is infinity.
    if not math.isfinite(value):
        raise ConfigError(f"{where}.{key}: expected a finite number, got {value!r}")
    if value < low:
        raise ConfigError(f"{where}.{key}: must be at least {low:g}, got {value!r}")
    if value > high:
        raise ConfigError(f"{where}.{key}: must be at most {high:g}, got {value!r}")
    return float(value)


def _check_server_keys(server: dict[str, Any], where: str) -> None:
    unknown = set(server) - SERVER_KEYS
    if unknown:
        raise ConfigError(
            f"{where}: server.{sorted(unknown)[0]}: unknown key; known keys are "
            + ", ".join(sorted(SERVER_KEYS))
        )


def _check_unique(services: list[ServiceConfig]) -> None:
    # Job folders are named from the lower-cased service path, as ArcGIS names them.
    seen: dict[str, ServiceConfig] = {}
    for service in services:
        folded = service.key.lower()
        if folded in seen:
            raise ConfigError(
                f"{service.source}: service {service.key!r} is already defined in "
                f"{seen[folded].source}"
            )
        seen[folded] = service
