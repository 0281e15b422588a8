"""A live socket's outgoing frames: a bounded queue sent by the socket's own task.

Whoever has something to tell a socket (the desk fanning a board out to every console, a
customer's other tabs, the handoff status of everyone in the queue) puts the frame in the
socket's outbox and goes on: `put` never waits on the network. One task per socket sends what
is queued, in order, each frame within `timeout` seconds. A socket whose reader stopped
reading fills its queue or times out a send, and is dropped: its connection is closed (its
reader may come back, and a widget resumes from the last seq it saw), and nobody else waited
for it.

    put() ──> [bounded queue] ──> writer task ──send (timeout)──> socket
                   │ full                  │ timeout / error
                   └────────> drop() <─────┘──> close (bounded wait) ──> `dropped` is set
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from typing import Any, Final, Protocol, TypeVar

log = logging.getLogger(__name__)

FRAMES: Final = 256  # frames queued for one socket before it counts as not reading
SEND_TIMEOUT: Final = 10.0  # seconds one frame may take to go out before the socket is dropped
CLOSE_TIMEOUT: Final = 2.0  # seconds a closing handshake may take; then the socket is left
CLOSE_BEHIND: Final = 4420  # close code: "you fell behind; reconnect and resume"
T = TypeVar("T")


class Socket(Protocol):
    async def send_json(self, data: Any) -> None: ...
    async def close(self, code: int = 1000, reason: str | None = None) -> None: ...


class Outbox:
    """The frames on their way to one socket (see the module's diagram)."""

    def __init__(self, socket: Socket, limit: int = FRAMES, timeout: float = SEND_TIMEOUT) -> None:
        self.socket = socket
        self.timeout = timeout
        self._queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(limit)
        self._closing = False
        self.close_code: int | None = None
        self.dropped = asyncio.Event()  # set once the socket is closed or given up on
        self._writer = asyncio.get_running_loop().create_task(self._write())
        self._closer: asyncio.Task[None] | None = None

    @property
    def open(self) -> bool:
        return not self._closing

    def put(self, frame: dict[str, Any]) -> bool:
        """Queue `frame`; False when the socket is closing or was dropped for falling behind."""
        if self._closing:
            return False
        try:
            self._queue.put_nowait(frame)
        except asyncio.QueueFull:
            log.info("a socket fell %s frames behind; dropped", self._queue.maxsize)
            self.drop(CLOSE_BEHIND, "too far behind: reconnect to resume")
            return False
        return True

    def close_after_sent(self, code: int = 1000, reason: str = "") -> None:
        """Close once what is queued has gone out (or drop now if the queue is full)."""
        if self._closing:
            return
        self.close_code = code
        try:
            self._queue.put_nowait(None)
        except asyncio.QueueFull:
            self.drop(code, reason)
            return
        self._closing = True
        self._close_reason = reason

    def drop(self, code: int = CLOSE_BEHIND, reason: str = "") -> None:
        """Stop sending now and close the socket (without waiting for anything queued)."""
        if self._closing and self._closer is not None:
            return
        self._closing, self.close_code = True, code
        self._writer.cancel()
        self._closer = asyncio.get_running_loop().create_task(self._close(code, reason))

    async def guard(self, reader: Awaitable[T]) -> T | None:
        """Run `reader` (the socket's receive loop) until it ends or the socket is dropped;
        None when it was dropped. The outbox is shut down either way."""
        reading = asyncio.ensure_future(reader)
        dropped = asyncio.ensure_future(self.dropped.wait())
        try:
            await asyncio.wait({reading, dropped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            dropped.cancel()
            if not reading.done():
                reading.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await reading
            await self.shutdown()
        if reading.cancelled():
            return None
        return reading.result()

    async def shutdown(self) -> None:
        """The socket is gone (or its handler ends): stop the writer, and wait for the close."""
        if not self._closing:
            self._closing = True
            self._writer.cancel()
        for task in (self._writer, self._closer):
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self.dropped.set()

    async def _write(self) -> None:
        while True:
            frame = await self._queue.get()
            if frame is None:  # close_after_sent: everything before it went out
                await self._close(self.close_code or 1000, getattr(self, "_close_reason", ""))
                return
            try:
                await asyncio.wait_for(self.socket.send_json(frame), self.timeout)
            except TimeoutError:
                log.info("a socket took over %.0f s to take a frame; dropped", self.timeout)
                self.drop(CLOSE_BEHIND, "too slow: reconnect to resume")
                return
            except Exception:  # gone: its handler sees the disconnect and cleans up
                log.debug("socket gone while sending", exc_info=True)
                self._closing = True
                self.dropped.set()
                return

    async def _close(self, code: int, reason: str) -> None:
        # A reader that stopped reading would hold a closing handshake up for ever: bounded.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.socket.close(code, reason), CLOSE_TIMEOUT)
        self.dropped.set()
