"""Reading the time bounds of an admin job query."""

from __future__ import annotations

from datetime import UTC, datetime

from gpserver.errors import BadRequest

# Epoch values below this are seconds, above it milliseconds: 1e11 seconds is the
# year 5138, while 1e11 milliseconds is March 1973, before any job of this server.
SECONDS_LIMIT = 100_000_000_000
# The years 1 to 9999, what a datetime can hold. A number beyond them is no time,
# and the store's 64-bit integer columns could not even compare with it.
EARLIEST_MS = -62_135_596_800_000
LATEST_MS = 253_402_300_799_999


def parse_time(raw: object, name: str) -> int | None:
    """Epoch milliseconds from epoch ms, epoch seconds or ISO 8601 (UTC if naive)."""
    if raw is None or str(raw).strip() == "":
        return None
    text = str(raw).strip()
    try:
        number = float(text)
    except ValueError:
        return _iso(text, name)
    if number != number or number in (float("inf"), float("-inf")):
        raise _bad(name, text)
    ms = int(number * 1000) if abs(number) < SECONDS_LIMIT else int(number)
    if not EARLIEST_MS <= ms <= LATEST_MS:
        raise _bad(name, text)
    return ms


def _iso(text: str, name: str) -> int:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _bad(name, text) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _bad(name: str, text: str) -> BadRequest:
    return BadRequest(
        f"Invalid value for parameter '{name}': expected epoch milliseconds, epoch "
        f"seconds or an ISO 8601 time such as 2026-12-04T16:00:00Z; got {text!r}"
    )
