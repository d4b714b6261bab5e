"""``admin/system`` and its server directories, with the jobs directory's cleanup."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from gpserver.errors import BadRequest, NotFound
from gpserver.jobs.cleanup import CleanupSettings
from gpserver.security.model import Principal
from gpserver.site import Site
from gpserver.web.admin.framework import admin_route, operation

JOBS = "arcgisjobs"


def resolve(request: Request) -> str:
    parts = [p for p in request.path_params.get("path", "").split("/") if p]
    if parts[:1] != ["directories"]:
        raise NotFound(f"no resource at {request.url.path}")
    if len(parts) == 1:
        return "system.directories"
    if parts[1] != JOBS:
        raise NotFound(f"directory {parts[1]} does not exist")
    if len(parts) == 2:
        return "system.directories.directory"
    if parts[2:] in (["edit"], ["clean"]):
        return f"system.directories.{parts[2]}"
    raise NotFound(f"no resource at {request.url.path}")


@operation("system")
def system(request: Request, params: dict[str, Any], principal: Principal) -> Any:
    return {"resources": ["directories"]}


@operation("system.directories")
def directories(request: Request, params: dict[str, Any], principal: Principal) -> Any:
    return {"directories": [_jobs_directory(request.app.state.site)]}


@operation("system.directories.directory")
def directory(request: Request, params: dict[str, Any], principal: Principal) -> Any:
    return _jobs_directory(request.app.state.site)


@operation("system.directories.edit", methods=("POST",), action=True)
def edit(request: Request, params: dict[str, Any], principal: Principal) -> Any:
    site: Site = request.app.state.site
    current = site.cleanup.settings()
    path = str(params.get("physicalPath") or "")
    if path and path != str(site.config.jobs_dir):
        raise BadRequest(
            "physicalPath of the jobs directory is set in the configuration file "
            "(server.jobsDirectory), not through edit"
        )
    mode = str(params.get("cleanupMode") or current.mode)
    age_text = str(params.get("maxFileAge") or current.max_file_age)
    try:
        age = int(age_text)
    except ValueError:
        raise BadRequest(
            "Invalid value for parameter 'maxFileAge': expected a whole number of "
            f"minutes, got {age_text!r}"
        ) from None
    site.cleanup.update(CleanupSettings(mode, age))
    return {"status": "success"}


@operation("system.directories.clean", methods=("POST",), action=True)
def clean(request: Request, params: dict[str, Any], principal: Principal) -> Any:
    site: Site = request.app.state.site
    settings = site.cleanup.settings()
    removed = site.cleanup.sweep(settings.max_file_age)
    return {"status": "success", "removedJobs": removed}


def _jobs_directory(site: Site) -> dict[str, Any]:
    settings = site.cleanup.settings()
    return {
        "name": JOBS,
        "physicalPath": str(site.config.jobs_dir),
        "directoryType": "JOBS",
        "cleanupMode": settings.mode,
        "maxFileAge": settings.max_file_age,
        "description": "The folders of asynchronous jobs: messages and scratch files",
        "virtualPath": "/rest/directories/arcgisjobs",
    }


routes = [
    admin_route("/admin/system", "system"),
    admin_route("/admin/system/{path:path}", resolve),
]
