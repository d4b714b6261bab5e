"""The privilege table in the docs is the one the code enforces."""

from __future__ import annotations

from pathlib import Path

from gpserver.security import privileges_doc
from gpserver.security.access import ADMIN_ENDPOINTS
from gpserver.web.admin.framework import OPERATIONS

DOCS = Path(__file__).parents[2] / "docs" / "security.md"


def test_docs_publish_exactly_the_generated_table() -> None:
    assert privileges_doc.markdown() in DOCS.read_text(encoding="utf-8")


def test_every_table_entry_has_a_documented_path() -> None:
    assert set(privileges_doc.PATHS) == set(ADMIN_ENDPOINTS)


def test_every_admin_operation_is_guarded_by_a_table_entry() -> None:
    import gpserver.web.app  # noqa: F401  (registers every admin operation)

    rules = {op.rule for op in OPERATIONS.values()}
    assert rules <= set(ADMIN_ENDPOINTS)
    # and no rule in the table is left without an operation using it
    assert set(ADMIN_ENDPOINTS) <= rules


def test_every_admin_route_goes_through_the_privilege_check(tmp_path: Path) -> None:
    from starlette.routing import Mount, Route

    from gpserver.config import load_site
    from gpserver.site import Site
    from gpserver.web.app import create_app

    site = Site.open(load_site(None, tmp_path))
    app = create_app(site, manage_site=False)
    admin_routes = []
    for route in app.routes:
        children = route.routes if isinstance(route, Mount) else [route]
        for child in children:
            if isinstance(child, Route) and child.path.startswith("/admin"):
                admin_routes.append(child)
    assert len(admin_routes) >= 10
    for route in admin_routes:
        # The catch-all answers "no resource" and nothing else; the sign-in pages
        # take no token, they get one through generateToken's own checks.
        if route.path in ("/admin/{rest:path}", "/admin/login", "/admin/logout"):
            continue
        assert getattr(route.endpoint, "guarded", False), route.path
    site.stop()
