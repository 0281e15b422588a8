"""The agent console under /agent: login, its JSON API and its websocket (docs/agent-console.md).

A login is a row in `agent_login` named in a signed, HttpOnly, SameSite=Strict cookie
(Starlette's SessionMiddleware, signed with itsdangerous); logging out ends the row, so the
cookie is worthless afterwards. Every POST needs the session's CSRF token in `X-CSRF-Token`;
the websocket only opens from a page of this server.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sqlalchemy import Engine as Database
from sqlmodel import Session, select
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from engine.state import utcnow
from handoff.agents import AgentAccounts
from handoff.desk import Console, Desk
from handoff.models import Agent, AgentLogin
from handoff.ownership import BOT, QUEUE
from handoff.tickets import DRAFT_USES, OUTCOMES, NotYoursError

if TYPE_CHECKING:
    from learning.suggestion_server import SuggestionEndpoints

STATIC = Path(__file__).parent / "static"
SESSION_HOURS = 12
MAX_REPLY_CHARS = 4000
LOGIN_TRIES, LOGIN_WINDOW = 5, 300.0  # failed logins per name and address, per seconds
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
Endpoint = Callable[[Request, Agent], Awaitable[Response]]


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra

    def response(self) -> JSONResponse:
        headers = {"Retry-After": str(self.extra.pop("retry_after"))} if (
            "retry_after" in self.extra) else None  # fmt: skip
        body = {"error": {"code": self.code, "message": self.message, **self.extra}}
        return JSONResponse(body, self.status, headers=headers)


class AgentConsole:
    def __init__(
        self,
        desk: Desk,
        db: Database,
        accounts: AgentAccounts,
        suggestions: SuggestionEndpoints | None = None,
    ) -> None:
        self.desk = desk
        self._suggestions = suggestions
        self._db = db
        self._accounts = accounts
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def app(self, secret_key: str, secure_cookie: bool = False) -> Starlette:
        """The console as an ASGI app, to mount at /agent."""
        middleware = [Middleware(SessionMiddleware, secret_key=secret_key,
                                 session_cookie="sc_agent", path="/agent",
                                 max_age=SESSION_HOURS * 3600, same_site="strict",
                                 https_only=secure_cookie)]  # fmt: skip
        return Starlette(routes=self._routes(), middleware=middleware)

    def _routes(self) -> list[Any]:
        action = self._action
        return [
            Route("/", self._page),
            Route("/login", self._login_page),
            Route("/api/session", self._session),
            Route("/api/login", self._login, methods=["POST"]),
            Route("/api/logout", self._logout, methods=["POST"]),
            Route("/api/queue", self._agent(self._queue)),
            Route("/api/conversations/{cid:int}", self._agent(self._view)),
            Route("/api/conversations/{cid:int}/claim", action(self._claim), methods=["POST"]),
            Route("/api/conversations/{cid:int}/reply", action(self._reply), methods=["POST"]),
            Route("/api/conversations/{cid:int}/handback", action(self._handback),
                  methods=["POST"]),
            Route("/api/conversations/{cid:int}/putback", action(self._putback),
                  methods=["POST"]),
            Route("/api/conversations/{cid:int}/resolve", action(self._resolve),
                  methods=["POST"]),
            Route("/api/conversations/{cid:int}/notes", action(self._note), methods=["POST"]),
            *self._suggestion_routes(),
            WebSocketRoute("/ws", self._websocket),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ]  # fmt: skip

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
            username = str(body.get("username", "")).strip().lower()
            password = str(body.get("password", ""))
            address = request.client.host if request.client else "?"
            self._throttle(f"{username}|{address}")
            agent = await asyncio.to_thread(self._accounts.authenticate, username, password)
            if agent is None or agent.id is None:
                self._failures[f"{username}|{address}"].append(time.monotonic())
                raise ApiError(401, "bad_credentials", "Wrong username or password.")
        except ApiError as error:
            return _secure(error.response())
        login = await asyncio.to_thread(self._start_login, agent.id)
        request.session.clear()
        csrf = secrets.token_urlsafe(24)
        request.session.update({"login": login, "agent_id": agent.id, "csrf": csrf})
        return _secure(JSONResponse({"agent": _agent_json(agent), "csrf": csrf}))

    async def _logout(self, request: Request) -> Response:
        try:
            _check_csrf(request)
        except ApiError as error:
            return _secure(error.response())
        login = request.session.get("login")
        if isinstance(login, str):
            await asyncio.to_thread(self._end_login, login)
        request.session.clear()
        return _secure(JSONResponse({"ok": True}))

    def _throttle(self, key: str) -> None:
        now, failures = time.monotonic(), self._failures[key]
        while failures and now - failures[0] > LOGIN_WINDOW:
            failures.popleft()
        if not failures:  # nothing held against this name and address: keep no entry
            del self._failures[key]
            return
        if len(failures) >= LOGIN_TRIES:
            wait = int(LOGIN_WINDOW - (now - failures[0])) + 1
            raise ApiError(429, "too_many_attempts", "Too many failed logins; wait a while.",
                           retry_after=wait)  # fmt: skip

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
        view = await self.desk.view(request.path_params["cid"])
        if view is None:
            raise ApiError(404, "unknown_conversation", "There is no such conversation.")
        return JSONResponse(view)

    async def _claim(self, request: Request, agent: Agent) -> Response:
        cid = await self._known(request)
        change = await self.desk.claim(agent, cid)
        if not change.done:
            taken_by = await self.desk.owner_name(change.owner)
            raise ApiError(409, "taken", f"{taken_by} already has this conversation.",
                           owner=change.owner)  # fmt: skip
        return Response(status_code=204)

    async def _reply(self, request: Request, agent: Agent) -> Response:
        cid, body = await self._known(request), await _body(request)
        text = str(body.get("text", "")).strip()
        client_id = str(body.get("client_id", "")).strip()[:128] or secrets.token_hex(8)
        draft_use = body.get("draft", "own")
        if not text:
            raise ApiError(400, "bad_request", "Write something to send.")
        if len(text) > MAX_REPLY_CHARS:
            raise ApiError(413, "too_large", f"Replies can be at most {MAX_REPLY_CHARS} "
                           "characters.")  # fmt: skip
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
        if await asyncio.to_thread(self.desk.tickets.address, cid) is None:
            raise ApiError(404, "unknown_conversation", "There is no such conversation.")
        return cid

    async def _mine(self, action: Awaitable[Any]) -> None:
        try:
            await action
        except NotYoursError as exc:
            who = await self.desk.owner_name(exc.owner)
            raise ApiError(409, "not_yours", f"{who} has this conversation, not you.",
                           owner=exc.owner) from exc  # fmt: skip

    # -- the websocket --------------------------------------------------------------------------

    async def _websocket(self, ws: WebSocket) -> None:
        await ws.accept()
        origin, host = ws.headers.get("origin"), ws.headers.get("host")
        if origin is not None and urlsplit(origin).netloc != host:
            await ws.close(4403)
            return
        agent = await self._current(ws)
        if agent is None:
            await ws.close(4401)
            return
        console = Console(ws, agent)
        await self.desk.console_opened(console)
        try:
            while True:
                await self._on_frame(console, await ws.receive_text())
        except WebSocketDisconnect:
            pass
        finally:
            await self.desk.console_closed(console)

    async def _on_frame(self, console: Console, raw: str) -> None:
        try:
            frame = json.loads(raw)
        except json.JSONDecodeError:
            frame = None
        if not isinstance(frame, dict):
            await self.desk.send(console, _bad("a frame is a JSON object"))
        elif frame.get("type") == "ping":
            await self.desk.send(console, {"type": "pong"})
        elif frame.get("type") == "typing" and isinstance(frame.get("conversation_id"), int):
            await self.desk.agent_typing(console.agent, frame["conversation_id"],
                                         frame.get("on") is True)  # fmt: skip
        else:
            await self.desk.send(console, _bad("expected a ping or typing frame"))


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


def _bad(message: str) -> dict[str, Any]:
    return {"type": "error", "code": "bad_frame", "message": message}


def _agent_json(agent: Agent | None) -> dict[str, Any] | None:
    if agent is None:
        return None
    return {"id": agent.id, "username": agent.username, "display_name": agent.display_name}


def _secure(response: Response) -> Response:
    response.headers.update(HEADERS)
    return response
