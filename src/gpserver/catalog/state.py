"""What administrators change about services at run time: edits and started/stopped.

The configuration file says how a service starts out; changes made through the
Administrator API are kept in the store's settings and laid over it on every start,
so they survive restarts without rewriting anyone's file.

Every change also writes a new *generation* of the services' state in the same
transaction: nodes that share the store compare it with the one they loaded and
reload when it differs (see :mod:`gpserver.catalog.live`).
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from sqlalchemy import bindparam, select

from gpserver.config import ServiceConfig
from gpserver.errors import BadRequest, ConfigError
from gpserver.settings import SettingsStore
from gpserver.settings import settings as settings_table

log = logging.getLogger(__name__)

STARTED = "STARTED"
STOPPED = "STOPPED"
GENERATION = "services.generation"

_GENERATION_ROW = select(settings_table.c.value).where(
    settings_table.c.name == bindparam("name")
)

# Keys of the admin service JSON that edit may change, and where each lives in it.
EDITABLE = {
    "description": ("description",),
    "minInstancesPerNode": ("minInstancesPerNode",),
    "maxInstancesPerNode": ("maxInstancesPerNode",),
    "maxUsageTime": ("maxUsageTime",),
    "maxWaitTime": ("maxWaitTime",),
    "maximumRecords": ("properties", "maximumRecords"),
    "showMessages": ("properties", "showMessages"),
}
_INTEGER_KEYS = {"minInstancesPerNode", "maxInstancesPerNode", "maximumRecords"}
_NUMBER_KEYS = {"maxUsageTime", "maxWaitTime"}


class ServiceStates:
    def __init__(self, settings: SettingsStore) -> None:
        self.settings = settings

    def state(self, key: str) -> str:
        return self.settings.get(f"service.{key}.state") or STARTED

    def set_state(self, key: str, state: str) -> None:
        self._change({f"service.{key}.state": state})

    def generation(self) -> str:
        """Changes with every edit, start and stop, on whichever node made them."""
        row = self.settings.db.read_one(_GENERATION_ROW, name=GENERATION)
        return str(row.value) if row is not None else ""

    def _change(self, values: dict[str, str]) -> None:
        self.settings.put_all({**values, GENERATION: uuid.uuid4().hex})

    def apply_edits(self, config: ServiceConfig) -> ServiceConfig:
        """The configured service with the stored edits laid over it."""
        changes = self.settings.get_json(f"service.{config.key}.edits") or {}
        if not changes:
            return config
        try:
            return config.edited(changes, f"stored edits of {config.key}")
        except ConfigError as exc:
            # The file changed under the edits; the file wins and the log says so.
            log.warning("ignoring stored edits of %s: %s", config.key, exc)
            return config

    def edit(self, config: ServiceConfig, changes: dict[str, Any]) -> ServiceConfig:
        """Check and keep an edit; return the service as it now is."""
        stored = self.settings.get_json(f"service.{config.key}.edits") or {}
        merged = {**stored, **changes}
        try:
            edited = config.edited(changes, "service")
        except ConfigError as exc:
            raise BadRequest(
                f"Unable to edit service {config.key}", [str(exc)]
            ) from None
        self._change(
            {f"service.{config.key}.edits": json.dumps(merged, sort_keys=True)}
        )
        return edited


def changes_from(
    params: dict[str, Any], service_json: dict[str, Any] | None
) -> dict[str, Any]:
    """The editable values in an edit request: a ``service`` JSON or plain fields."""
    changes: dict[str, Any] = {}
    for name, path in EDITABLE.items():
        value: Any = service_json
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        if value is None:
            value = params.get(name)
        if value is None or value == "":
            continue
        changes[name] = _typed(name, value)
    return changes


def _typed(name: str, value: Any) -> Any:
    """Form fields arrive as text, and the admin JSON spells numbers as strings."""
    if name in _INTEGER_KEYS and isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            raise BadRequest(f"{name} must be an integer, not {value!r}") from None
    if name in _NUMBER_KEYS and isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            raise BadRequest(f"{name} must be a number, not {value!r}") from None
    return value
