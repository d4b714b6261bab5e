"""The pages of the Services Directory: catalog, service, task and its form, job,
results."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from gpserver.catalog.state import STOPPED
from gpserver.jobs.model import Job
from gpserver.jobs.states import JobStatus
from gpserver.site import Site
from gpserver.web.formats import dumps
from gpserver.web.html.fields import form_fields
from gpserver.web.html.views import view
from gpserver.web.urls import CONTEXT, absolute_file_urls, site_root

SERVICES = f"{CONTEXT}/rest/services"
REFRESH_SECONDS = 2
_MESSAGE_PREFIX = "esriJobMessageType"


@view("catalog")
def catalog(request: Request, data: Any) -> tuple[str, dict[str, Any]]:
    folders = [(name, f"{SERVICES}/{name}") for name in data["folders"]]
    services = [
        (s["name"], s["type"], f"{SERVICES}/{s['name']}/{s['type']}")
        for s in data["services"]
    ]
    return "rest/catalog.html", {
        "folders": folders,
        "services": services,
        "json_text": dumps(data, pretty=True),
    }


def max_records(request: Request) -> int:
    return int(request.state.target.service.config.maximum_records)


def is_stopped(request: Request) -> bool:
    site: Site = request.app.state.site
    return site.service_state(request.state.target.service.key) == STOPPED


@view("service")
def service(request: Request, data: Any) -> tuple[str, dict[str, Any]]:
    base = request.url.path
    return "rest/service.html", {
        "stopped": is_stopped(request),
        "service": data,
        "tasks": [(name, f"{base}/{name}") for name in data["tasks"]],
        "json_text": dumps(data, pretty=True),
    }


@view("task")
def task(request: Request, data: Any) -> tuple[str, dict[str, Any]]:
    target = request.state.target
    is_async = target.service.config.is_async
    return "rest/task.html", {
        "stopped": is_stopped(request),
        "task": data,
        "inputs": [p for p in data["parameters"] if p["direction"].endswith("Input")],
        "outputs": [p for p in data["parameters"] if p["direction"].endswith("Output")],
        "fields": form_fields(target.task),
        "action": f"{request.url.path}/{'submitJob' if is_async else 'execute'}",
        "button": "Submit job" if is_async else "Execute",
        "json_text": dumps(data, pretty=True),
    }


@view("job")
def job_page(request: Request, data: Any) -> tuple[str, dict[str, Any]]:
    site: Site = request.app.state.site
    job: Job = request.state.job
    task = request.state.target.task
    results: dict[str, Any] = {}
    if job.status is JobStatus.SUCCEEDED:
        root = site_root(request)
        results = {
            name: absolute_file_urls(value, root)
            for name, value in site.jobs.results(job).items()
        }
    stored = site.jobs.inputs(job).get("inputs", {})
    inputs = [
        (spec.name, spec.data_type, stored.get(spec.name)) for spec in task.inputs
    ]
    base = request.url.path
    return "rest/job.html", {
        "job": data,
        "task_name": task.name,
        "task_url": base.rsplit("/jobs/", 1)[0],
        "finished": job.status.is_finished,
        "refresh": None if job.status.is_finished else REFRESH_SECONDS,
        "progress": data.get("progress"),
        "messages": message_rows(data.get("messages", [])),
        "results": list(results.values()),
        "inputs": inputs,
        "max_records": max_records(request),
        "base": base,
        "json_text": dumps(data, pretty=True),
    }


@view("execute")
def execute(request: Request, data: Any) -> tuple[str, dict[str, Any]]:
    return "rest/execute.html", {
        "results": data["results"],
        "messages": message_rows(data["messages"]),
        "task_url": request.url.path.rsplit("/", 1)[0],
        "max_records": max_records(request),
        "json_text": dumps(data, pretty=True),
    }


@view("parameter")
def parameter(request: Request, data: Any) -> tuple[str, dict[str, Any]]:
    return "rest/parameters.html", {
        "parameters": [data],
        "max_records": max_records(request),
        "json_text": dumps(data, pretty=True),
    }


@view("parameters")
def parameters(request: Request, data: Any) -> tuple[str, dict[str, Any]]:
    return "rest/parameters.html", {
        "parameters": list(data.values()),
        "base": request.url.path,
        "max_records": max_records(request),
        "json_text": dumps(data, pretty=True),
    }


def message_rows(messages: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [
        (m["type"].removeprefix(_MESSAGE_PREFIX), m["description"]) for m in messages
    ]
