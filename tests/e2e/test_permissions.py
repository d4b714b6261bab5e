"""Who may call the Administrator API, and who may use a secured service.

One site serves the whole module. Its users each hold one role: ``guest`` plain
ACCESS, ``analyst`` the role allowed on the secured services, and three custom roles
with fine-grained administrative privileges. ``Samples/Diagnostics`` is secured on
the service, the ``Restricted`` folder on the folder.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.admin import Admin, start_site
from tests.e2e.server import FINISHED, ServerProcess

CONFIG = """
[server]
samples = false

[[services]]
folder = "Samples"
name = "Diagnostics"
toolbox = "gpserver.samples.diagnostics"
maxInstancesPerNode = 2

[[services]]
folder = "Samples"
name = "DiagnosticsSync"
toolbox = "gpserver.samples.diagnostics_sync"
executionType = "synchronous"
minInstancesPerNode = 0

[[services]]
folder = "Restricted"
name = "Inner"
toolbox = "gpserver.samples.diagnostics_sync"
executionType = "synchronous"
minInstancesPerNode = 0

[[services]]
folder = "Restricted"
name = "NaturalEarth"
toolbox = "gpserver.samples.naturalearth"
minInstancesPerNode = 0
"""

PASSWORD = "a user password, long enough"
SERVICE = "rest/services/Samples/Diagnostics/GPServer"
ADMIN_SERVICE = "services/Samples/Diagnostics.GPServer"
JOBS = f"{ADMIN_SERVICE}/jobs"
INNER = "rest/services/Restricted/Inner/GPServer/Echo"
EXTRACT = "rest/services/Restricted/NaturalEarth/GPServer/ExtractLayer"
# A square around Luxembourg, for ExtractLayer.
AREA = (
    '{"geometryType": "esriGeometryPolygon", "spatialReference": {"wkid": 4326}, '
    '"features": [{"geometry": {"rings": [[[5, 49.5], [5, 50.5], [7, 50.5], '
    "[7, 49.5], [5, 49.5]]]}}]}"
)

# role: (adminPrivileges, its one user)
ROLES = {
    "Guests": ("", "guest"),
    "Analysts": ("", "analyst"),
    "Updaters": ("update", "updater"),
    "JobReaders": ("update,viewAllContent", "reader"),
    "JobCancellers": ("delete,viewAllContent", "canceller"),
}

FORBIDDEN_MESSAGE = (
    "You do not have permissions to access this resource or perform this operation."
)
ADMIN_FORBIDDEN = {"status": "error", "messages": [FORBIDDEN_MESSAGE], "code": 403}
REST_FORBIDDEN = {"error": {"code": 403, "message": FORBIDDEN_MESSAGE, "details": []}}
REST_TOKEN_REQUIRED = {
    "error": {"code": 499, "message": "Token Required", "details": []}
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = start_site(tmp_path_factory.mktemp("permissions"), CONFIG)
    yield process
    process.stop()


@pytest.fixture(scope="module")
def admin(site: ServerProcess) -> Admin:
    """The administrator, after adding the roles and users and securing services."""
    admin = Admin(site.root)
    done = {"status": "success"}
    for rolename, (extra, username) in ROLES.items():
        role = admin.post(
            "security/roles/add", rolename=rolename, adminPrivileges=extra
        )
        user = admin.post("security/users/add", username=username, password=PASSWORD)
        link = admin.post(
            "security/roles/addUsersToRole", rolename=rolename, users=username
        )
        assert [role, user, link] == [done] * 3
    for resource in (ADMIN_SERVICE, "services/Restricted"):
        for principal, allowed in (("esriEveryone", "false"), ("Analysts", "true")):
            answer = admin.post(
                f"{resource}/permissions/add", principal=principal, isAllowed=allowed
            )
            assert answer == done
    return admin


@pytest.fixture(scope="module")
def tokens(site: ServerProcess, admin: Admin) -> dict[str, str]:
    """A token for each user, by user name."""
    found = {}
    for _, username in ROLES.values():
        reply = httpx.post(
            f"{site.root}/tokens/generateToken",
            data={"username": username, "password": PASSWORD, "f": "json"},
        )
        found[username] = reply.json()["token"]
    return found


def get(root: str, path: str, token: str | None = None, **params: Any) -> Any:
    headers = {"X-Esri-Authorization": f"Bearer {token}"} if token else {}
    reply = httpx.get(
        f"{root}/{path}", params={"f": "json", **params}, headers=headers, timeout=30
    )
    assert reply.status_code == 200, reply.text
    return reply.json()


def post(root: str, path: str, token: str | None = None, **data: Any) -> Any:
    if token:
        data["token"] = token
    reply = httpx.post(f"{root}/{path}", data={"f": "json", **data}, timeout=30)
    assert reply.status_code == 200, reply.text
    return reply.json()


def wait_status(root: str, task: str, job_id: str, token: str, wanted: set[str]) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = str(get(root, f"{task}/jobs/{job_id}", token)["jobStatus"])
        if status in wanted:
            return status
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never reached {wanted}")


@pytest.fixture
def running_job(site: ServerProcess, admin: Admin) -> Iterator[str]:
    """A Wait job of Samples/Diagnostics, executing; cancelled afterwards."""
    task = f"{SERVICE}/Wait"
    job_id = post(site.root, f"{task}/submitJob", admin.token, seconds=60)["jobId"]
    wait_status(site.root, task, job_id, admin.token, {"esriJobExecuting"})
    yield job_id
    admin.post(f"{JOBS}/{job_id}/cancel")
    wait_status(site.root, task, job_id, admin.token, FINISHED)


# -- the Administrator API ----------------------------------------------------


def admin_paths(job_id: str) -> list[str]:
    return [
        "",
        "info",
        "services",
        "services/Samples",
        ADMIN_SERVICE,
        f"{ADMIN_SERVICE}/status",
        f"{ADMIN_SERVICE}/stop",
        f"{ADMIN_SERVICE}/edit",
        f"{ADMIN_SERVICE}/permissions",
        f"{ADMIN_SERVICE}/permissions/add",
        "services/permissions",
        JOBS,
        f"{JOBS}/query",
        f"{JOBS}/statistics",
        f"{JOBS}/{job_id}",
        f"{JOBS}/{job_id}/cancel",
        f"{JOBS}/{job_id}/delete",
        f"{JOBS}/purgeQueue",
        "security",
        "security/users",
        "security/users/getUsers",
        "security/users/add",
        "security/roles",
        "security/roles/getRoles",
        "security/roles/assignPrivilege",
        "security/tokens",
        "security/tokens/update",
        "system",
        "system/directories",
        "system/directories/arcgisjobs",
        "system/directories/arcgisjobs/edit",
        "system/directories/arcgisjobs/clean",
    ]


def admin_answers(
    site: ServerProcess, paths: list[str], token: str, **data: Any
) -> dict[str, Any]:
    """Each path's answer to a POST carrying the token in the body."""
    return {
        path: post(site.root, f"admin/{path}".rstrip("/"), token, **data)
        for path in paths
    }


def test_an_access_user_is_refused_by_every_admin_endpoint(
    site: ServerProcess, tokens: dict[str, str], running_job: str
) -> None:
    paths = admin_paths(running_job)

    answers = admin_answers(site, paths, tokens["guest"])

    assert answers == dict.fromkeys(paths, ADMIN_FORBIDDEN)
    assert get(site.root, f"{SERVICE}/Wait/jobs/{running_job}", tokens["guest"]) == (
        REST_FORBIDDEN
    )


def test_update_without_view_all_content_is_refused(
    site: ServerProcess, tokens: dict[str, str], running_job: str
) -> None:
    paths = ["", "services", ADMIN_SERVICE, f"{JOBS}/query", f"{JOBS}/{running_job}"]

    answers = admin_answers(site, paths, tokens["updater"], startTime=0)

    assert answers == dict.fromkeys(paths, ADMIN_FORBIDDEN)


def test_update_with_view_all_content_reads_jobs_but_cannot_change_them(
    site: ServerProcess, tokens: dict[str, str], running_job: str
) -> None:
    token = tokens["reader"]

    query = post(site.root, f"admin/{JOBS}/query", token, startTime=0)
    statistics = post(site.root, f"admin/{JOBS}/statistics", token)
    job = post(site.root, f"admin/{JOBS}/{running_job}", token)
    changes = [f"{JOBS}/{running_job}/cancel", f"{JOBS}/{running_job}/delete"]
    refused = admin_answers(site, [*changes, f"{JOBS}/purgeQueue", "security"], token)

    assert running_job in query["results"]
    assert sorted(statistics) == ["cancelled", "failed", "succeeded", "total"]
    assert job["jobId"] == running_job
    assert job["status"] == "esriJobExecuting"
    assert refused == dict.fromkeys(refused, ADMIN_FORBIDDEN)


def test_delete_with_view_all_content_may_cancel_a_job(
    site: ServerProcess, admin: Admin, tokens: dict[str, str], running_job: str
) -> None:
    token = tokens["canceller"]

    cancelled = post(site.root, f"admin/{JOBS}/{running_job}/cancel", token)
    security = post(site.root, "admin/security/users/getUsers", token)

    assert cancelled == {"status": "success"}
    assert security == ADMIN_FORBIDDEN
    task = f"{SERVICE}/Wait"
    status = wait_status(site.root, task, running_job, admin.token, FINISHED)
    assert status == "esriJobCancelled"


# -- service permissions --------------------------------------------------------


def test_permissions_are_listed_on_the_level_they_were_set(admin: Admin) -> None:
    def rule(principal: str, allowed: bool) -> dict[str, Any]:
        return {
            "principal": principal,
            "permission": {"isAllowed": allowed, "constraint": ""},
        }

    assert admin.get(f"{ADMIN_SERVICE}/permissions") == {
        "permissions": [rule("Analysts", True), rule("esriEveryone", False)]
    }
    assert admin.get("services/Restricted/permissions") == {
        "permissions": [rule("Analysts", True), rule("esriEveryone", False)]
    }
    assert admin.get("services/Restricted/Inner.GPServer/permissions") == {
        "permissions": []
    }
    assert admin.get("services/permissions") == {"permissions": []}


def secured_answers(root: str, token: str | None) -> list[Any]:
    """The service, a task, a submitJob and a job, as the caller sees them."""
    return [
        get(root, SERVICE, token),
        get(root, f"{SERVICE}/Echo", token),
        post(root, f"{SERVICE}/Echo/submitJob", token, in_string="x"),
        get(root, f"{SERVICE}/Echo/jobs/j{'0' * 32}", token),
    ]


def test_a_secured_service_requires_a_token(site: ServerProcess, admin: Admin) -> None:
    assert secured_answers(site.root, None) == [REST_TOKEN_REQUIRED] * 4


def test_a_user_without_the_role_is_forbidden(
    site: ServerProcess, tokens: dict[str, str]
) -> None:
    for user in ("guest", "updater", "reader"):
        assert secured_answers(site.root, tokens[user]) == [REST_FORBIDDEN] * 4


def test_a_user_with_the_role_uses_the_service(
    site: ServerProcess, tokens: dict[str, str]
) -> None:
    token = tokens["analyst"]
    task = f"{SERVICE}/Echo"

    # The token as a query parameter, a form field and a header.
    service = httpx.get(f"{site.root}/{SERVICE}", params={"f": "json", "token": token})
    job_id = post(site.root, f"{task}/submitJob", token, in_string="allowed")["jobId"]
    wait_status(site.root, task, job_id, token, FINISHED)
    result = get(site.root, f"{task}/jobs/{job_id}/results/out_string", token)

    assert service.json()["tasks"] == ["Echo", "Wait", "Fail"]
    assert result == {
        "paramName": "out_string",
        "dataType": "GPString",
        "value": "allowed",
    }


def test_the_listing_shows_only_the_services_a_caller_may_use(
    site: ServerProcess, admin: Admin, tokens: dict[str, str]
) -> None:
    listed = {
        who: [
            s["name"]
            for s in get(site.root, "rest/services/Samples", token)["services"]
        ]
        for who, token in (
            ("anonymous", None),
            ("guest", tokens["guest"]),
            ("analyst", tokens["analyst"]),
            ("admin", admin.token),
        )
    }

    assert listed == {
        "anonymous": ["Samples/DiagnosticsSync"],
        "guest": ["Samples/DiagnosticsSync"],
        "analyst": ["Samples/Diagnostics", "Samples/DiagnosticsSync"],
        "admin": ["Samples/Diagnostics", "Samples/DiagnosticsSync"],
    }


def test_a_folder_rule_is_inherited_by_its_services(
    site: ServerProcess, admin: Admin, tokens: dict[str, str]
) -> None:
    def execute(token: str | None) -> Any:
        return post(site.root, f"{INNER}/execute", token, in_string="inner")

    allowed = execute(tokens["analyst"])

    assert execute(None) == REST_TOKEN_REQUIRED
    assert execute(tokens["guest"]) == REST_FORBIDDEN
    assert allowed["results"][0]["value"] == "inner"
    assert get(site.root, "rest/services/Restricted")["services"] == []
    # An open service of another folder is not touched.
    sync = post(
        site.root, "rest/services/Samples/DiagnosticsSync/GPServer/Echo/execute"
    )
    assert "results" in sync

    # There is no remove: a rule is withdrawn by setting isAllowed=false.
    withdrawn = admin.post(
        "services/Restricted/permissions/add", principal="Analysts", isAllowed="false"
    )
    assert withdrawn == {"status": "success"}
    assert execute(tokens["analyst"]) == REST_FORBIDDEN


def test_a_secured_services_result_file_needs_a_token(
    site: ServerProcess, admin: Admin, tokens: dict[str, str]
) -> None:
    token = admin.token
    data = {"layer": "countries", "area_of_interest": AREA}
    job_id = post(site.root, f"{EXTRACT}/submitJob", token, **data)["jobId"]
    wait_status(site.root, EXTRACT, job_id, token, FINISHED)
    result = get(site.root, f"{EXTRACT}/jobs/{job_id}/results/geojson", token)
    url = result["value"]["url"]

    def download(token: str | None) -> Any:
        headers = {"X-Esri-Authorization": f"Bearer {token}"} if token else {}
        return httpx.get(url, headers=headers, params={"f": "json"}).json()

    assert download(token)["type"] == "FeatureCollection"
    assert download(None) == REST_TOKEN_REQUIRED
    assert download(tokens["guest"]) == REST_FORBIDDEN
