"""Whether the web channel takes messages now: a database outage, or a drain before shutdown.

Both are answered the same way, with the error frame the widget knows how to wait on:
`{"type": "error", "code": "unavailable", "retry_after": N, "client_id": ...}` means "not
taken; send the same client_id again in N seconds" (docs/websocket-protocol.md). A hello that
fails on an outage gets that frame and then close code 1013 ("try again later").

A drain (SIGTERM, `shopclerk.serving`) runs in this order:

    draining = True ──> new messages: unavailable (retry_after 1)
         │
    frames already being handled finish (their ack and answer are queued)
         │
    every socket: what is queued goes out, then close 1012 ("service restart": reconnect now)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterator, Mapping
from typing import Any, Final

from channels.web.frames import FrameError
from engine.availability import Outage
from engine.metrics import ERROR_FRAMES, OPEN_SOCKETS
from handoff.outbox import Outbox

log = logging.getLogger(__name__)

CLOSE_RESTART: Final = 1012  # service restart: reconnect at once (another process takes it)
CLOSE_TRY_LATER: Final = 1013  # try again later: reconnect after a while
DRAIN_RETRY_AFTER: Final = 1  # seconds: another process (or this one restarted) is there soon
UNAVAILABLE: Final = "unavailable"
NEEDS_DATABASE: Final = frozenset({"hello", "message", "feedback"})
RESEND_LATER: Final = frozenset({UNAVAILABLE, "overloaded"})  # counted in ERROR_FRAMES


class Availability:
    """The channel's open sockets and frames in hand, the database outage, and the drain."""

    def __init__(self) -> None:
        self.outage = Outage()
        self.draining = False
        self._sockets: set[Outbox] = set()
        self._in_hand = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @contextlib.contextmanager
    def open(self, outbox: Outbox) -> Iterator[None]:
        """A widget socket, from its first frame to its end."""
        self._sockets.add(outbox)
        OPEN_SOCKETS.labels("widget").inc()
        try:
            yield
        finally:
            self._sockets.discard(outbox)
            OPEN_SOCKETS.labels("widget").dec()

    @contextlib.contextmanager
    def handling(self, message: Mapping[str, Any]) -> Iterator[None]:
        """One frame being handled; refused with `unavailable` once the drain began."""
        if self.draining and _peek(message)[0] == "message":
            raise unavailable(
                "The service is restarting; your message will be sent again in a moment.",
                DRAIN_RETRY_AFTER,
                _peek(message)[1],
            )
        self._in_hand += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._in_hand -= 1
            if not self._in_hand:
                self._idle.set()

    def failed(self, exc: BaseException, message: Mapping[str, Any]) -> tuple[FrameError, bool]:
        """The frame that failed on an unreachable database: the error to send, and whether
        it was a hello (the socket is then closed with 1013)."""
        kind, client_id = _peek(message)
        wait = self.outage.failed(exc)
        text = "The chat is unavailable for a moment; trying again shortly."
        return unavailable(text, wait, client_id), kind == "hello"

    def succeeded(self, message: Mapping[str, Any]) -> None:
        """A frame was handled: one that needs the database ends an outage."""
        if self.outage.down and _peek(message)[0] in NEEDS_DATABASE:
            self.outage.ok()

    async def drain(self, timeout: float) -> None:
        """Refuse new messages, let those in hand finish (within `timeout` seconds), then
        close every socket with 1012 once what is queued for it has gone out."""
        self.draining = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout)
        if self._in_hand:
            log.warning("drain: %d frames still in hand after %.0f s", self._in_hand, timeout)
        sockets = list(self._sockets)
        for outbox in sockets:
            outbox.close_after_sent(CLOSE_RESTART, "service restart")
        closing = [asyncio.ensure_future(outbox.dropped.wait()) for outbox in sockets]
        if closing:
            left = max(0.1, deadline - loop.time())
            _, pending = await asyncio.wait(closing, timeout=left)
            for waiter in pending:
                waiter.cancel()
        log.info("drained: %d widget sockets closed with %d", len(sockets), CLOSE_RESTART)


def unavailable(text: str, retry_after: int, client_id: str | None) -> FrameError:
    extra: dict[str, Any] = {"retry_after": retry_after}
    if client_id is not None:
        extra["client_id"] = client_id
    return FrameError(UNAVAILABLE, text, **extra)


def counted(error: FrameError) -> FrameError:
    """`error`, counted in the metrics when it asks the client to resend later."""
    if error.code in RESEND_LATER:
        ERROR_FRAMES.labels(error.code).inc()
    return error


def _peek(message: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The frame's type and client_id, read leniently (only on the rare paths that need them:
    the frame may be what failed to parse)."""
    try:
        frame = json.loads(message.get("text") or "")
    except (ValueError, RecursionError):
        return None, None
    if not isinstance(frame, dict):
        return None, None
    kind, client_id = frame.get("type"), frame.get("client_id")
    return (
        kind if isinstance(kind, str) else None,
        client_id if isinstance(client_id, str) else None,
    )
