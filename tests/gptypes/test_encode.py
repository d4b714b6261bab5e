import json
from datetime import UTC, date, datetime, timedelta, timezone

import numpy as np
import pytest
from pyproj import CRS

from gpserver.catalog.tool import INPUT, OUTPUT, REQUIRED, ParamSpec
from gpserver.gptypes.codec import canonical_input, encode_output, parse_input, wrap
from gpserver.gptypes.values import DataFile, LinearUnit


def output(data_type, name="result"):
    return ParamSpec(
        name=name,
        data_type=data_type,
        direction=OUTPUT,
        parameter_type="esriGPParameterTypeDerived",
        display_name=name,
    )


def spec(data_type, name="p"):
    return ParamSpec(
        name=name,
        data_type=data_type,
        direction=INPUT,
        parameter_type=REQUIRED,
        display_name=name,
    )


def encode(data_type, value):
    return encode_output(
        output(data_type),
        value,
        max_records=1000,
        file_url=lambda path: f"http://127.0.0.1/arcgis/rest/directories/{path}",
    )


@pytest.mark.parametrize(
    ("data_type", "value", "wire"),
    [
        ("GPString", "TestString", "TestString"),
        ("GPLong", 7, 7),
        ("GPLong", np.int64(7), 7),
        ("GPDouble", 2.25, 2.25),
        ("GPDouble", 2, 2.0),
        ("GPDouble", float("nan"), None),
        ("GPBoolean", True, True),
        ("GPBoolean", np.bool_(False), False),
        ("GPDate", datetime(2008, 1, 1, tzinfo=UTC), 1199145600000),
        ("GPDate", datetime(2008, 1, 1), 1199145600000),
        (
            "GPDate",
            datetime(2008, 1, 1, 1, tzinfo=timezone(timedelta(hours=1))),
            1199145600000,
        ),
        ("GPDate", date(2008, 1, 1), 1199145600000),
        (
            "GPLinearUnit",
            LinearUnit(2.5, "esriKilometers"),
            {"distance": 2.5, "units": "esriKilometers"},
        ),
        (
            "GPDataFile",
            DataFile(url="https://example.com/a.csv"),
            {"url": "https://example.com/a.csv"},
        ),
        (
            "GPDataFile",
            DataFile(path="out/a.csv"),
            {"url": "http://127.0.0.1/arcgis/rest/directories/out/a.csv"},
        ),
        ("GPMultiValue:GPDouble", [85768.56785, -9678.456], [85768.56785, -9678.456]),
        (
            "GPMultiValue:GPDate",
            (datetime(2008, 1, 1, tzinfo=UTC),),
            [1199145600000],
        ),
        ("GPString", None, None),
        ("GPFeatureRecordSetLayer", None, None),
    ],
)
def test_output_values(data_type, value, wire):
    assert encode(data_type, value) == wire


@pytest.mark.parametrize(
    ("data_type", "value", "reason"),
    [
        ("GPString", 5, "expected a str, got int"),
        ("GPLong", 2.5, "expected an int, got float"),
        ("GPLong", True, "expected an int, got bool"),
        ("GPDouble", "2.5", "expected a float, got str"),
        ("GPBoolean", 1, "expected a bool, got int"),
        ("GPDate", 1199145600000, "expected a datetime, got int"),
        ("GPLinearUnit", 5.0, "expected a LinearUnit, got float"),
        (
            "GPLinearUnit",
            LinearUnit(5, "km"),
            "'km' is not one of the esri linear units",
        ),
        ("GPDataFile", "a.csv", "expected a DataFile, got str"),
        (
            "GPDataFile",
            DataFile(),
            "a DataFile needs a url (or, for an output, a path)",
        ),
        ("GPRecordSet", [], "expected a RecordSet, got list"),
        ("GPMultiValue:GPLong", 5, "expected a list, got int"),
        ("GPMultiValue:GPLong", [1, "2"], "element 1: expected an int, got str"),
        (
            "GPRasterDataLayer",
            {},
            "the codec has no writer for data type GPRasterDataLayer",
        ),
    ],
)
def test_wrong_output_types_name_the_output(data_type, value, reason):
    with pytest.raises(TypeError) as caught:
        encode(data_type, value)
    assert str(caught.value) == f"output 'result' ({data_type}): {reason}"


def test_wrap():
    assert wrap(output("GPString", "Output_String"), "TestString") == {
        "paramName": "Output_String",
        "dataType": "GPString",
        "value": "TestString",
    }


@pytest.mark.parametrize(
    ("data_type", "raw"),
    [
        ("GPString", "world"),
        ("GPLong", "7"),
        ("GPDouble", "2.25"),
        ("GPBoolean", "true"),
        ("GPDate", "2008-01-01T00:00:00.123456"),
        ("GPDate", "1199145600000"),
        ("GPLinearUnit", "5 Kilometers"),
        ("GPLinearUnit", '{"distance": 2.5}'),
        ("GPDataFile", '{"url": "https://example.com/a.csv"}'),
        ("GPMultiValue:GPString", "['a', 'b']"),
        ("GPMultiValue:GPDate", "2008-01-01T00:00:00, 1199145600001"),
        ("GPRecordSet", '{"features": [{"attributes": {"a": 1}}]}'),
        (
            "GPFeatureRecordSetLayer",
            json.dumps(
                {
                    "features": [{"geometry": {"points": [[1, 2, 3]]}}],
                    "spatialReference": {
                        "wkt": CRS.from_epsg(4326).to_wkt("WKT1_ESRI")
                    },
                }
            ),
        ),
    ],
)
def test_canonical_input_parses_back_to_an_equal_value(data_type, raw):
    declared = spec(data_type)
    value = parse_input(declared, raw)
    stored = json.loads(json.dumps(canonical_input(declared, value)))
    assert parse_input(declared, stored) == value


def test_canonical_input_shapes():
    assert canonical_input(spec("GPDate"), datetime(2008, 1, 1, tzinfo=UTC)) == (
        1199145600000
    )
    assert canonical_input(spec("GPLinearUnit"), LinearUnit(5.0, "esriMiles")) == {
        "distance": 5.0,
        "units": "esriMiles",
    }
    assert canonical_input(spec("GPString"), None) is None


def test_canonical_input_of_a_wrong_type_names_the_parameter():
    with pytest.raises(TypeError) as caught:
        canonical_input(spec("GPLong", name="count"), "7")
    assert str(caught.value) == "parameter 'count' (GPLong): expected an int, got str"
