import json
from datetime import UTC, datetime

import pytest
from pyproj import CRS
from shapely.geometry import LineString, Point, Polygon, box

from gpserver.catalog.tool import INPUT, OUTPUT, REQUIRED, ParamSpec
from gpserver.gptypes.codec import canonical_input, encode_output, parse_input
from gpserver.gptypes.errors import InvalidParameterError
from gpserver.gptypes.values import Feature, FeatureSet, Field, RecordSet

WGS84 = CRS.from_epsg(4326)
WEB_MERCATOR = CRS.from_epsg(3857)


def spec(data_type="GPFeatureRecordSetLayer", name="features", **options):
    return ParamSpec(
        name=name,
        data_type=data_type,
        direction=INPUT,
        parameter_type=REQUIRED,
        display_name=name,
        **options,
    )


def output(data_type="GPFeatureRecordSetLayer", name="result"):
    return ParamSpec(
        name=name,
        data_type=data_type,
        direction=OUTPUT,
        parameter_type="esriGPParameterTypeDerived",
        display_name=name,
    )


def encode(value, max_records=1000, data_type="GPFeatureRecordSetLayer"):
    return encode_output(
        output(data_type), value, max_records=max_records, file_url=str
    )


# What clients send --------------------------------------------------------------


def test_python_client_feature_set():
    raw = json.dumps(
        {
            "objectIdFieldName": "OBJECTID",
            "geometryType": "esriGeometryPoint",
            "spatialReference": {"wkid": 4326, "latestWkid": 4326},
            "fields": [
                {"name": "OBJECTID", "type": "esriFieldTypeOID", "alias": "OBJECTID"},
                {"name": "name", "type": "esriFieldTypeString", "length": 50},
            ],
            "features": [
                {
                    "geometry": {"x": 1, "y": 2},
                    "attributes": {"OBJECTID": 1, "name": "a"},
                }
            ],
        }
    )
    assert parse_input(spec(), raw) == FeatureSet(
        features=[Feature(Point(1, 2), {"OBJECTID": 1, "name": "a"})],
        geometry_type="esriGeometryPoint",
        crs=WGS84,
        fields=[
            Field("OBJECTID", "esriFieldTypeOID"),
            Field("name", "esriFieldTypeString", length=50),
        ],
    )


def test_arcgis_core_feature_set_with_only_features():
    raw = json.dumps(
        {
            "features": [
                {
                    "geometry": {
                        "x": -13627665.27,
                        "y": 4547675.35,
                        "spatialReference": {"wkid": 102100, "latestWkid": 3857},
                    },
                    "attributes": {"id": 7},
                    "aggregateGeometries": None,
                    "symbol": None,
                    "popupTemplate": None,
                }
            ]
        }
    )
    assert parse_input(spec(), raw) == FeatureSet(
        features=[Feature(Point(-13627665.27, 4547675.35), {"id": 7})],
        geometry_type="esriGeometryPoint",
        crs=WEB_MERCATOR,
    )


def test_esri_leaflet_point_with_spatial_reference_on_the_geometry():
    raw = (
        '{"features": [{"geometry": {"x": -122.68, "y": 45.53, '
        '"spatialReference": {"wkid": 4326}}}], '
        '"geometryType": "esriGeometryPoint"}'
    )
    assert parse_input(spec(), raw) == FeatureSet(
        features=[Feature(Point(-122.68, 45.53), {})],
        geometry_type="esriGeometryPoint",
        crs=WGS84,
    )


def test_schema_less_set_takes_the_declared_defaults():
    declared = spec(geometry_types=("esriGeometryPolygon",), wkid=102100)
    parsed = parse_input(declared, '{"features": []}')
    assert parsed == FeatureSet(geometry_type="esriGeometryPolygon", crs=WEB_MERCATOR)


def test_geometry_type_is_inferred_from_the_first_geometry():
    raw = {
        "features": [{"attributes": {}}, {"geometry": {"paths": [[[0, 0], [1, 1]]]}}]
    }
    parsed = parse_input(spec(), raw)
    assert parsed.geometry_type == "esriGeometryPolyline"
    assert parsed.features[0].geometry is None
    assert parsed.features[1].geometry == LineString([(0, 0), (1, 1)])
    assert parsed.crs is None


def test_set_without_anything_defaults_to_points_in_no_crs():
    assert parse_input(spec(), "{}") == FeatureSet()


def test_feature_collection_layer_is_unwrapped():
    raw = {
        "layerDefinition": {"name": "points"},
        "featureSet": {"features": [{"geometry": {"x": 1, "y": 2}}]},
    }
    assert parse_input(spec(), raw).features == [Feature(Point(1, 2), {})]


def test_envelope_set_holds_polygons():
    raw = {
        "geometryType": "esriGeometryEnvelope",
        "features": [{"geometry": {"xmin": 0, "ymin": 0, "xmax": 1, "ymax": 1}}],
    }
    parsed = parse_input(spec(), raw)
    assert parsed.geometry_type == "esriGeometryPolygon"
    assert parsed.features[0].geometry.equals(box(0, 0, 1, 1))


def test_geometry_in_another_crs_than_the_set_is_projected():
    raw = {
        "spatialReference": {"wkid": 102100},
        "features": [
            {"geometry": {"x": 0, "y": 0}},
            {"geometry": {"x": 1, "y": 0, "spatialReference": {"wkid": 4326}}},
        ],
    }
    parsed = parse_input(spec(), raw)
    assert parsed.crs == WEB_MERCATOR
    assert parsed.features[1].geometry.x == pytest.approx(111319.49079327357)


def test_date_fields_become_datetimes():
    raw = {
        "fields": [{"name": "seen", "type": "esriFieldTypeDate"}],
        "features": [{"attributes": {"seen": 1199145600000}}],
    }
    parsed = parse_input(spec("GPRecordSet"), raw)
    assert parsed.rows == [{"seen": datetime(2008, 1, 1, tzinfo=UTC)}]


def test_record_set():
    raw = (
        '{"fields": [{"name": "NAME", "type": "esriFieldTypeString"}], '
        '"features": [{"attributes": {"NAME": "a"}}, {"attributes": {"NAME": "b"}}]}'
    )
    assert parse_input(spec("GPRecordSet"), raw) == RecordSet(
        rows=[{"NAME": "a"}, {"NAME": "b"}],
        fields=[Field("NAME", "esriFieldTypeString")],
    )


EXAMPLE = (
    '{"geometryType": "esriGeometryPoint", "features": '
    '[{"geometry": {"x": 1, "y": 2}, "attributes": {}}]}'
)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("not json", f"expected a JSON object like {EXAMPLE}"),
        ("[1, 2]", f"expected a JSON object like {EXAMPLE}"),
        (
            '{"url": "https://example.com/arcgis/rest/services/x/FeatureServer/0"}',
            f"features given by url or itemID are not supported; send them as JSON "
            f"like {EXAMPLE}",
        ),
        ('{"features": {}}', "features must be a JSON array; got dict"),
        ('{"features": [5]}', "feature 0 must be a JSON object"),
        (
            '{"geometryType": "esriGeometryCircle"}',
            "geometryType must be one of esriGeometryPoint, esriGeometryMultipoint, "
            "esriGeometryPolyline, esriGeometryPolygon, esriGeometryEnvelope; "
            "got 'esriGeometryCircle'",
        ),
        (
            '{"features": [{"geometry": {"x": 1, "y": 2}}, '
            '{"geometry": {"paths": [[[0, 0], [1, 1]]]}}]}',
            "feature 1 has a esriGeometryPolyline geometry in a set of "
            "esriGeometryPoint features",
        ),
        (
            '{"features": [{"geometry": {"x": 1}}]}',
            "feature 0: y must be a number; got None",
        ),
        (
            '{"features": [{"geometry": {"x": 1, "y": 2}, "attributes": [1]}]}',
            "feature 0: attributes must be a JSON object",
        ),
        (
            '{"spatialReference": {"wkid": 1}, "features": []}',
            "spatialReference: unknown spatial reference wkid 1",
        ),
        (
            '{"fields": [{"name": "a"}]}',
            "field 'a' needs a type like esriFieldTypeString; got None",
        ),
        ('{"fields": [{"type": "esriFieldTypeString"}]}', "fields[0] needs a name"),
    ],
)
def test_bad_feature_sets(raw, reason):
    with pytest.raises(InvalidParameterError) as caught:
        parse_input(spec(), raw)
    assert str(caught.value) == f"Invalid value for parameter 'features': {reason}"


def test_declared_geometry_types_are_enforced():
    declared = spec(geometry_types=("esriGeometryPolygon",))
    with pytest.raises(InvalidParameterError) as caught:
        parse_input(declared, {"features": [{"geometry": {"x": 1, "y": 2}}]})
    assert str(caught.value) == (
        "Invalid value for parameter 'features': expected esriGeometryPolygon "
        "features; got esriGeometryPoint"
    )


# What the server answers --------------------------------------------------------


def test_output_gets_fields_and_object_ids_derived_from_attributes():
    value = FeatureSet(
        features=[
            Feature(
                Point(1, 2),
                {
                    "name": "a",
                    "count": 3,
                    "ratio": 0.5,
                    "ok": True,
                    "seen": datetime(2008, 1, 1, tzinfo=UTC),
                    "note": None,
                },
            ),
            Feature(Point(3, 4), {"name": "bb", "count": 4, "ratio": 1, "ok": False}),
        ],
        crs=WEB_MERCATOR,
        display_field_name="name",
    )
    assert encode(value) == {
        "displayFieldName": "name",
        "geometryType": "esriGeometryPoint",
        "spatialReference": {"wkid": 102100, "latestWkid": 3857},
        "fields": [
            {"name": "OBJECTID", "type": "esriFieldTypeOID", "alias": "OBJECTID"},
            {
                "name": "name",
                "type": "esriFieldTypeString",
                "alias": "name",
                "length": 255,
            },
            {"name": "count", "type": "esriFieldTypeInteger", "alias": "count"},
            {"name": "ratio", "type": "esriFieldTypeDouble", "alias": "ratio"},
            {"name": "ok", "type": "esriFieldTypeSmallInteger", "alias": "ok"},
            {"name": "seen", "type": "esriFieldTypeDate", "alias": "seen", "length": 8},
            {
                "name": "note",
                "type": "esriFieldTypeString",
                "alias": "note",
                "length": 255,
            },
        ],
        "features": [
            {
                "geometry": {"x": 1.0, "y": 2.0},
                "attributes": {
                    "OBJECTID": 1,
                    "name": "a",
                    "count": 3,
                    "ratio": 0.5,
                    "ok": 1,
                    "seen": 1199145600000,
                    "note": None,
                },
            },
            {
                "geometry": {"x": 3.0, "y": 4.0},
                "attributes": {
                    "OBJECTID": 2,
                    "name": "bb",
                    "count": 4,
                    "ratio": 1,
                    "ok": 0,
                },
            },
        ],
        "exceededTransferLimit": False,
    }


def test_output_keeps_the_fields_a_tool_declared_and_adds_an_object_id():
    value = FeatureSet(
        features=[Feature(None, {"OBJECTID": "x"})],
        fields=[Field("OBJECTID", "esriFieldTypeString", alias="Id")],
    )
    body = encode(value)
    assert body["fields"] == [
        {"name": "OBJECTID_1", "type": "esriFieldTypeOID", "alias": "OBJECTID_1"},
        {"name": "OBJECTID", "type": "esriFieldTypeString", "alias": "Id"},
    ]
    assert body["features"] == [{"attributes": {"OBJECTID_1": 1, "OBJECTID": "x"}}]


def test_integer_objectid_attribute_becomes_the_oid_field():
    value = FeatureSet(features=[Feature(Point(0, 0), {"OBJECTID": 10})])
    body = encode(value)
    assert body["fields"] == [
        {"name": "OBJECTID", "type": "esriFieldTypeOID", "alias": "OBJECTID"}
    ]
    assert body["features"][0]["attributes"] == {"OBJECTID": 10}


def test_large_integers_get_a_big_integer_field():
    value = RecordSet(rows=[{"n": 2**40}])
    assert encode(value, data_type="GPRecordSet")["fields"][1] == {
        "name": "n",
        "type": "esriFieldTypeBigInteger",
        "alias": "n",
    }


def test_geometry_type_follows_the_geometries_a_tool_returned():
    polygons = FeatureSet(features=[Feature(box(0, 0, 1, 1), {})])
    assert encode(polygons)["geometryType"] == "esriGeometryPolygon"


def test_z_values_are_flagged():
    body = encode(FeatureSet(features=[Feature(Point(1, 2, 3), {})]))
    assert body["hasZ"] is True
    assert body["features"][0]["geometry"] == {"x": 1.0, "y": 2.0, "z": 3.0}


@pytest.mark.parametrize("count", [0, 2, 3])
def test_up_to_max_records_every_feature_is_returned(count):
    value = FeatureSet(features=[Feature(Point(i, i), {}) for i in range(count)])
    body = encode(value, max_records=3)
    assert len(body["features"]) == count
    assert body["exceededTransferLimit"] is False


def test_past_max_records_no_feature_is_returned():
    value = FeatureSet(features=[Feature(Point(i, i), {}) for i in range(4)])
    body = encode(value, max_records=3)
    assert body["features"] == []
    assert body["exceededTransferLimit"] is True
    assert body["fields"] == [
        {"name": "OBJECTID", "type": "esriFieldTypeOID", "alias": "OBJECTID"}
    ]


def test_record_set_output_follows_the_same_limit():
    records = RecordSet(rows=[{"a": 1}, {"a": 2}])
    assert encode(records, max_records=2, data_type="GPRecordSet") == {
        "fields": [
            {"name": "OBJECTID", "type": "esriFieldTypeOID", "alias": "OBJECTID"},
            {"name": "a", "type": "esriFieldTypeInteger", "alias": "a"},
        ],
        "features": [
            {"attributes": {"OBJECTID": 1, "a": 1}},
            {"attributes": {"OBJECTID": 2, "a": 2}},
        ],
        "exceededTransferLimit": False,
    }
    limited = encode(records, max_records=1, data_type="GPRecordSet")
    assert (limited["features"], limited["exceededTransferLimit"]) == ([], True)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ({"features": []}, "expected a FeatureSet, got dict"),
        (
            FeatureSet(features=[Point(0, 0)]),
            "feature 0 is a Point, not a Feature",
        ),
        (
            FeatureSet(features=[Feature({"x": 1}, {})]),
            "feature 0 has a dict geometry, not a shapely geometry",
        ),
        (
            FeatureSet(
                features=[Feature(Point(0, 0), {}), Feature(box(0, 0, 1, 1), {})]
            ),
            "the features mix geometry types esriGeometryPoint, esriGeometryPolygon",
        ),
        (
            FeatureSet(features=[Feature(Point(0, 0), {"x": object})]),
            "feature 0: an attribute value <class 'object'> has no JSON form",
        ),
    ],
)
def test_wrong_values_from_a_tool_name_the_output(value, reason):
    with pytest.raises(TypeError) as caught:
        encode(value)
    assert str(caught.value) == f"output 'result' (GPFeatureRecordSetLayer): {reason}"


# Round trips --------------------------------------------------------------------


def test_feature_set_canonical_form_parses_back_to_the_same_value():
    value = parse_input(
        spec(),
        {
            "spatialReference": {"wkid": 102100, "latestWkid": 3857},
            "fields": [{"name": "seen", "type": "esriFieldTypeDate"}],
            "features": [
                {
                    "geometry": {
                        "rings": [
                            [[0, 0], [0, 10], [10, 10], [10, 0], [0, 0]],
                            [[2, 2], [4, 2], [4, 4], [2, 4], [2, 2]],
                        ]
                    },
                    "attributes": {"seen": 1199145600000, "flag": True},
                }
            ],
        },
    )
    stored = json.loads(json.dumps(canonical_input(spec(), value)))

    assert stored["spatialReference"] == {"wkid": 102100, "latestWkid": 3857}
    assert stored["fields"] == [
        {"name": "seen", "type": "esriFieldTypeDate", "alias": "seen"}
    ]
    assert stored["features"][0]["attributes"] == {
        "seen": 1199145600000,
        "flag": True,
    }
    assert parse_input(spec(), stored) == value


def test_canonical_form_has_no_record_limit():
    value = FeatureSet(features=[Feature(Point(i, 0), {}) for i in range(5000)])
    stored = canonical_input(spec(), value)
    assert len(stored["features"]) == 5000
    assert stored["exceededTransferLimit"] is False


def test_polygon_written_by_a_tool_is_clockwise_on_the_wire():
    value = FeatureSet(
        features=[Feature(Polygon([(0, 0), (1, 0), (1, 1), (0, 1)]), {})]
    )
    rings = encode(value)["features"][0]["geometry"]["rings"]
    assert rings == [[[0.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, 0.0], [0.0, 0.0]]]


def test_record_set_rows_must_be_dicts():
    with pytest.raises(TypeError) as caught:
        encode(RecordSet(rows=[["a"]]), data_type="GPRecordSet")
    assert str(caught.value) == (
        "output 'result' (GPRecordSet): row 0 is a list, not a dict"
    )
