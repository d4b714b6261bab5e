"""The diagnostics toolbox (service ``Samples/Diagnostics``).

Tools for checking a server and its clients rather than for doing work: Echo sends
every data type through the codec and back, Wait holds a job for a while to exercise
progress and cancellation, and Fail shows how a tool's error reaches the client.
``Samples/DiagnosticsSync`` publishes Echo alone, from :mod:`diagnostics_sync`.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Annotated, NamedTuple

from gpserver.catalog.tool import Context, Param, tool
from gpserver.gptypes.values import DataFile, FeatureSet, LinearUnit, RecordSet

# How often Wait looks for a cancel request, and how often it reports progress.
_CANCEL_CHECK_SECONDS = 0.1
_PROGRESS_SECONDS = 1.0


class EchoResult(NamedTuple):
    out_string: str | None
    out_long: int | None
    out_double: float | None
    out_boolean: bool | None
    out_date: datetime | None
    out_linear_unit: LinearUnit | None
    out_feature_set: FeatureSet | None
    out_record_set: RecordSet | None
    out_data_file: DataFile | None
    out_multi_string: list[str] | None
    out_multi_long: list[int] | None
    out_multi_double: list[float] | None
    out_multi_boolean: list[bool] | None
    out_multi_date: list[datetime] | None
    out_multi_linear_unit: list[LinearUnit] | None
    out_multi_data_file: list[DataFile] | None


@tool(
    display_name="Echo",
    description=(
        "Returns each input unchanged in the output of the same type: in_string comes "
        "back as out_string, and so on. Every input is optional; an empty input gives "
        "an empty output. Useful to check how a client and the server encode each GP "
        "data type."
    ),
    idempotent=True,
)
def echo(
    in_string: str | None = None,
    in_long: int | None = None,
    in_double: float | None = None,
    in_boolean: bool | None = None,
    in_date: datetime | None = None,
    in_linear_unit: LinearUnit | None = None,
    in_feature_set: FeatureSet | None = None,
    in_record_set: RecordSet | None = None,
    in_data_file: DataFile | None = None,
    in_multi_string: list[str] | None = None,
    in_multi_long: list[int] | None = None,
    in_multi_double: list[float] | None = None,
    in_multi_boolean: list[bool] | None = None,
    in_multi_date: list[datetime] | None = None,
    in_multi_linear_unit: list[LinearUnit] | None = None,
    in_multi_data_file: list[DataFile] | None = None,
) -> EchoResult:
    return EchoResult(
        out_string=in_string,
        out_long=in_long,
        out_double=in_double,
        out_boolean=in_boolean,
        out_date=in_date,
        out_linear_unit=in_linear_unit,
        out_feature_set=in_feature_set,
        out_record_set=in_record_set,
        out_data_file=in_data_file,
        out_multi_string=in_multi_string,
        out_multi_long=in_multi_long,
        out_multi_double=in_multi_double,
        out_multi_boolean=in_multi_boolean,
        out_multi_date=in_multi_date,
        out_multi_linear_unit=in_multi_linear_unit,
        out_multi_data_file=in_multi_data_file,
    )


@tool(
    display_name="Wait",
    description=(
        "Waits the given number of seconds, reporting progress every second, and "
        "stops early when the job is cancelled. Returns the seconds it was asked to "
        "wait or, when cancelled, the seconds it waited, to a tenth."
    ),
)
def wait(
    context: Context,
    seconds: Annotated[
        float,
        Param(
            display_name="Seconds",
            description="How long to wait, from 0 to 600 seconds.",
            minimum=0,
            maximum=600,
        ),
    ],
) -> Annotated[float, Param(name="waited", display_name="Seconds Waited")]:
    if not 0 <= seconds <= 600:
        raise ValueError(f"seconds must be between 0 and 600, not {seconds}")

    start = time.monotonic()
    next_report = _PROGRESS_SECONDS
    while (elapsed := time.monotonic() - start) < seconds:
        if context.is_cancelled():
            context.message(f"Cancelled after {elapsed:.1f} of {seconds:g} seconds.")
            return round(elapsed, 1)
        if elapsed >= next_report:
            percent = int(100 * elapsed / seconds)
            context.progress(percent, f"Waited {elapsed:.0f} of {seconds:g} seconds")
            next_report += _PROGRESS_SECONDS
        time.sleep(min(_CANCEL_CHECK_SECONDS, seconds - elapsed))

    context.message(f"Waited {seconds:g} seconds.")
    return seconds


@tool(
    display_name="Fail",
    description="Always fails, with the given message as its error.",
)
def fail(
    message: Annotated[
        str,
        Param(display_name="Message", description="The error message to fail with."),
    ] = "Fail was asked to fail.",
) -> None:
    raise RuntimeError(message)
