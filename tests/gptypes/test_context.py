import json

import pytest
from pyproj import CRS, Transformer
from shapely.geometry import Point, box

from gpserver.gptypes.context import (
    GPContext,
    finish_output,
    parse_context,
    prepare_input,
)
from gpserver.gptypes.errors import InvalidParameterError
from gpserver.gptypes.values import Feature, FeatureSet

WGS84 = CRS.from_epsg(4326)
WEB_MERCATOR = CRS.from_epsg(3857)
UTM_33N = CRS.from_epsg(32633)
TO_MERCATOR = Transformer.from_crs(WGS84, WEB_MERCATOR, always_xy=True)


def points(crs, *coordinates):
    return FeatureSet(
        features=[
            Feature(Point(x, y), {"n": i}) for i, (x, y) in enumerate(coordinates)
        ],
        crs=crs,
    )


# Reading the request ------------------------------------------------------------


def test_nothing_asked():
    assert parse_context({}) == GPContext()
    assert parse_context({"context": "", "env:outSR": ""}) == GPContext()


@pytest.mark.parametrize(
    "context",
    [
        '{"outSR": 102100, "processSR": 4326}',
        '{"outSR": {"wkid": 102100, "latestWkid": 3857}, "processSR": {"wkid": 4326}}',
        {"outSR": "3857", "processSR": "4326"},
    ],
)
def test_context_spatial_references(context):
    parsed = parse_context({"context": context})
    assert parsed.out_crs == WEB_MERCATOR
    assert parsed.process_crs == WGS84
    assert parsed.extent is None


def test_older_env_parameters():
    parsed = parse_context({"env:outSR": "102100", "env:processSR": '{"wkid": 4326}'})
    assert parsed == GPContext(out_crs=WEB_MERCATOR, process_crs=WGS84)


def test_context_wins_over_env():
    parsed = parse_context(
        {"context": '{"outSR": 4326}', "env:outSR": "3857", "env:processSR": "32633"}
    )
    assert parsed.out_crs == WGS84
    assert parsed.process_crs == UTM_33N


def test_extent_with_its_spatial_reference():
    context = {
        "extent": {
            "xmin": 0,
            "ymin": 0,
            "xmax": 10,
            "ymax": 5,
            "spatialReference": {"wkid": 4326},
        }
    }
    parsed = parse_context({"context": json.dumps(context)})
    assert parsed.extent.equals(box(0, 0, 10, 5))
    assert parsed.extent_crs == WGS84


CONTEXT_EXAMPLE = (
    '{"outSR": 102100, "processSR": 4326, "extent": {"xmin": 0, "ymin": 0, '
    '"xmax": 10, "ymax": 10, "spatialReference": {"wkid": 4326}}}'
)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"context": "{outSR: 3857}"},
            "Invalid value for parameter 'context': expected a JSON object like "
            + CONTEXT_EXAMPLE,
        ),
        (
            {"context": "[3857]"},
            "Invalid value for parameter 'context': expected a JSON object like "
            + CONTEXT_EXAMPLE,
        ),
        (
            {"context": '{"outSR": 12}'},
            "Invalid value for parameter 'context': outSR: unknown spatial "
            "reference wkid 12",
        ),
        (
            {"context": '{"processSR": "web"}'},
            "Invalid value for parameter 'context': processSR: expected a wkid like "
            "4326 or a JSON object like {\"wkid\": 4326}; got 'web'",
        ),
        (
            {"env:outSR": "web mercator"},
            "Invalid value for parameter 'env:outSR': expected a wkid like 4326 or a "
            "JSON object like {\"wkid\": 4326}; got 'web mercator'",
        ),
        (
            {"env:processSR": "0"},
            "Invalid value for parameter 'env:processSR': a wkid is a positive whole "
            "number; got 0",
        ),
        (
            {"context": '{"extent": {"xmin": 0}}'},
            "Invalid value for parameter 'context': extent: ymin must be a number; "
            "got None",
        ),
        (
            {"context": '{"extent": {"x": 0, "y": 0}}'},
            "Invalid value for parameter 'context': extent: expected an envelope like "
            '{"xmin": 0, "ymin": 0, "xmax": 10, "ymax": 10}; got {\'x\': 0, \'y\': 0}',
        ),
    ],
)
def test_bad_context(params, message):
    with pytest.raises(InvalidParameterError) as caught:
        parse_context(params)
    assert str(caught.value) == message


# Inputs -------------------------------------------------------------------------


def test_extent_drops_features_outside_it():
    value = points(WGS84, (1, 1), (20, 20), (5, 5))
    value.features.append(Feature(None, {"n": 3}))
    context = GPContext(extent=box(0, 0, 10, 10), extent_crs=WGS84)

    kept = prepare_input(value, context)

    assert [f.attributes["n"] for f in kept.features] == [0, 2, 3]
    assert len(value.features) == 4


def test_extent_is_compared_in_the_features_crs():
    inside = TO_MERCATOR.transform(5, 5)
    outside = TO_MERCATOR.transform(15, 5)
    value = points(WEB_MERCATOR, inside, outside)
    context = GPContext(extent=box(0, 0, 10, 10), extent_crs=WGS84)

    kept = prepare_input(value, context)

    assert [f.attributes["n"] for f in kept.features] == [0]
    assert kept.crs == WEB_MERCATOR


def test_process_sr_projects_inputs():
    value = points(WGS84, (1, 2))
    prepared = prepare_input(value, GPContext(process_crs=WEB_MERCATOR))

    x, y = TO_MERCATOR.transform(1, 2)
    assert prepared.crs == WEB_MERCATOR
    assert (prepared.features[0].geometry.x, prepared.features[0].geometry.y) == (x, y)
    assert prepared.features[0].attributes == {"n": 0}
    assert value.features[0].geometry == Point(1, 2)


def test_input_without_crs_is_not_projected():
    value = points(None, (1, 2))
    prepared = prepare_input(value, GPContext(process_crs=WEB_MERCATOR))
    assert prepared.crs is None
    assert prepared.features[0].geometry == Point(1, 2)


# Outputs ------------------------------------------------------------------------


def test_out_sr_wins():
    result = points(WGS84, (1, 2))
    finished = finish_output(
        result, GPContext(out_crs=WEB_MERCATOR, process_crs=UTM_33N), WGS84
    )
    assert finished.crs == WEB_MERCATOR
    assert finished.features[0].geometry.x == TO_MERCATOR.transform(1, 2)[0]


def test_only_process_sr_puts_outputs_in_it():
    result = points(WGS84, (15, 0))
    finished = finish_output(result, GPContext(process_crs=UTM_33N), WGS84)
    assert finished.crs == UTM_33N
    assert finished.features[0].geometry.x == pytest.approx(500000.0)


def test_without_a_request_outputs_stay_as_the_tool_made_them():
    result = points(UTM_33N, (500000, 0))
    assert finish_output(result, GPContext(), WGS84) == result


def test_output_without_crs_is_taken_to_be_in_the_input_crs():
    result = points(None, (1, 2))
    finished = finish_output(result, GPContext(), WGS84)
    assert finished.crs == WGS84
    assert finished.features[0].geometry == Point(1, 2)


def test_output_without_crs_is_taken_to_be_in_the_process_crs():
    result = points(None, (500000, 0))
    finished = finish_output(
        result, GPContext(out_crs=WGS84, process_crs=UTM_33N), WEB_MERCATOR
    )
    assert finished.crs == WGS84
    assert finished.features[0].geometry.x == pytest.approx(15.0)


def test_stored_context_reads_back_equal():
    asked = {
        "context": json.dumps(
            {
                "outSR": {"wkid": 102100},
                "extent": {
                    "xmin": 0,
                    "ymin": 0,
                    "xmax": 10,
                    "ymax": 5,
                    "spatialReference": {"wkid": 4326},
                },
            }
        ),
        "env:processSR": "4326",
    }
    context = GPContext.from_params(asked)
    stored = json.loads(json.dumps(context.to_json()))

    assert stored == {
        "outSR": {"wkid": 102100, "latestWkid": 3857},
        "processSR": {"wkid": 4326, "latestWkid": 4326},
        "extent": {
            "xmin": 0.0,
            "ymin": 0.0,
            "xmax": 10.0,
            "ymax": 5.0,
            "spatialReference": {"wkid": 4326, "latestWkid": 4326},
        },
    }
    restored = GPContext.from_json(stored)
    assert restored.out_crs == context.out_crs
    assert restored.process_crs == context.process_crs
    assert restored.extent.equals(context.extent)
    assert restored.extent_crs == context.extent_crs


def test_empty_context_is_stored_as_an_empty_object():
    assert GPContext().to_json() == {}
    assert GPContext.from_json({}) == GPContext()
