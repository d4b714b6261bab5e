"""The pages of the Administrator Directory: services, security, system, jobs.

Each view lays out an operation's JSON and adds the forms of the operations that
change it; the forms post with ``f=html`` and the viewer's token in the body.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request

from gpserver.errors import GPServerError
from gpserver.jobs.cleanup import MODES
from gpserver.jobs.states import FINISHED, JobStatus
from gpserver.security.access import check_admin
from gpserver.security.admin_ops import SecurityAdmin
from gpserver.security.model import ADMIN_PRIVILEGES, EVERYONE, PRIVILEGES
from gpserver.site import Site
from gpserver.web.formats import dumps
from gpserver.web.html.chart import bar_chart
from gpserver.web.html.views import FORM_ERRORS, view

LISTED = 100
QUERY_FIELDS = ("jobStatus", "startTime", "endTime", "userName", "number")
QUERY_STATUSES = [s.esri_name for s in JobStatus if s.ordinal <= 8]
_FINISHED_NAMES = {s.esri_name for s in FINISHED}


# The privilege-table entry behind each link of the root page.
_ROOT_RULES = {
    "services": "services.folder",
    "security": "security",
    "system": "system",
    "info": "info",
}


def _json(data: Any) -> dict[str, Any]:
    return {"json_text": dumps(data, pretty=True)}


def allowed(request: Request, rule: str) -> bool:
    """Whether the viewer may open what the privilege table guards with ``rule``:
    a page shows no link or form that would only answer 403."""
    try:
        check_admin(rule, request.state.principal)
    except GPServerError:
        return False
    return True


@view("root")
def root(request: Request, data: Any) -> tuple[str, dict[str, Any]]:
    base = request.url.path
    links = [
        (name, f"{base}/{name}?f=html")
        for name in data["resources"]
        if allowed(request, _ROOT_RULES.get(name, "root"))
    ]
    fields = {k: v for k, v in data.items() if k != "resources"}
    return "resource.html", {"links": links, "fields": fields} | _json(data)


@view("services.folder")
def folder(request: Request, data: Any) -> tuple[str, dict[str, Any]]:
    base = request.url.path
    root = base.split("/services", 1)[0] + "/services"
    services = [(s, f"{base}/{s['serviceName']}.GPServer") for s in data["services"]]
    folders = [(name, f"{root}/{name}") for name in data["folders"]]
    name = data["folderName"]
    return "admin/folder.html", {
        "title": "Services" if name == "/" else f"Services in {name}",
        "folders": folders,
        "services": services,
        "base": base,
        "may_see_permissions": allowed(request, "services.permissions"),
    } | _json(data)


@view("services.service")
def service(request: Request, data: Any) -> tuple[str, dict[str, Any]]:
    site: Site = request.app.state.site
    key = request.state.service.key
    return "admin/service.html", {
        "title": f"{key} (GPServer)",
        "service": data,
        "base": request.url.path,
        "rest_url": f"{request.url.path.split('/admin/', 1)[0]}/rest/services/{key}"
        "/GPServer",
        "state": site.service_state(key),
        "may_edit": allowed(request, "services.service.edit"),
        "may_see_jobs": allowed(request, "jobs"),
        "may_see_permissions": allowed(request, "services.permissions"),
        "service_json": dumps(data, pretty=True),
    } | _json(data)


@view("services.permissions")
def permissions(request: Request, data: Any) -> tuple[str, dict[str, Any]]:
    return "admin/permissions.html", {
        "title": f"Permissions of {request.state.resource or 'the root folder'}",
        "entries": data["permissions"],
        "everyone": EVERYONE,
        "action": f"{request.url.path}/add",
    } | _json(data)


@view("security.tokens")
def tokens(request: Request, data: Any) -> tuple[str, dict[str, Any]]:
    return "admin/tokens.html", {
        "settings": data["properties"],
        "action": f"{request.url.path}/update",
    } | _json(data)


@view("security.users")
def users(request: Request, data: Any) -> tuple[str, dict[str, Any]]:
    admin = _security_admin(request)
    found, more = admin.users(0, LISTED)
    rows = [(u, admin.roles_for_user(u.username, "", LISTED)[0]) for u in found]
    return "admin/users.html", {
        "rows": rows,
        "more": more,
        "base": request.url.path,
        "operations": data["operations"],
    } | _json(data)


@view("security.users.getUsers", "security.users.search")
def user_list(request: Request, data: Any) -> tuple[str, dict[str, Any]]:
    return "admin/user_list.html", {"users": data["users"], "more": data["hasMore"]} | (
        _json(data)
    )


@view("security.roles")
def roles(request: Request, data: Any) -> tuple[str, dict[str, Any]]:
    admin = _security_admin(request)
    found, more = admin.roles(0, LISTED)
    rows = [(r, admin.users_within_role(r.rolename, "", LISTED)[0]) for r in found]
    return "admin/roles.html", {
        "rows": rows,
        "more": more,
        "base": request.url.path,
        "privileges": PRIVILEGES,
        "admin_privileges": ADMIN_PRIVILEGES,
        "operations": data["operations"],
    } | _json(data)


@view("security.roles.getRoles", "security.roles.search")
def role_list(request: Request, data: Any) -> tuple[str, dict[str, Any]]:
    return "admin/role_list.html", {"roles": data["roles"], "more": data["hasMore"]} | (
        _json(data)
    )


@view("system.directories")
def directories(request: Request, data: Any) -> tuple[str, dict[str, Any]]:
    base = request.url.path
    rows = [(d, f"{base}/{d['name']}") for d in data["directories"]]
    return "admin/directories.html", {"rows": rows} | _json(data)


@view("system.directories.directory")
def directory(request: Request, data: Any) -> tuple[str, dict[str, Any]]:
    return "admin/directory.html", {
        "directory": data,
        "modes": MODES,
        "base": request.url.path,
    } | _json(data)


@view("jobs")
def jobs(request: Request, data: Any) -> tuple[str, dict[str, Any]]:
    """The jobs resource, with the first page of its jobs under the query form."""
    from gpserver.web.admin.jobs import query

    found = query(request, {"f": "html"}, request.state.principal)
    return "admin/jobs.html", _jobs_page(request, request.url.path, found, {}) | (
        _json(data)
    )


@view("jobs.query")
def jobs_query(request: Request, data: Any) -> tuple[str, dict[str, Any]]:
    filters = {
        name: request.query_params.get(name, "") for name in (*QUERY_FIELDS, "start")
    }
    base = request.url.path.rsplit("/", 1)[0]
    return "admin/jobs.html", _jobs_page(request, base, data, filters) | _json(data)


def jobs_query_error(request: Request) -> tuple[str, dict[str, Any]]:
    filters = {
        name: request.query_params.get(name, "") for name in (*QUERY_FIELDS, "start")
    }
    base = request.url.path.rsplit("/", 1)[0]
    return "admin/jobs.html", {
        "title": f"Jobs of {request.state.service.key}",
        "base": base,
        "statuses": QUERY_STATUSES,
        "filters": filters,
        "result": None,
        "links": [("statistics", f"{base}/statistics?f=html")],
    }


FORM_ERRORS["jobs.query"] = jobs_query_error


def _jobs_page(
    request: Request, base: str, data: Any, filters: dict[str, str]
) -> dict[str, Any]:
    query = data["query"]
    previous = None
    if data["start"] > 1:
        previous = _page_url(request, base, max(1, data["start"] - query["number"]))
    following = None
    if data["nextStart"] != -1:
        following = _page_url(request, base, data["nextStart"])
    return {
        "title": f"Jobs of {request.state.service.key}",
        "base": base,
        "statuses": QUERY_STATUSES,
        "filters": filters,
        "result": data,
        "jobs": list(data["results"].values()),
        "previous": previous,
        "following": following,
        "links": [("statistics", f"{base}/statistics?f=html")],
    }


@view("jobs.job")
def job(request: Request, data: Any) -> tuple[str, dict[str, Any]]:
    site: Site = request.app.state.site
    messages = site.jobs.messages(site.jobs.get(data["jobId"]))
    return "admin/job.html", {
        "title": f"Job {data['jobId']}",
        "job": data,
        "base": request.url.path,
        "jobs_url": request.url.path.rsplit("/", 1)[0],
        "finished": data["status"] in _FINISHED_NAMES,
        "messages": [
            (m.type.removeprefix("esriJobMessageType"), m.description) for m in messages
        ],
    } | _json(data)


@view("jobs.statistics.form")
def statistics_form(request: Request, data: Any) -> tuple[str, dict[str, Any]]:
    return "admin/statistics_form.html", {
        "service": data["service"],
        "action": request.url.path,
        "json_url": None,
    }


@view("jobs.statistics")
def statistics(request: Request, data: Any) -> tuple[str, dict[str, Any]]:
    counts = [
        ("Total", data["total"]),
        ("Cancelled", data["cancelled"]),
        ("Failed", data["failed"]),
        ("Succeeded", data["succeeded"]),
    ]
    return "admin/statistics.html", {
        "title": f"Job statistics of {request.state.service.key}",
        "service": request.state.service.key,
        "counts": counts,
        "chart": bar_chart(counts),
        "action": request.url.path,
    } | _json(data)


def _page_url(request: Request, base: str, start: int) -> str:
    kept = [
        (name, value)
        for name, value in request.query_params.multi_items()
        if name in QUERY_FIELDS and value
    ]
    return f"{base}/query?{urlencode([*kept, ('start', start), ('f', 'html')])}"


def _security_admin(request: Request) -> SecurityAdmin:
    site: Site = request.app.state.site
    return SecurityAdmin(site.security.store, request.state.principal)
