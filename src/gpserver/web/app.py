"""The ASGI application: routes under ``/arcgis``, CORS, and the site's lifespan."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from gpserver.errors import GPServerError, NotFound
from gpserver.site import Site
from gpserver.web import directories
from gpserver.web.admin import roles as admin_roles
from gpserver.web.admin import root as admin_root
from gpserver.web.admin import services as admin_services
from gpserver.web.admin import system as admin_system
from gpserver.web.admin import users as admin_users
from gpserver.web.admin.framework import admin_error
from gpserver.web.endpoint import rest_endpoint
from gpserver.web.errors import rest_error
from gpserver.web.html import session
from gpserver.web.rest import routes as rest_routes
from gpserver.web.urls import CONTEXT

log = logging.getLogger(__name__)


class StripTrailingSlash:
    """Route ``.../GPServer/`` like ``.../GPServer``; esri-leaflet-gp asks that way.

    A redirect would not do: a client that POSTs would have to follow it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if len(path) > 1 and path.endswith("/"):
                scope = dict(scope)
                scope["path"] = path.rstrip("/") or "/"
                scope["raw_path"] = scope["path"].encode()
        await self.app(scope, receive, send)


def not_found(request: Request, params: dict[str, Any]) -> Response:
    raise NotFound(f"no resource at {request.url.path}")


async def http_error(request: Request, exc: Exception) -> Response:
    """Errors the router raises itself (a method a route does not take), answered
    in the envelope of the API the path belongs to, like every other error."""
    assert isinstance(exc, HTTPException)
    error = GPServerError(f"{exc.detail}: {request.method} {request.url.path}")
    error.code = exc.status_code
    params = dict(request.query_params)
    if request.url.path.startswith(f"{CONTEXT}/admin"):
        return admin_error(request, params, error)
    return rest_error(request, params, error)


async def admin_not_found(request: Request) -> Response:
    error = NotFound(f"no resource at {request.url.path}")
    return admin_error(request, dict(request.query_params), error)


def home(request: Request) -> Response:
    return RedirectResponse(f"{CONTEXT}/rest/services", 302)


def create_app(site: Site, *, manage_site: bool = True) -> Starlette:
    """The application; with ``manage_site`` it starts and stops the site's workers."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if manage_site:
            site.start()
        try:
            yield
        finally:
            if manage_site:
                site.stop()

    routes = [
        Mount(
            CONTEXT,
            routes=[
                # First: the router tries routes in order, and nearly all traffic
                # is job submits and status polls.
                *rest_routes.routes,
                *session.routes,
                Mount("/static", StaticFiles(packages=[("gpserver.web", "static")])),
                *directories.routes,
                *admin_root.routes,
                *admin_services.routes,
                *admin_system.routes,
                *admin_users.routes,
                *admin_roles.routes,
                Route("/admin/{rest:path}", admin_not_found, methods=["GET", "POST"]),
                Route(
                    "/{rest:path}", rest_endpoint(not_found), methods=["GET", "POST"]
                ),
            ],
        ),
        Route("/", home),
        Route(CONTEXT, home),
    ]
    middleware = [
        Middleware(StripTrailingSlash),
        Middleware(
            CORSMiddleware,
            allow_origin_regex=".*",
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["*"],
            allow_credentials=True,
            max_age=86400,
        ),
    ]
    app = Starlette(
        routes=routes,
        middleware=middleware,
        lifespan=lifespan,
        exception_handlers={HTTPException: http_error},
    )
    app.state.site = site
    return app
