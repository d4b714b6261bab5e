"""Files that tools wrote, served from the jobs and output directories."""

from __future__ import annotations

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
    root = roots[directory].resolve()
    path = (root / relative).resolve()
    inside: tuple[str, ...] = ()
    if root in path.parents:
        inside = path.relative_to(root).parts
    # Only what tools wrote is published: in the jobs directory that is a job's
    # scratch folder (<service>/<jobId>/scratch/...), never its inputs or messages.
    if directory == "arcgisjobs" and (len(inside) < 4 or inside[2] != "scratch"):
        raise NotFound(f"file {relative} does not exist")
    if not inside or not path.is_file():
        raise NotFound(f"file {relative} does not exist")
    return FileResponse(path)


routes = [
    Route(
        "/rest/directories/{directory}/{path:path}",
        rest_endpoint(serve_file),
        methods=["GET"],
    ),
]
