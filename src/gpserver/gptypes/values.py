"""The Python values a tool receives and returns for the GP data types.

Tools never see wire JSON: the codec in :mod:`gpserver.gptypes.codec` turns each
parameter into one of these (or into a plain ``str``, ``int``, ``float``, ``bool``,
``datetime`` or ``list``) before the tool runs, and turns what the tool returns back
into Esri JSON afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pyproj import CRS
from shapely.geometry.base import BaseGeometry

# Metres per unit for the linear units that have a fixed length. Decimal degrees and
# unknown units have none; converting them raises ValueError.
METERS_PER_UNIT: dict[str, float] = {
    "esriInches": 0.0254,
    "esriPoints": 0.0254 / 72,
    "esriFeet": 0.3048,
    "esriYards": 0.9144,
    "esriMiles": 1609.344,
    "esriNauticalMiles": 1852.0,
    "esriMillimeters": 0.001,
    "esriCentimeters": 0.01,
    "esriDecimeters": 0.1,
    "esriMeters": 1.0,
    "esriKilometers": 1000.0,
    "esriIntInches": 0.0254,
    "esriIntFeet": 0.3048,
    "esriIntYards": 0.9144,
    "esriIntMiles": 1609.344,
    "esriIntNauticalMiles": 1852.0,
}

LINEAR_UNITS: tuple[str, ...] = (
    "esriUnknownUnits",
    "esriInches",
    "esriPoints",
    "esriFeet",
    "esriYards",
    "esriMiles",
    "esriNauticalMiles",
    "esriMillimeters",
    "esriCentimeters",
    "esriMeters",
    "esriKilometers",
    "esriDecimalDegrees",
    "esriDecimeters",
    "esriIntInches",
    "esriIntFeet",
    "esriIntYards",
    "esriIntMiles",
    "esriIntNauticalMiles",
)


@dataclass(frozen=True)
class LinearUnit:
    """A distance with its unit, as ``{"distance": 2.5, "units": "esriKilometers"}``."""

    distance: float
    units: str = "esriMeters"

    def to_meters(self) -> float:
        try:
            return self.distance * METERS_PER_UNIT[self.units]
        except KeyError:
            raise ValueError(f"{self.units} has no fixed length in metres") from None


@dataclass(frozen=True)
class Field:
    """One attribute column of a feature set or record set."""

    name: str
    type: str
    alias: str | None = None
    length: int | None = None


@dataclass
class Feature:
    """A shapely geometry (or ``None`` for a table row) with its attributes."""

    geometry: BaseGeometry | None
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass
class FeatureSet:
    """Features of one geometry type in one spatial reference.

    ``crs`` is ``None`` when the client sent no spatial reference and the task declared
    none either. ``geometry_type`` is an ``esriGeometry*`` name. When a tool returns a
    feature set without fields, the codec derives them from the attributes.
    """

    features: list[Feature] = field(default_factory=list)
    geometry_type: str = "esriGeometryPoint"
    crs: CRS | None = None
    fields: list[Field] = field(default_factory=list)
    display_field_name: str = ""


@dataclass
class RecordSet:
    """Rows of attributes without geometry (GPRecordSet)."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    fields: list[Field] = field(default_factory=list)


@dataclass(frozen=True)
class DataFile:
    """A file: either a URL the client gave, or a path the tool wrote.

    Inputs arrive with ``url`` set (``itemID`` uploads are not supported yet). A tool
    that produces a file writes it under ``context.output_dir`` and returns
    ``DataFile(path=...)``; the server publishes it under
    ``rest/directories/arcgisjobs/...`` and answers its URL.
    """

    url: str | None = None
    path: str | None = None
