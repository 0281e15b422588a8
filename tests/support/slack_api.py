"""A stand-in for Slack's Web API and Socket Mode, served on loopback for tests and benchmarks.

`SlackStandIn` is a real HTTP + websocket server (Starlette on uvicorn, in its own thread with its
own event loop) that answers the Web API methods the bot uses the way slack.com does, records every
call, can be told to rate-limit or fail the next calls of a method, and plays Slack's side of a
Socket Mode connection. The module-level helpers build what Slack sends to an app: Events API
envelopes, message / app_mention events, block_actions payloads, and signed request headers.

Nothing here reaches outside 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Callable, Coroutine
from contextlib import suppress
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlencode

import uvicorn
from slack_sdk.signature import SignatureVerifier
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

JSON = dict[str, Any]

_APP_ID = "A0SHOP"
_DEBUG_INFO = {"host": "applink-stand-in", "build_number": 1, "approximate_connection_time": 18060}
_GONE = (WebSocketDisconnect, OSError, RuntimeError)  # what sending on a closed websocket raises
_last_ts_lock = threading.Lock()
_last_ts = 0


def _new_ts() -> str:
    """A fresh message ts ("1700000000.000100" style): wall-clock based, strictly increasing.

    Slack's ts are unique per channel; these are unique across the whole process, so events built
    by the helpers and messages posted to any stand-in never collide.
    """
    global _last_ts
    with _last_ts_lock:
        _last_ts = max(time.time_ns() // 1000, _last_ts + 1)
        micros = _last_ts
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


@dataclass(frozen=True)
class Call:
    """One Web API request as the stand-in saw it, refused ones included."""

    method: str
    params: JSON  # query string + JSON or form body; blocks/attachments parsed into lists
    status: int  # HTTP status answered (200, or 429 when rate-limited)
    at: float  # time.monotonic() when it was answered
    token: str | None  # from `Authorization: Bearer ...` or the `token` param
    response: JSON = field(default_factory=dict)  # the JSON body answered


class _SlackError(Exception):
    """Raised by a method handler to answer 200 {"ok": false, "error": <error>}."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class SlackStandIn:
    """A real HTTP + websocket server on 127.0.0.1 (free port), in its own thread and event loop.

    Web API: POST or GET /api/<method>, JSON or form-encoded, token as a bearer header or a
    `token` param. Socket Mode: `apps.connections.open` hands out a one-time ws:// URL for /socket.
    """

    def __init__(
        self,
        team_id: str = "T0SHOP",
        bot_user_id: str = "UBOT",
        bot_id: str = "BBOT",
        bot_token: str = "xoxb-test",
        app_token: str = "xapp-test",
    ) -> None:
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.bot_token = bot_token
        self.app_token = app_token
        self.users: dict[str, JSON] = {}  # user id -> users.info "user" (else generated)
        self.presence: dict[str, str] = {}  # user id -> "active" | "away" (default "active")
        self.calls: list[Call] = []
        # Called with every Call as it is answered, on the stand-in's thread (for benchmarks
        # that wait for posts without polling).
        self.listeners: list[Callable[[Call], None]] = []
        self.acks: dict[str, float] = {}  # envelope_id -> time.monotonic() of the client's ack
        self.ack_payloads: dict[str, JSON] = {}  # envelope_id -> the ack's "payload", if any
        self.socket_connected = threading.Event()  # set while a Socket Mode client is connected
        self.socket_connects = 0  # connections greeted with "hello" so far (reconnects count)
        self._lock = threading.Lock()
        self._rate_limits: dict[str, list[int]] = {}  # method -> Retry-After of each refusal
        self._failures: dict[str, list[str]] = {}  # method -> error of each failed call
        self._delays: dict[str, list[float]] = {}  # method -> seconds each slow call waits
        self._posted: set[tuple[str, str]] = set()  # (channel, ts) the bot posted
        self._tickets: set[str] = set()  # unused Socket Mode tickets
        # Owned by the server's event loop:
        self._sockets: list[WebSocket] = []  # open Socket Mode connections, oldest first
        self._undelivered: list[str] = []  # envelopes sent while no client was connected
        self._methods: dict[str, Callable[[JSON], JSON]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "users.info": self._users_info,
            "users.profile.get": self._users_profile_get,
            "conversations.open": self._conversations_open,
            "users.getPresence": self._users_get_presence,
            "conversations.info": self._conversations_info,
            "reactions.add": lambda params: {},
            "reactions.remove": lambda params: {},
            "apps.connections.open": self._apps_connections_open,
        }
        self._port: int | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # Lifecycle

    def start(self) -> SlackStandIn:
        """Serve on a free loopback port; returns once connections are accepted."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self._port = int(sock.getsockname()[1])
        app = Starlette(
            routes=[
                Route("/api/{method}", self._web_api, methods=["GET", "POST"]),
                WebSocketRoute("/socket", self._socket_mode),
            ]
        )
        config = uvicorn.Config(
            app,
            log_config=None,
            log_level="warning",
            lifespan="off",
            ws="websockets-sansio",
            ws_per_message_deflate=False,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=asyncio.run, args=(self._serve(sock),), name=f"slack-{self._port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the Slack stand-in did not start")
            time.sleep(0.005)
        return self

    async def _serve(self, sock: socket.socket) -> None:
        assert self._server is not None
        self._loop = asyncio.get_running_loop()
        await self._server.serve(sockets=[sock])

    def stop(self) -> None:
        """Close every connection and stop the server thread."""
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._server = self._thread = self._loop = None

    def __enter__(self) -> SlackStandIn:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """What `AsyncWebClient(base_url=...)` takes, e.g. "http://127.0.0.1:PORT/api/"."""
        if self._port is None:
            raise RuntimeError("start() the stand-in first")
        return f"http://127.0.0.1:{self._port}/api/"

    # Steering and inspecting the Web API

    def rate_limit(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """The next `times` calls of `method` get HTTP 429 with `Retry-After: <retry_after>`.

        Note: slack_sdk's async rate-limit retry handler reads only the first digit of
        Retry-After, so keep `retry_after` below 10 when testing it.
        """
        with self._lock:
            self._rate_limits.setdefault(method, []).extend([retry_after] * times)

    def fail(self, method: str, error: str, times: int = 1) -> None:
        """The next `times` calls of `method` answer 200 {"ok": false, "error": error}."""
        with self._lock:
            self._failures.setdefault(method, []).extend([error] * times)

    def slow(self, method: str, seconds: float, times: int = 1) -> None:
        """The next `times` calls of `method` are answered only after `seconds`."""
        with self._lock:
            self._delays.setdefault(method, []).extend([seconds] * times)

    def add_user(self, uid: str, email: str, real_name: str | None = None) -> None:
        """A person with this (verified) email in their profile, as users.info shows them."""
        user = self._generated_user(uid)
        user["profile"]["email"] = email
        if real_name:
            user["real_name"] = user["profile"]["real_name"] = real_name
        self.users[uid] = user

    def ephemerals(self, user: str | None = None, channel: str | None = None) -> list[Call]:
        """Successful chat.postEphemeral calls (seen by `user` alone), optionally filtered."""
        with self._lock:
            calls = list(self.calls)
        return [
            call
            for call in calls
            if call.method == "chat.postEphemeral"
            and call.response.get("ok")
            and user in (None, call.params.get("user"))
            and channel in (None, call.params.get("channel"))
        ]

    def posts(self, channel: str | None = None, thread_ts: str | None = None) -> list[Call]:
        """Successful chat.postMessage calls, optionally only those to `channel` / `thread_ts`."""
        with self._lock:
            calls = list(self.calls)
        return [
            call
            for call in calls
            if call.method == "chat.postMessage"
            and call.response.get("ok")
            and channel in (None, call.params.get("channel"))
            and thread_ts in (None, call.params.get("thread_ts"))
        ]

    def wait_for(self, predicate: Callable[[SlackStandIn], bool], timeout: float = 10.0) -> None:
        """Poll `predicate(self)` until true; AssertionError with the recorded calls on timeout."""
        deadline = time.monotonic() + timeout
        while not predicate(self):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s; {self._summary()}")
            time.sleep(0.01)

    def wait_posts(
        self,
        n: int,
        channel: str | None = None,
        thread_ts: str | None = None,
        timeout: float = 10.0,
    ) -> list[Call]:
        """Wait until at least `n` matching posts were made; returns them all."""
        self.wait_for(lambda s: len(s.posts(channel, thread_ts)) >= n, timeout)
        return self.posts(channel, thread_ts)

    def _summary(self) -> str:
        with self._lock:
            calls = list(self.calls)
            acks = len(self.acks)
        lines = [f"{len(calls)} call(s), {acks} ack(s), {self.socket_connects} socket connect(s)"]
        for call in calls:
            shown = {k: v for k, v in call.params.items() if k in ("channel", "thread_ts", "text")}
            error = f" -> {call.response['error']}" if "error" in call.response else ""
            lines.append(f"  {call.method} {call.status} {shown}{error}")
        return "\n".join(lines)

    # Socket Mode, from the test's side

    def socket_send(self, type_: str, payload: JSON, retry_attempt: int = 0) -> str:
        """Push an envelope ("events_api", "interactive" or "slash_commands") to the app.

        Like Slack, each envelope goes to one connection (the newest); if none is open it is
        delivered right after the next "hello". Thread-safe; returns the envelope_id.
        """
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": type_,
            "payload": payload,
            "accepts_response_payload": type_ != "events_api",
            "retry_attempt": retry_attempt,
            "retry_reason": "timeout" if retry_attempt else "",
        }
        self._on_loop(self._deliver(json.dumps(envelope)))
        return envelope_id

    def socket_disconnect(self, reason: str = "refresh_requested") -> None:
        """Send Slack's {"type": "disconnect"} notice, which tells clients to reconnect."""
        notice = json.dumps({"type": "disconnect", "reason": reason, "debug_info": _DEBUG_INFO})
        self._on_loop(self._notify_all(notice))

    def wait_connected(self, timeout: float = 10.0) -> None:
        """Wait until a Socket Mode client is connected; AssertionError on timeout."""
        if not self.socket_connected.wait(timeout):
            raise AssertionError(f"no Socket Mode client connected within {timeout}s")

    def wait_ack(self, envelope_id: str, timeout: float = 10.0) -> float:
        """Wait for the client's ack of `envelope_id`; returns its time.monotonic()."""
        self.wait_for(lambda s: envelope_id in s.acks, timeout)
        return self.acks[envelope_id]

    def _on_loop(self, coroutine: Coroutine[Any, Any, None]) -> None:
        if self._loop is None:
            coroutine.close()
            raise RuntimeError("start() the stand-in first")
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    # Socket Mode, Slack's side (runs on the server's loop)

    async def _socket_mode(self, websocket: WebSocket) -> None:
        """The wss:// endpoint: check the ticket, say hello, deliver envelopes, record acks."""
        ticket = websocket.query_params.get("ticket", "")
        with self._lock:
            known = ticket in self._tickets
            self._tickets.discard(ticket)
        if not known:
            await websocket.close(code=1008)  # before accept(): the handshake gets HTTP 403
            return
        await websocket.accept()
        hello = {
            "type": "hello",
            "num_connections": len(self._sockets) + 1,
            "debug_info": _DEBUG_INFO,
            "connection_info": {"app_id": _APP_ID},
        }
        await websocket.send_text(json.dumps(hello))
        with self._lock:
            self.socket_connects += 1
        undelivered, self._undelivered = self._undelivered, []
        self._sockets.append(websocket)
        self.socket_connected.set()
        try:
            for envelope in undelivered:
                await self._deliver(envelope)
            async for text in websocket.iter_text():
                self._record_ack(text)
        finally:
            self._sockets.remove(websocket)
            if not self._sockets:
                self.socket_connected.clear()

    async def _deliver(self, envelope: str) -> None:
        if not self._sockets:
            self._undelivered.append(envelope)
            return
        try:
            await self._sockets[-1].send_text(envelope)
        except _GONE:
            self._undelivered.append(envelope)  # the connection just went away

    async def _notify_all(self, message: str) -> None:
        for websocket in list(self._sockets):
            with suppress(*_GONE):
                await websocket.send_text(message)

    def _record_ack(self, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            return
        if not isinstance(message, dict) or "envelope_id" not in message:
            return
        with self._lock:
            self.acks[message["envelope_id"]] = time.monotonic()
            if isinstance(message.get("payload"), dict):
                self.ack_payloads[message["envelope_id"]] = message["payload"]

    # The Web API

    async def _web_api(self, request: Request) -> JSONResponse:
        method = request.path_params["method"]
        params = dict(request.query_params)
        body = await request.body()
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if body and content_type == "application/json":
            params.update(json.loads(body))
        elif body and content_type == "application/x-www-form-urlencoded":
            params.update(parse_qsl(body.decode(), keep_blank_values=True))
        for key in ("blocks", "attachments"):
            if isinstance(params.get(key), str):
                with suppress(ValueError):  # else left a string: invalid_blocks_format
                    params[key] = json.loads(params[key])
        authorization = request.headers.get("authorization", "")
        token = params.pop("token", None)
        if authorization.lower().startswith("bearer "):
            token = authorization[len("bearer ") :].strip()
        with self._lock:
            delay = _pop_first(self._delays, method)
        if delay is not None:
            await asyncio.sleep(delay)
        status, answer, headers = self._answer(method, params, token)
        return JSONResponse(answer, status_code=status, headers=headers)

    def _answer(
        self, method: str, params: JSON, token: str | None
    ) -> tuple[int, JSON, dict[str, str]]:
        """Decide the answer to one call and record it (under the lock)."""
        status, headers = 200, {}
        with self._lock:
            try:
                retry_after = _pop_first(self._rate_limits, method)
                if retry_after is not None:
                    status, headers = 429, {"Retry-After": str(retry_after)}
                    raise _SlackError("ratelimited")
                failure = _pop_first(self._failures, method)
                if failure is not None:
                    raise _SlackError(failure)
                handler = self._methods.get(method)
                if handler is None:
                    raise _SlackError("unknown_method")
                self._authorize(method, token)
                answer = {"ok": True, **handler(params)}
            except _SlackError as refusal:
                answer = {"ok": False, "error": refusal.error}
            call = Call(method, params, status, time.monotonic(), token, answer)
            self.calls.append(call)
        for listener in self.listeners:
            listener(call)
        return status, answer, headers

    def _authorize(self, method: str, token: str | None) -> None:
        """Slack's token checks: bot token for everything but apps.connections.open."""
        wanted, other = (self.bot_token, self.app_token)
        if method == "apps.connections.open":
            wanted, other = other, wanted
        if not token:
            raise _SlackError("not_authed")
        if token == other:
            raise _SlackError("not_allowed_token_type")
        if token != wanted:
            raise _SlackError("invalid_auth")

    def _auth_test(self, params: JSON) -> JSON:
        return {
            "url": "https://shop.slack.com/",
            "team": "Shop",
            "user": "shopclerk",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, params: JSON) -> JSON:
        channel = _required(params, "channel", "channel_not_found")
        content = _content(params)
        ts = _new_ts()
        self._posted.add((channel, ts))
        message = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "team": self.team_id,
            "ts": ts,
            **content,
        }
        for key in ("thread_ts", "username"):
            if params.get(key):
                message[key] = params[key]
        return {"channel": channel, "ts": ts, "message": message}

    def _chat_update(self, params: JSON) -> JSON:
        channel = _required(params, "channel", "channel_not_found")
        ts = _required(params, "ts", "message_not_found")
        if (channel, ts) not in self._posted:
            raise _SlackError("message_not_found")
        content = _content(params)
        message = {"type": "message", "user": self.bot_user_id, "bot_id": self.bot_id, **content}
        return {"channel": channel, "ts": ts, "text": content["text"], "message": message}

    def _chat_post_ephemeral(self, params: JSON) -> JSON:
        _required(params, "channel", "channel_not_found")
        _required(params, "user", "user_not_found")
        _content(params)
        return {"message_ts": _new_ts()}

    def _users_info(self, params: JSON) -> JSON:
        uid = _required(params, "user", "user_not_found")
        return {"user": self.users.get(uid) or self._generated_user(uid)}

    def _generated_user(self, uid: str) -> JSON:
        """A plausible users.info profile for an id the test did not describe."""
        is_bot = uid == self.bot_user_id
        name = "shopclerk" if is_bot else uid.lower()
        real_name = "Shopclerk" if is_bot else f"User {uid}"
        return {
            "id": uid,
            "team_id": self.team_id,
            "name": name,
            "real_name": real_name,
            "deleted": False,
            "is_bot": is_bot,
            "tz": "Europe/London",
            "profile": {
                "display_name": name,
                "real_name": real_name,
                "email": f"{uid.lower()}@example.com",
            },
        }

    def _users_profile_get(self, params: JSON) -> JSON:
        uid = _required(params, "user", "user_not_found")
        return {"profile": (self.users.get(uid) or self._generated_user(uid))["profile"]}

    def _conversations_open(self, params: JSON) -> JSON:
        """A DM with one person ("users"): its channel id, the same one every time."""
        users = _required(params, "users", "users_list_not_supplied")
        if "," in users:
            raise _SlackError("not_implemented")  # group DMs: not used by the bot
        return {"channel": {"id": "D" + users.removeprefix("U")}}

    def _users_get_presence(self, params: JSON) -> JSON:
        uid = _required(params, "user", "user_not_found")
        return {"presence": self.presence.get(uid, "active")}

    def _conversations_info(self, params: JSON) -> JSON:
        channel = _required(params, "channel", "channel_not_found")
        is_im = channel.startswith("D")
        return {
            "channel": {
                "id": channel,
                "name": "c-" + channel.lower(),
                "is_im": is_im,
                "is_channel": not is_im,
            }
        }

    def _apps_connections_open(self, params: JSON) -> JSON:
        ticket = secrets.token_hex(16)
        self._tickets.add(ticket)
        return {"url": f"ws://127.0.0.1:{self._port}/socket?ticket={ticket}"}


def _pop_first(pending: dict[str, list[Any]], method: str) -> Any:
    """Take the next queued refusal for `method`, if any."""
    queue = pending.get(method)
    return queue.pop(0) if queue else None


def _required(params: JSON, key: str, error: str) -> str:
    value = params.get(key)
    if not value:
        raise _SlackError(error)
    return str(value)


def _content(params: JSON) -> JSON:
    """A message's text/blocks/attachments, or Slack's error when they are missing or malformed."""
    text, blocks, attachments = (params.get(k) for k in ("text", "blocks", "attachments"))
    if not (text or blocks or attachments):
        raise _SlackError("no_text")
    if blocks is not None and not isinstance(blocks, list):
        raise _SlackError("invalid_blocks_format")
    if attachments is not None and not isinstance(attachments, list):
        raise _SlackError("invalid_attachments")
    content: JSON = {"text": text or ""}
    if blocks is not None:
        content["blocks"] = blocks
    if attachments is not None:
        content["attachments"] = attachments
    return content


# What Slack sends to the app


def sign(body: str, signing_secret: str, timestamp: int | None = None) -> dict[str, str]:
    """Headers of a request signed the way Slack signs Events API and interactivity requests."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=ts, body=body)
    assert signature is not None
    content_type = (
        "application/json" if body.lstrip().startswith("{") else "application/x-www-form-urlencoded"
    )
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
        "Content-Type": content_type,
    }


def event_callback(
    event: JSON,
    team_id: str = "T0SHOP",
    event_id: str | None = None,
    api_app_id: str = _APP_ID,
    authorizations_user: str = "UBOT",
) -> JSON:
    """The Events API envelope Slack posts (or wraps in a Socket Mode "events_api" envelope)."""
    context = {
        "et": event.get("type"),
        "tid": team_id,
        "aid": api_app_id,
        "cid": event.get("channel"),
    }
    return {
        "token": "x",
        "team_id": team_id,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or "Ev" + secrets.token_hex(5).upper(),
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": authorizations_user,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": "4-" + base64.urlsafe_b64encode(json.dumps(context).encode()).decode(),
    }


def message_event(
    user: str,
    text: str,
    channel: str,
    ts: str | None = None,
    thread_ts: str | None = None,
    channel_type: str | None = None,
    team: str = "T0SHOP",
    **extra: Any,
) -> JSON:
    """A `message` event; `extra` adds fields such as bot_id or subtype.

    Like Slack, only messages typed by a person (no bot_id, no subtype) carry a client_msg_id.
    """
    ts = ts or _new_ts()
    event: JSON = {
        "type": "message",
        "user": user,
        "text": text,
        "ts": ts,
        "channel": channel,
        "channel_type": channel_type or ("im" if channel.startswith("D") else "channel"),
        "team": team,
        "event_ts": ts,
    }
    if "bot_id" not in extra and "subtype" not in extra:
        event["client_msg_id"] = str(uuid.uuid4())
    if thread_ts:
        event["thread_ts"] = thread_ts
    return {**event, **extra}


def mention_event(
    user: str,
    text: str,
    channel: str,
    ts: str | None = None,
    thread_ts: str | None = None,
    team: str = "T0SHOP",
    bot_user_id: str = "UBOT",
) -> JSON:
    """An `app_mention` event; "<@UBOT> " is put in front of `text` unless it mentions the bot."""
    mention = f"<@{bot_user_id}>"
    ts = ts or _new_ts()
    event: JSON = {
        "type": "app_mention",
        "user": user,
        "text": text if mention in text else f"{mention} {text}",
        "ts": ts,
        "channel": channel,
        "team": team,
        "event_ts": ts,
        "client_msg_id": str(uuid.uuid4()),
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


_TRIGGER_IDS = itertools.count(1)


def block_actions(
    user: str,
    action_id: str,
    value: str,
    channel: str,
    message_ts: str,
    thread_ts: str | None = None,
    team_id: str = "T0SHOP",
    block_id: str = "b",
    action_type: str = "button",
    selected_option: JSON | None = None,
    ephemeral: bool = False,
) -> JSON:
    """The `block_actions` payload Slack sends when a user clicks a button or picks an option.

    For "static_select" / "overflow" the action carries `selected_option` (built from `value`
    unless given) instead of `value`. A click in an ephemeral message comes as Slack sends
    it: no `message`, and a container with the ephemeral message's ts and no thread.
    """
    action: JSON = {"action_id": action_id, "block_id": block_id, "type": action_type}
    if action_type == "button":
        action["value"] = value
    else:
        action["selected_option"] = selected_option or {
            "text": {"type": "plain_text", "text": value},
            "value": value,
        }
    action["action_ts"] = _new_ts()
    container: JSON = {
        "type": "message",
        "message_ts": message_ts,
        "channel_id": channel,
        "is_ephemeral": False,
    }
    message: JSON = {
        "type": "message",
        "ts": message_ts,
        "text": "",
        "user": "UBOT",
        "bot_id": "BBOT",
    }
    if thread_ts:
        container["thread_ts"] = message["thread_ts"] = thread_ts
    n = next(_TRIGGER_IDS)
    payload: JSON = {
        "type": "block_actions",
        "team": {"id": team_id, "domain": "shop"},
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": team_id},
        "api_app_id": _APP_ID,
        "token": "x",
        "container": container,
        "trigger_id": f"{n}.1.{secrets.token_hex(8)}",
        "channel": {"id": channel, "name": "c-" + channel.lower()},
        "message": message,
        "state": {"values": {}},
        "response_url": f"https://hooks.slack.com/actions/{team_id}/{n}/{secrets.token_hex(12)}",
        "actions": [action],
        "enterprise": None,
        "is_enterprise_install": False,
    }
    if ephemeral:
        del payload["message"]
        payload["container"] = {"type": "message", "message_ts": message_ts,
                                "channel_id": channel, "is_ephemeral": True}  # fmt: skip
    return payload


def interactive_body(payload: JSON) -> str:
    """The form-encoded body Slack posts to the interactivity URL: payload=<urlencoded JSON>."""
    return urlencode({"payload": json.dumps(payload)})
