"""What an operator and an orchestrator see of a `serve` process: probes, metrics, logs, a
database outage and a restart (shopclerk/health.py, channels/web/availability.py,
shopclerk/serving.py, shopclerk/startup.py).

Metrics are read from `/metrics` as Prometheus would, on prometheus-client's process-wide
registry (a process serves one app); the tests start many apps in one process, so they assert
differences, never absolute values."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from starlette.applications import Starlette
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from typer.testing import CliRunner
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from channels.web.availability import Availability
from engine.availability import unreachable
from kb.database import open_database
from shopclerk.app import create_app
from shopclerk.cli import app as cli
from shopclerk.health import Operations
from shopclerk.settings import Settings
from shopclerk.startup import NotUpError, wait_for_services
from shopclerk.wiring import Models
from tests.support.cluster import demo_schema
from tests.support.desk import PASSWORD, add_agent, fresh_settings
from tests.support.forwarder import Forwarder, forwarding
from tests.support.frames import receive, until
from tests.support.live_server import free_port, serving

ROOT = Path(__file__).resolve().parent.parent


def sample(client: TestClient, name: str, **labels: str) -> float:
    """One sample of `/metrics`, as a scraper reads it (0 when it is not there yet)."""
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return 0.0


def hello(ws: Any, session: str | None = None) -> str:
    ws.send_json({"v": 1, "type": "hello", "session": session, "last_seq": 0})
    welcome = receive(ws)
    assert welcome["type"] == "welcome", welcome
    return str(welcome["session"])


def say(ws: Any, text_: str, client_id: str) -> dict[str, Any]:
    """Send a message; its answer (the bot's message) or the error frame that refused it."""
    ws.send_json({"v": 1, "type": "message", "client_id": client_id, "text": text_})
    return until(ws, lambda f: f["type"] == "error" or f.get("role") == "bot")


@pytest.fixture
def client(built_settings: Settings, models: Models, tmp_path: Path) -> Iterator[TestClient]:
    """An app on a copy of the built database: a handoff here must not queue in other tests."""
    settings = fresh_settings(built_settings, tmp_path)
    with TestClient(create_app(settings, models=models)) as client:
        yield client


# -- probes and metrics ---------------------------------------------------------------------------


def test_the_probes_say_alive_and_ready(client: TestClient) -> None:
    alive = client.get("/healthz")
    assert (alive.status_code, alive.json()) == (200, {"status": "ok"})
    ready = client.get("/readyz")
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})


def test_metrics_count_messages_turns_sockets_and_handoffs(client: TestClient) -> None:
    received = sample(client, "shopclerk_messages_received_total", channel="web")
    turns = sample(client, "shopclerk_turn_seconds_count")
    asked = sample(client, "shopclerk_handoffs_total", reason="customer_asked")
    sockets = sample(client, "shopclerk_open_sockets", kind="widget")
    scraped = client.get("/metrics")
    assert scraped.headers["content-type"].startswith("text/plain")
    assert "shopclerk_queue_depth 0.0" in scraped.text
    with client.websocket_connect("/ws") as ws:
        hello(ws)
        assert sample(client, "shopclerk_open_sockets", kind="widget") == sockets + 1
        assert say(ws, "which payment methods do you accept?", "m-1")["role"] == "bot"
        say(ws, "I want to talk to a human please", "m-2")
    assert sample(client, "shopclerk_messages_received_total", channel="web") == received + 2
    assert sample(client, "shopclerk_turn_seconds_count") == turns + 2
    assert sample(client, "shopclerk_handoffs_total", reason="customer_asked") == asked + 1
    assert sample(client, "shopclerk_open_sockets", kind="widget") == sockets


def test_a_message_during_the_drain_is_refused_with_a_short_retry(client: TestClient) -> None:
    refused = sample(client, "shopclerk_error_frames_total", code="unavailable")
    with client.websocket_connect("/ws") as ws:
        hello(ws)
        client.app.state.web.availability.draining = True  # type: ignore[attr-defined]
        error = say(ws, "hello?", "d-1")
        ws.send_json({"v": 1, "type": "ping"})
        assert receive(ws)["type"] == "pong"  # still open: it is closed with 1012 at the end
    assert error["code"] == "unavailable"
    assert (error["client_id"], error["retry_after"]) == ("d-1", 1)
    assert sample(client, "shopclerk_error_frames_total", code="unavailable") == refused + 1


# -- a database outage --------------------------------------------------------------------------


@pytest.fixture
def pg_schema() -> Iterator[str]:
    """A schema of its own in the machine's PostgreSQL with the demo store, dropped afterwards."""
    with demo_schema() as schema:
        yield schema


def through(forwarder: Forwarder, schema: str) -> str:
    """The database URL of `schema` reached through `forwarder`."""
    options = quote(f"-csearch_path={schema}")
    return f"postgresql+psycopg://postgres@127.0.0.1:{forwarder.port}/test?options={options}"


@pytest.mark.postgres
def test_a_database_outage_asks_clients_to_retry_and_the_message_is_answered_once(
    built_settings: Settings, models: Models, pg_schema: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with forwarding(("127.0.0.1", 5432)) as network:
        settings = built_settings.model_copy(update={"database_url": through(network, pg_schema)})
        with TestClient(create_app(settings, models=models)) as client:
            with client.websocket_connect("/ws") as ws:
                session = hello(ws)
                assert say(ws, "which payment methods do you accept?", "c-1")["role"] == "bot"
                network.cut()
                refused = [say(ws, "and do you ship to Norway?", "c-2") for _ in range(3)]
                ws.send_json({"v": 1, "type": "ping"})
                assert receive(ws)["type"] == "pong"  # the socket stays open
                ready = client.get("/readyz")
                rest = client.get(f"/api/sessions/{session}/messages")
                with client.websocket_connect("/ws") as newcomer:
                    newcomer.send_json({"v": 1, "type": "hello", "session": None, "last_seq": 0})
                    turned_away = receive(newcomer)
                    with pytest.raises(WebSocketDisconnect) as closed:
                        receive(newcomer)
                network.open()
                answered = say(ws, "and do you ship to Norway?", "c-2")
                back = client.get("/readyz")
            stored = client.get(f"/api/sessions/{session}/messages").json()["messages"]
    for error in refused:
        assert error["code"] == "unavailable"
        assert (error["client_id"], error["retry_after"]) == ("c-2", 2)
    assert ready.status_code == 503
    assert "database" in ready.json()["failing"]
    assert (rest.status_code, rest.headers["retry-after"]) == (503, "2")
    assert turned_away["code"] == "unavailable"
    assert closed.value.code == 1013
    assert answered["role"] == "bot"
    assert back.status_code == 200
    asked = [m for m in stored if m["role"] == "customer" and "Norway" in m["text"]]
    assert len(asked) == 1
    outage = [r for r in caplog.records if r.name == "engine.availability"]
    assert [r.levelname for r in outage] == ["WARNING", "INFO"], [r.getMessage() for r in outage]
    assert "unreachable" in outage[0].getMessage()
    assert "back" in outage[1].getMessage()
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"


# -- start-up -----------------------------------------------------------------------------------


def test_serve_waits_for_the_database_at_growing_intervals_then_gives_up_in_one_line(
    tmp_path: Path,
) -> None:
    env = {
        "DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test",
        "SHOPCLERK_STARTUP_WAIT_SECONDS": "2.5",
        "SHOPCLERK_LOG_FORMAT": "json",
    }
    args = ["--data-dir", str(tmp_path), "serve", "--port", str(free_port())]
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1
    waits = [json.loads(line) for line in lines if line.startswith("{")]
    assert {(w["level"], w["logger"]) for w in waits} == {("WARNING", "shopclerk.startup")}
    pauses = [float(re.findall(r"trying again in ([0-9.]+) s", w["message"])[0]) for w in waits]
    assert pauses[:2] == [0.5, 1.0]  # growing; then what is left of the 2.5 s
    assert sum(pauses) == pytest.approx(2.5, abs=0.1)
    assert f"the database did not answer within 2.5 s ({len(waits) + 1} attempts)" in errors[0]
    assert "connection" in errors[0].lower()


@pytest.mark.postgres
def test_serve_goes_on_once_a_late_database_answers(
    built_settings: Settings, pg_schema: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with forwarding(("127.0.0.1", 5432), listening=False) as network:
        settings = built_settings.model_copy(update={"database_url": through(network, pg_schema)})
        late = threading.Timer(0.8, network.open)
        late.start()
        wait_for_services(settings)
        late.join()
    waits = [r.getMessage() for r in caplog.records if r.name == "shopclerk.startup"]
    assert len(waits) >= 2
    assert "is not answering (attempt 1)" in waits[0]
    assert "answers after" in waits[-1]


# -- a restart (SIGTERM) --------------------------------------------------------------------------


def in_hand(ws: ClientConnection, client_id: str) -> None:
    ws.send(json.dumps({"v": 1, "type": "hello", "session": None, "last_seq": 0}))
    assert json.loads(ws.recv(timeout=20))["type"] == "welcome"
    ws.send(json.dumps({"v": 1, "type": "message", "client_id": client_id,
                        "text": "which payment methods do you accept?"}))  # fmt: skip
    # The bot's typing dots: the server has the message in hand (one still on the wire when
    # the drain begins is refused with `unavailable`, and the widget sends it again).
    assert json.loads(ws.recv(timeout=20)) == {"v": 1, "type": "typing", "on": True, "who": "bot"}


def until_closed(ws: ClientConnection) -> tuple[list[dict[str, Any]], int | None]:
    """Every frame the server sends, and the close code it ends with."""
    frames = []
    try:
        while True:
            frames.append(json.loads(ws.recv(timeout=20)))
    except ConnectionClosed as closed:
        return frames, closed.rcvd.code if closed.rcvd else None


def answered(frames: list[dict[str, Any]], client_id: str) -> bool:
    acked = any(f["type"] == "ack" and f["client_id"] == client_id for f in frames)
    return acked and any(f.get("role") == "bot" for f in frames)


def console(base: str, settings: Settings) -> ClientConnection:
    """A logged-in agent's console socket, once it has its first board."""
    username = add_agent(settings, "Anna")
    with httpx.Client(base_url=base) as http:
        csrf = http.get("/agent/api/session").json()["csrf"]
        body = {"username": username, "password": PASSWORD}
        assert http.post("/agent/api/login", json=body, headers={"x-csrf-token": csrf}).is_success
        cookie = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
    ws = connect(base.replace("http", "ws") + "/agent/ws", additional_headers={"cookie": cookie})
    while json.loads(ws.recv(timeout=20))["type"] != "board":
        pass
    return ws


def test_sigterm_answers_the_messages_in_hand_then_closes_with_1012(
    built_settings: Settings, models: Models, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = fresh_settings(built_settings, tmp_path)
    with serving(create_app(settings, models=models), drain=True) as live:
        agent = console(live.url, settings)
        url = live.url.replace("http", "ws") + "/ws"
        sockets = [connect(url) for _ in range(4)]
        for n, ws in enumerate(sockets):
            in_hand(ws, f"t-{n}")
        live.server.handle_exit(signal.SIGTERM, None)  # what the signal does
        ended = [until_closed(ws) for ws in sockets]
        _, agent_closed = until_closed(agent)
    for n, (frames, code) in enumerate(ended):
        assert answered(frames, f"t-{n}"), frames
        assert code == 1012
    assert agent_closed == 1012
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"


@pytest.mark.slow
def test_serve_drains_on_sigterm_and_exits_0(built_settings: Settings, tmp_path: Path) -> None:
    """`shopclerk serve` itself, in a process of its own (it loads the models: seconds)."""
    data = tmp_path / "data"
    data.mkdir()
    for built in ("models", "index"):
        (data / built).symlink_to(built_settings.data_dir / built)
    copy = fresh_settings(built_settings, tmp_path).sqlalchemy_url
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SHOPCLERK_THREADS": "1", "DATABASE_URL": copy}
    command = [sys.executable, "-c", "from shopclerk.cli import main; main()",
               "--data-dir", str(data), "serve", "--port", str(port)]  # fmt: skip
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        ready_within(f"http://127.0.0.1:{port}/readyz", server, seconds=90)
        with connect(f"ws://127.0.0.1:{port}/ws") as ws:
            in_hand(ws, "s-1")
            server.send_signal(signal.SIGTERM)
            frames, code = until_closed(ws)
        _, stderr = server.communicate(timeout=30)
    finally:
        server.kill()
    assert answered(frames, "s-1"), frames
    assert code == 1012
    assert server.returncode == 0
    assert "Traceback" not in stderr.decode()
    assert "drained: 1 widget sockets closed with 1012" in stderr.decode()


def ready_within(url: str, server: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, "serve ended before it was ready"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} was not ready within {seconds:g} s")


# -- Redis ----------------------------------------------------------------------------------------


def probes(redis_url: str, db_url: str) -> TestClient:
    """The probes alone, over a database and a Redis (the rest of the app plays no part)."""
    operations = Operations(redis_url, drain_seconds=1)
    operations.started(open_database(db_url), Availability(), lambda: 0)
    return TestClient(Starlette(routes=operations.routes()))


def test_readyz_asks_redis_too_when_there_is_one(tmp_path: Path) -> None:
    sqlite = f"sqlite:///{tmp_path / 'probe.db'}"
    with probes(f"redis://127.0.0.1:{free_port()}/15", sqlite) as down:
        refused = down.get("/readyz")
    with probes("redis://127.0.0.1:6379/15", sqlite) as up:
        ready = up.get("/readyz")
    assert refused.status_code == 503
    assert list(refused.json()["failing"]) == ["redis"]
    assert "connect" in refused.json()["failing"]["redis"].lower()
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})


def test_serve_waits_for_redis_too(built_settings: Settings) -> None:
    settings = built_settings.model_copy(
        update={"redis_url": f"redis://127.0.0.1:{free_port()}/15", "startup_wait_seconds": 0.6}
    )
    with pytest.raises(NotUpError, match=r"Redis at redis://127\.0\.0\.1:\d+/15 did not answer"):
        wait_for_services(settings)


def test_a_bug_is_not_taken_for_an_outage(tmp_path: Path) -> None:
    """A missing table on SQLite is an OperationalError too: it is a fault to see, logged with
    its traceback, not a reason to ask the customer to wait."""
    db = open_database(f"sqlite:///{tmp_path / 'bare.db'}")
    with pytest.raises(DBAPIError, match="no such table") as bug, db.connect() as connection:
        connection.execute(text("SELECT * FROM no_such_table"))
    db.dispose()
    refused = open_database(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test")
    with pytest.raises(DBAPIError, match="refused") as away, refused.connect():
        pass
    refused.dispose()
    assert not unreachable(bug.value)
    assert unreachable(away.value)
