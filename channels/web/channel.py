"""The widget's websocket endpoint and the REST API, over one `WebChannel`."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.websockets import WebSocket, WebSocketDisconnect

from channels.web.frames import (
    EndChat,
    FrameError,
    Hello,
    Ping,
    Satisfaction,
    SendFeedback,
    SendMessage,
    Typing,
    message_frame,
    parse,
    parse_object,
    server_frame,
)
from channels.web.limits import ConnectionCount, RateLimit
from engine.state import ConversationStore
from engine.types import Inbound, Turn
from kb.search import Catalog

log = logging.getLogger(__name__)
CHANNEL = "web"


class Desk(Protocol):
    """Where the channel hands customer messages (the engine, then the handoff desk)."""

    async def handle(self, inbound: Inbound) -> Turn: ...
    async def status(self, channel: str, key: str) -> dict[str, Any] | None: ...
    async def customer_typing(self, channel: str, key: str, on: bool) -> None: ...
    def bot_answers(self, channel: str, key: str) -> bool: ...
    async def end_chat(self, channel: str, key: str) -> None: ...
    async def rate(self, channel: str, key: str, episode: int, score: int) -> bool: ...
    async def survey_due(self, channel: str, key: str) -> dict[str, Any] | None: ...


@dataclass(frozen=True)
class WebConfig:
    allowed_origins: tuple[str, ...] = ()  # empty: only pages served by this server itself
    max_message_chars: int = 2000
    max_frame_bytes: int = 64 * 1024
    messages_per_minute: int = 30
    connections_per_address: int = 20
    product_url: str = "/#product-{sku}"


@dataclass(eq=False)
class _Socket:
    """One open widget connection: its session and the last seq it has been sent."""

    ws: WebSocket
    session: str = ""
    sent_seq: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class WebChannel:
    def __init__(
        self, desk: Desk, store: ConversationStore, catalog: Catalog, config: WebConfig
    ) -> None:
        self._desk = desk
        self._store = store
        self._catalog = catalog
        self.config = config
        self._rates = RateLimit(config.messages_per_minute)
        self._connections = ConnectionCount(config.connections_per_address)
        self._sessions: dict[str, set[_Socket]] = defaultdict(set)

    # -- websocket ------------------------------------------------------------------------------

    async def websocket(self, ws: WebSocket) -> None:
        address = ws.client.host if ws.client else "unknown"
        await ws.accept()
        if not self._origin_allowed(ws.headers.get("origin"), ws.headers.get("host")):
            await _refuse(ws, "origin_not_allowed", "This page may not open the chat.", 4403)
            return
        if not self._connections.acquire(address):
            await _refuse(ws, "too_many_connections", "Too many open chats from here.", 4429)
            return
        socket = _Socket(ws)
        try:
            await self._serve(socket)
        except WebSocketDisconnect:
            pass
        finally:
            self._connections.release(address)
            self._sessions[socket.session].discard(socket)

    async def _serve(self, socket: _Socket) -> None:
        while True:
            raw = await socket.ws.receive_text()
            try:
                await self._on_frame(socket, raw)
            except FrameError as error:
                await self._send(socket, error.frame())

    async def _on_frame(self, socket: _Socket, raw: str) -> None:
        if len(raw.encode()) > self.config.max_frame_bytes:
            raise FrameError("too_large", "That frame is too large.")
        frame = parse(raw)
        if isinstance(frame, Hello):
            await self._hello(socket, frame)
        elif not socket.session:
            raise FrameError("hello_first", "Send a hello frame first.")
        elif isinstance(frame, SendMessage):
            await self._message(socket, frame)
        elif isinstance(frame, SendFeedback):
            await self._send(socket, await self._feedback(socket.session, frame))
        elif isinstance(frame, Ping):
            await self._send(socket, server_frame("pong"))
        elif isinstance(frame, Typing):
            await self._desk.customer_typing(CHANNEL, socket.session, frame.on)
        elif isinstance(frame, EndChat):
            await self._desk.end_chat(CHANNEL, socket.session)
        elif isinstance(frame, Satisfaction):
            if not await self._desk.rate(CHANNEL, socket.session, frame.episode, frame.score):
                raise FrameError("unknown_episode", "There is no such chat to rate.",
                                 episode=frame.episode)  # fmt: skip
            saved = server_frame("satisfaction_saved", episode=frame.episode, score=frame.score)
            await self._publish(socket.session, saved)

    async def _hello(self, socket: _Socket, frame: Hello) -> None:
        known = False
        if frame.session:
            known = await asyncio.to_thread(self._store.exists, CHANNEL, frame.session)
        if socket.session:
            self._sessions[socket.session].discard(socket)
        socket.session = frame.session if known and frame.session else await self.new_session()
        socket.sent_seq = frame.last_seq if known else 0
        self._sessions[socket.session].add(socket)
        conversation = await asyncio.to_thread(self._store.load, CHANNEL, socket.session)
        await self._send(socket, server_frame("welcome", session=socket.session,
                                              last_seq=conversation.last_seq))  # fmt: skip
        if conversation.owner != "bot":
            status = await self._desk.status(CHANNEL, socket.session)
            if status is not None:
                await self._send(socket, server_frame("handoff", **status))
        await self._flush(socket)
        survey = await self._desk.survey_due(CHANNEL, socket.session)
        if survey is not None:  # asked when the chat ended; not answered yet
            await self._send(socket, server_frame("survey", **survey))

    async def _message(self, socket: _Socket, frame: SendMessage) -> None:
        self._check_message(socket.session, frame.client_id, frame.text)
        if not self._desk.bot_answers(CHANNEL, socket.session):  # a person will answer
            ack = await self._answer(socket.session, frame.client_id, frame.text)
        else:
            await self._publish(socket.session, server_frame("typing", on=True, who="bot"))
            try:
                ack = await self._answer(socket.session, frame.client_id, frame.text)
            finally:
                await self._publish(socket.session, server_frame("typing", on=False, who="bot"))
        # This socket may have gone while the engine worked: the turn is stored all the same,
        # every other tab of the session gets it now, and a reconnect replays it.
        await self._publish(socket.session, ack, only=socket)
        await self._deliver(socket.session)

    async def _deliver(self, session: str) -> None:
        for socket in list(self._sessions[session]):
            try:
                await self._flush(socket)
            except (WebSocketDisconnect, RuntimeError, OSError):
                self._sessions[session].discard(socket)

    def _check_message(self, session: str, client_id: str, text: str) -> None:
        if len(text) > self.config.max_message_chars:
            raise FrameError("too_large", f"Messages can be at most "
                             f"{self.config.max_message_chars} characters.",
                             client_id=client_id)  # fmt: skip
        wait = self._rates.retry_after(session)
        if wait:
            raise FrameError("rate_limited", "You are sending messages too quickly.",
                             client_id=client_id, retry_after=wait)  # fmt: skip

    async def _answer(self, session: str, client_id: str, text: str) -> dict[str, Any]:
        """Hand the message to the engine (once per client id); the ack with its seq."""
        await self._desk.handle(Inbound(session, text, CHANNEL, client_message_id=client_id))
        stored = await asyncio.to_thread(
            self._store.message_for_client_id, CHANNEL, session, client_id
        )
        seq = stored.seq if stored else None
        return server_frame("ack", client_id=client_id, seq=seq)

    async def _feedback(self, session: str, frame: SendFeedback) -> dict[str, Any]:
        saved = await asyncio.to_thread(
            self._store.save_feedback, CHANNEL, session, frame.message_id, frame.rating
        )
        if not saved:
            raise FrameError("unknown_message", "There is no such reply in this chat.",
                             message_id=frame.message_id)  # fmt: skip
        return server_frame("feedback_saved", message_id=frame.message_id, rating=frame.rating)

    async def _flush(self, socket: _Socket) -> None:
        """Send this socket every stored message it has not been sent yet, in order."""
        async with socket.lock:
            messages = await asyncio.to_thread(
                self._store.messages_after, CHANNEL, socket.session, socket.sent_seq
            )
            for message in messages:
                await socket.ws.send_json(
                    message_frame(message, self._catalog, self.config.product_url)
                )
                socket.sent_seq = message.seq

    async def _publish(
        self, session: str, frame: dict[str, Any], only: _Socket | None = None
    ) -> None:
        """Send an ephemeral frame to the session's open sockets (or just to `only`)."""
        for socket in [only] if only else list(self._sessions[session]):
            try:
                await self._send(socket, frame)
            except (WebSocketDisconnect, RuntimeError, OSError):
                self._sessions[session].discard(socket)

    @staticmethod
    async def _send(socket: _Socket, frame: dict[str, Any]) -> None:
        async with socket.lock:
            await socket.ws.send_json(frame)

    # -- what the handoff desk asks of a channel ------------------------------------------------

    async def deliver(self, key: str) -> None:
        """Show every open socket of this session the messages stored since it was last sent."""
        await self._deliver(key)

    async def notify(self, key: str, event: str, **fields: Any) -> None:
        """An ephemeral frame (handoff status, an agent typing) to the session's sockets."""
        await self._publish(key, server_frame(event, **fields))

    def online(self, key: str) -> bool:
        return bool(self._sessions.get(key))

    async def new_session(self) -> str:
        session = secrets.token_urlsafe(18)
        await asyncio.to_thread(self._store.load, CHANNEL, session)
        return session

    def _origin_allowed(self, origin: str | None, host: str | None) -> bool:
        if origin is None:  # not a browser (a server-side client): nothing to protect
            return True
        if "*" in self.config.allowed_origins or origin in self.config.allowed_origins:
            return True
        return urlsplit(origin).netloc == host

    # -- REST -----------------------------------------------------------------------------------

    async def rest_new_session(self, request: Request) -> JSONResponse:
        return JSONResponse({"session": await self.new_session()}, status_code=201)

    async def rest_messages(self, request: Request) -> JSONResponse:
        session = request.path_params["session"]
        if not await asyncio.to_thread(self._store.exists, CHANNEL, session):
            return _error(404, "unknown_session", "There is no such chat session.")
        try:
            after = int(request.query_params.get("after", "0"))
        except ValueError:
            return _error(400, "bad_frame", "after must be a whole number")
        messages = await asyncio.to_thread(self._store.messages_after, CHANNEL, session, after)
        frames = [message_frame(m, self._catalog, self.config.product_url) for m in messages]
        return JSONResponse({"messages": frames})

    async def rest_post_message(self, request: Request) -> JSONResponse:
        session = request.path_params["session"]
        if not await asyncio.to_thread(self._store.exists, CHANNEL, session):
            return _error(404, "unknown_session", "There is no such chat session.")
        try:
            frame = await _rest_frame(request, "message")
            assert isinstance(frame, SendMessage)
            self._check_message(session, frame.client_id, frame.text)
        except FrameError as error:
            return _frame_error(error)
        before = (await asyncio.to_thread(self._store.load, CHANNEL, session)).last_seq
        ack = await self._answer(session, frame.client_id, frame.text)
        messages = await asyncio.to_thread(self._store.messages_after, CHANNEL, session, before)
        frames = [message_frame(m, self._catalog, self.config.product_url) for m in messages]
        await self._deliver(session)  # open tabs see it too
        return JSONResponse({"ack": ack, "messages": frames})

    async def rest_feedback(self, request: Request) -> JSONResponse:
        session = request.path_params["session"]
        try:
            frame = await _rest_frame(request, "feedback")
            assert isinstance(frame, SendFeedback)
            return JSONResponse(await self._feedback(session, frame))
        except FrameError as error:
            return _frame_error(error)


async def _rest_frame(request: Request, type_: str) -> SendMessage | SendFeedback:
    """A REST body is a frame without `v` and `type`: the path says which."""
    try:
        body = await request.json()
    except ValueError as exc:
        raise FrameError("bad_frame", f"the body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise FrameError("bad_frame", "the body is a JSON object")
    frame = parse_object({"v": 1, **body, "type": type_})
    if not isinstance(frame, SendMessage | SendFeedback):
        raise FrameError("bad_frame", f"expected a {type_}")
    return frame


_STATUS = {"bad_frame": 400, "unknown_message": 404, "too_large": 413, "rate_limited": 429}


def _frame_error(error: FrameError) -> JSONResponse:
    headers = {}
    if "retry_after" in error.extra:
        headers["Retry-After"] = str(max(1, round(error.extra["retry_after"])))
    return _error(_STATUS.get(error.code, 400), error.code, error.message, headers)


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None
           ) -> JSONResponse:  # fmt: skip
    return JSONResponse({"error": {"code": code, "message": message}}, status, headers)


async def _refuse(ws: WebSocket, code: str, message: str, close_code: int) -> None:
    await ws.send_json(server_frame("error", code=code, message=message))
    await ws.close(close_code)
