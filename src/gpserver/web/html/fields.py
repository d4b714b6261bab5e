"""The task form: one field per input parameter, of a kind suited to its type."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gpserver.catalog.tool import ParamSpec, TaskSpec
from gpserver.web.formats import dumps
from gpserver.web.rest.resources import parameter_json

NUMBERS = {"GPLong": "1", "GPDouble": "any"}
# Types whose value is JSON text: a text area, prefilled with the default's JSON.
JSON_TYPES = ("GPFeatureRecordSetLayer", "GPRecordSet", "GPValueTable", "GPMultiValue")
PLACEHOLDERS = {
    "GPLinearUnit": '{"distance": 5, "units": "esriKilometers"} or 5 Kilometers',
    "GPDataFile": '{"url": "https://example.com/data.csv"}',
}


@dataclass(frozen=True)
class FormField:
    name: str
    display_name: str
    description: str
    data_type: str
    required: bool
    kind: str
    """select, boolean, number, datetime, textarea or text."""
    value: str
    choices: tuple[str, ...] = ()
    step: str = ""
    minimum: str = ""
    maximum: str = ""
    placeholder: str = ""

    @property
    def element_id(self) -> str:
        return f"param-{self.name}"


def form_fields(task: TaskSpec) -> list[FormField]:
    return [form_field(spec) for spec in task.inputs]


def form_field(spec: ParamSpec) -> FormField:
    default = parameter_json(spec)["defaultValue"]
    common: dict[str, Any] = {
        "name": spec.name,
        "display_name": spec.display_name,
        "description": spec.description,
        "data_type": spec.data_type,
        "required": spec.required,
    }
    if spec.choices:
        return FormField(
            **common, kind="select", value=_text(default), choices=spec.choices
        )
    if spec.data_type == "GPBoolean":
        return FormField(**common, kind="boolean", value=_text(default))
    if spec.data_type in NUMBERS:
        return FormField(
            **common,
            kind="number",
            value=_text(default),
            step=NUMBERS[spec.data_type],
            minimum=_text(spec.minimum),
            maximum=_text(spec.maximum),
        )
    if spec.data_type == "GPDate":
        return FormField(**common, kind="datetime", value=_local_time(default))
    if spec.data_type.startswith(JSON_TYPES):
        value = "" if default is None else dumps(default, pretty=True)
        return FormField(**common, kind="textarea", value=value)
    return FormField(
        **common,
        kind="text",
        value=_text(default),
        placeholder=PLACEHOLDERS.get(spec.data_type, ""),
    )


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return dumps(value)
    return str(value)


def _local_time(epoch_ms: Any) -> str:
    """A datetime-local value (read back as UTC, as ISO text without a zone is)."""
    if not isinstance(epoch_ms, int | float) or isinstance(epoch_ms, bool):
        return ""
    moment = datetime.fromtimestamp(epoch_ms / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")
