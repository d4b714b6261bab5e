import importlib
import tomllib
from importlib import resources
from types import ModuleType

from gpserver.catalog.tool import TaskSpec, describe, is_tool


def tasks_of(module: ModuleType) -> list[TaskSpec]:
    # The way tool discovery reads a toolbox: every @tool in its namespace, in order.
    return [describe(obj) for obj in vars(module).values() if is_tool(obj)]


def site() -> dict:
    text = resources.files("gpserver.samples").joinpath("site.toml").read_text()
    return tomllib.loads(text)


def test_the_site_publishes_the_three_sample_services():
    services = site()["services"]

    assert [(s["folder"], s["name"], s["executionType"]) for s in services] == [
        ("Samples", "NaturalEarth", "asynchronous"),
        ("Samples", "Diagnostics", "asynchronous"),
        ("Samples", "DiagnosticsSync", "synchronous"),
    ]
    for service in services:
        assert service["description"]
        assert service["minInstancesPerNode"] <= service["maxInstancesPerNode"]
        assert tasks_of(importlib.import_module(service["toolbox"]))


def test_natural_earth_tasks_and_their_parameters():
    module = importlib.import_module("gpserver.samples.naturalearth")

    described = {
        task.name: [(p.name, p.data_type) for p in task.parameters]
        for task in tasks_of(module)
    }

    assert described == {
        "BufferPoints": [
            ("points", "GPFeatureRecordSetLayer"),
            ("distance", "GPLinearUnit"),
            ("buffered", "GPFeatureRecordSetLayer"),
        ],
        "PlacesNear": [
            ("features", "GPFeatureRecordSetLayer"),
            ("distance", "GPLinearUnit"),
            ("places", "GPFeatureRecordSetLayer"),
            ("count", "GPLong"),
        ],
        "ProjectFeatures": [
            ("features", "GPFeatureRecordSetLayer"),
            ("output_wkid", "GPLong"),
            ("projected", "GPFeatureRecordSetLayer"),
        ],
        "ExtractLayer": [
            ("layer", "GPString"),
            ("area_of_interest", "GPFeatureRecordSetLayer"),
            ("features", "GPFeatureRecordSetLayer"),
            ("geojson", "GPDataFile"),
        ],
    }
    assert all(task.description for task in tasks_of(module))


def test_diagnostics_has_three_tasks_and_the_sync_service_only_echo():
    full = importlib.import_module("gpserver.samples.diagnostics")
    sync = importlib.import_module("gpserver.samples.diagnostics_sync")

    assert [t.name for t in tasks_of(full)] == ["Echo", "Wait", "Fail"]
    assert [t.name for t in tasks_of(sync)] == ["Echo"]


def test_echo_pairs_each_input_with_an_output_of_the_same_type():
    (echo, *_) = tasks_of(importlib.import_module("gpserver.samples.diagnostics"))

    inputs = {p.name.removeprefix("in_"): p.data_type for p in echo.inputs}
    outputs = {p.name.removeprefix("out_"): p.data_type for p in echo.outputs}
    assert inputs == outputs
    assert len(inputs) == 16
    assert not any(p.required for p in echo.inputs)
