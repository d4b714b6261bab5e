"""Files that tools wrote, served from the jobs and output directories."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from gpserver.errors import NotFound
from gpserver.site import Site
from gpserver.web.endpoint import rest_endpoint


def serve_file(request: Request, params: dict[str, Any]) -> Response:
    site: Site = request.app.state.site
    directory = request.path_params["directory"]
    relative = request.path_params["path"]
    roots = {"arcgisjobs": site.config.jobs_dir, "arcgisoutput": site.output_root}
    if directory not in roots:
        raise NotFound(f"directory {directory} does not exist")
    # Only what tools wrote is published; a job's inputs and messages are not files
    # to hand out by URL.
    if directory == "arcgisjobs" and "scratch" not in Path(relative).parts[:3]:
        raise NotFound(f"file {relative} does not exist")
    return FileResponse(_inside(roots[directory], relative))


def _inside(root: Path, relative: str) -> Path:
    candidate = (root / relative).resolve()
    if root.resolve() not in candidate.parents or not candidate.is_file():
        raise NotFound(f"file {relative} does not exist")
    return candidate


routes = [
    Route(
        "/rest/directories/{directory}/{path:path}",
        rest_endpoint(serve_file),
        methods=["GET"],
    ),
]
