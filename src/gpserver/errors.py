"""The root of gpserver's own errors.

Each subclass carries the code that the REST and admin envelopes report, so the web
layer maps an exception to a response with one lookup instead of a chain of excepts.
"""

from __future__ import annotations


class GPServerError(Exception):
    """Something a client asked for cannot be done; the message says why."""

    code = 400

    def __init__(self, message: str, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class NotFound(GPServerError):
    """A service, task, job, parameter or file does not exist."""

    code = 404


class BadRequest(GPServerError):
    """A parameter is missing or malformed."""

    code = 400


class ServiceBusy(GPServerError):
    """No instance of a service became free within its maxWaitTime."""

    code = 503


class StorageError(GPServerError):
    """The jobs directory or the store cannot take a write right now."""

    code = 503


class ConfigError(Exception):
    """The site configuration is broken; the message names file, key and problem."""


class TokenRequired(GPServerError):
    """The resource is secured and the request carried no token."""

    code = 499

    def __init__(self, message: str = "Token Required") -> None:
        super().__init__(message)


class InvalidToken(GPServerError):
    """The token is malformed, tampered with, expired, revoked or bound elsewhere."""

    code = 498

    def __init__(self, message: str = "Invalid Token") -> None:
        super().__init__(message)


class Forbidden(GPServerError):
    """The caller is known but may not do this."""

    code = 403

    def __init__(
        self,
        message: str = (
            "You do not have permissions to access this resource or perform this "
            "operation."
        ),
    ) -> None:
        super().__init__(message)


class TooManyAttempts(GPServerError):
    """Sign-ins are slowed down after repeated failures."""

    code = 429
