"""Receiving from a Starlette test websocket with a deadline: a frame that never comes fails the
test with what did come, instead of blocking the run."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import anyio
from starlette.testclient import WebSocketTestSession

Frame = dict[str, Any]
# Generous: a frame comes within a second or two on a loaded two-core machine, or never.
RECEIVE_TIMEOUT = 20.0


def message(ws: WebSocketTestSession, timeout: float = RECEIVE_TIMEOUT) -> Any:
    """The next ASGI message the app sent (`ws.receive()`), or AssertionError after `timeout`
    seconds. (Starlette's session has no timeout of its own, so this waits on its message
    stream through its portal.)"""

    async def next_message() -> Any:
        with anyio.fail_after(timeout):
            return await ws._send_rx.receive()

    try:
        return ws.portal.call(next_message)
    except TimeoutError:
        raise AssertionError(f"nothing came within {timeout:g} s") from None


def receive(ws: WebSocketTestSession, timeout: float = RECEIVE_TIMEOUT) -> Frame:
    """The next JSON frame, as `ws.receive_json()` (a close raises WebSocketDisconnect), or
    AssertionError after `timeout` seconds."""
    sent = message(ws, timeout)
    ws._raise_on_close(sent)
    frame: Frame = json.loads(sent["text"])
    return frame


def until(
    ws: WebSocketTestSession, wanted: Callable[[Frame], bool], timeout: float = RECEIVE_TIMEOUT
) -> Frame:
    """The first frame that is `wanted` (frames before it are skipped); AssertionError naming
    the skipped frames if none comes within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    skipped: list[str] = []
    while (left := deadline - time.monotonic()) > 0:
        try:
            frame = receive(ws, left)
        except AssertionError:
            break
        if wanted(frame):
            return frame
        skipped.append(frame.get("type", "?"))
    raise AssertionError(f"the frame never came within {timeout:g} s; skipped: {skipped}")


def until_all(
    ws: WebSocketTestSession, *wanted: Callable[[Frame], bool], timeout: float = RECEIVE_TIMEOUT
) -> list[Frame]:
    """Frames matching each of `wanted`, whatever order they come in, within `timeout` s."""
    deadline = time.monotonic() + timeout
    found: list[Frame | None] = [None] * len(wanted)
    while (left := deadline - time.monotonic()) > 0:
        try:
            frame = receive(ws, left)
        except AssertionError:
            break
        for n, test in enumerate(wanted):
            if found[n] is None and test(frame):
                found[n] = frame
                break
        if all(f is not None for f in found):
            return [f for f in found if f is not None]
    missing = [n for n, f in enumerate(found) if f is None]
    raise AssertionError(f"not every frame came within {timeout:g} s; missing: {missing}")
