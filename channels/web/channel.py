"""The widget's websocket endpoint and the REST API, over one `WebChannel`."""

from __future__ import annotations

import asyncio
import functools
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.websockets import WebSocket, WebSocketDisconnect

from channels.web.availability import (
    CLOSE_TRY_LATER,
    DRAIN_RETRY_AFTER,
    UNAVAILABLE,
    Availability,
    counted,
    unavailable,
)
from channels.web.frames import (
    MAX_INT,
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
    server_frame,
)
from channels.web.identity import IdentityVerifier, Shopper
from channels.web.limits import Limits
from channels.web.rest import (
    error_response,
    frame_error,
    rest_body,
    rest_frame,
    rest_identity,
)
from channels.web.shoppers import Shoppers
from engine.availability import unreachable
from engine.models import Message, Role
from engine.owners import BOT
from engine.store import ConversationStore
from engine.types import Inbound, Turn
from engine.worker import OverloadedError
from handoff.outbox import Outbox
from handoff.rates import RateLimit, retry_after
from kb.search import Catalog

log = logging.getLogger(__name__)
CHANNEL = "web"
RestHandler = Callable[["WebChannel", Request], Awaitable[JSONResponse]]


class Desk(Protocol):
    """Where the channel hands customer messages (the engine, then the handoff desk)."""

    async def handle(self, inbound: Inbound) -> object: ...
    async def deliver_to(self, channel: str, key: str) -> None: ...
    async def deliver_elsewhere(self, channel: str, key: str) -> None: ...
    async def notify_to(self, channel: str, key: str, event: str, **fields: Any) -> None: ...
    def customer_here(self, channel: str, key: str, on: bool) -> None: ...
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
    # Per client address, so that a fresh session (`hello` with no session) is no fresh budget.
    sessions_per_address_per_minute: int = 20
    messages_per_address_per_minute: int = 120
    hellos_per_minute: int = 10  # per socket: each one may replay history
    # ... and per address: many tabs (or a script's many sockets) each replaying history would
    # otherwise keep the database and the event loop busy for everyone else.
    hellos_per_address_per_minute: int = 60
    hello_timeout_seconds: float = 5.0  # a socket that says nothing holds a connection slot
    max_replay: int = 200  # messages replayed per hello; older history is skipped
    identity_secret: str | None = None  # signed shoppers (channels/web/identity.py); None: off
    identity_max_age_seconds: int = 86_400


SERVER_ERROR = server_frame(
    "error", code="server_error", message="Something went wrong here; please try again."
)
CLOSE_NO_HELLO = 4408
CLOSE_TOO_MANY = 4429


class ClosingError(FrameError):
    """An error after which the server closes the socket (with `close_code`)."""

    def __init__(self, code: str, message: str, close_code: int, **extra: Any) -> None:
        super().__init__(code, message, **extra)
        self.close_code = close_code


@dataclass(eq=False)
class _Socket:
    """One open widget connection: its session, its shopper, and the last seq queued for it.

    Every frame goes out through the socket's `Outbox`: nothing in the server ever waits on
    this socket's reader."""

    ws: WebSocket
    outbox: Outbox
    address: str
    hellos: RateLimit
    session: str = ""
    sent_seq: int = 0
    shopper: Shopper | None = None

    def send(self, frame: dict[str, Any]) -> None:
        self.outbox.put(frame)


def _available(handler: RestHandler) -> RestHandler:
    """`handler`, answering 503 with Retry-After when the database cannot be reached (one log
    line per outage, `Outage`) or, for a new message, while the server drains."""

    @functools.wraps(handler)
    async def available(channel: WebChannel, request: Request) -> JSONResponse:
        gate = channel.availability
        if gate.draining and request.method == "POST":
            return _unavailable(unavailable("The service is restarting.", DRAIN_RETRY_AFTER, None))
        try:
            response = await handler(channel, request)
        except Exception as exc:
            if not unreachable(exc):
                raise
            wait = gate.outage.failed(exc)
            return _unavailable(unavailable("The chat is unavailable for a moment.", wait, None))
        gate.outage.ok()
        return response

    return available


def _unavailable(error: FrameError) -> JSONResponse:
    wait = str(counted(error).extra["retry_after"])
    return error_response(503, error.code, error.message, {"Retry-After": wait})


class WebChannel:
    def __init__(
        self,
        desk: Desk,
        store: ConversationStore,
        catalog: Catalog,
        config: WebConfig,
        limits: Limits | None = None,  # default: in this process
    ) -> None:
        self._desk = desk
        self._store = store
        self._catalog = catalog
        self.config = config
        limits = limits or Limits()
        self._rates = limits.rate("messages", config.messages_per_minute)
        self._address_rates = limits.rate(
            "address-messages", config.messages_per_address_per_minute
        )
        self._new_sessions = limits.rate("address-sessions", config.sessions_per_address_per_minute)
        self._address_hellos = limits.rate("address-hellos", config.hellos_per_address_per_minute)
        self._connections = limits.connections(config.connections_per_address)
        self._sessions: dict[str, set[_Socket]] = {}
        verifier = IdentityVerifier(config.identity_secret, config.identity_max_age_seconds)
        self._shoppers = Shoppers(store, verifier, CHANNEL)
        self.availability = Availability()  # outages and the drain (channels/web/availability.py)

    # -- websocket ------------------------------------------------------------------------------

    async def websocket(self, ws: WebSocket) -> None:
        address = ws.client.host if ws.client else "unknown"
        await ws.accept()
        outbox = Outbox(ws)
        if not self._origin_allowed(ws.headers.get("origin"), ws.headers.get("host")):
            await _refuse(outbox, "origin_not_allowed", "This page may not open the chat.", 4403)
            return
        held = await self._connections.acquire(address)
        if held is None:
            await _refuse(
                outbox, "too_many_connections", "Too many open chats from here.", CLOSE_TOO_MANY
            )
            return
        socket = _Socket(ws, outbox, address, RateLimit(self.config.hellos_per_minute))
        try:
            await outbox.guard(self._serve(socket))
        except WebSocketDisconnect:
            pass
        finally:
            await self._connections.release(held)
            self._detach(socket)

    async def _serve(self, socket: _Socket) -> None:
        """Read frames until the client goes (or is sent away). Whatever one frame does wrong
        is answered with an error frame; the socket stays open."""
        deadline = asyncio.get_running_loop().time() + self.config.hello_timeout_seconds
        with self.availability.open(socket.outbox):
            while True:
                message = await self._receive(socket, deadline)
                if message is None:
                    return
                try:
                    with self.availability.handling(message):
                        await self._on_frame(socket, message)
                except ClosingError as bye:
                    socket.send(bye.frame())
                    socket.outbox.close_after_sent(bye.close_code, bye.code)
                    return
                except FrameError as error:
                    socket.send(counted(error).frame())
                except Exception as exc:
                    if not unreachable(exc):
                        log.exception("a widget frame failed (session %s)", socket.session or "-")
                        socket.send(SERVER_ERROR)
                        continue
                    refusal, hello = self.availability.failed(exc, message)
                    socket.send(counted(refusal).frame())
                    if hello:  # no session to serve: come back once the database is
                        socket.outbox.close_after_sent(CLOSE_TRY_LATER, UNAVAILABLE)
                        return
                else:
                    self.availability.succeeded(message)

    async def _receive(self, socket: _Socket, deadline: float) -> Mapping[str, Any] | None:
        """The next frame; None once a socket that never said hello has been sent away."""
        if socket.session:
            message = await socket.ws.receive()
        else:
            wait = max(0.0, deadline - asyncio.get_running_loop().time())
            try:
                message = await asyncio.wait_for(socket.ws.receive(), wait)
            except TimeoutError:
                socket.send(
                    server_frame("error", code="hello_timeout", message="No hello came in time.")
                )
                socket.outbox.close_after_sent(CLOSE_NO_HELLO, "hello_timeout")
                return None
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        return message

    async def _on_frame(self, socket: _Socket, message: Mapping[str, Any]) -> None:
        raw = message.get("text")
        if raw is None:
            raise FrameError("bad_frame", "Frames are JSON text; binary frames are not taken.")
        if len(raw) > self.config.max_frame_bytes or len(raw.encode()) > (
            self.config.max_frame_bytes
        ):
            raise FrameError("too_large", "That frame is too large.")
        frame = parse(raw)
        if isinstance(frame, Hello):
            await self._hello(socket, frame)
        elif not socket.session:
            raise FrameError("hello_first", "Send a hello frame first.")
        elif isinstance(frame, SendMessage):
            await self._message(socket, frame)
        elif isinstance(frame, SendFeedback):
            socket.send(await self._feedback(socket.session, frame))
        elif isinstance(frame, Ping):
            socket.send(server_frame("pong"))
        elif isinstance(frame, Typing):
            await self._desk.customer_typing(CHANNEL, socket.session, frame.on)
        elif isinstance(frame, EndChat):
            await self._desk.end_chat(CHANNEL, socket.session)
        elif isinstance(frame, Satisfaction):
            if not await self._desk.rate(CHANNEL, socket.session, frame.episode, frame.score):
                raise FrameError(
                    "unknown_episode", "There is no such chat to rate.", episode=frame.episode
                )
            saved = {"episode": frame.episode, "score": frame.score}
            await self._desk.notify_to(CHANNEL, socket.session, "satisfaction_saved", **saved)

    async def _hello(self, socket: _Socket, frame: Hello) -> None:
        if await retry_after((socket.hellos, "hello"), (self._address_hellos, socket.address)):
            raise ClosingError(
                "too_many_hellos",
                "Too many hellos on this connection or from this address.",
                CLOSE_TOO_MANY,
            )
        shopper, verdict = await asyncio.to_thread(
            self._shoppers.check, frame.identity, frame.session, socket.address
        )
        session = await self._resumable(frame.session, shopper)
        if session is None:
            session = await self._new_session_for(socket.address, shopper)
        conversation = await asyncio.to_thread(self._store.load, CHANNEL, session)
        last = conversation.last_seq
        start = min(frame.last_seq, last) if session == frame.session else 0
        replay_after = max(start, last - self.config.max_replay)
        self._detach(socket)
        socket.session, socket.shopper, socket.sent_seq = session, shopper, replay_after
        if session not in self._sessions:
            self._desk.customer_here(CHANNEL, session, True)
        self._sessions.setdefault(session, set()).add(socket)
        socket.send(
            server_frame(
                "welcome",
                session=session,
                last_seq=last,
                replay_after=replay_after,
                identity=verdict,
            )
        )
        if conversation.owner != BOT:
            status = await self._desk.status(CHANNEL, session)
            if status is not None:
                socket.send(server_frame("handoff", **status))
        await self._flush(socket)
        survey = await self._desk.survey_due(CHANNEL, session)
        if survey is not None:  # asked when the chat ended; not answered yet
            socket.send(server_frame("survey", **survey))

    async def _resumable(self, session: str | None, shopper: Shopper | None) -> str | None:
        """`session` when this client may continue it: it exists, and it is nobody's or this
        verified shopper's (a shopper's chat is never handed to someone without their identity)."""
        if not session:
            return None
        known, bound = await asyncio.to_thread(self._shoppers.owner, session)
        if not known or (bound is not None and (shopper is None or shopper.email != bound)):
            return None
        if shopper is not None and bound is None:
            await asyncio.to_thread(self._shoppers.bind, session, shopper)
        return session

    async def _new_session_for(self, address: str, shopper: Shopper | None) -> str:
        wait = await retry_after((self._new_sessions, address))
        if wait:
            raise FrameError(
                "rate_limited", "Too many new chats from here; try again later.", retry_after=wait
            )
        session = await self.new_session()
        if shopper is not None:
            await asyncio.to_thread(self._shoppers.bind, session, shopper)
        return session

    def _detach(self, socket: _Socket) -> None:
        sockets = self._sessions.get(socket.session)
        if sockets is not None:
            sockets.discard(socket)
            if not sockets:
                del self._sessions[socket.session]
                self._desk.customer_here(CHANNEL, socket.session, False)

    async def _message(self, socket: _Socket, frame: SendMessage) -> None:
        session = socket.session
        await self._check_message(session, socket.address, frame.client_id, frame.text)
        inbound = self._inbound(session, frame, socket.shopper, socket.address)
        if not self._desk.bot_answers(CHANNEL, session):  # a person will answer
            ack, stored = await self._answer(inbound)
        else:
            await self._desk.notify_to(CHANNEL, session, "typing", on=True, who="bot")
            try:
                ack, stored = await self._answer(inbound)
            finally:
                await self._desk.notify_to(CHANNEL, session, "typing", on=False, who="bot")
        # This socket may have gone while the engine worked: the turn is stored all the same,
        # every other tab of the session (in any process) gets it now, and a reconnect
        # replays it.
        self._publish(session, ack, only=socket)
        if self._shown(session, stored):
            await self._desk.deliver_elsewhere(CHANNEL, session)
        else:
            await self._desk.deliver_to(CHANNEL, session)

    def _shown(self, session: str, stored: Sequence[Message]) -> bool:
        """Show this process's sockets of the session the messages the turn stored, without
        reading them back; False (nothing shown) when a socket misses something before them,
        which only the database has."""
        if not stored:
            return False
        sockets = list(self._sessions.get(session, ()))
        if any(s.sent_seq < stored[0].seq - 1 for s in sockets):
            return False
        frames = [message_frame(m, self._catalog, self.config.product_url) for m in stored]
        for socket in sockets:
            for message, frame in zip(stored, frames, strict=True):
                if message.seq > socket.sent_seq:
                    if not socket.outbox.put(frame):
                        break  # dropped: it resumes from its last seq when it comes back
                    socket.sent_seq = message.seq
        return True

    @staticmethod
    def _inbound(
        session: str, frame: SendMessage, shopper: Shopper | None, address: str | None
    ) -> Inbound:
        return Inbound(
            session,
            frame.text,
            CHANNEL,
            client_message_id=frame.client_id,
            customer_email=shopper.email if shopper else None,
            customer_name=shopper.name if shopper else None,
            client_address=address,
        )

    async def _deliver(self, session: str) -> None:
        for socket in list(self._sessions.get(session, ())):
            await self._flush(socket)

    async def _check_message(self, session: str, address: str, client_id: str, text: str) -> None:
        if len(text) > self.config.max_message_chars:
            raise FrameError(
                "too_large",
                f"Messages can be at most {self.config.max_message_chars} characters.",
                client_id=client_id,
            )
        wait = await retry_after((self._rates, session), (self._address_rates, address))
        if wait:
            raise FrameError(
                "rate_limited",
                "You are sending messages too quickly.",
                client_id=client_id,
                retry_after=wait,
            )

    async def _answer(self, inbound: Inbound) -> tuple[dict[str, Any], Sequence[Message]]:
        """Hand the message to the engine (once per client id); the ack with its seq, and
        what the turn stored when it says (else read back). When the engine has no room, the
        message is not taken: an `overloaded` error tells the client to send it again, with
        the same client id, after `retry_after` seconds."""
        client_id = inbound.client_message_id or ""
        try:
            turn = await self._desk.handle(inbound)
        except OverloadedError as busy:
            raise FrameError(
                "overloaded",
                "We're busy right now; your message will be sent again shortly.",
                client_id=client_id,
                retry_after=busy.retry_after,
            ) from busy
        shown: Sequence[Message] = turn.stored if isinstance(turn, Turn) else ()
        mine = next((m for m in shown if m.role == Role.CUSTOMER), None)
        if mine is None:  # answered before, or elsewhere: the stored message says its seq
            mine = await asyncio.to_thread(
                self._store.message_for_client_id, CHANNEL, inbound.conversation_key, client_id
            )
        seq = mine.seq if mine else None
        return server_frame("ack", client_id=client_id, seq=seq), shown

    async def _feedback(self, session: str, frame: SendFeedback) -> dict[str, Any]:
        saved = await asyncio.to_thread(
            self._store.save_feedback, CHANNEL, session, frame.message_id, frame.rating
        )
        if not saved:
            raise FrameError(
                "unknown_message",
                "There is no such reply in this chat.",
                message_id=frame.message_id,
            )
        return server_frame("feedback_saved", message_id=frame.message_id, rating=frame.rating)

    async def _flush(self, socket: _Socket) -> None:
        """Queue for this socket every stored message it has not been sent yet, in order.
        Two flushes may overlap: each skips what the other queued already."""
        session = socket.session
        messages = await asyncio.to_thread(
            self._store.messages_after, CHANNEL, session, socket.sent_seq, self.config.max_replay
        )
        for message in messages:
            if socket.session != session or message.seq <= socket.sent_seq:
                continue
            if not socket.outbox.put(
                message_frame(message, self._catalog, self.config.product_url)
            ):
                return  # dropped: it resumes from its last seq when it comes back
            socket.sent_seq = message.seq

    def _publish(self, session: str, frame: dict[str, Any], only: _Socket | None = None) -> None:
        """Queue an ephemeral frame for the session's open sockets (or just for `only`)."""
        for socket in [only] if only else list(self._sessions.get(session, ())):
            socket.send(frame)

    # -- what the handoff desk asks of a channel ------------------------------------------------

    async def deliver(self, key: str) -> None:
        """Show every open socket of this session the messages stored since it was last sent."""
        await self._deliver(key)

    async def notify(self, key: str, event: str, **fields: Any) -> None:
        """An ephemeral frame (handoff status, an agent typing) to the session's sockets."""
        self._publish(key, server_frame(event, **fields))

    def online(self, key: str) -> bool:
        return bool(self._sessions.get(key))

    def keys(self) -> list[str]:
        """The sessions with a socket open in this process."""
        return list(self._sessions)

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

    @_available
    async def rest_new_session(self, request: Request) -> JSONResponse:
        address = _address(request)
        try:
            claim = await rest_identity(request, body=await rest_body(request, optional=True))
            shopper, verdict = await asyncio.to_thread(self._shoppers.check, claim, None, address)
            session = await self._new_session_for(address, shopper)
        except FrameError as error:
            return frame_error(error)
        return JSONResponse({"session": session, "identity": verdict}, status_code=201)

    @_available
    async def rest_messages(self, request: Request) -> JSONResponse:
        session = request.path_params["session"]
        try:
            await self._rest_shopper(request, session, None)
            after = int(request.query_params.get("after", "0"))
        except FrameError as error:
            return frame_error(error)
        except ValueError:
            return error_response(400, "bad_frame", "after must be a whole number")
        if not 0 <= after <= MAX_INT:
            return error_response(400, "bad_frame", "after is out of range")
        messages = await asyncio.to_thread(self._store.messages_after, CHANNEL, session, after)
        frames = [message_frame(m, self._catalog, self.config.product_url) for m in messages]
        return JSONResponse({"messages": frames})

    @_available
    async def rest_post_message(self, request: Request) -> JSONResponse:
        session = request.path_params["session"]
        try:
            body = await rest_body(request)
            shopper = await self._rest_shopper(request, session, body)
            frame = rest_frame(body, "message")
            assert isinstance(frame, SendMessage)
            await self._check_message(session, _address(request), frame.client_id, frame.text)
        except FrameError as error:
            return frame_error(error)
        before = (await asyncio.to_thread(self._store.load, CHANNEL, session)).last_seq
        try:
            ack, _ = await self._answer(self._inbound(session, frame, shopper, _address(request)))
        except FrameError as error:  # overloaded: 503 with Retry-After
            return frame_error(error)
        messages = await asyncio.to_thread(self._store.messages_after, CHANNEL, session, before)
        frames = [message_frame(m, self._catalog, self.config.product_url) for m in messages]
        await self._desk.deliver_to(CHANNEL, session)  # open tabs see it too
        return JSONResponse({"ack": ack, "messages": frames})

    @_available
    async def rest_feedback(self, request: Request) -> JSONResponse:
        session = request.path_params["session"]
        try:
            body = await rest_body(request)
            await self._rest_shopper(request, session, body)
            frame = rest_frame(body, "feedback")
            assert isinstance(frame, SendFeedback)
            return JSONResponse(await self._feedback(session, frame))
        except FrameError as error:
            return frame_error(error)

    async def _rest_shopper(
        self, request: Request, session: str, body: dict[str, Any] | None
    ) -> Shopper | None:
        """The verified shopper of a REST call on `session`; refused when the session belongs
        to a shopper and the call does not carry their identity."""
        claim = await rest_identity(request, body)
        known, bound = await asyncio.to_thread(self._shoppers.owner, session)
        if not known:
            raise FrameError("unknown_session", "There is no such chat session.")
        shopper, _ = await asyncio.to_thread(
            self._shoppers.check, claim, session, _address(request)
        )
        if bound is not None and (shopper is None or shopper.email != bound):
            raise FrameError("identity_required", "This chat belongs to a signed-in shopper.")
        if shopper is not None and bound is None:
            await asyncio.to_thread(self._shoppers.bind, session, shopper)
        return shopper


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _refuse(outbox: Outbox, code: str, message: str, close_code: int) -> None:
    outbox.put(server_frame("error", code=code, message=message))
    outbox.close_after_sent(close_code, code)
    await outbox.shutdown()
