from datetime import UTC, datetime

import pytest

from gpserver.catalog.tool import INPUT, OPTIONAL, REQUIRED, ParamSpec
from gpserver.gptypes.codec import parse_input
from gpserver.gptypes.errors import InvalidParameterError
from gpserver.gptypes.values import LinearUnit


def spec(item_type, name="values", required=True, **options):
    return ParamSpec(
        name=name,
        data_type=f"GPMultiValue:{item_type}",
        direction=INPUT,
        parameter_type=REQUIRED if required else OPTIONAL,
        display_name=name,
        **options,
    )


@pytest.mark.parametrize(
    "raw",
    [
        ["a", "b"],
        '["a", "b"]',
        "a,b",
        "a, b",
        "['a', 'b']",
        ("a", "b"),
    ],
)
def test_strings_in_every_form_clients_send(raw):
    assert parse_input(spec("GPString"), raw) == ["a", "b"]


@pytest.mark.parametrize("raw", ["[1, 2]", "1, 2", "1,2", [1, 2], ["1", "2"]])
def test_longs(raw):
    assert parse_input(spec("GPLong"), raw) == [1, 2]


def test_doubles_and_booleans():
    assert parse_input(spec("GPDouble"), "[85768.56785, -9678.456]") == [
        85768.56785,
        -9678.456,
    ]
    assert parse_input(spec("GPBoolean"), "[True, False]") == [True, False]
    assert parse_input(spec("GPBoolean"), "true,false") == [True, False]


def test_dates():
    assert parse_input(spec("GPDate"), "[1199145600000, 0]") == [
        datetime(2008, 1, 1, tzinfo=UTC),
        datetime(1970, 1, 1, tzinfo=UTC),
    ]


def test_linear_units_as_a_json_array():
    raw = '[{"distance": 1, "units": "esriMiles"}, {"distance": 2}]'
    assert parse_input(spec("GPLinearUnit"), raw) == [
        LinearUnit(1.0, "esriMiles"),
        LinearUnit(2.0, "esriMeters"),
    ]


def test_single_json_object_is_a_one_element_list():
    raw = '{"distance": 1, "units": "esriMiles"}'
    assert parse_input(spec("GPLinearUnit"), raw) == [LinearUnit(1.0, "esriMiles")]


@pytest.mark.parametrize("raw", ["", "[]", [], None])
def test_empty_list_is_not_given(raw):
    assert parse_input(spec("GPString", required=False, default=["x"]), raw) == ["x"]


def test_choices_apply_to_each_element():
    declared = spec("GPString", choices=("a", "b"))
    with pytest.raises(InvalidParameterError) as caught:
        parse_input(declared, "a,c")
    assert str(caught.value) == (
        "Invalid value for parameter 'values': element 1: expected one of 'a', 'b'; "
        "got 'c'"
    )


@pytest.mark.parametrize(
    ("item_type", "raw", "reason"),
    [
        ("GPLong", "[1, 2.5]", "element 1: expected a whole number like 7; got 2.5"),
        ("GPLong", "1, x", "element 1: expected a whole number like 7; got 'x'"),
        ("GPLong", "1,,3", "element 1 is empty"),
        ("GPString", '["a", null]', "element 1 is empty"),
        ("GPDouble", "[1, 2", 'expected a JSON array like ["a", "b"]; got \'[1, 2\''),
        (
            "GPString",
            "[__import__('os')]",
            'expected a JSON array like ["a", "b"]; got "[__import__(\'os\')]"',
        ),
        (
            "GPLinearUnit",
            '[{"distance": 1, "units": "parsecs"}]',
            "element 0: units must be one of the esri linear units "
            "(esriUnknownUnits, esriInches, esriPoints, esriFeet, esriYards, "
            "esriMiles, esriNauticalMiles, esriMillimeters, esriCentimeters, "
            "esriMeters, esriKilometers, "
            "esriDecimalDegrees, esriDecimeters, esriIntInches, esriIntFeet, "
            "esriIntYards, esriIntMiles, esriIntNauticalMiles); got 'parsecs'",
        ),
        ("GPString", "[b'x']", "element 0: expected text; got b'x'"),
    ],
)
def test_bad_elements_are_named_by_index(item_type, raw, reason):
    with pytest.raises(InvalidParameterError) as caught:
        parse_input(spec(item_type), raw)
    assert str(caught.value) == f"Invalid value for parameter 'values': {reason}"


def test_range_applies_to_each_element():
    with pytest.raises(InvalidParameterError) as caught:
        parse_input(spec("GPLong", maximum=5), [1, 9])
    assert str(caught.value) == (
        "Invalid value for parameter 'values': element 1: must be at most 5; got 9"
    )
