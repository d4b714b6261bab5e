"""Running one task: decode its inputs, call the tool, encode its outputs.

The same steps serve a job (reporting through the jobs API) and a synchronous
execute (collecting messages in memory); only the Context differs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from gpserver.catalog.tool import TaskSpec
from gpserver.gptypes import codec
from gpserver.gptypes.context import GPContext, finish_output, prepare_input
from gpserver.gptypes.values import FeatureSet

log = logging.getLogger(__name__)

FEATURE_TYPES = ("GPFeatureRecordSetLayer",)


class ToolOutputError(Exception):
    """A tool returned something its declared outputs cannot hold."""


def decode_inputs(
    task: TaskSpec, stored: Mapping[str, Any], gp_context: GPContext
) -> dict[str, Any]:
    """Python values for the tool's arguments from the stored canonical JSON."""
    arguments: dict[str, Any] = {}
    for spec in task.inputs:
        value = codec.parse_input(spec, stored.get(spec.name))
        if spec.data_type in FEATURE_TYPES and isinstance(value, FeatureSet):
            value = prepare_input(value, gp_context)
        arguments[spec.python_name] = value
    return arguments


def call_tool(
    task: TaskSpec, context: Any, arguments: dict[str, Any]
) -> dict[str, Any]:
    """Call the tool and name its outputs."""
    if task.wants_context:
        returned = task.function(context, **arguments)
    else:
        returned = task.function(**arguments)

    outputs = task.outputs
    if not outputs:
        return {}
    if task.outputs_are_tuple:
        if not isinstance(returned, tuple) or len(returned) != len(outputs):
            raise ToolOutputError(
                f"the tool returned {type(returned).__name__}, expected "
                f"{len(outputs)} outputs ({', '.join(o.name for o in outputs)})"
            )
        return {spec.name: value for spec, value in zip(outputs, returned, strict=True)}
    return {outputs[0].name: returned}


def encode_outputs(
    task: TaskSpec,
    values: Mapping[str, Any],
    gp_context: GPContext,
    *,
    max_records: int,
    file_url: Callable[[str], str],
    input_crs: Any = None,
) -> dict[str, dict[str, Any]]:
    """Each output as ``{"paramName", "dataType", "value"}``, keyed by name."""
    encoded: dict[str, dict[str, Any]] = {}
    for spec in task.outputs:
        value = values.get(spec.name)
        if spec.data_type in FEATURE_TYPES and isinstance(value, FeatureSet):
            value = finish_output(value, gp_context, input_crs)
        try:
            json_value = codec.encode_output(
                spec, value, max_records=max_records, file_url=file_url
            )
        except TypeError as exc:
            raise ToolOutputError(f"output {spec.name!r}: {exc}") from exc
        encoded[spec.name] = codec.wrap(spec, json_value)
    return encoded


def input_crs_of(task: TaskSpec, arguments: Mapping[str, Any]) -> Any:
    """The spatial reference of the first feature input, for outputs to follow."""
    for spec in task.inputs:
        value = arguments.get(spec.python_name)
        if isinstance(value, FeatureSet) and value.crs is not None:
            return value.crs
    return None


def prepare_request(
    task: TaskSpec, params: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check a request's inputs and return them as canonical JSON, with its context.

    Raises InvalidParameterError naming the first bad parameter.
    """
    stored: dict[str, Any] = {}
    for spec in task.inputs:
        value = codec.parse_input(spec, params.get(spec.name))
        stored[spec.name] = codec.canonical_input(spec, value)
    context = GPContext.from_params(params)
    return stored, context.to_json()
