"""GPDate values: epoch milliseconds on the wire, aware UTC datetimes in tools.

Decoded datetimes are cut to whole milliseconds, the precision of the wire form, so a
value read from ISO text equals itself after it has been written back and read again.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from gpserver.gptypes.errors import shown

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_EXPECTED = (
    "expected milliseconds since 1970-01-01 UTC like 1199145600000, ISO text like "
    '2008-01-01T00:00:00, or {"date": "2008-01-01", "format": "yyyy-MM-dd"}'
)

# Java/.NET style pattern letters as clients write them in {"date", "format"},
# longest first so that "yyyy" is not read as two "yy".
_PATTERN_LETTERS = {
    "yyyy": "%Y",
    "yy": "%y",
    "MMMM": "%B",
    "MMM": "%b",
    "MM": "%m",
    "M": "%m",
    "dd": "%d",
    "d": "%d",
    "HH": "%H",
    "H": "%H",
    "hh": "%I",
    "h": "%I",
    "mm": "%M",
    "m": "%M",
    "ss": "%S",
    "s": "%S",
    "SSS": "%f",
    "fff": "%f",
    "tt": "%p",
    "a": "%p",
    "XXX": "%z",
    "zzz": "%z",
    "Z": "%z",
}
_PATTERN_TOKEN = re.compile(
    "'[^']*'|" + "|".join(sorted(_PATTERN_LETTERS, key=len, reverse=True))
)


def to_epoch_ms(value: date) -> int:
    """Milliseconds since the epoch; a naive datetime or a plain date is UTC."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(), tzinfo=UTC)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - EPOCH) // _ONE_MS


def from_epoch_ms(milliseconds: float) -> datetime:
    if not math.isfinite(milliseconds):
        raise ValueError(f"{_EXPECTED}; got {milliseconds!r}")
    try:
        return EPOCH + timedelta(milliseconds=math.floor(milliseconds))
    except OverflowError:
        raise ValueError(f"{milliseconds!r} ms is outside the years 1-9999") from None


def parse_date(raw: object) -> datetime:
    """Read a GPDate input in any of the forms the REST API documents."""
    if isinstance(raw, datetime):
        return _in_utc(raw)
    if isinstance(raw, bool):
        raise ValueError(f"{_EXPECTED}; got {raw!r}")
    if isinstance(raw, int | float):
        return from_epoch_ms(raw)
    if isinstance(raw, Mapping):
        return _from_object(raw)
    if not isinstance(raw, str):
        raise ValueError(f"{_EXPECTED}; got {type(raw).__name__}")

    text = raw.strip()
    if _NUMBER.fullmatch(text):
        return from_epoch_ms(float(text))
    if text.startswith("{"):
        try:
            decoded = json.loads(text)
        except json.JSONDecodeError:
            raise ValueError(f"{_EXPECTED}; got {shown(text)}") from None
        return parse_date(decoded)
    try:
        return _in_utc(datetime.fromisoformat(text))
    except ValueError:
        raise ValueError(f"{_EXPECTED}; got {shown(text)}") from None


def _from_object(raw: Mapping[str, Any]) -> datetime:
    value = raw.get("date")
    pattern = raw.get("format")
    if value is None or isinstance(value, Mapping):
        raise ValueError(f"{_EXPECTED}; the object has no date")
    if pattern is None or pattern == "" or not isinstance(value, str):
        return parse_date(value)
    if not isinstance(pattern, str):
        raise ValueError(f"format must be text like yyyy-MM-dd; got {shown(pattern)}")

    try:
        parsed = datetime.strptime(value.strip(), _strptime_pattern(pattern))
    except ValueError:
        raise ValueError(
            f"date {shown(value)} does not match format {shown(pattern)}"
        ) from None
    return _in_utc(parsed)


def _strptime_pattern(pattern: str) -> str:
    """Translate a Java/.NET date pattern; a pattern with ``%`` is already Python's."""
    if "%" in pattern:
        return pattern

    def translate(token: re.Match[str]) -> str:
        text = token.group()
        if text.startswith("'"):
            return text[1:-1].replace("%", "%%")
        return _PATTERN_LETTERS[text]

    return _PATTERN_TOKEN.sub(translate, pattern)


def _in_utc(value: datetime) -> datetime:
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)
