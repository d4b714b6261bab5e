"""Files that tools wrote, served from the jobs and output directories."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from gpserver.errors import NotFound
from gpserver.jobs.jobsdir import service_dir_name
from gpserver.jobs.model import is_job_id
from gpserver.security.model import Principal
from gpserver.site import Site
from gpserver.web.auth import principal_of
from gpserver.web.endpoint import rest_endpoint


def serve_file(request: Request, params: dict[str, Any]) -> Response:
    """A file a tool wrote, to whoever may see the job (or service) it came from."""
    site: Site = request.app.state.site
    directory = request.path_params["directory"]
    relative = request.path_params["path"]
    roots = {"arcgisjobs": site.config.jobs_dir, "arcgisoutput": site.output_root}
    if directory not in roots:
        raise NotFound(f"directory {directory} does not exist")
    root = roots[directory].resolve()
    path = (root / relative).resolve()
    inside: tuple[str, ...] = ()
    if root in path.parents:
        inside = path.relative_to(root).parts
    # Only what tools wrote is published: in the jobs directory that is a job's
    # scratch folder (<service>/<jobId>/scratch/...), never its inputs or messages.
    if directory == "arcgisjobs" and (len(inside) < 4 or inside[2] != "scratch"):
        raise NotFound(f"file {relative} does not exist")
    if len(inside) < 2 or not path.is_file():
        raise NotFound(f"file {relative} does not exist")

    principal = principal_of(request, params)
    if directory == "arcgisjobs":
        _check_job(site, principal, inside[1], relative)
    else:
        site.security.check_service(principal, _service_of(site, inside[0], relative))
    return FileResponse(path)


def _check_job(site: Site, principal: Principal, job_id: str, relative: str) -> None:
    job = site.jobs.store.get(job_id) if is_job_id(job_id) else None
    if job is None:
        raise NotFound(f"file {relative} does not exist")
    site.security.check_service(principal, job.service)
    # Someone else's file answers as a file that does not exist, like their job.
    if not principal.may_see_job_of(job.username):
        raise NotFound(f"file {relative} does not exist")


def _service_of(site: Site, folder_name: str, relative: str) -> str:
    for service in site.catalog:
        if service_dir_name(service.key) == folder_name:
            return service.key
    raise NotFound(f"file {relative} does not exist")


routes = [
    Route(
        "/rest/directories/{directory}/{path:path}",
        rest_endpoint(serve_file),
        methods=["GET"],
    ),
]
