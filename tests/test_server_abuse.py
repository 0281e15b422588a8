"""Attacks on the server itself (issue 11, findings 5, 6 and 9), each tried as an attacker would,
against a real uvicorn configured as `shopclerk serve` configures it (shopclerk.serving)."""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from shopclerk.app import create_app
from shopclerk.guards import guarded
from shopclerk.settings import Settings
from shopclerk.wiring import Models
from tests.support.desk import PASSWORD, add_agent, fresh_settings
from tests.support.live_server import run_server
from tests.support.slack import SECRET
from tests.support.slack_api import SlackStandIn

CAP = 8  # connections one address may hold in these tests
ATTACKER = "127.0.0.2"  # another loopback address, so the test's own requests are not capped
HALF_SENT = [b"GET /ind", b"GET / HTTP/1.1\r\nHost: shop\r\nX-Slow: a"]
MB = 1024 * 1024


@pytest.fixture(scope="module")
def base_url(
    built_settings: Settings, tmp_path_factory: pytest.TempPathFactory, models: Models
) -> Iterator[str]:
    with SlackStandIn() as slack:
        settings = fresh_settings(
            built_settings, tmp_path_factory.mktemp("abuse"), header_timeout_seconds=2.0,
            body_timeout_seconds=2.0, connections_per_address=CAP,
            slack_bot_token=SecretStr(slack.bot_token), slack_signing_secret=SecretStr(SECRET),
            slack_api_url=slack.base_url,
        )  # fmt: skip
        with run_server(create_app(settings, models=models)) as url:
            yield url


def _port(base_url: str) -> int:
    return int(base_url.rsplit(":", 1)[1])


def _half_sent(port: int, count: int) -> list[socket.socket]:
    sockets = []
    for n in range(count):
        sock = socket.socket()
        sock.bind((ATTACKER, 0))
        sock.connect(("127.0.0.1", port))
        sock.sendall(HALF_SENT[n % len(HALF_SENT)])
        sock.settimeout(10)  # a bound for a broken server, not a wait: closing ends recv
        sockets.append(sock)
    return sockets


def _closed(sock: socket.socket) -> bool:
    """The server closed the connection (without ever answering the half-sent request)."""
    try:
        return sock.recv(1024) == b""
    except ConnectionResetError:
        return True
    finally:
        sock.close()


def test_console_cookie_is_secure_behind_https(
    built_settings: Settings, tmp_path: Path, models: Models
) -> None:
    settings = fresh_settings(built_settings, tmp_path, public_url="https://support.shop.example")
    username = add_agent(settings, "Sanne")
    with TestClient(create_app(settings, models=models), base_url="https://testserver") as client:
        csrf = client.get("/agent/api/session").json()["csrf"]
        answer = client.post("/agent/api/login", json={"username": username,
                             "password": PASSWORD}, headers={"x-csrf-token": csrf})  # fmt: skip
    assert answer.status_code == 200, answer.text
    cookies = {c.split("=", 1)[0]: c.lower() for c in answer.headers.get_list("set-cookie")}
    assert set(cookies) == {"sc_agent", "sc_agent_device"}  # the login and its device
    assert all("; secure" in cookie for cookie in cookies.values())


@pytest.mark.slow  # the header or body timeout (2 s) is the behaviour
def test_half_sent_requests_are_closed_and_do_not_shut_others_out(base_url: str) -> None:
    held = _half_sent(_port(base_url), CAP)
    # The attacker's address is full: its next connection is shut at once, requests and all.
    extra = socket.create_connection(("127.0.0.1", _port(base_url)), source_address=(ATTACKER, 0))
    extra.sendall(b"GET / HTTP/1.1\r\nHost: shop\r\n\r\n")
    extra.settimeout(10)
    assert _closed(extra)
    # Everyone else is served meanwhile, and the held sockets are closed after the header timeout.
    assert httpx.get(base_url + "/").status_code == 200
    assert all(_closed(sock) for sock in held)
    assert httpx.get(base_url + "/", headers={"host": "shop"}).status_code == 200


@pytest.mark.slow  # the header or body timeout (2 s) is the behaviour
def test_a_kept_alive_connection_cannot_trickle_its_next_request(base_url: str) -> None:
    sock = socket.create_connection(("127.0.0.1", _port(base_url)), source_address=(ATTACKER, 0))
    sock.sendall(b"GET /static/demo.css HTTP/1.1\r\nHost: shop\r\n\r\n")
    sock.settimeout(10)
    assert sock.recv(1024).startswith(b"HTTP/1.1 200")
    sock.sendall(HALF_SENT[1])
    while sock.recv(64 * 1024):  # the rest of the stylesheet, then the server closes
        pass
    sock.close()


@pytest.mark.slow  # the header or body timeout (2 s) is the behaviour
def test_a_body_that_never_arrives_gets_408(base_url: str) -> None:
    sock = socket.create_connection(("127.0.0.1", _port(base_url)), source_address=(ATTACKER, 0))
    sock.sendall(b"POST /api/sessions HTTP/1.1\r\nHost: shop\r\nContent-Length: 100\r\n\r\n{")
    sock.settimeout(10)
    assert sock.recv(1024).startswith(b"HTTP/1.1 408")
    assert _closed(sock)


def test_closed_websockets_give_their_address_slots_back(base_url: str) -> None:
    url = base_url.replace("http://", "ws://") + "/ws"
    for _ in range(2):  # twice the cap in all, never more than the cap at once
        sockets = [connect(url, origin=base_url, source_address=(ATTACKER, 0))  # type: ignore[arg-type]
                   for _ in range(CAP)]  # fmt: skip
        for ws in sockets:
            ws.close()


@pytest.mark.slow  # the header or body timeout (2 s) is the behaviour
def test_many_idle_half_sent_requests_are_all_closed(base_url: str) -> None:
    held = _half_sent(_port(base_url), CAP * 4)
    assert all(_closed(sock) for sock in held)
    assert httpx.get(base_url + "/").status_code == 200


def _body(total: int, sent: list[int]) -> Iterator[bytes]:
    chunk = b"x" * (64 * 1024)
    while sent[0] < total:
        sent[0] += len(chunk)
        yield chunk


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_a_600_mb_body_is_refused_long_before_it_is_sent(base_url: str, declared: bool) -> None:
    total, sent = 600 * MB, [0]
    headers = {"content-type": "application/json"}
    if declared:
        headers["content-length"] = str(total)
    try:
        answer = httpx.post(base_url + "/slack/events", content=_body(total, sent),
                            headers=headers, timeout=30)  # fmt: skip
        assert answer.status_code == 413
    except httpx.TransportError:
        pass  # refused mid-upload: the connection was cut while we were still sending
    assert sent[0] < 64 * MB
    assert httpx.get(base_url + "/").status_code == 200


def test_a_body_within_the_limit_still_reaches_the_handler(base_url: str) -> None:
    session = httpx.post(base_url + "/api/sessions").json()["session"]
    body = '{"text": "can I pay with Klarna?", "client_id": "c1"}' + " " * 100_000
    answer = httpx.post(f"{base_url}/api/sessions/{session}/messages", content=body,
                        headers={"content-type": "application/json"}, timeout=30)  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert "Klarna" in answer.json()["messages"][-1]["text"]


def test_a_16_mib_websocket_frame_closes_the_socket_with_1009(base_url: str) -> None:
    url = base_url.replace("http://", "ws://") + "/ws"
    with connect(url, origin=base_url) as ws:  # type: ignore[arg-type]
        # A masked text frame that declares 16 MiB, and its first KiB: the server must refuse
        # it on the length alone rather than wait for (and buffer) the rest.
        header = struct.pack("!BBQ", 0x81, 0x80 | 127, 16 * MB) + bytes(4)  # mask key 0
        ws.socket.sendall(header + b"x" * 1024)
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1009


def test_pages_forbid_framing_and_inline_script_but_the_widget_embeds(base_url: str) -> None:
    page = httpx.get(base_url + "/")
    csp = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert "default-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"]
    assert "<style" not in page.text
    assert "<script>" not in page.text
    for path in ("/static/widget.js", "/static/widget.css", "/static/widget/main.js"):
        static = httpx.get(base_url + path)
        assert static.status_code == 200
        assert static.headers["cross-origin-resource-policy"] == "cross-origin"
        assert static.headers["access-control-allow-origin"] == "*"  # modules load in CORS mode
        assert static.headers["x-content-type-options"] == "nosniff"
    # Only the public files: another site's page may not read the page, the console or the API.
    assert "access-control-allow-origin" not in page.headers
    assert "access-control-allow-origin" not in httpx.get(base_url + "/agent/").headers
    api = httpx.post(
        base_url + "/api/sessions", json={}, headers={"origin": "https://evil.example"}
    )
    assert "access-control-allow-origin" not in api.headers


async def _client_address(request: Request) -> PlainTextResponse:
    return PlainTextResponse(request.client.host if request.client else "")


@pytest.mark.parametrize("trusted", [[], ["127.0.0.0/8"]], ids=["default", "behind-a-proxy"])
def test_x_forwarded_for_is_believed_from_trusted_proxies_only(
    built_settings: Settings, trusted: list[str]
) -> None:
    settings = built_settings.model_copy(update={"trusted_proxies": trusted})
    app = Starlette(routes=[Route("/", _client_address)], middleware=list(guarded(settings)))
    app.state.settings = settings
    with run_server(app) as url:
        seen = httpx.get(url + "/", headers={"x-forwarded-for": "203.0.113.9"}).text
    assert seen == ("203.0.113.9" if trusted else "127.0.0.1")


def test_a_trusted_proxy_is_not_capped_but_its_neighbour_is(built_settings: Settings) -> None:
    settings = built_settings.model_copy(
        update={"trusted_proxies": [ATTACKER], "connections_per_address": 2}
    )
    app = Starlette(routes=[Route("/", _client_address)], middleware=list(guarded(settings)))
    app.state.settings = settings
    with run_server(app) as url:
        for source, served in ((ATTACKER, True), ("127.0.0.3", False)):
            held = [_connect(url, source) for _ in range(2)]
            for sock in held:
                sock.sendall(HALF_SENT[0])
            third = _connect(url, source)
            third.sendall(b"GET / HTTP/1.1\r\nHost: shop\r\n\r\n")
            assert _answer(third).startswith(b"HTTP/1.1 200") is served
            for sock in [*held, third]:
                sock.close()


def _connect(url: str, source: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", _port(url)), source_address=(source, 0))
    sock.settimeout(10)
    return sock


def _answer(sock: socket.socket) -> bytes:
    try:
        return sock.recv(1024)
    except ConnectionResetError:
        return b""
