"""Jinja filters that make JSON values readable on a page."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

MAX_ROWS = 200
MAX_TEXT = 100_000
"""Characters of one value or JSON text a page shows; the JSON link has all."""


@dataclass(frozen=True)
class FeatureTable:
    count: int
    geometry_type: str
    columns: list[str]
    rows: list[list[Any]]
    exceeded: bool
    """The service left the features out: there were more than its maximum."""


def feature_table(value: Any) -> FeatureTable | None:
    """The attributes of a feature set or record set as columns and rows."""
    if not isinstance(value, dict) or not isinstance(value.get("features"), list):
        return None
    features = [f for f in value["features"] if isinstance(f, dict)]
    columns: list[str] = []
    for field in value.get("fields") or []:
        if isinstance(field, dict) and isinstance(field.get("name"), str):
            columns.append(field["name"])
    for feature in features:
        for name in feature.get("attributes") or {}:
            if name not in columns:
                columns.append(str(name))
    rows = [
        [_cell((feature.get("attributes") or {}).get(c)) for c in columns]
        for feature in features[:MAX_ROWS]
    ]
    return FeatureTable(
        len(features),
        str(value.get("geometryType") or ""),
        columns,
        rows,
        value.get("exceededTransferLimit") is True,
    )


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


def iso_time(epoch_ms: Any) -> str:
    """Epoch milliseconds as UTC time, as people read it."""
    if not isinstance(epoch_ms, int | float) or isinstance(epoch_ms, bool):
        return ""
    try:
        moment = datetime.fromtimestamp(epoch_ms / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return str(epoch_ms)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def safe_href(url: Any) -> str:
    """``url`` if a link to it is harmless (http, https or a path), else ""."""
    if not isinstance(url, str):
        return ""
    text = url.strip()
    if text.lower().startswith(("http://", "https://")):
        return text
    if text.startswith("/") and not text.startswith(("//", "/\\")):
        return text
    return ""


def pretty_json(value: Any) -> str:
    return clip(json.dumps(value, indent=2, ensure_ascii=False))


def clip(value: Any) -> str:
    """At most :data:`MAX_TEXT` characters of ``value``, saying what was left out,
    so that a page with a large input stays small."""
    text = str(value)
    if len(text) <= MAX_TEXT:
        return text
    rest = len(text) - MAX_TEXT
    return f"{text[:MAX_TEXT]}\n... ({rest:,} more characters: see the JSON)"


FILTERS = {
    "feature_table": feature_table,
    "iso_time": iso_time,
    "safe_href": safe_href,
    "pretty_json": pretty_json,
    "clip": clip,
}
