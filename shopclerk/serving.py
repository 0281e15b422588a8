"""How shopclerk is served: the one uvicorn `Config` that `shopclerk serve`, the live test server
and the benches all use, with the limits uvicorn does not have on its own.

uvicorn bounds the idle time between requests (`timeout_keep_alive`) but not the time a client
takes to send a request's headers: that timer is reset by every byte, so a client trickling half
a request line holds its socket (and a file descriptor) for ever, and twenty thousand such
clients exhaust the process's descriptors. Nor does it cap the connections one address holds.
Both limits live here, in a thin subclass of uvicorn's own HTTP protocol (as `RequestDeadline`
mixins do elsewhere), because ASGI middleware only runs once a request's headers are complete:

    connection_made ──> over the per-address cap? close   else arm the header deadline
    data_received   ──> a new request begins?    arm      headers complete / upgraded? disarm
    deadline fires  ──> close the socket
    connection_lost ──> release the address's slot (the websocket protocol does it after upgrade)

Body size and body time limits are the ASGI middleware's (`shopclerk.guards`).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import logging
import logging.config
import resource
import signal
import socket
import sys
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from types import FrameType
from typing import Any, Literal

import uvicorn
from pythonjsonlogger.core import RESERVED_ATTRS
from starlette.types import ASGIApp
from uvicorn.config import HTTP_PROTOCOLS, LOGGING_CONFIG, WS_PROTOCOLS
from uvicorn.importer import import_from_string

from channels.web.channel import WebConfig
from shopclerk.settings import Settings

# The chat protocol's largest frame; a bigger one is refused by the websocket layer (1009)
# before it is buffered, not after.
WS_MAX_BYTES = WebConfig.max_frame_bytes

logger = logging.getLogger("shopclerk.serving")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class AddressSlots:
    """Open TCP connections per client address, capped; trusted proxies are exempt (all their
    clients share their address). Counted per transport, so the count survives the switch from
    the HTTP protocol to the websocket protocol on upgrade."""

    def __init__(self, cap: int, exempt: list[str]) -> None:
        self.cap = cap
        self.exempt: list[Network] = [ipaddress.ip_network(n, strict=False) for n in exempt]
        self.open: Counter[str] = Counter()
        self.held: dict[asyncio.BaseTransport, str] = {}
        self.full: set[str] = set()

    def admit(self, transport: asyncio.BaseTransport) -> bool:
        peer = transport.get_extra_info("peername")
        address = peer[0] if isinstance(peer, tuple) and peer else None
        if address is None or self._exempt(address):
            return True
        if self.open[address] >= self.cap:
            if address not in self.full:  # once per spell at the cap, not once per connection
                self.full.add(address)
                logger.warning("%s holds %d connections: more are closed", address, self.cap)
            return False
        self.open[address] += 1
        self.held[transport] = address
        return True

    def release(self, transport: asyncio.BaseTransport) -> None:
        address = self.held.pop(transport, None)
        if address is None:
            return
        self.open[address] -= 1
        self.full.discard(address)
        if self.open[address] <= 0:
            del self.open[address]

    def _exempt(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.exempt)


def guarded_http(base: type[asyncio.Protocol], slots: AddressSlots, header_timeout: float) -> type:
    """`base` (uvicorn's httptools or h11 protocol) with a header deadline and the address cap.

    The deadline runs from the connection's start, or from a new request's first byte on a
    kept-alive connection, until that request's headers are complete (uvicorn then starts a
    new request-response cycle) or the connection is upgraded to a websocket."""

    class GuardedHttp(base):  # type: ignore[valid-type, misc]
        deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(transport)
            if not slots.admit(transport):
                transport.close()
                return
            self._arm()

        def data_received(self, data: bytes) -> None:
            cycle = self.cycle
            if self.deadline is None and (cycle is None or cycle.response_complete):
                self._arm()
            super().data_received(data)
            upgraded = self.transport.get_protocol() is not self
            if self.cycle is not cycle or upgraded:
                self._disarm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            slots.release(self.transport)
            super().connection_lost(exc)

        def _arm(self) -> None:
            self.deadline = self.loop.call_later(header_timeout, self._headers_late)

        def _disarm(self) -> None:
            if self.deadline is not None:
                self.deadline.cancel()
                self.deadline = None

        def _headers_late(self) -> None:
            self.deadline = None
            if not self.transport.is_closing():
                self.transport.close()

    return GuardedHttp


def released_ws(base: type[asyncio.Protocol], slots: AddressSlots) -> type:
    """`base` (uvicorn's websocket protocol) giving the address's slot back when it closes."""

    class ReleasedWs(base):  # type: ignore[valid-type, misc]
        def connection_lost(self, exc: Exception | None) -> None:
            slots.release(self.transport)
            super().connection_lost(exc)

    return ReleasedWs


def server_config(
    app: ASGIApp,
    settings: Settings,
    host: str = "127.0.0.1",
    port: int = 8000,
    ws: str = "websockets-sansio",
    **options: Any,
) -> uvicorn.Config:
    """The uvicorn configuration for `app`. Proxy headers are off: `shopclerk.guards` reads
    `X-Forwarded-For` from the trusted proxies alone (uvicorn would trust 127.0.0.1)."""
    slots = AddressSlots(settings.connections_per_address, settings.trusted_proxies)
    http = import_from_string(HTTP_PROTOCOLS["auto"])
    target = WS_PROTOCOLS.get(ws, ws)
    websocket = released_ws(import_from_string(target), slots) if target else "none"
    # No permessage-deflate: chat frames are small, and each connection's zlib state costs
    # tens of KiB (bench/web_load.py measures memory per idle connection).
    options = {"log_level": "info", "ws_per_message_deflate": False, **options}
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=guarded_http(http, slots, settings.header_timeout_seconds),
        ws=websocket,
        ws_max_size=WS_MAX_BYTES,
        proxy_headers=False,
        **options,
    )


def raise_open_files_limit() -> int:
    """Lift the soft limit on open files to the hard one (often 1024 against 1M): every socket
    is a descriptor, and the soft limit, not memory, is what a busy server meets first."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 1 << 20
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    except (ValueError, OSError):
        return soft
    return wanted


class PortUnavailableError(Exception):
    """The address and port to serve on cannot be taken (in use, not this machine's...)."""


def bind(host: str, port: int) -> socket.socket:
    """A socket bound to `host`:`port`, as uvicorn binds its own, taken before anything slow
    is loaded: a busy port is reported at once, and nobody can take it in between."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            why = "is already in use (another shopclerk serve?)"
        elif exc.errno == errno.EACCES:
            why = "needs root (ports below 1024)"
        else:
            why = f"cannot be used ({exc.strerror or exc})"
        raise PortUnavailableError(
            f"port {port} on {host} {why}: stop what holds it, or pick another with --port"
        ) from exc
    sock.set_inheritable(True)
    return sock


class DrainingServer(uvicorn.Server):
    """uvicorn's server, draining before it shuts down.

    uvicorn's own `shutdown` closes every websocket with 1012 at once and only then waits for
    the handlers: a message in hand is stored, but its ack and answer never reach the client.
    Here shutdown first stops accepting connections, then awaits `drain` (the app refuses new
    messages, finishes those in hand and closes its sockets after what is queued for them),
    then lets uvicorn close whatever is left (the consoles, with 1012) and end the lifespan.

    A drained SIGTERM is a clean stop: the process exits 0 (uvicorn would raise the signal
    again after shutdown, and the exit status would read "killed"). A second Ctrl-C still
    forces the exit."""

    def __init__(
        self, config: uvicorn.Config, drain: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        super().__init__(config)
        self.drain = drain

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if sig == signal.SIGTERM:
            self.should_exit = True
            return
        super().handle_exit(sig, frame)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()  # stop accepting connections first (uvicorn does it again: harmless)
        if self.drain is not None and not self.force_exit:
            try:
                await self.drain()
            except Exception:  # a failed drain must not keep the process from stopping
                logger.exception("the drain failed; shutting down anyway")
        await super().shutdown(sockets)


class CurrentStderr(logging.StreamHandler):  # type: ignore[type-arg]
    """A handler writing to whatever `sys.stderr` is when a record comes (as logging's own
    last-resort handler does), not to the stream it was configured with: a command run
    in-process (the CLI's tests) has its stderr replaced and closed afterwards."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def logging_config(log_format: Literal["text", "json"]) -> dict[str, Any]:
    """The logging of `shopclerk serve`: uvicorn's loggers and ours (the root logger, INFO), as
    text lines like uvicorn's or as one JSON object per line (python-json-logger)."""
    if log_format == "json":
        json_lines = {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            "datefmt": "%Y-%m-%dT%H:%M:%S%z",
            # uvicorn's records carry the message again with colour codes: not for collectors
            "reserved_attrs": [*RESERVED_ATTRS, "color_message"],
        }
        formatters: dict[str, Any] = {"default": json_lines, "access": json_lines}
    else:
        formatters = {
            **LOGGING_CONFIG["formatters"],
            "ours": {
                "()": "uvicorn.logging.DefaultFormatter",
                "fmt": "%(levelprefix)s %(name)s: %(message)s",
            },
        }
    ours = "default" if log_format == "json" else "ours"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": formatters,
        "handlers": {
            **LOGGING_CONFIG["handlers"],
            "ours": {"formatter": ours, "()": CurrentStderr},
        },
        "loggers": {
            **LOGGING_CONFIG["loggers"],
            "httpx": {"level": "WARNING"},  # a line per model API request otherwise
            "alembic": {"level": "WARNING"},  # a dozen lines per start-up otherwise
        },
        "root": {"handlers": ["ours"], "level": "INFO"},
    }


@contextlib.contextmanager
def logging_as(settings: Settings) -> Iterator[None]:
    """`serve`'s logging (`logging_config`) for the block; what was configured before is put
    back after it (a command run in-process, as in the CLI's tests, leaves nothing behind)."""
    config = logging_config(settings.log_format)
    names = ["", *config["loggers"]]
    kept = [(logger, logger.handlers[:], logger.level, logger.propagate, logger.disabled)
            for logger in map(logging.getLogger, names)]  # fmt: skip
    logging.config.dictConfig(config)
    try:
        yield
    finally:
        for logger, handlers, level, propagate, disabled in kept:
            logger.handlers[:] = handlers
            logger.setLevel(level)
            logger.propagate, logger.disabled = propagate, disabled


def serve(
    app: ASGIApp,
    settings: Settings,
    host: str,
    port: int,
    ws: str,
    sock: socket.socket | None = None,
    drain: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Run the server until interrupted (`shopclerk serve`), on `sock` when given (from
    `bind`), else on a socket uvicorn binds; on SIGTERM `drain` runs before the sockets close.
    The logging is `logging_as`'s, set by the caller before anything is logged."""
    raise_open_files_limit()
    config = server_config(app, settings, host, port, ws, log_config=None)
    server = DrainingServer(config, drain)
    server.run(sockets=[sock] if sock is not None else None)
