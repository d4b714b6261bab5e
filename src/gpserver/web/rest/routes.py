"""The Services Directory: catalog, GPServer, task, execute, submitJob and jobs.

Handlers translate a request into calls on the site and back; they hold no logic of
their own beyond finding the resource a path names.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from gpserver.catalog.services import Service
from gpserver.catalog.tool import ParamSpec, TaskSpec
from gpserver.errors import BadRequest, NotFound
from gpserver.jobs.jobsdir import Message
from gpserver.jobs.model import Job, is_job_id
from gpserver.security.model import Principal
from gpserver.site import Site
from gpserver.web.auth import principal_of
from gpserver.web.endpoint import rest_endpoint
from gpserver.web.formats import render, wanted_format
from gpserver.web.html.actions import see_other
from gpserver.web.rest import resources
from gpserver.web.tokens import generate_token
from gpserver.web.urls import absolute_file_urls, site_root

METHODS = ["GET", "POST"]
# The operations on a task that write or run a tool; the rest only read.
_SLOW_OPERATIONS = ("/execute", "/submitJob")
QUICK_SUBMIT_BYTES = 16 * 1024
"""A submitJob body up to this size is checked on the event loop (a few tens of
microseconds) and its commit awaited there; a larger one, which may hold big
feature sets to parse, goes to a thread."""


@dataclass(frozen=True)
class Target:
    """What a path under ``rest/services`` names."""

    service: Service | None = None
    folder: str = ""
    task: TaskSpec | None = None
    operation: str = ""
    job_id: str = ""
    job_operation: str = ""
    param: str = ""


def resolve(site: Site, path: str) -> Target:
    parts = [p for p in path.split("/") if p]
    if "GPServer" not in parts:
        if len(parts) > 1:
            raise NotFound(f"no service at services/{path}")
        folder = parts[0] if parts else ""
        if folder and folder not in site.catalog.folders():
            raise NotFound(f"folder {folder} does not exist")
        return Target(folder=folder)

    cut = parts.index("GPServer")
    service = site.catalog.get("/".join(parts[:cut]))
    rest = parts[cut + 1 :]
    if not rest:
        return Target(service=service)
    task = service.task(rest[0])
    rest = rest[1:]
    if not rest:
        return Target(service=service, task=task)
    if rest[0] in ("execute", "submitJob") and len(rest) == 1:
        return Target(service=service, task=task, operation=rest[0])
    if rest[0] != "jobs" or len(rest) < 2 or len(rest) > 4:
        raise NotFound(f"no resource at services/{path}")
    job_id = rest[1]
    job_operation = rest[2] if len(rest) > 2 else ""
    if job_operation not in ("", "cancel", "results", "inputs"):
        raise NotFound(f"no resource at services/{path}")
    return Target(
        service=service,
        task=task,
        operation="jobs",
        job_id=job_id,
        job_operation=job_operation,
        param=rest[3] if len(rest) > 3 else "",
    )


def services(
    request: Request, params: dict[str, Any]
) -> Response | Awaitable[Response]:
    site: Site = request.app.state.site
    principal = principal_of(request, params)
    request.state.principal = principal
    target = resolve(site, request.path_params.get("path", ""))
    request.state.target = target
    if target.service is None:
        data = resources.catalog_json(
            site.catalog,
            target.folder,
            visible=lambda key: site.security.may_use_service(principal, key),
        )
        title = f"Folder: {target.folder or '/'}"
        return render(request, params, data, title=title, view="catalog")
    site.security.check_service(principal, target.service.key)
    if target.task is None:
        data = resources.service_json(target.service)
        title = f"{target.service.key} (GPServer)"
        return render(request, params, data, title=title, view="service")
    if target.operation == "":
        data = resources.task_json(target.service, target.task)
        title = f"Task: {target.task.name}"
        return render(request, params, data, title=title, view="task")
    if target.operation == "submitJob":
        return _submit(request, params, site, target)
    if target.operation == "execute":
        return _execute(request, params, site, target)
    return _job_resource(request, params, site, target)


def _submit(
    request: Request, params: dict[str, Any], site: Site, target: Target
) -> Response | Awaitable[Response]:
    assert target.service and target.task
    principal: Principal = request.state.principal
    if request.state.inline:
        return _submit_on_loop(request, params, site, target)
    job = site.submit_job(target.service, target.task.name, params, principal.username)
    return _submitted(request, params, job)


async def _submit_on_loop(
    request: Request, params: dict[str, Any], site: Site, target: Target
) -> Response:
    assert target.service and target.task
    principal: Principal = request.state.principal
    job = await site.submit_job_async(
        target.service, target.task.name, params, principal.username
    )
    return _submitted(request, params, job)


def _submitted(request: Request, params: dict[str, Any], job: Job) -> Response:
    if wanted_format(params) == "html":
        return RedirectResponse(
            f"{request.url.path.rsplit('/', 1)[0]}/jobs/{job.job_id}?f=html", 303
        )
    return render(
        request, params, {"jobId": job.job_id, "jobStatus": job.status.esri_name}
    )


def _execute(
    request: Request, params: dict[str, Any], site: Site, target: Target
) -> Response:
    assert target.service and target.task
    answer = site.execute(target.service, target.task.name, params)
    messages = answer.get("messages", [])
    if "error" in answer:
        raise BadRequest(
            f"Error executing tool {target.task.name}: {answer['error']}",
            [m["description"] for m in messages],
        )
    root = site_root(request)
    results = [absolute_file_urls(r, root) for r in answer["results"]]
    shown = resources.shown_messages(
        _messages_from_json(messages), target.service.config.show_messages
    )
    data = {"results": results, "messages": [m.to_json() for m in shown]}
    title = f"Execute: {target.task.name}"
    return render(request, params, data, title=title, view="execute")


def _job_resource(
    request: Request, params: dict[str, Any], site: Site, target: Target
) -> Response:
    assert target.service and target.task
    job = _find_job(request, site, target)
    if target.job_operation == "cancel":
        job = site.jobs.request_cancel(job.job_id)
        if wanted_format(params) == "html":
            page = request.url.path.removesuffix("/cancel")
            return see_other(request, f"{page}?f=html", "rest.cancel")
        data = {"jobId": job.job_id, "jobStatus": job.status.esri_name}
        return render(request, params, data, title=f"Cancel job {job.job_id}")
    if target.job_operation in ("results", "inputs"):
        return _parameter(request, params, site, target, job)

    messages = None
    if str(params.get("returnMessages", "true")).lower() != "false":
        messages = resources.shown_messages(
            site.jobs.messages(job), target.service.config.show_messages
        )
    data = resources.job_json(job, target.task, messages)
    request.state.job = job
    return render(request, params, data, title=f"Job {job.job_id}", view="job")


def _parameter(
    request: Request, params: dict[str, Any], site: Site, target: Target, job: Job
) -> Response:
    assert target.task
    inputs = target.job_operation == "inputs"
    specs = target.task.inputs if inputs else target.task.outputs
    if inputs:
        stored = site.jobs.inputs(job).get("inputs", {})
        values = {s.name: _wrap_input(s, stored.get(s.name)) for s in specs}
    else:
        if job.status.esri_name != "esriJobSucceeded":
            raise BadRequest(
                f"job {job.job_id} is {job.status.esri_name}; its results are "
                "available once it has succeeded"
            )
        root = site_root(request)
        values = {
            name: absolute_file_urls(value, root)
            for name, value in site.jobs.results(job).items()
        }
    if not target.param:
        title = f"{target.job_operation} of {job.job_id}"
        return render(request, params, values, title=title, view="parameters")
    if target.param not in values:
        raise NotFound(
            f"job {job.job_id} has no {'input' if inputs else 'result'} parameter "
            f"{target.param!r}"
        )
    value = values[target.param]
    return render(request, params, value, title=target.param, view="parameter")


def _wrap_input(spec: ParamSpec, value: Any) -> dict[str, Any]:
    return {"paramName": spec.name, "dataType": spec.data_type, "value": value}


def _find_job(request: Request, site: Site, target: Target) -> Job:
    assert target.service and target.task
    if not is_job_id(target.job_id):
        raise NotFound(f"job {target.job_id} does not exist")
    job = site.jobs.get(target.job_id)
    principal: Principal = request.state.principal
    # Someone else's job answers exactly as a job that does not exist.
    if (
        job.service != target.service.key
        or job.task != target.task.name
        or not principal.may_see_job_of(job.username)
    ):
        raise NotFound(f"job {target.job_id} does not exist")
    return job


def _messages_from_json(messages: list[dict[str, str]]) -> list[Message]:
    return [Message(m["type"], m["description"]) for m in messages]


def _quick(request: Request) -> bool:
    site: Site = request.app.state.site
    return is_quick(
        request.scope["path"],
        request.headers.get("content-length", "0"),
        distributed=site.config.is_distributed,
    )


def is_quick(path: str, content_length: str, *, distributed: bool) -> bool:
    """The catalog, a service, a task and a job's status: quick reads (see
    rest_endpoint). Results and inputs may be megabytes, so they go to a thread.
    A small submit is quick too, on a site that runs its jobs itself; a remote
    executor's broker may make it wait."""
    _, _, job_path = path.partition("/jobs/")
    if job_path:
        return "/" not in job_path
    if path.endswith("/submitJob"):
        return (
            not distributed
            and content_length.isdigit()
            and int(content_length) <= QUICK_SUBMIT_BYTES
        )
    return not path.endswith(_SLOW_OPERATIONS)


def token_endpoint(request: Request, params: dict[str, Any]) -> Response:
    return render(request, params, generate_token(request, params), title="Token")


def info(request: Request, params: dict[str, Any]) -> Response:
    site: Site = request.app.state.site
    data = resources.info_json(site_root(request))
    # The lifetime of a token asked for without an expiration, which an
    # administrator may change at admin/security/tokens/update.
    validity = site.security.tokens.settings().short_timeout
    data["authInfo"]["shortLivedTokenValidity"] = validity
    return render(request, params, data, title="Info")


def health_check(request: Request, params: dict[str, Any]) -> Response:
    site: Site = request.app.state.site
    problems = site.health_problems()
    data: dict[str, Any] = {"success": not problems}
    if problems:
        data["messages"] = problems
    response = render(request, params, data, title="Health check")
    if problems:
        response.status_code = 503
    return response


routes = [
    # First: the router tries routes in order, and nearly all traffic is here.
    Route(
        "/rest/services",
        rest_endpoint(services, quick=_quick),
        methods=METHODS,
    ),
    Route(
        "/rest/services/{path:path}",
        rest_endpoint(services, quick=_quick),
        methods=METHODS,
    ),
    Route("/info", rest_endpoint(info), methods=METHODS),
    Route("/rest/info", rest_endpoint(info), methods=METHODS),
    Route("/rest/info/healthCheck", rest_endpoint(health_check), methods=METHODS),
    Route("/tokens", rest_endpoint(token_endpoint), methods=METHODS),
    Route("/tokens/generateToken", rest_endpoint(token_endpoint), methods=METHODS),
    Route(
        "/sharing/rest/generateToken", rest_endpoint(token_endpoint), methods=METHODS
    ),
]
