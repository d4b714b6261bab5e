"""generateToken, as the REST token service, the Portal-style path and the admin."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from gpserver.errors import BadRequest, Forbidden
from gpserver.security.tokens import Binding
from gpserver.site import Site
from gpserver.web.auth import client_address, is_loopback


def generate_token(request: Request, params: dict[str, Any]) -> dict[str, Any]:
    """Check credentials (or a token to exchange) and issue a token."""
    site: Site = request.app.state.site
    if request.method != "POST":
        raise BadRequest(
            "generateToken accepts POST only: credentials in a URL end up in logs"
        )
    _check_transport(request, site.config.tokens_over_http)

    username = str(params.get("username") or "")
    binding = _binding(request, params)
    minutes = _minutes(params.get("expiration"))
    if not username and params.get("token"):
        # arcgis-rest-js asks for a server token with the token it already holds.
        token, expires = site.security.tokens.exchange(
            str(params["token"]),
            request.headers.get("referer"),
            client_address(request),
        )
        return {
            "token": token,
            "expires": expires,
            "ssl": request.url.scheme == "https",
        }

    if not username:
        raise BadRequest("Unable to generate token.", ["username is required"])
    password = str(params.get("password") or "")
    user = site.security.sign_in(username, password, client_address(request))
    token, expires = site.security.issue_token(user, minutes, binding)
    return {"token": token, "expires": expires, "ssl": request.url.scheme == "https"}


def _check_transport(request: Request, policy: str) -> None:
    if request.url.scheme == "https" or policy == "always":
        return
    if policy == "loopback" and is_loopback(request):
        return
    if policy == "never":
        raise Forbidden("Tokens are issued over HTTPS only (setting tokensOverHttp)")
    raise Forbidden(
        "Tokens are issued over HTTPS only; this server issues them over plain HTTP "
        "to clients on this machine alone (setting tokensOverHttp)"
    )


def _binding(request: Request, params: dict[str, Any]) -> Binding:
    client = str(params.get("client") or "").lower()
    if client in ("referer", "referrer"):
        referer = str(params.get("referer") or params.get("referrer") or "")
        if not referer:
            raise BadRequest(
                "Unable to generate token.",
                ["client=referer needs a referer parameter"],
            )
        return Binding("referer", referer)
    if client == "ip":
        address = str(params.get("ip") or "")
        if not address:
            raise BadRequest(
                "Unable to generate token.", ["client=ip needs an ip parameter"]
            )
        return Binding("ip", address)
    if client == "requestip":
        return Binding("ip", client_address(request))
    if client:
        raise BadRequest(
            "Unable to generate token.",
            [f"client must be referer, ip or requestip, not {client!r}"],
        )
    return Binding()


def _minutes(raw: Any) -> int | None:
    if raw in (None, ""):
        return None
    try:
        return int(str(raw))
    except ValueError:
        raise BadRequest(
            "Unable to generate token.",
            [f"expiration must be a whole number of minutes, not {raw!r}"],
        ) from None
