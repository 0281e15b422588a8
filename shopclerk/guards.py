"""ASGI middleware that every HTTP request passes before any handler sees it.

- **Body limits.** A body is taken whole, up to `max_body_bytes` and within `body_timeout`,
  before the handler runs: a declared `Content-Length` over the limit is refused at once (413,
  before a byte of it is read), a streamed body as soon as it passes the limit, and a body that
  trickles in too slowly gets 408. Either way the connection is closed, so the rest of the body
  is never read. Without this a 600 MB POST to `/slack/events` was read into memory before its
  signature was checked. (Header time limits are uvicorn's part: `shopclerk.serving`.)
- **Security headers** on every response: a Content-Security-Policy without inline script or
  style, no framing, no sniffing, no referrer. Handlers that set their own keep theirs. The
  widget's files under `/static` are meant to be loaded by shops' pages on other origins, so
  they say `Cross-Origin-Resource-Policy: cross-origin`, and `Access-Control-Allow-Origin: *`
  because the widget's ES modules are fetched in CORS mode (public files, never credentials).

The real client address behind trusted proxies is uvicorn's `ProxyHeadersMiddleware`, added in
`guarded()` only when proxies are configured (by default no `X-Forwarded-For` is believed).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from shopclerk.settings import Settings

CSP = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "content-security-policy": CSP,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}
EMBEDDABLE = ("/static/",)  # the widget's script and stylesheet, loaded by other origins' pages


class RefusedBodyError(Exception):
    """The request body is not taken: too large (413) or too slow (408)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class RequestGuard:
    """Body size and time limits, and the security headers (see the module docstring)."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, body_timeout: float) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = _with_headers(send, embeddable=scope["path"].startswith(EMBEDDABLE))
        try:
            body = await self._body(scope, receive)
        except RefusedBodyError as refused:
            response = PlainTextResponse(
                refused.message, status_code=refused.status, headers={"connection": "close"}
            )
            await response(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _body(self, scope: Scope, receive: Receive) -> bytes:
        declared = Headers(scope=scope).get("content-length")
        if declared is not None:
            if not declared.isdigit():
                raise RefusedBodyError(400, "Content-Length is not a number.")
            if int(declared) > self.max_body_bytes:
                raise RefusedBodyError(413, f"The body is larger than {self.max_body_bytes} bytes.")
        try:
            async with asyncio.timeout(self.body_timeout):
                return await self._read(receive)
        except TimeoutError:
            raise RefusedBodyError(408, "The body took too long to arrive.") from None

    async def _read(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return b"".join(chunks)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise RefusedBodyError(413, f"The body is larger than {self.max_body_bytes} bytes.")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the body already read, then whatever comes next (disconnect)."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _with_headers(send: Send, embeddable: bool) -> Send:
    """`send`, adding the security headers a response does not set itself."""
    extra = [(name.encode(), value.encode()) for name, value in HEADERS.items()]
    if embeddable:
        extra.append((b"cross-origin-resource-policy", b"cross-origin"))
        extra.append((b"access-control-allow-origin", b"*"))

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            present = {name.lower() for name, _ in headers}
            headers += [(name, value) for name, value in extra if name not in present]
            message = {**message, "headers": headers}
        await send(message)

    return sending


def guarded(settings: Settings) -> Iterable[Middleware]:
    """The middleware for the app, outermost first."""
    if settings.trusted_proxies:
        yield Middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.trusted_proxies))
    yield Middleware(
        RequestGuard,
        max_body_bytes=settings.max_body_bytes,
        body_timeout=settings.body_timeout_seconds,
    )
