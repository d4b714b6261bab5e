"""Faults found by trying the server as a user would, each kept from coming back."""

from __future__ import annotations

import pytest

from gpserver.catalog.tool import INPUT, OPTIONAL, ParamSpec
from gpserver.gptypes import codec
from gpserver.gptypes.errors import InvalidParameterError


def _spec(data_type: str) -> ParamSpec:
    return ParamSpec("in_set", data_type, INPUT, OPTIONAL, "In Set")


@pytest.mark.parametrize("data_type", ["GPRecordSet", "GPFeatureRecordSetLayer"])
@pytest.mark.parametrize("value", ['{"b": [1]}', "[1, 2]"])
def test_nested_attribute_values_are_refused_at_input(
    data_type: str, value: str
) -> None:
    raw = '{"features": [{"attributes": {"a": ' + value + "}}]}"
    with pytest.raises(InvalidParameterError) as caught:
        codec.parse_input(_spec(data_type), raw)
    assert str(caught.value) == (
        "Invalid value for parameter 'in_set': feature 0: attribute 'a' must be a "
        "number, a string, a boolean or null, not a JSON object or array"
    )
