"""A TCP forwarder on loopback that a test can cut and restore: the network between the app
and its PostgreSQL (or Redis), failing as a real one does. Cut, it closes every connection it
carries and refuses new ones (nothing listens on its port); restored, it listens on the same
port again. It runs its own asyncio loop in a thread, so it serves a TestClient's app as well
as a live server's."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator
from typing import Any


class Forwarder:
    def __init__(self, target: tuple[str, int], port: int | None = None) -> None:
        self.target = target
        self.port = port or _free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._server: asyncio.Server | None = None
        self._carried: set[asyncio.StreamWriter] = set()

    def open(self) -> None:
        """Listen (again) on `port` and forward every connection to `target`."""
        self._call(self._open())

    def cut(self) -> None:
        """Stop listening and drop every connection carried: the far end seems gone."""
        self._call(self._cut())

    def close(self) -> None:
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def _call(self, coroutine: Any) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    async def _open(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(
                self._carry, "127.0.0.1", self.port, reuse_address=True
            )

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._carried):
            writer.transport.abort()
        self._carried.clear()

    async def _carry(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            far_reader, far_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._carried |= {writer, far_writer}
        await asyncio.gather(_pipe(reader, far_writer), _pipe(far_reader, writer))
        self._carried -= {writer, far_writer}


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.transport.abort()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def forwarding(target: tuple[str, int], listening: bool = True) -> Iterator[Forwarder]:
    forwarder = Forwarder(target)
    if listening:
        forwarder.open()
    try:
        yield forwarder
    finally:
        forwarder.close()
