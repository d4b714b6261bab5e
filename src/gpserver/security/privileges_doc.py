"""The privilege table as Markdown, for docs/security.md.

Run ``python -m gpserver.security.privileges_doc`` to print it; a test checks that
the table in the docs is exactly this, so the docs cannot drift from the code.
"""

from __future__ import annotations

from gpserver.security.access import ADMIN_ENDPOINTS, PUBLIC

SERVICE = "services/[<folder>/]<name>.GPServer"
JOBS = f"{SERVICE}/jobs"

PATHS: dict[str, str] = {
    "generateToken": "generateToken",
    "root": "(root)",
    "info": "info",
    "security": "security",
    "security.tokens": "security/tokens",
    "security.tokens.update": "security/tokens/update",
    "security.users": "security/users",
    "security.users.operation": "security/users/<operation>",
    "security.roles": "security/roles",
    "security.roles.operation": "security/roles/<operation>",
    "services.folder": "services, services/<folder>",
    "services.service": SERVICE,
    "services.service.status": f"{SERVICE}/status",
    "services.service.start": f"{SERVICE}/start",
    "services.service.stop": f"{SERVICE}/stop",
    "services.service.edit": f"{SERVICE}/edit",
    "services.permissions": "services[/<folder>][/<name>.GPServer]/permissions",
    "services.permissions.add": "services[/<folder>][/<name>.GPServer]/permissions/add",
    "jobs": JOBS,
    "jobs.query": f"{JOBS}/query",
    "jobs.statistics": f"{JOBS}/statistics",
    "jobs.job": f"{JOBS}/<jobId>",
    "jobs.job.cancel": f"{JOBS}/<jobId>/cancel",
    "jobs.job.delete": f"{JOBS}/<jobId>/delete",
    "jobs.purgeQueue": f"{JOBS}/purgeQueue",
    "system": "system",
    "system.directories": "system/directories",
    "system.directories.directory": "system/directories/<name>",
    "system.directories.edit": "system/directories/<name>/edit",
    "system.directories.clean": "system/directories/<name>/clean",
}

_ORDER = (
    "ADMINISTER",
    "PUBLISH",
    "update",
    "delete",
    "securityAndInfrastructure",
    "servers",
)


def markdown() -> str:
    lines = [
        "| endpoint (under `/arcgis/admin/`) | may be called by |",
        "|---|---|",
    ]
    for name, allowed in ADMIN_ENDPOINTS.items():
        if allowed is PUBLIC:
            who = "anyone (it is the sign-in)"
        else:
            who = ", ".join(f"`{p}`" for p in _ORDER if p in allowed)
        lines.append(f"| `{PATHS[name]}` | {who} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
