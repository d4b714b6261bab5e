"""Turning an annotated Python function into a GP task.

A tool is a plain function. Its first parameter may be annotated with :class:`Context`
to receive messages, progress and cancellation; every other parameter is a GP input
whose data type follows from its annotation. The return annotation declares the
outputs: one type for a single output named ``output`` (or named with ``Param``), or a
``NamedTuple`` whose fields are the outputs, in order.

    @tool(display_name="Buffer Points")
    def buffer_points(
        context: Context,
        points: FeatureSet,
        distance: Annotated[LinearUnit, Param(display_name="Distance")],
    ) -> Annotated[FeatureSet, Param(name="buffers")]:
        ...
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar, overload

from pyproj import CRS

from gpserver.gptypes.values import DataFile, FeatureSet, LinearUnit, RecordSet

INPUT = "esriGPParameterDirectionInput"
OUTPUT = "esriGPParameterDirectionOutput"
REQUIRED = "esriGPParameterTypeRequired"
OPTIONAL = "esriGPParameterTypeOptional"
DERIVED = "esriGPParameterTypeDerived"

SIMPLE_TYPES: dict[type, str] = {
    str: "GPString",
    int: "GPLong",
    float: "GPDouble",
    bool: "GPBoolean",
    datetime: "GPDate",
    LinearUnit: "GPLinearUnit",
    DataFile: "GPDataFile",
}
COMPLEX_TYPES: dict[type, str] = {
    FeatureSet: "GPFeatureRecordSetLayer",
    RecordSet: "GPRecordSet",
}


class Context(Protocol):
    """What a running tool may ask of the server."""

    @property
    def output_dir(self) -> Path:
        """A folder of this run's own where the tool writes files it returns."""

    @property
    def process_crs(self) -> CRS | None:
        """The processing spatial reference the client asked for, if any."""

    def message(self, text: str) -> None: ...

    def warning(self, text: str) -> None: ...

    def error(self, text: str) -> None: ...

    def progress(self, percent: int | None = None, message: str | None = None) -> None:
        """Report progress; ``percent`` 0-100 makes it a step progressor."""

    def is_cancelled(self) -> bool:
        """True once a client asked to cancel; a tool should then return soon."""


@dataclass(frozen=True)
class Param:
    """Extra description of a parameter, given through ``Annotated``."""

    name: str | None = None
    display_name: str | None = None
    description: str = ""
    choices: Sequence[str] | None = None
    minimum: float | None = None
    maximum: float | None = None
    geometry_types: Sequence[str] | None = None
    wkid: int | None = None
    category: str = ""


@dataclass(frozen=True)
class ParamSpec:
    """One parameter of a task as the REST API describes it."""

    name: str
    data_type: str
    direction: str
    parameter_type: str
    display_name: str
    description: str = ""
    default: Any = None
    choices: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    geometry_types: tuple[str, ...] | None = None
    wkid: int | None = None
    category: str = ""
    python_name: str = ""

    @property
    def is_input(self) -> bool:
        return self.direction == INPUT

    @property
    def required(self) -> bool:
        return self.parameter_type == REQUIRED


@dataclass(frozen=True)
class TaskSpec:
    """A tool published as a task: its function and its parameters."""

    name: str
    display_name: str
    description: str
    function: Callable[..., Any]
    parameters: tuple[ParamSpec, ...]
    wants_context: bool
    outputs_are_tuple: bool = False
    category: str = ""
    idempotent: bool = False

    @property
    def inputs(self) -> tuple[ParamSpec, ...]:
        return tuple(p for p in self.parameters if p.is_input)

    @property
    def outputs(self) -> tuple[ParamSpec, ...]:
        return tuple(p for p in self.parameters if not p.is_input)

    def parameter(self, name: str) -> ParamSpec | None:
        return next((p for p in self.parameters if p.name == name), None)


class ToolDefinitionError(TypeError):
    """A tool's signature cannot be published; the message says which parameter."""


_TOOL_ATTRIBUTE = "__gpserver_tool__"


F = TypeVar("F", bound=Callable[..., Any])


@overload
def tool(function: F) -> F: ...


@overload
def tool(
    *,
    name: str | None = None,
    display_name: str | None = None,
    description: str | None = None,
    category: str = "",
    idempotent: bool = False,
) -> Callable[[F], F]: ...


def tool(
    function: F | None = None,
    *,
    name: str | None = None,
    display_name: str | None = None,
    description: str | None = None,
    category: str = "",
    idempotent: bool = False,
) -> F | Callable[[F], F]:
    """Mark a function as a GP tool. Usable bare (``@tool``) or with options."""

    def mark(fn: F) -> F:
        setattr(
            fn,
            _TOOL_ATTRIBUTE,
            {
                "name": name,
                "display_name": display_name,
                "description": description,
                "category": category,
                "idempotent": idempotent,
            },
        )
        return fn

    return mark(function) if function is not None else mark


def is_tool(obj: object) -> bool:
    return callable(obj) and hasattr(obj, _TOOL_ATTRIBUTE)


def describe(function: Callable[..., Any]) -> TaskSpec:
    """Build the task description of a tool function from its annotations."""
    options: dict[str, Any] = getattr(function, _TOOL_ATTRIBUTE, {})
    task_name = options.get("name") or _camel(function.__name__)
    hints = typing.get_type_hints(function, include_extras=True)
    signature = inspect.signature(function)

    wants_context = False
    parameters: list[ParamSpec] = []
    for index, (pname, sig_param) in enumerate(signature.parameters.items()):
        annotation = hints.get(pname)
        if annotation is None:
            raise ToolDefinitionError(
                f"{task_name}: parameter {pname!r} has no annotation"
            )
        if index == 0 and _strip(annotation)[0] is Context:
            wants_context = True
            continue
        parameters.append(_input_spec(task_name, pname, annotation, sig_param))

    returns = hints.get("return")
    outputs, as_tuple = _output_specs(task_name, returns)
    names = [p.name for p in parameters + outputs]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ToolDefinitionError(
            f"{task_name}: duplicate parameter names {duplicates}"
        )

    doc = inspect.getdoc(function) or ""
    return TaskSpec(
        name=task_name,
        display_name=options.get("display_name") or _words(task_name),
        description=options.get("description") or doc,
        function=function,
        parameters=tuple(parameters + outputs),
        wants_context=wants_context,
        outputs_are_tuple=as_tuple,
        category=options.get("category", ""),
        idempotent=options.get("idempotent", False),
    )


def data_type_of(annotation: Any) -> str:
    """The GP data type name for a Python annotation (without ``Annotated``)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(members) == 1:
            return data_type_of(members[0])
        raise TypeError(f"unions of several types are not GP types: {annotation}")
    if origin is list:
        (item,) = typing.get_args(annotation)
        if item not in SIMPLE_TYPES:
            raise TypeError(f"a GPMultiValue holds simple types only, not {item}")
        return f"GPMultiValue:{SIMPLE_TYPES[item]}"
    if annotation in SIMPLE_TYPES:
        return SIMPLE_TYPES[annotation]
    if annotation in COMPLEX_TYPES:
        return COMPLEX_TYPES[annotation]
    raise TypeError(f"no GP data type for {annotation!r}")


def _input_spec(
    task: str, pname: str, annotation: Any, sig_param: inspect.Parameter
) -> ParamSpec:
    base, meta = _strip(annotation)
    try:
        data_type = data_type_of(base)
    except TypeError as exc:
        raise ToolDefinitionError(f"{task}: parameter {pname!r}: {exc}") from None

    has_default = sig_param.default is not inspect.Parameter.empty
    optional = has_default or _is_optional(base)
    name = meta.name or pname
    return ParamSpec(
        name=name,
        data_type=data_type,
        direction=INPUT,
        parameter_type=OPTIONAL if optional else REQUIRED,
        display_name=meta.display_name or _words(name),
        description=meta.description,
        default=sig_param.default if has_default else None,
        choices=tuple(meta.choices) if meta.choices else None,
        minimum=meta.minimum,
        maximum=meta.maximum,
        geometry_types=tuple(meta.geometry_types) if meta.geometry_types else None,
        wkid=meta.wkid,
        category=meta.category,
        python_name=pname,
    )


def _output_specs(task: str, returns: Any) -> tuple[list[ParamSpec], bool]:
    if returns is None or returns is type(None):
        return [], False
    base, meta = _strip(returns)
    if isinstance(base, type) and issubclass(base, tuple) and hasattr(base, "_fields"):
        field_hints = typing.get_type_hints(base, include_extras=True)
        specs = [
            _output_spec(task, fname, field_hints[fname]) for fname in base._fields
        ]
        return specs, True
    return [_output_spec(task, meta.name or "output", returns)], False


def _output_spec(task: str, default_name: str, annotation: Any) -> ParamSpec:
    base, meta = _strip(annotation)
    try:
        data_type = data_type_of(base)
    except TypeError as exc:
        raise ToolDefinitionError(f"{task}: output {default_name!r}: {exc}") from None
    name = meta.name or default_name
    return ParamSpec(
        name=name,
        data_type=data_type,
        direction=OUTPUT,
        parameter_type=DERIVED,
        display_name=meta.display_name or _words(name),
        description=meta.description,
        geometry_types=tuple(meta.geometry_types) if meta.geometry_types else None,
        wkid=meta.wkid,
        category=meta.category,
        python_name=default_name,
    )


def _strip(annotation: Any) -> tuple[Any, Param]:
    if typing.get_origin(annotation) is typing.Annotated:
        base, *extras = typing.get_args(annotation)
        meta = next((e for e in extras if isinstance(e, Param)), Param())
        return base, meta
    return annotation, Param()


def _is_optional(annotation: Any) -> bool:
    return type(None) in typing.get_args(annotation)


def _camel(snake: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in snake.split("_"))


def _words(name: str) -> str:
    spaced = "".join(f" {c}" if c.isupper() else c for c in name.replace("_", " "))
    return " ".join(w[:1].upper() + w[1:] for w in spaced.split())
