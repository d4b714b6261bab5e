"""The jobs of a service in the Administrator API: query, job, cancel, delete,
purgeQueue and statistics."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from gpserver.catalog.services import Service
from gpserver.errors import BadRequest, NotFound
from gpserver.jobs.model import Job, is_job_id
from gpserver.jobs.states import JobStatus
from gpserver.jobs.store import JobFilter
from gpserver.jobs.times import parse_time
from gpserver.security.model import Principal
from gpserver.site import Site
from gpserver.web.admin.framework import SUCCESS, operation
from gpserver.web.admin.params import LARGEST
from gpserver.web.formats import render, wanted_format
from gpserver.web.urls import site_root

DEFAULT_NUMBER = 10
MAX_NUMBER = 1000
QUERY_STATUSES = (
    JobStatus.NEW,
    JobStatus.SUBMITTED,
    JobStatus.WAITING,
    JobStatus.EXECUTING,
    JobStatus.SUCCEEDED,
    JobStatus.FAILED,
    JobStatus.TIMED_OUT,
    JobStatus.CANCELLING,
    JobStatus.CANCELLED,
)


def resolve_jobs(request: Request, rest: list[str]) -> str:
    """The operation a path below ``<service>.GPServer/jobs`` names."""
    request.state.job_id = ""
    if not rest:
        return "jobs"
    if rest == ["query"]:
        return "jobs.query"
    if rest == ["statistics"]:
        return "jobs.statistics"
    if rest == ["purgeQueue"]:
        return "jobs.purgeQueue"
    request.state.job_id = rest[0]
    if len(rest) == 1:
        return "jobs.job"
    if rest[1:] == ["cancel"]:
        return "jobs.job.cancel"
    if rest[1:] == ["delete"]:
        return "jobs.job.delete"
    raise NotFound(f"no resource at {request.url.path}")


@operation("jobs")
def jobs_resource(
    request: Request, params: dict[str, Any], principal: Principal
) -> Any:
    return {"resources": ["statistics"]}


@operation("jobs.statistics", quick=True)
def statistics(request: Request, params: dict[str, Any], principal: Principal) -> Any:
    site: Site = request.app.state.site
    service: Service = request.state.service
    if request.method != "POST":
        if wanted_format(params) == "html":
            # Statistics are read with POST; the page is the form that sends it.
            title = f"Job statistics of {service.key}"
            data = {"service": service.key}
            return render(
                request, params, data, title=title, view="jobs.statistics.form"
            )
        raise BadRequest(
            "statistics must be requested with POST",
            [f"POST {request.url.path} with f=json and your token in the body"],
        )
    counts = site.jobs.statistics(service.key)
    return {
        "total": counts.total,
        "cancelled": counts.cancelled,
        "failed": counts.failed,
        "succeeded": counts.succeeded,
    }


@operation("jobs.query")
def query(request: Request, params: dict[str, Any], principal: Principal) -> Any:
    site: Site = request.app.state.site
    service: Service = request.state.service
    if wanted_format(params) == "html" and not params.get("startTime"):
        # The query form may leave the start time empty: every job.
        params = {**params, "startTime": "0"}
    filters = _filters(params)
    start = _positive(params.get("start"), "start", 1)
    number = min(_positive(params.get("number"), "number", DEFAULT_NUMBER), MAX_NUMBER)
    total, jobs = site.jobs.store.query(service.key, filters, start - 1, number)
    after = start - 1 + len(jobs)
    return {
        "total": total,
        "num": len(jobs),
        "start": start,
        "nextStart": after + 1 if after < total else -1,
        "query": _query_echo(filters, start, number),
        "results": {job.job_id: admin_job_json(request, site, job) for job in jobs},
    }


@operation("jobs.job")
def job_resource(request: Request, params: dict[str, Any], principal: Principal) -> Any:
    site: Site = request.app.state.site
    return admin_job_json(request, site, _job(request, site))


@operation("jobs.job.cancel", methods=("POST",), action=True)
def cancel(request: Request, params: dict[str, Any], principal: Principal) -> Any:
    site: Site = request.app.state.site
    job = _job(request, site)
    try:
        site.jobs.request_cancel(job.job_id)
    except BadRequest:
        raise BadRequest(
            f"Unable to cancel job :[{job.job_id}]",
            [f"the job is {job.status.esri_name}; only queued or running jobs stop"],
        ) from None
    return SUCCESS


@operation("jobs.job.delete", methods=("POST",), action=True)
def delete(request: Request, params: dict[str, Any], principal: Principal) -> Any:
    site: Site = request.app.state.site
    job = _job(request, site)
    site.jobs.delete(job.job_id)
    return SUCCESS


@operation("jobs.purgeQueue", methods=("POST",), action=True)
def purge_queue(request: Request, params: dict[str, Any], principal: Principal) -> Any:
    site: Site = request.app.state.site
    service: Service = request.state.service
    site.jobs.purge_queue(service.key)
    return SUCCESS


def admin_job_json(request: Request, site: Site, job: Job) -> dict[str, Any]:
    messages = site.jobs.messages(job)
    rest_url = (
        f"{site_root(request)}/rest/services/{job.service}/GPServer/{job.task}"
        f"/jobs/{job.job_id}"
    )
    return {
        "jobId": job.job_id,
        "submittedTime": job.submitted_ms,
        "endTime": job.ended_ms,
        "status": job.status.esri_name,
        "username": job.username,
        "machinename": job.machine,
        "url": rest_url,
        "task": job.task,
        "startTime": job.started_ms,
        "lastMessage": messages[-1].to_json() if messages else None,
    }


def _job(request: Request, site: Site) -> Job:
    service: Service = request.state.service
    job_id: str = request.state.job_id
    if not is_job_id(job_id):
        raise NotFound(f"job {job_id} does not exist")
    job = site.jobs.get(job_id)
    if job.service != service.key or job.status is JobStatus.DELETING:
        raise NotFound(f"job {job_id} does not exist")
    return job


def _filters(params: dict[str, Any]) -> JobFilter:
    status_text = str(params.get("jobStatus") or params.get("status") or "")
    status = None
    if status_text:
        try:
            status = JobStatus.from_esri(status_text)
        except ValueError:
            names = ", ".join(s.esri_name for s in QUERY_STATUSES)
            raise BadRequest(
                f"Invalid value for parameter 'jobStatus': {status_text!r} is not one "
                f"of {names}"
            ) from None
    username = str(params.get("userName") or "") or None
    start_ms = parse_time(params.get("startTime"), "startTime")
    if start_ms is None:
        raise BadRequest(
            "startTime is required: epoch milliseconds, epoch seconds or ISO 8601"
        )
    return JobFilter(
        start_ms=start_ms,
        end_ms=parse_time(params.get("endTime"), "endTime"),
        status=status,
        username=None if username == "null" else username,
        anonymous=username == "null",
        machine=str(params.get("machineName") or "") or None,
    )


def _query_echo(filters: JobFilter, start: int, number: int) -> dict[str, Any]:
    echo: dict[str, Any] = {"startTime": filters.start_ms, "endTime": filters.end_ms}
    if filters.status is not None:
        echo["jobStatus"] = filters.status.esri_name
    if filters.anonymous:
        echo["userName"] = "null"
    elif filters.username is not None:
        echo["userName"] = filters.username
    if filters.machine is not None:
        echo["machineName"] = filters.machine
    return echo | {"start": start, "number": number}


def _positive(raw: Any, name: str, default: int) -> int:
    if raw is None or str(raw).strip() == "":
        return default
    try:
        value = int(str(raw))
    except ValueError:
        value = 0
    if not 1 <= value <= LARGEST:
        raise BadRequest(
            f"Invalid value for parameter '{name}': expected a whole number from 1 "
            f"to {LARGEST}, got {raw!r}"
        )
    return value
