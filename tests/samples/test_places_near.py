import math

import pytest
from pyproj import Geod
from shapely.geometry import LineString, Point, box

from gpserver.gptypes.values import Feature, FeatureSet, LinearUnit
from gpserver.samples.naturalearth import places_near
from gpserver.samples.naturalearth_data import load_layer

MEAN_EARTH_RADIUS_KM = 6371.0088

# The 1:50m places within 500 km of Paris. Nearest to the edge are Bordeaux (499.15 km
# geodesic, 498.96 km haversine) and Birmingham (501.33 km, 500.63 km), so the
# spherical and the ellipsoidal answers agree here.
WITHIN_500_KM_OF_PARIS = [
    "Amiens",
    "Amsterdam",
    "Bern",
    "Besançon",
    "Bordeaux",
    "Brussels",
    "Caen",
    "Cardiff",
    "Clermont-Ferrand",
    "Dijon",
    "Frankfurt",
    "Geneva",
    "Le Havre",
    "Lille",
    "Limoges",
    "London",
    "Luxembourg",
    "Lyon",
    "Nancy",
    "Nantes",
    "Orléans",
    "Paris",
    "Poitier",
    "Reims",
    "Rennes",
    "Rouen",
    "Strasbourg",
    "The Hague",
    "Zürich",
]


def haversine_km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    half_dphi = (phi2 - phi1) / 2
    half_dlambda = math.radians(lon2 - lon1) / 2
    a = math.sin(half_dphi) ** 2 + (
        math.cos(phi1) * math.cos(phi2) * math.sin(half_dlambda) ** 2
    )
    return 2 * MEAN_EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def paris() -> FeatureSet:
    layer = load_layer("ne_50m_populated_places")
    layer.features = [f for f in layer.features if f.attributes["NAME"] == "Paris"]
    return layer


def test_places_within_500_km_of_paris_match_a_haversine_search(context):
    centre = paris().features[0].geometry
    places = load_layer("ne_50m_populated_places").features
    by_haversine = sorted(
        f.attributes["NAME"]
        for f in places
        if haversine_km(centre.x, centre.y, f.geometry.x, f.geometry.y) <= 500
    )

    result = places_near(context, paris(), LinearUnit(500, "esriKilometers"))

    names = sorted(f.attributes["NAME"] for f in result.places.features)
    assert names == by_haversine
    assert names == WITHIN_500_KM_OF_PARIS
    assert result.place_count == len(WITHIN_500_KM_OF_PARIS)


def test_distances_are_kilometres_to_the_nearest_feature_nearest_first(context):
    centre = paris().features[0].geometry

    result = places_near(context, paris(), LinearUnit(500, "esriKilometers"))

    distances = [f.attributes["distance_km"] for f in result.places.features]
    assert distances == sorted(distances)
    assert result.places.features[0].attributes["NAME"] == "Paris"
    assert distances[0] == 0.0
    for place in result.places.features:
        spherical = haversine_km(centre.x, centre.y, place.geometry.x, place.geometry.y)
        assert place.attributes["distance_km"] == pytest.approx(spherical, rel=0.005)
    assert "distance_km" in [f.name for f in result.places.fields]


def test_places_inside_a_polygon_are_at_distance_zero(context):
    around_rome = FeatureSet(
        [Feature(box(12.0, 41.5, 13.0, 42.5))], geometry_type="esriGeometryPolygon"
    )

    result = places_near(context, around_rome, LinearUnit(1, "esriMeters"))

    assert sorted(f.attributes["NAME"] for f in result.places.features) == [
        "Rome",
        "Vatican City",
    ]
    assert {f.attributes["distance_km"] for f in result.places.features} == {0.0}


def test_an_empty_input_finds_nothing(context):
    result = places_near(context, FeatureSet(), LinearUnit(100, "esriKilometers"))

    assert result.places.features == []
    assert result.place_count == 0


def test_a_search_beyond_5000_km_is_refused(context):
    with pytest.raises(ValueError, match="at most 5000 km"):
        places_near(context, paris(), LinearUnit(6000, "esriKilometers"))


def test_distances_to_a_line_match_a_dense_sampling_of_it(context):
    line = LineString([(0.0, 45.0), (5.0, 48.0)])
    samples = [line.interpolate(i / 2000, normalized=True) for i in range(2001)]
    geod = Geod(ellps="WGS84")

    def nearest_sample_km(lon: float, lat: float) -> float:
        _, _, metres = geod.inv(
            [lon] * len(samples),
            [lat] * len(samples),
            [s.x for s in samples],
            [s.y for s in samples],
        )
        return min(metres) / 1000

    result = places_near(
        context,
        FeatureSet([Feature(line)], geometry_type="esriGeometryPolyline"),
        LinearUnit(100, "esriKilometers"),
    )

    assert result.place_count > 0
    for place in result.places.features:
        expected = nearest_sample_km(place.geometry.x, place.geometry.y)
        assert place.attributes["distance_km"] == pytest.approx(expected, abs=0.2)


def test_a_search_from_latitude_95_is_refused_naming_the_coordinate(context):
    off_globe = FeatureSet([Feature(Point(10.0, 95.0))])

    with pytest.raises(ValueError) as caught:
        places_near(context, off_globe, LinearUnit(10, "esriKilometers"))
    assert str(caught.value) == (
        "the coordinate (10, 95) is not a longitude and latitude: longitude must "
        "be between -180 and 180 and latitude between -90 and 90"
    )
