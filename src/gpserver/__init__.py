"""gpserver: publish Python tools as ArcGIS-compatible geoprocessing services."""

from gpserver.catalog.tool import Context, Param, tool
from gpserver.gptypes.values import (
    DataFile,
    Feature,
    FeatureSet,
    Field,
    LinearUnit,
    RecordSet,
)

__all__ = [
    "Context",
    "DataFile",
    "Feature",
    "FeatureSet",
    "Field",
    "LinearUnit",
    "Param",
    "RecordSet",
    "tool",
]
__version__ = "0.1.0"
