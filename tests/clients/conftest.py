"""Fixtures for driving a real server with Esri's own client libraries.

The server comes from the end-to-end fixtures. Importing them here gives this folder a
session server of its own, so a run of the whole suite starts one more server.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import server

__all__ = ["loopback_only", "server"]


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Refuse, and fail the test on, any connection or name lookup beyond loopback.

    The clients are large libraries that could fetch something on their own (a
    Portal, a CDN, a version check); this makes such an attempt visible even when the
    client swallows the error.
    """
    refused: list[str] = []
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect

    def check(host: object) -> None:
        if not _is_loopback(host):
            refused.append(repr(host))
            raise ConnectionRefusedError(f"tests/clients reach loopback only: {host!r}")

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        check(host)
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            check(address[0])
        real_connect(sock, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    yield
    assert not refused, f"a client tried to reach beyond loopback: {refused}"


def _is_loopback(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", errors="replace")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(str(host)).is_loopback
    except ValueError:
        return False
