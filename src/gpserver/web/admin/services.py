"""The services resources of the Administrator API and their permissions."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from gpserver.catalog.services import Service
from gpserver.catalog.state import EDITABLE, STARTED, STOPPED, changes_from
from gpserver.errors import BadRequest, NotFound
from gpserver.security.model import EVERYONE, Principal
from gpserver.site import Site
from gpserver.web.admin.framework import SUCCESS, admin_route, operation
from gpserver.web.admin.jobs import resolve_jobs

SERVICE_SUFFIX = ".GPServer"


def resolve(request: Request) -> str:
    """Which operation a path under ``admin/services`` names; keeps what it found."""
    site: Site = request.app.state.site
    parts = [p for p in request.path_params.get("path", "").split("/") if p]
    state = request.state
    state.folder, state.service, state.resource = "", None, ""

    index = next((i for i, p in enumerate(parts) if p.endswith(SERVICE_SUFFIX)), None)
    if index is None:
        if parts and parts[0] != "permissions":
            state.folder = parts.pop(0)
            if state.folder not in site.catalog.folders():
                raise NotFound(f"folder {state.folder} does not exist")
        state.resource = state.folder
        return _folder_operation(parts)

    folder = "/".join(parts[:index])
    name = parts[index].removesuffix(SERVICE_SUFFIX)
    state.service = site.catalog.get(f"{folder}/{name}" if folder else name)
    state.resource = f"{state.service.key}{SERVICE_SUFFIX}"
    rest = parts[index + 1 :]
    if not rest:
        return "services.service"
    if rest == ["status"]:
        return "services.service.status"
    if rest in (["start"], ["stop"], ["edit"]):
        return f"services.service.{rest[0]}"
    if rest[0] == "permissions":
        return _permissions_operation(rest)
    if rest[0] == "jobs":
        return resolve_jobs(request, rest[1:])
    raise NotFound(f"no resource at {request.url.path}")


def _folder_operation(rest: list[str]) -> str:
    if not rest:
        return "services.folder"
    if rest[0] == "permissions":
        return _permissions_operation(rest)
    raise NotFound(f"no resource at services/{'/'.join(rest)}")


def _permissions_operation(rest: list[str]) -> str:
    if rest == ["permissions"]:
        return "services.permissions"
    if rest == ["permissions", "add"]:
        return "services.permissions.add"
    raise NotFound(f"no resource at {'/'.join(rest)}")


@operation("services.folder")
def folder_listing(
    request: Request, params: dict[str, Any], principal: Principal
) -> Any:
    site: Site = request.app.state.site
    folder: str = request.state.folder
    detail = str(params.get("detail", "")).lower() == "true"
    data: dict[str, Any] = {
        "folderName": folder or "/",
        "description": "Root folder" if not folder else "",
        "webEncrypted": False,
        "isDefault": not folder,
        "folders": site.catalog.folders() if not folder else [],
        "services": [
            {
                "folderName": folder or "/",
                "serviceName": s.config.name,
                "type": "GPServer",
                "description": s.config.description,
            }
            for s in site.catalog.in_folder(folder)
        ],
    }
    if detail and not folder:
        data["foldersDetail"] = [
            {
                "folderName": f,
                "description": "",
                "webEncrypted": False,
                "isDefault": False,
            }
            for f in site.catalog.folders()
        ]
    return data


@operation("services.service")
def service_json(request: Request, params: dict[str, Any], principal: Principal) -> Any:
    site: Site = request.app.state.site
    return admin_service_json(site, request.state.service)


@operation("services.service.status")
def service_status(
    request: Request, params: dict[str, Any], principal: Principal
) -> Any:
    site: Site = request.app.state.site
    state = site.service_state(request.state.service.key)
    return {"configuredState": state, "realTimeState": state}


@operation("services.service.start", methods=("POST",), action=True)
def start(request: Request, params: dict[str, Any], principal: Principal) -> Any:
    site: Site = request.app.state.site
    site.set_service_state(request.state.service.key, STARTED)
    return SUCCESS


@operation("services.service.stop", methods=("POST",), action=True)
def stop(request: Request, params: dict[str, Any], principal: Principal) -> Any:
    site: Site = request.app.state.site
    site.set_service_state(request.state.service.key, STOPPED)
    return SUCCESS


@operation("services.service.edit", methods=("POST",), action=True)
def edit(request: Request, params: dict[str, Any], principal: Principal) -> Any:
    site: Site = request.app.state.site
    service_json = None
    if params.get("service"):
        try:
            service_json = json.loads(str(params["service"]))
        except json.JSONDecodeError:
            service_json = None
        if not isinstance(service_json, dict):
            raise BadRequest(
                "Invalid value for parameter 'service': expected the service's JSON"
            )
    if service_json is not None:
        _check_fixed_keys(service_json, admin_service_json(site, request.state.service))
    changes = changes_from(params, service_json)
    if not changes:
        raise BadRequest(
            "Nothing to edit: give service=<JSON> or one of " + ", ".join(EDITABLE)
        )
    site.edit_service(request.state.service.key, changes)
    return SUCCESS


@operation("services.permissions")
def permissions(request: Request, params: dict[str, Any], principal: Principal) -> Any:
    site: Site = request.app.state.site
    entries = site.security.store.permissions(request.state.resource)
    return {
        "permissions": [
            {"principal": who, "permission": {"isAllowed": allowed, "constraint": ""}}
            for who, allowed in entries
        ]
    }


@operation("services.permissions.add", methods=("POST",), action=True)
def add_permission(
    request: Request, params: dict[str, Any], principal: Principal
) -> Any:
    site: Site = request.app.state.site
    who = str(params.get("principal") or "").strip()
    if not who:
        raise BadRequest("principal is required: a role name or esriEveryone")
    if who.lower() != EVERYONE.lower() and site.security.store.get_role(who) is None:
        raise NotFound(f"role {who} does not exist")
    allowed = str(params.get("isAllowed", "true")).lower()
    if allowed not in ("true", "false"):
        raise BadRequest(f"isAllowed must be true or false, not {allowed!r}")
    name = EVERYONE if who.lower() == EVERYONE.lower() else who
    site.security.store.set_permission(request.state.resource, name, allowed == "true")
    return SUCCESS


def _check_fixed_keys(given: dict[str, Any], current: dict[str, Any]) -> None:
    """Refuse keys of an edit's service JSON that edit cannot change: unknown ones,
    and the others (name, type, toolbox, ...) unless they keep their value, as in
    JSON read from the service and sent back."""
    editable = set(EDITABLE.values())
    unknown, fixed = [], []
    for path, value in _leaves(given):
        if path in editable:
            continue
        known, now = _lookup(current, path)
        if not known:
            unknown.append(".".join(path))
        elif not _same(value, now):
            fixed.append(".".join(path))
    problems = []
    if unknown:
        problems.append(f"unknown keys {', '.join(unknown)}")
    if fixed:
        problems.append(
            f"keys set by the configuration file, not by edit: {', '.join(fixed)}"
        )
    if problems:
        raise BadRequest(
            f"The service JSON cannot be applied: {'; '.join(problems)}. Editable: "
            + ", ".join(EDITABLE)
        )


def _leaves(value: dict[str, Any]) -> list[tuple[tuple[str, ...], Any]]:
    """The top-level keys, and those of ``properties``, with their values."""
    found: list[tuple[tuple[str, ...], Any]] = []
    for key, item in value.items():
        if key == "properties" and isinstance(item, dict):
            found += [(("properties", k), v) for k, v in item.items()]
        else:
            found.append(((key,), item))
    return found


def _lookup(value: dict[str, Any], path: tuple[str, ...]) -> tuple[bool, Any]:
    for part in path:
        if not isinstance(value, dict) or part not in value:
            return False, None
        value = value[part]
    return True, value


def _same(given: Any, current: Any) -> bool:
    """Equal, or equal as the admin JSON spells it (numbers and booleans as text)."""
    if given == current:
        return True
    if isinstance(given, dict | list) or isinstance(current, dict | list):
        return False
    return str(given).lower() == str(current).lower()


def admin_service_json(site: Site, service: Service) -> dict[str, Any]:
    config = service.config
    jobs_dir = str(site.config.jobs_dir)
    return {
        "serviceName": config.name,
        "type": "GPServer",
        "description": config.description,
        "capabilities": "",
        "provider": "gpserver",
        "clusterName": "default",
        "minInstancesPerNode": config.min_instances,
        "maxInstancesPerNode": config.max_instances,
        "maxWaitTime": config.max_wait_time,
        "maxUsageTime": config.max_usage_time,
        "configuredState": site.service_state(service.key),
        "private": False,
        "properties": {
            "toolbox": config.toolbox,
            "executionType": "Asynchronous" if config.is_async else "Synchronous",
            "showMessages": config.show_messages,
            "maximumRecords": str(config.maximum_records),
            "resultMapServer": "false",
            "jobsDirectory": jobs_dir,
            "jobsVirtualDirectory": "/rest/directories/arcgisjobs",
            "outputDir": str(site.output_root),
            "virtualOutputDir": "/rest/directories/arcgisoutput",
        },
        "extensions": [],
        "datasets": [],
    }


routes = [
    admin_route("/admin/services", resolve),
    admin_route("/admin/services/{path:path}", resolve),
]
