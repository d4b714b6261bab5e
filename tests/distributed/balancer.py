"""A round-robin TCP load balancer on loopback, in front of a site's web nodes.

Each connection goes to the next web node in turn, so that a test's requests,
each on a connection of its own, alternate between the nodes as they would behind
a real load balancer. Run as a script: ``balancer.py PORT BACKEND_PORT...``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import signal
import sys

HOST = "127.0.0.1"
CHUNK = 65536


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()


async def _serve(port: int, backends: list[int]) -> None:
    turns = itertools.cycle(backends)

    async def relay(
        client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        try:
            node_reader, node_writer = await asyncio.open_connection(HOST, next(turns))
        except OSError:
            # A node that is down: the client sees the connection closed, as
            # behind a balancer without health checks.
            client_writer.close()
            return
        # HTTP needs no half-closed connections: when one side ends, both do.
        await asyncio.wait(
            [
                asyncio.ensure_future(_pipe(client_reader, node_writer)),
                asyncio.ensure_future(_pipe(node_reader, client_writer)),
            ],
            return_when=asyncio.FIRST_COMPLETED,
        )
        for writer in (node_writer, client_writer):
            writer.close()

    server = await asyncio.start_server(relay, HOST, port, backlog=512)
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, stopped.set)
    async with server:
        await stopped.wait()


def main(argv: list[str]) -> None:
    port, *backends = (int(a) for a in argv)
    asyncio.run(_serve(port, backends))


if __name__ == "__main__":
    main(sys.argv[1:])
