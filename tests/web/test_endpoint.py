"""The endpoint wrapper: form bodies read as Starlette reads them, and which
requests run on the event loop."""

from __future__ import annotations

import asyncio

import pytest
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.formparsers import FormParser

from gpserver.web import endpoint
from gpserver.web.endpoint import _urlencoded
from gpserver.web.rest.routes import QUICK_SUBMIT_BYTES, is_quick

BODIES = [
    b"",
    b"f=json&seconds=0",
    b"a=1;b=2",
    b"flag",
    b"a=&b",
    b"&&a=1&&",
    b"a=%E2%82%AC+x&b=%2B%26%3D",
    "é=ü".encode(),
    b"a==b",
    b"=x",
    b"a=1&a=2",
    b"x=%zz&y=%",
]


def starlettes(body: bytes) -> list[tuple[str, str]]:
    async def stream():  # type: ignore[no-untyped-def]
        yield body
        yield b""

    headers = Headers({"content-type": "application/x-www-form-urlencoded"})
    form = asyncio.run(FormParser(headers, stream()).parse())
    return [(key, str(value)) for key, value in form.multi_items()]


@pytest.mark.parametrize("body", BODIES)
def test_a_form_body_reads_as_starlette_reads_it(body: bytes) -> None:
    assert _urlencoded(body) == starlettes(body)


def test_too_many_fields_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(endpoint, "MAX_FIELDS", 3)

    assert len(_urlencoded(b"a=1&b=2&c=3")) == 3
    with pytest.raises(HTTPException) as refused:
        _urlencoded(b"a=1&b=2&c=3&d=4")
    assert refused.value.detail == "Too many fields. Maximum number of fields is 3."


def test_a_field_too_long_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(endpoint, "MAX_FIELD", 2048)

    assert _urlencoded(b"a=" + b"x" * 2046) == [("a", "x" * 2046)]
    with pytest.raises(HTTPException) as refused:
        _urlencoded(b"a=" + b"x" * 2047)
    assert refused.value.detail == "Field exceeded maximum size of 2KB."


TASK = "/arcgis/rest/services/Samples/Diagnostics/GPServer/Wait"


@pytest.mark.parametrize(
    ("path", "length", "quick"),
    [
        ("/arcgis/rest/services", "0", True),
        ("/arcgis/rest/services/Samples/Diagnostics/GPServer", "0", True),
        (TASK, "0", True),
        (f"{TASK}/jobs/j0123", "0", True),
        (f"{TASK}/submitJob", "16", True),
        (f"{TASK}/submitJob", str(QUICK_SUBMIT_BYTES), True),
        (f"{TASK}/submitJob", str(QUICK_SUBMIT_BYTES + 1), False),
        (f"{TASK}/submitJob", "", False),
        (f"{TASK}/submitJob", "-1", False),
        (f"{TASK}/execute", "16", False),
        (f"{TASK}/jobs/j0123/cancel", "0", False),
        (f"{TASK}/jobs/j0123/results", "0", False),
        (f"{TASK}/jobs/j0123/inputs/seconds", "0", False),
    ],
)
def test_reads_and_small_submits_run_on_the_event_loop(
    path: str, length: str, quick: bool
) -> None:
    assert is_quick(path, length, distributed=False) is quick


def test_a_distributed_site_submits_in_a_thread() -> None:
    # Its broker may make a submit wait; its reads are the same as anywhere.
    assert is_quick(f"{TASK}/submitJob", "16", distributed=True) is False
    assert is_quick(f"{TASK}/jobs/j0123", "0", distributed=True) is True
