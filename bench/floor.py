"""The floor: a minimal Starlette app under uvicorn answering a JSON constant.

It runs with the settings ``gpserver serve`` gives uvicorn (one process, the same
event loop and HTTP implementation uvicorn picks here, no access log), so the
difference between it and gpserver is what gpserver itself costs per request.
"""

from __future__ import annotations

import argparse

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

ANSWER = {"total": 1000, "cancelled": 40, "failed": 80, "succeeded": 850}


async def constant(request: Request) -> JSONResponse:
    return JSONResponse(ANSWER)


app = Starlette(routes=[Route("/{path:path}", constant, methods=["GET", "POST"])])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
    )


if __name__ == "__main__":
    main()
