from datetime import UTC, datetime

import pytest

from gpserver.catalog.tool import INPUT, OPTIONAL, REQUIRED, ParamSpec
from gpserver.gptypes.codec import parse_input
from gpserver.gptypes.errors import InvalidParameterError
from gpserver.gptypes.values import DataFile, LinearUnit

LINEAR_UNITS_LISTED = (
    "esriUnknownUnits, esriInches, esriPoints, esriFeet, esriYards, esriMiles, "
    "esriNauticalMiles, esriMillimeters, esriCentimeters, esriMeters, "
    "esriKilometers, esriDecimalDegrees, esriDecimeters, esriIntInches, "
    "esriIntFeet, esriIntYards, esriIntMiles, esriIntNauticalMiles"
)


def spec(data_type, name="p", required=True, **options):
    return ParamSpec(
        name=name,
        data_type=data_type,
        direction=INPUT,
        parameter_type=REQUIRED if required else OPTIONAL,
        display_name=name,
        **options,
    )


def rejected(param_spec, raw):
    with pytest.raises(InvalidParameterError) as caught:
        parse_input(param_spec, raw)
    assert caught.value.param == param_spec.name
    return str(caught.value)


def test_error_names_the_parameter_and_what_was_expected():
    error = InvalidParameterError(
        "distance",
        'expected a JSON object like {"distance": 5, "units": "esriKilometers"}',
    )
    assert str(error) == (
        "Invalid value for parameter 'distance': expected a JSON object like "
        '{"distance": 5, "units": "esriKilometers"}'
    )
    assert isinstance(error, ValueError)
    assert error.reason.startswith("expected")


# Not given ----------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["", "   ", None])
def test_empty_means_the_default(raw):
    assert parse_input(spec("GPLong", required=False, default=7), raw) == 7
    assert parse_input(spec("GPString", required=False), raw) is None


def test_missing_required_value():
    assert rejected(spec("GPString", name="word"), "") == (
        "Invalid value for parameter 'word': a value is required"
    )


def test_list_default_is_a_copy():
    declared = spec("GPMultiValue:GPString", required=False, default=["a"])
    parse_input(declared, "").append("b")
    assert parse_input(declared, "") == ["a"]


# GPString -----------------------------------------------------------------------


def test_string_is_taken_as_is():
    assert parse_input(spec("GPString"), " world ") == " world "
    assert parse_input(spec("GPString"), "null") == "null"


def test_string_choice_list_is_enforced():
    units = spec("GPString", name="units", choices=("Kilometers", "Miles"))
    assert parse_input(units, "Miles") == "Miles"
    assert rejected(units, "Feet") == (
        "Invalid value for parameter 'units': expected one of 'Kilometers', "
        "'Miles'; got 'Feet'"
    )


def test_string_rejects_json_structures():
    assert rejected(spec("GPString"), {"a": 1}) == (
        "Invalid value for parameter 'p': expected text; got {'a': 1}"
    )


# GPLong -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value"), [("7", 7), (" -3 ", -3), (7, 7), (7.0, 7), ("5.0", 5)]
)
def test_long(raw, value):
    parsed = parse_input(spec("GPLong"), raw)
    assert parsed == value
    assert type(parsed) is int


def test_long_keeps_precision_beyond_doubles():
    assert parse_input(spec("GPLong"), "4503599627370495") == 4503599627370495


@pytest.mark.parametrize(
    ("raw", "shown"), [("2.5", "'2.5'"), (2.5, "2.5"), ("abc", "'abc'"), (True, "True")]
)
def test_long_rejects_what_is_not_a_whole_number(raw, shown):
    assert rejected(spec("GPLong", name="count"), raw) == (
        f"Invalid value for parameter 'count': expected a whole number like 7; "
        f"got {shown}"
    )


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("4503599627370496", "'4503599627370496'"),
        ("-4503599627370496", "'-4503599627370496'"),
        (10**30, "1000000000000000000000000000000"),
        (1e300, "1e+300"),
    ],
)
def test_long_beyond_the_exact_double_range_is_refused(raw, shown):
    assert rejected(spec("GPLong", name="count"), raw) == (
        "Invalid value for parameter 'count': expected a whole number between "
        f"-4503599627370495 and 4503599627370495; got {shown}"
    )
    assert parse_input(spec("GPLong"), "-4503599627370495") == -4503599627370495


def test_long_range():
    bounded = spec("GPLong", name="count", minimum=0, maximum=10)
    assert parse_input(bounded, "10") == 10
    assert rejected(bounded, "-1") == (
        "Invalid value for parameter 'count': must be at least 0; got -1"
    )
    assert rejected(bounded, "11") == (
        "Invalid value for parameter 'count': must be at most 10; got 11"
    )


# GPDouble -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value"),
    [("2.25", 2.25), ("-1e3", -1000.0), (".5", 0.5), (3, 3.0), (2.25, 2.25)],
)
def test_double(raw, value):
    parsed = parse_input(spec("GPDouble"), raw)
    assert parsed == value
    assert type(parsed) is float


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("nan", "'nan'"),
        ("inf", "'inf'"),
        (float("nan"), "nan"),
        (float("-inf"), "-inf"),
        ("1,5", "'1,5'"),
        # Text and integers beyond a double's range would become infinity.
        ("1e400", "'1e400'"),
        ("-1e400", "'-1e400'"),
        (10**400, repr(10**400)[:60] + " ..."),
    ],
)
def test_double_rejects_non_numbers(raw, shown):
    assert rejected(spec("GPDouble", name="ratio"), raw) == (
        f"Invalid value for parameter 'ratio': expected a number like 2.5; got {shown}"
    )


def test_double_range():
    bounded = spec("GPDouble", name="ratio", minimum=0.5, maximum=1)
    assert rejected(bounded, "0.25") == (
        "Invalid value for parameter 'ratio': must be at least 0.5; got 0.25"
    )
    assert rejected(bounded, "1.5") == (
        "Invalid value for parameter 'ratio': must be at most 1; got 1.5"
    )


# GPBoolean ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value"),
    [("true", True), ("false", False), ("True", True), ("FALSE", False), (True, True)],
)
def test_boolean(raw, value):
    assert parse_input(spec("GPBoolean"), raw) is value


@pytest.mark.parametrize(("raw", "shown"), [("yes", "'yes'"), ("1", "'1'"), (1, "1")])
def test_boolean_rejects_anything_else(raw, shown):
    assert rejected(spec("GPBoolean", name="flag"), raw) == (
        f"Invalid value for parameter 'flag': expected true or false; got {shown}"
    )


# GPDate -------------------------------------------------------------------------

NEW_YEAR_2008 = datetime(2008, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "raw",
    [
        1199145600000,
        "1199145600000",
        1199145600000.0,
        "2008-01-01T00:00:00",
        "2008-01-01T00:00:00.000",
        "2008-01-01T00:00:00Z",
        "2008-01-01T01:00:00+01:00",
        '{"date": "2008-01-01", "format": "yyyy-MM-dd"}',
        {"date": "01/01/2008 12:00:00 AM", "format": "MM/dd/yyyy hh:mm:ss a"},
        {"date": "2008-01-01T00:00:00", "format": "yyyy-MM-dd'T'HH:mm:ss"},
        {"date": "2008.01.01", "format": "%Y.%m.%d"},
        {"date": 1199145600000},
        {"date": "2008-01-01T00:00:00"},
    ],
)
def test_date_forms(raw):
    parsed = parse_input(spec("GPDate"), raw)
    assert parsed == NEW_YEAR_2008
    assert parsed.tzinfo is UTC


def test_date_keeps_milliseconds_and_drops_finer_parts():
    assert parse_input(spec("GPDate"), "2008-01-01T00:00:00.123456") == datetime(
        2008, 1, 1, 0, 0, 0, 123000, tzinfo=UTC
    )
    assert parse_input(spec("GPDate"), "1199145600123") == datetime(
        2008, 1, 1, 0, 0, 0, 123000, tzinfo=UTC
    )


def test_date_before_1970():
    assert parse_input(spec("GPDate"), "-86400000") == datetime(
        1969, 12, 31, tzinfo=UTC
    )


EXPECTED_DATE = (
    "expected milliseconds since 1970-01-01 UTC like 1199145600000, ISO text like "
    '2008-01-01T00:00:00, or {"date": "2008-01-01", "format": "yyyy-MM-dd"}'
)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("yesterday", f"{EXPECTED_DATE}; got 'yesterday'"),
        (True, f"{EXPECTED_DATE}; got True"),
        ("{bad json", f"{EXPECTED_DATE}; got '{{bad json'"),
        ({"format": "yyyy"}, f"{EXPECTED_DATE}; the object has no date"),
        (
            {"date": "2008/01/01", "format": "yyyy-MM-dd"},
            "date '2008/01/01' does not match format 'yyyy-MM-dd'",
        ),
        ("1e20", "1e+20 ms is outside the years 1-9999"),
    ],
)
def test_bad_dates(raw, reason):
    assert rejected(spec("GPDate", name="when"), raw) == (
        f"Invalid value for parameter 'when': {reason}"
    )


# GPLinearUnit -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (
            '{"distance": 2.5, "units": "esriKilometers"}',
            LinearUnit(2.5, "esriKilometers"),
        ),
        (
            {"distance": 2.5, "units": "esriKilometers"},
            LinearUnit(2.5, "esriKilometers"),
        ),
        (
            '{"distance": 345.678, "units": "esriMiles"}',
            LinearUnit(345.678, "esriMiles"),
        ),
        ('{"distance": 10}', LinearUnit(10.0, "esriMeters")),
        ('{"distance": "10", "units": ""}', LinearUnit(10.0, "esriMeters")),
        ("5 Kilometers", LinearUnit(5.0, "esriKilometers")),
        ("5 esriKilometers", LinearUnit(5.0, "esriKilometers")),
        ("0.5 DecimalDegrees", LinearUnit(0.5, "esriDecimalDegrees")),
        ("12", LinearUnit(12.0, "esriMeters")),
    ],
)
def test_linear_unit(raw, value):
    assert parse_input(spec("GPLinearUnit"), raw) == value


LINEAR_UNIT_EXPECTED = (
    'expected a JSON object like {"distance": 5, "units": "esriKilometers"}'
)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("[5]", f"{LINEAR_UNIT_EXPECTED} or text like \"5 Kilometers\"; got '[5]'"),
        ([5], LINEAR_UNIT_EXPECTED),
        ('{"units": "esriMiles"}', LINEAR_UNIT_EXPECTED),
        ("{oops", LINEAR_UNIT_EXPECTED),
        (
            "five miles",
            f"{LINEAR_UNIT_EXPECTED} or text like \"5 Kilometers\"; got 'five miles'",
        ),
        (
            '{"distance": 5, "units": "furlongs"}',
            "units must be one of the esri linear units "
            f"({LINEAR_UNITS_LISTED}); got 'furlongs'",
        ),
        (
            "5 Furlongs",
            "units must be one of the esri linear units "
            f"({LINEAR_UNITS_LISTED}); got 'Furlongs'",
        ),
        (
            '{"distance": "far"}',
            "expected distance to be a number; got 'far'",
        ),
        ("1e400 Kilometers", "expected distance to be a number; got '1e400'"),
        ('{"distance": 1e400}', "expected distance to be a number; got inf"),
    ],
)
def test_bad_linear_units(raw, reason):
    assert rejected(spec("GPLinearUnit", name="distance"), raw) == (
        f"Invalid value for parameter 'distance': {reason}"
    )


def test_linear_unit_null_means_not_given():
    default = LinearUnit(1.0, "esriMiles")
    assert parse_input(spec("GPLinearUnit", default=default), "null") == default


# GPDataFile ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        '{"url": "https://example.com/data.csv"}',
        {"url": "https://example.com/data.csv"},
        "https://example.com/data.csv",
    ],
)
def test_data_file(raw):
    assert parse_input(spec("GPDataFile"), raw) == DataFile(
        url="https://example.com/data.csv"
    )


@pytest.mark.parametrize("raw", ['{"url": ""}', {"url": ""}, {"url": None}, ""])
def test_data_file_with_empty_url_is_not_given(raw):
    assert parse_input(spec("GPDataFile", required=False), raw) is None
    assert rejected(spec("GPDataFile", name="table"), raw) == (
        "Invalid value for parameter 'table': a value is required"
    )


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (
            '{"itemID": "i1057fd92-669e-40c0-98c8-cf1b0500fa13"}',
            "uploaded items (itemID) are not supported; give the file as "
            '{"url": "https://example.com/data.csv"}',
        ),
        (
            '{"url": "file:///etc/passwd"}',
            "url must be an http or https URL; got 'file:///etc/passwd'",
        ),
        (
            "data.csv",
            'expected a JSON object like {"url": "https://example.com/data.csv"}',
        ),
        (
            '{"url": 5}',
            'expected a JSON object like {"url": "https://example.com/data.csv"}',
        ),
    ],
)
def test_bad_data_files(raw, reason):
    assert rejected(spec("GPDataFile", name="table"), raw) == (
        f"Invalid value for parameter 'table': {reason}"
    )


def test_unknown_data_type_is_a_server_error_not_a_client_one():
    with pytest.raises(TypeError) as caught:
        parse_input(spec("GPRasterDataLayer"), '{"url": "x"}')
    assert (
        str(caught.value) == "the codec has no reader for data type GPRasterDataLayer"
    )
