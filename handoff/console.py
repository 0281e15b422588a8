"""The agent console under /agent: login, its JSON API and its websocket (docs/agent-console.md).

A login is a row in `agent_login` named in a signed, HttpOnly, SameSite=Strict cookie
(Starlette's SessionMiddleware, signed with itsdangerous); logging out ends the row, so the
cookie is worthless afterwards, and closes the consoles opened with it. Every POST needs the
session's CSRF token in `X-CSRF-Token`; the websocket only opens from a page of this server.
Login attempts are budgeted and hashed as handoff/logins.py says.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol, TypeGuard
from urllib.parse import urlsplit

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import Engine as Database
from sqlmodel import Session, select
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket

from engine.clock import utcnow
from engine.metrics import OPEN_SOCKETS
from engine.owners import BOT, QUEUE
from handoff.agents import AgentAccounts, AgentError, WrongPasswordError
from handoff.desk import Desk
from handoff.logins import Attempt, BusyError, LoginGate, ThrottledError
from handoff.models import Agent, AgentLogin
from handoff.outbox import Outbox
from handoff.presence import Console
from handoff.tickets import DRAFT_USES, OUTCOMES, NotYoursError

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
SESSION_HOURS = 12
DEVICE_DAYS = 180  # how long a browser is known as an agent's own (for login budgets)
DEVICE_COOKIE = "sc_agent_device"
MAX_REPLY_CHARS = 4000
MAX_FRAME_CHARS = 64 * 1024
MAX_ID = 2**63 - 1  # the largest id a database stores
CLOSE_LOGGED_OUT = 4401
RECHECK_EVERY = 30.0  # seconds between looks whether a console's login still holds
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
Endpoint = Callable[[Request, Agent], Awaitable[Response]]


class SuggestionReview(Protocol):
    """The endpoints for reviewing FAQ entries learned from agents' answers, mounted under
    /agent/api/suggestions (learning/suggestion_server.py's `SuggestionEndpoints`, handed in by
    the composition root: handoff does not import learning, which sits above it)."""

    async def pending(self, request: Request, agent: Agent) -> Response: ...
    async def accept(self, request: Request, agent: Agent) -> Response: ...
    async def reject(self, request: Request, agent: Agent) -> Response: ...


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra

    def response(self) -> JSONResponse:
        headers = (
            {"Retry-After": str(self.extra.pop("retry_after"))}
            if ("retry_after" in self.extra)
            else None
        )
        body = {"error": {"code": self.code, "message": self.message, **self.extra}}
        return JSONResponse(body, self.status, headers=headers)


class AgentConsole:
    def __init__(
        self,
        desk: Desk,
        db: Database,
        accounts: AgentAccounts,
        suggestions: SuggestionReview | None = None,
        logins: LoginGate | None = None,
    ) -> None:
        self.desk = desk
        self._suggestions = suggestions
        self._db = db
        self._accounts = accounts
        self.logins = logins or LoginGate()  # default: budgets in this process
        self._devices = URLSafeTimedSerializer("unset", salt="sc-agent-device")
        self._secure_cookie = False

    def app(self, secret_key: str, secure_cookie: bool = False) -> Starlette:
        """The console as an ASGI app, to mount at /agent. `secure_cookie`: both cookies are
        sent over HTTPS only (settings.cookies_secure)."""
        self._devices = URLSafeTimedSerializer(secret_key, salt="sc-agent-device")
        self._secure_cookie = secure_cookie
        middleware = [
            Middleware(
                SessionMiddleware,
                secret_key=secret_key,
                session_cookie="sc_agent",
                path="/agent",
                max_age=SESSION_HOURS * 3600,
                same_site="strict",
                https_only=secure_cookie,
            )
        ]
        return Starlette(routes=self._routes(), middleware=middleware)

    def _routes(self) -> list[Any]:
        action = self._action
        return [
            Route("/", self._page),
            Route("/login", self._login_page),
            Route("/api/session", self._session),
            Route("/api/login", self._login, methods=["POST"]),
            Route("/api/logout", self._logout, methods=["POST"]),
            Route("/api/password", self._agent(self._password), methods=["POST"]),
            Route("/api/queue", self._agent(self._queue)),
            Route("/api/conversations/{cid:int}", self._agent(self._view)),
            Route("/api/conversations/{cid:int}/claim", action(self._claim), methods=["POST"]),
            Route("/api/conversations/{cid:int}/reply", action(self._reply), methods=["POST"]),
            Route(
                "/api/conversations/{cid:int}/handback", action(self._handback), methods=["POST"]
            ),
            Route("/api/conversations/{cid:int}/putback", action(self._putback), methods=["POST"]),
            Route("/api/conversations/{cid:int}/resolve", action(self._resolve), methods=["POST"]),
            Route("/api/conversations/{cid:int}/notes", action(self._note), methods=["POST"]),
            *self._suggestion_routes(),
            WebSocketRoute("/ws", self._websocket),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ]

    def _suggestion_routes(self) -> list[Route]:
        """FAQ entries learned from agents' answers (learning/suggestion_server.py)."""
        s = self._suggestions
        if s is None:
            return []
        return [
            Route("/api/suggestions", self._agent(s.pending)),
            Route("/api/suggestions/{sid:int}/accept", self._agent(s.accept), methods=["POST"]),
            Route("/api/suggestions/{sid:int}/reject", self._agent(s.reject), methods=["POST"]),
        ]

    # -- who is asking --------------------------------------------------------------------------

    async def _current(self, conn: HTTPConnection) -> Agent | None:
        login, agent_id = conn.session.get("login"), conn.session.get("agent_id")
        if not isinstance(login, str) or not isinstance(agent_id, int):
            return None
        return await asyncio.to_thread(self._logged_in, login, agent_id)

    def _logged_in(self, login: str, agent_id: int) -> Agent | None:
        with Session(self._db, expire_on_commit=False) as session:
            row = session.get(AgentLogin, login)
            if row is None or row.ended_at is not None or row.agent_id != agent_id:
                return None
            return session.get(Agent, agent_id)

    def _agent(self, endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
        async def guarded(request: Request) -> Response:
            try:
                agent = await self._current(request)
                if agent is None:
                    raise ApiError(401, "not_logged_in", "Log in first.")
                if request.method == "POST":
                    _check_csrf(request)
                return _secure(await endpoint(request, agent))
            except ApiError as error:
                return _secure(error.response())

        return guarded

    def _action(self, endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
        """A change to a conversation: answered with the conversation's new view."""

        async def act(request: Request, agent: Agent) -> Response:
            await endpoint(request, agent)
            return await self._view(request, agent)

        return self._agent(act)

    # -- pages and session ----------------------------------------------------------------------

    async def _page(self, request: Request) -> Response:
        if await self._current(request) is None:
            return _secure(RedirectResponse("/agent/login", status_code=303))
        return _secure(FileResponse(STATIC / "console.html", media_type="text/html"))

    async def _login_page(self, request: Request) -> Response:
        return _secure(FileResponse(STATIC / "login.html", media_type="text/html"))

    async def _session(self, request: Request) -> Response:
        agent = await self._current(request)
        csrf = request.session.get("csrf") or secrets.token_urlsafe(24)
        request.session["csrf"] = csrf
        return _secure(JSONResponse({"agent": _agent_json(agent), "csrf": csrf}))

    async def _login(self, request: Request) -> Response:
        try:
            _check_csrf(request)
            body = await _body(request)
            username = str(body.get("username", "")).strip().lower()[:64]
            password = str(body.get("password", ""))[:1024]
            device = self._device(request, username)
            attempt = await self._reserve(request, username, device)
            agent = await self._checked(self._accounts.authenticate, username, password)
            if agent is None or agent.id is None:
                raise ApiError(401, "bad_credentials", "Wrong username or password.")
            await attempt.succeeded()
        except ApiError as error:
            return _secure(error.response())
        login = await asyncio.to_thread(self._start_login, agent.id)
        request.session.clear()
        csrf = secrets.token_urlsafe(24)
        request.session.update({"login": login, "agent_id": agent.id, "csrf": csrf})
        response = JSONResponse({"agent": _agent_json(agent), "csrf": csrf})
        token = self._devices.dumps({"n": username, "d": device or secrets.token_urlsafe(16)})
        response.set_cookie(
            DEVICE_COOKIE,
            token,
            max_age=DEVICE_DAYS * 86400,
            path="/agent",
            secure=self._secure_cookie,
            httponly=True,
            samesite="strict",
        )
        return _secure(response)

    async def _logout(self, request: Request) -> Response:
        try:
            _check_csrf(request)
        except ApiError as error:
            return _secure(error.response())
        login, agent_id = request.session.get("login"), request.session.get("agent_id")
        if isinstance(login, str):
            await asyncio.to_thread(self._end_login, login)
            if isinstance(agent_id, int):
                self.desk.close_consoles(agent_id, {login}, CLOSE_LOGGED_OUT, "logged out")
        request.session.clear()
        return _secure(JSONResponse({"ok": True}))

    async def _password(self, request: Request, agent: Agent) -> Response:
        """The agent's own password change: the current one first; their other logins end."""
        body = await _body(request)
        current, new = body.get("current"), body.get("new")
        if not isinstance(current, str) or not isinstance(new, str) or len(new) > 1024:
            raise ApiError(400, "bad_request", "Give the current and the new password.")
        login, agent_id = str(request.session.get("login")), agent.id or 0
        device = self._device(request, agent.username)
        attempt = await self._reserve(request, agent.username, device)
        try:
            ended = await self._checked(
                self._accounts.change_password, agent_id, current[:1024], new, login
            )
        except WrongPasswordError as exc:
            raise ApiError(403, "wrong_password", "The current password is not right.") from exc
        except AgentError as exc:
            await attempt.succeeded()  # the right current password: not a guess
            raise ApiError(400, "bad_password", f"The new password is refused: {exc}.") from exc
        await attempt.succeeded()
        self.desk.close_consoles(agent_id, set(ended), CLOSE_LOGGED_OUT, "password changed")
        return JSONResponse({"ok": True, "logins_ended": len(ended)})

    async def _reserve(self, request: Request, username: str, device: str | None) -> Attempt:
        """Count the attempt before any password is hashed (one step that checks and counts:
        handoff/logins.py)."""
        try:
            return await self.logins.reserve(username, _address(request), device)
        except ThrottledError as exc:
            raise ApiError(
                429,
                "too_many_attempts",
                "Too many login attempts for this name or "
                f"from this address; try again in {exc.retry_after} seconds.",
                retry_after=exc.retry_after,
            ) from exc

    async def _checked(self, fn: Callable[..., Any], *args: Any) -> Any:
        """`fn` (which hashes a password) in the password thread; 503 when it is full."""
        try:
            return await self.logins.check(lambda: fn(*args))
        except BusyError as exc:
            raise ApiError(
                503,
                "busy",
                "The server is checking many logins; try again in a few seconds.",
                retry_after=exc.retry_after,
            ) from exc

    def _device(self, request: Request, username: str) -> str | None:
        """This browser's device id when its device cookie is `username`'s (and genuine)."""
        token = request.cookies.get(DEVICE_COOKIE)
        if not token:
            return None
        try:
            data = self._devices.loads(token, max_age=DEVICE_DAYS * 86400)
        except BadSignature:
            return None
        if not isinstance(data, dict) or data.get("n") != username:
            return None
        device = data.get("d")
        return device if isinstance(device, str) else None

    def _start_login(self, agent_id: int) -> str:
        login = secrets.token_urlsafe(32)
        with Session(self._db) as session:
            session.add(AgentLogin(id=login, agent_id=agent_id))
            agent = session.get(Agent, agent_id)
            if agent is not None:
                agent.last_seen_at = utcnow()
                session.add(agent)
            session.commit()
        return login

    def _end_login(self, login: str) -> None:
        with Session(self._db) as session:
            row = session.exec(select(AgentLogin).where(AgentLogin.id == login)).first()
            if row is not None and row.ended_at is None:
                row.ended_at = utcnow()
                session.add(row)
                session.commit()

    # -- the API --------------------------------------------------------------------------------

    async def _queue(self, request: Request, agent: Agent) -> Response:
        return JSONResponse(await self.desk.board_for(agent))

    async def _view(self, request: Request, agent: Agent) -> Response:
        cid = request.path_params["cid"]
        view = await self.desk.view(cid) if _is_id(cid) else None
        if view is None:
            raise ApiError(404, "unknown_conversation", "There is no such conversation.")
        return JSONResponse(view)

    async def _claim(self, request: Request, agent: Agent) -> Response:
        cid = await self._known(request)
        change = await self.desk.claim(agent, cid)
        if not change.done:
            taken_by = await self.desk.owner_name(change.owner)
            raise ApiError(
                409, "taken", f"{taken_by} already has this conversation.", owner=change.owner
            )
        return Response(status_code=204)

    async def _reply(self, request: Request, agent: Agent) -> Response:
        cid, body = await self._known(request), await _body(request)
        text = str(body.get("text", "")).strip()
        client_id = str(body.get("client_id", "")).strip()[:128] or secrets.token_hex(8)
        draft_use = body.get("draft", "own")
        if not text:
            raise ApiError(400, "bad_request", "Write something to send.")
        if len(text) > MAX_REPLY_CHARS:
            raise ApiError(
                413, "too_large", f"Replies can be at most {MAX_REPLY_CHARS} characters."
            )
        if draft_use not in DRAFT_USES:
            raise ApiError(400, "bad_request", f"draft is one of {', '.join(DRAFT_USES)}")
        await self._mine(self.desk.reply(agent, cid, text, client_id, draft_use))
        return Response(status_code=204)

    async def _handback(self, request: Request, agent: Agent) -> Response:
        await self._mine(self.desk.release(agent, await self._known(request), BOT, "handed_back"))
        return Response(status_code=204)

    async def _putback(self, request: Request, agent: Agent) -> Response:
        await self._mine(self.desk.release(agent, await self._known(request), QUEUE, "put_back"))
        return Response(status_code=204)

    async def _resolve(self, request: Request, agent: Agent) -> Response:
        cid, body = await self._known(request), await _body(request)
        outcome = body.get("outcome")
        if outcome not in OUTCOMES:
            raise ApiError(400, "bad_request", f"outcome is one of {', '.join(OUTCOMES)}")
        await self._mine(self.desk.release(agent, cid, BOT, str(outcome)))
        return Response(status_code=204)

    async def _note(self, request: Request, agent: Agent) -> Response:
        cid, body = await self._known(request), await _body(request)
        text = str(body.get("text", "")).strip()
        if not text or len(text) > MAX_REPLY_CHARS:
            raise ApiError(400, "bad_request", "A note is 1 to 4000 characters.")
        await self.desk.note(agent, cid, text)
        return Response(status_code=204)

    async def _known(self, request: Request) -> int:
        cid: int = request.path_params["cid"]
        if not _is_id(cid) or not await self.desk.exists(cid):
            raise ApiError(404, "unknown_conversation", "There is no such conversation.")
        return cid

    async def _mine(self, action: Awaitable[Any]) -> None:
        try:
            await action
        except NotYoursError as exc:
            who = await self.desk.owner_name(exc.owner)
            raise ApiError(
                409, "not_yours", f"{who} has this conversation, not you.", owner=exc.owner
            ) from exc

    # -- the websocket --------------------------------------------------------------------------

    async def _websocket(self, ws: WebSocket) -> None:
        await ws.accept()
        origin, host = ws.headers.get("origin"), ws.headers.get("host")
        if origin is not None and urlsplit(origin).netloc != host:
            await ws.close(4403)
            return
        agent = await self._current(ws)
        if agent is None:
            await ws.close(CLOSE_LOGGED_OUT)
            return
        console = Console(Outbox(ws), agent, str(ws.session.get("login")))
        await self.desk.console_opened(console)
        watch = asyncio.create_task(self._watch_login(console))
        OPEN_SOCKETS.labels("console").inc()
        try:
            await console.outbox.guard(self._read(ws, console))
        finally:
            OPEN_SOCKETS.labels("console").dec()
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch
            await self.desk.console_closed(console)

    async def _read(self, ws: WebSocket, console: Console) -> None:
        """Frames until the console goes; any frame the console would not send gets an error
        frame, and the socket stays open."""
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                self.desk.send(console, _bad("frames are JSON text, not binary"))
                continue
            try:
                await self._on_frame(console, text)
            except Exception:  # one bad frame must not end the console
                log.exception("console frame failed")
                self.desk.send(console, _bad("that frame could not be handled"))

    async def _watch_login(self, console: Console) -> None:
        """Close the console once its login has ended elsewhere (another process, the CLI)."""
        while True:
            await asyncio.sleep(RECHECK_EVERY)
            agent_id = console.agent.id or 0
            if await asyncio.to_thread(self._logged_in, console.login, agent_id) is None:
                console.outbox.drop(CLOSE_LOGGED_OUT, "logged out")
                return

    async def _on_frame(self, console: Console, raw: str) -> None:
        frame = _frame(raw)
        if isinstance(frame, str):
            self.desk.send(console, _bad(frame))
        elif frame.get("type") == "ping":
            self.desk.send(console, {"type": "pong"})
        elif frame.get("type") == "typing":
            cid, on = frame.get("conversation_id"), frame.get("on", False)
            if not _is_id(cid) or not isinstance(on, bool):
                self.desk.send(console, _bad("typing needs a conversation_id and on: true/false"))
                return
            await self.desk.agent_typing(console.agent, cid, on)
        else:
            self.desk.send(console, _bad("expected a ping or typing frame"))


def _frame(raw: str) -> dict[str, Any] | str:
    """The frame as a JSON object, or what is wrong with it."""
    if len(raw) > MAX_FRAME_CHARS:
        return f"a frame is at most {MAX_FRAME_CHARS} characters"
    try:
        frame = json.loads(raw)
    except (ValueError, RecursionError):  # ValueError: also numbers of over 4300 digits
        return "a frame is a JSON object"
    return frame if isinstance(frame, dict) else "a frame is a JSON object"


def _is_id(value: Any) -> TypeGuard[int]:
    """An id a database can hold (JSON allows any number, booleans are ints to Python)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def _check_csrf(request: Request) -> None:
    expected = request.session.get("csrf")
    given = request.headers.get("x-csrf-token", "")
    if not isinstance(expected, str) or not secrets.compare_digest(expected, given):
        raise ApiError(403, "csrf", "Missing or wrong CSRF token; reload the page.")


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError as exc:
        raise ApiError(400, "bad_request", "The body is not JSON.") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "bad_request", "The body is a JSON object.")
    return body


def _address(request: Request) -> str:
    return request.client.host if request.client else "?"


def _bad(message: str) -> dict[str, Any]:
    return {"type": "error", "code": "bad_frame", "message": message}


def _agent_json(agent: Agent | None) -> dict[str, Any] | None:
    if agent is None:
        return None
    return {"id": agent.id, "username": agent.username, "display_name": agent.display_name}


def _secure(response: Response) -> Response:
    response.headers.update(HEADERS)
    return response
