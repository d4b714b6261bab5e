import time
from datetime import UTC, datetime

import pytest
from shapely.geometry import Point

from gpserver.gptypes.values import (
    DataFile,
    Feature,
    FeatureSet,
    Field,
    LinearUnit,
    RecordSet,
)
from gpserver.samples.diagnostics import echo, fail, wait

INPUTS = {
    "in_string": "héllo",
    "in_long": 42,
    "in_double": 2.5,
    "in_boolean": True,
    "in_date": datetime(2024, 5, 17, 12, 30, tzinfo=UTC),
    "in_linear_unit": LinearUnit(3, "esriMiles"),
    "in_feature_set": FeatureSet([Feature(Point(1, 2), {"id": 1})]),
    "in_record_set": RecordSet([{"id": 1}], [Field("id", "esriFieldTypeInteger")]),
    "in_data_file": DataFile(url="http://127.0.0.1/data.csv"),
    "in_multi_string": ["a", "b"],
    "in_multi_long": [1, 2, 3],
    "in_multi_double": [0.5, 1.5],
    "in_multi_boolean": [True, False],
    "in_multi_date": [datetime(2000, 1, 1, tzinfo=UTC)],
    "in_multi_linear_unit": [LinearUnit(1), LinearUnit(2, "esriFeet")],
    "in_multi_data_file": [DataFile(url="http://127.0.0.1/a.zip")],
}


def test_echo_returns_every_input_as_its_output():
    result = echo(**INPUTS)

    echoed = {
        name.replace("out_", "in_", 1): value
        for name, value in result._asdict().items()
    }
    assert echoed == INPUTS
    assert all(echoed[name] is INPUTS[name] for name in INPUTS)


def test_echo_without_inputs_returns_empty_outputs():
    assert set(echo()) == {None}


def test_wait_returns_the_seconds_asked_for_with_progress(context):
    start = time.monotonic()
    waited = wait(context, 1.2)

    assert waited == 1.2
    assert time.monotonic() - start >= 1.2
    assert context.progress_reports[0][0] in range(80, 90)
    assert context.messages == ["Waited 1.2 seconds."]


def test_wait_stops_soon_after_a_cancel(context):
    context.cancel_after(0.3)
    start = time.monotonic()

    waited = wait(context, 30)

    assert time.monotonic() - start < 0.6
    assert waited in (0.3, 0.4, 0.5)
    assert context.messages[-1].startswith("Cancelled after 0.")


def test_wait_refuses_a_negative_time(context):
    with pytest.raises(ValueError, match="between 0 and 600"):
        wait(context, -1)


def test_fail_raises_its_message():
    with pytest.raises(RuntimeError, match=r"^disk on fire$"):
        fail("disk on fire")
