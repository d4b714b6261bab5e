from __future__ import annotations

import pytest

from gpserver.errors import BadRequest
from gpserver.jobs.times import parse_time

# 2026-12-04T16:02:00.500Z
MOMENT_MS = 1_796_400_120_500


@pytest.mark.parametrize(
    "text",
    [
        "1796400120500",
        "1796400120.5",
        "2026-12-04T16:02:00.500Z",
        "2026-12-04T16:02:00.500+00:00",
        "2026-12-04T17:02:00.500+01:00",
        "2026-12-04T16:02:00.500",
    ],
)
def test_every_form_reads_as_the_same_millisecond(text: str) -> None:
    assert parse_time(text, "startTime") == MOMENT_MS


def test_numbers_below_1e11_are_seconds_and_above_milliseconds() -> None:
    assert parse_time("99999999999", "t") == 99_999_999_999_000
    assert parse_time("100000000000", "t") == 100_000_000_000


def test_nothing_given_is_no_bound() -> None:
    assert parse_time(None, "t") is None
    assert parse_time("  ", "t") is None


def test_the_years_1_to_9999_are_accepted() -> None:
    assert parse_time("0001-01-01T00:00:00Z", "t") == -62_135_596_800_000
    assert parse_time("253402300799999", "t") == 253_402_300_799_999


@pytest.mark.parametrize(
    "text", ["1e30", "-1e30", "253402300800000", "nan", "inf", "tomorrow"]
)
def test_what_is_no_time_is_refused_by_name(text: str) -> None:
    # 1e30 once went through to the store, where SQLite overflowed: a 500.
    with pytest.raises(BadRequest) as refused:
        parse_time(text, "endTime")

    assert refused.value.message == (
        "Invalid value for parameter 'endTime': expected epoch milliseconds, epoch "
        f"seconds or an ISO 8601 time such as 2026-12-04T16:00:00Z; got {text!r}"
    )
