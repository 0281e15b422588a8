"""The web channel's routes; the `WebChannel` itself is built in the app's lifespan."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket

from channels.web.channel import WebChannel

STATIC = Path(__file__).parent / "static"


def _channel(scope_owner: Request | WebSocket) -> WebChannel:
    channel: WebChannel = scope_owner.app.state.web
    return channel


async def _websocket(ws: WebSocket) -> None:
    await _channel(ws).websocket(ws)


async def _new_session(request: Request) -> JSONResponse:
    return await _channel(request).rest_new_session(request)


async def _messages(request: Request) -> JSONResponse:
    if request.method == "POST":
        return await _channel(request).rest_post_message(request)
    return await _channel(request).rest_messages(request)


async def _feedback(request: Request) -> JSONResponse:
    return await _channel(request).rest_feedback(request)


async def _demo_page(request: Request) -> Response:
    return FileResponse(STATIC / "demo.html", media_type="text/html")


def web_routes() -> list[BaseRoute]:
    return [
        Route("/", _demo_page),
        WebSocketRoute("/ws", _websocket),
        Route("/api/sessions", _new_session, methods=["POST"]),
        Route("/api/sessions/{session}/messages", _messages, methods=["GET", "POST"]),
        Route("/api/sessions/{session}/feedback", _feedback, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
