"""The one error a client causes by sending a value the codec cannot read."""

from __future__ import annotations

from gpserver.errors import BadRequest


class InvalidParameterError(BadRequest, ValueError):
    """Invalid value for parameter '<param>': <reason>.

    ``reason`` says what was expected (and, where it helps, what arrived), so the
    message alone tells a client how to fix the request.
    """

    def __init__(self, param: str, reason: str) -> None:
        message = f"Invalid value for parameter '{param}': {reason}"
        super().__init__(message, [message])
        self.param = param
        self.reason = reason

    def __str__(self) -> str:
        return self.message


def shown(value: object) -> str:
    """A value as an error message quotes it: its repr, cut short when long."""
    text = repr(value)
    return text if len(text) <= 64 else text[:60] + " ..."
