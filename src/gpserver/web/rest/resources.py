"""The JSON of each Services Directory resource, built from plain domain objects."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gpserver.catalog.services import Catalog, Service
from gpserver.catalog.tool import ParamSpec, TaskSpec
from gpserver.gptypes import codec
from gpserver.gptypes.spatialref import crs_from_wkid, crs_to_esri
from gpserver.jobs.jobsdir import Message
from gpserver.jobs.model import Job
from gpserver.jobs.states import JobStatus

CURRENT_VERSION = 11.1
FULL_VERSION = "11.1.0"

_SHOWN_TYPES = {
    "None": (),
    "Error": ("esriJobMessageTypeError",),
    "Warning": ("esriJobMessageTypeError", "esriJobMessageTypeWarning"),
    "Info": (
        "esriJobMessageTypeError",
        "esriJobMessageTypeWarning",
        "esriJobMessageTypeInformative",
    ),
}


def execution_type(service: Service) -> str:
    if service.config.is_async:
        return "esriExecutionTypeAsynchronous"
    return "esriExecutionTypeSynchronous"


def info_json(site_root: str) -> dict[str, Any]:
    return {
        "currentVersion": CURRENT_VERSION,
        "fullVersion": FULL_VERSION,
        "soapUrl": None,
        "secureSoapUrl": None,
        "authInfo": {
            "isTokenBasedSecurity": True,
            "tokenServicesUrl": f"{site_root}/tokens/",
            "shortLivedTokenValidity": 60,
        },
    }


def catalog_json(
    catalog: Catalog, folder: str, visible: Callable[[str], bool]
) -> dict[str, Any]:
    """A folder's listing, showing only the services the caller may use."""
    return {
        "currentVersion": CURRENT_VERSION,
        "folders": catalog.folders() if not folder else [],
        "services": [
            {"name": s.key, "type": "GPServer"}
            for s in catalog.in_folder(folder)
            if visible(s.key)
        ],
    }


def service_json(service: Service) -> dict[str, Any]:
    return {
        "currentVersion": CURRENT_VERSION,
        "serviceDescription": service.config.description,
        "tasks": list(service.tasks),
        "executionType": execution_type(service),
        "resultMapServerName": "",
        "maximumRecords": service.config.maximum_records,
        "capabilities": "",
    }


def task_json(service: Service, task: TaskSpec) -> dict[str, Any]:
    return {
        "name": task.name,
        "displayName": task.display_name,
        "description": task.description,
        "category": task.category,
        "helpUrl": "",
        "executionType": execution_type(service),
        "parameters": [parameter_json(p) for p in task.parameters],
    }


def parameter_json(spec: ParamSpec) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": spec.name,
        "dataType": spec.data_type,
        "displayName": spec.display_name,
        "description": spec.description,
        "direction": spec.direction,
        "defaultValue": _default_json(spec),
        "parameterType": spec.parameter_type,
        "category": spec.category,
    }
    if spec.choices:
        data["choiceList"] = list(spec.choices)
        data["filter"] = {"type": "valueList", "list": list(spec.choices)}
    if spec.minimum is not None or spec.maximum is not None:
        data["filter"] = {
            "type": "range",
            "minimum": spec.minimum,
            "maximum": spec.maximum,
        }
    if spec.geometry_types:
        data["filter"] = {"type": "featureClass", "list": list(spec.geometry_types)}
    return data


def _default_json(spec: ParamSpec) -> Any:
    if spec.data_type == "GPFeatureRecordSetLayer":
        schema: dict[str, Any] = {
            "displayFieldName": "",
            "geometryType": (spec.geometry_types or ("esriGeometryPoint",))[0],
            "fields": [],
            "features": [],
            "exceededTransferLimit": False,
        }
        if spec.wkid is not None:
            schema["spatialReference"] = crs_to_esri(crs_from_wkid(spec.wkid))
        return schema
    if spec.data_type == "GPRecordSet":
        return {"fields": [], "features": [], "exceededTransferLimit": False}
    if spec.default is None or not spec.is_input:
        return None
    return codec.canonical_input(spec, spec.default)


def job_json(
    job: Job,
    task: TaskSpec,
    messages: list[Message] | None,
) -> dict[str, Any]:
    """The REST job resource; ``messages`` None means the client asked for none."""
    data: dict[str, Any] = {"jobId": job.job_id, "jobStatus": job.status.esri_name}
    if job.status is JobStatus.SUCCEEDED:
        data["results"] = {
            o.name: {"paramUrl": f"results/{o.name}"} for o in task.outputs
        }
    data["inputs"] = {i.name: {"paramUrl": f"inputs/{i.name}"} for i in task.inputs}
    if job.status is JobStatus.EXECUTING:
        data["progress"] = progress_json(job)
    data["messages"] = [m.to_json() for m in messages] if messages is not None else []
    return data


def progress_json(job: Job) -> dict[str, Any]:
    if job.progress_percent is None:
        return {"type": "default", "message": job.progress_message or "Executing..."}
    return {
        "type": "step",
        "message": job.progress_message or "Executing...",
        "percent": job.progress_percent,
    }


def shown_messages(messages: list[Message], show_messages: str) -> list[Message]:
    """The messages a service's showMessages level lets clients see."""
    allowed = _SHOWN_TYPES[show_messages]
    return [m for m in messages if m.type in allowed]
