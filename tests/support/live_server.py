"""A real uvicorn server on a free loopback port, in a thread (as uvicorn's own tests do),
configured as `shopclerk serve` configures it (shopclerk.serving)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn
from starlette.applications import Starlette

from shopclerk.serving import DrainingServer, server_config
from shopclerk.settings import Settings


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def run_server(app: Starlette) -> Iterator[str]:
    """Serve `app` until the block ends; yields its base URL."""
    with serving(app) as live:
        yield live.url


@dataclass(frozen=True)
class Live:
    url: str
    server: uvicorn.Server


@contextmanager
def serving(app: Starlette, drain: bool = False) -> Iterator[Live]:
    """Serve `app` until the block ends (or the server is told to exit); with `drain`, as
    `shopclerk serve` does, on the `DrainingServer` (`server.handle_exit(SIGTERM, None)` is
    what the signal does)."""
    port = free_port()
    settings: Settings = app.state.settings
    config = server_config(app, settings, port=port, log_level="warning")
    server = DrainingServer(config, app.state.operations.drain) if drain else uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield Live(f"http://127.0.0.1:{port}", server)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
