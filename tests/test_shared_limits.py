"""Limits that hold across web processes (issue 14): two apps on one Redis (the machine's, on
127.0.0.1:6379) grant one budget between them, and a process that dies stops counting. Each test
has its own key prefix and removes its keys."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from redis import Redis as SyncRedis
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from starlette.testclient import TestClient, WebSocketTestSession

from channels.web.limits import Limits
from handoff.rates import retry_after
from shopclerk.app import create_app
from shopclerk.settings import Settings
from shopclerk.wiring import Models
from tests.support.cluster import worker_running
from tests.support.desk import fresh_settings
from tests.support.frames import Frame, receive
from tests.support.live_server import free_port

REDIS_URL = "redis://127.0.0.1:6379/0"


def prefix() -> str:
    return f"test-limits-{uuid.uuid4().hex}:"


async def forget(prefix: str) -> None:
    redis = Redis.from_url(REDIS_URL)
    keys = [key async for key in redis.scan_iter(match=f"{prefix}*")]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()


@pytest.fixture
def two_processes(
    built_settings: Settings, models: Models, tmp_path: Path
) -> Iterator[tuple[TestClient, TestClient]]:
    """Two apps (as two `serve` processes) and an engine worker on one database and one
    Redis."""
    shared = prefix()
    settings = fresh_settings(
        built_settings, tmp_path, redis_url=REDIS_URL, redis_prefix=shared,
        ws_messages_per_minute=3, ws_connections_per_address=3,
    )  # fmt: skip
    with ExitStack() as stack:
        stack.enter_context(worker_running(settings, models))  # with Redis, workers answer
        a = stack.enter_context(TestClient(create_app(settings, models=models)))
        b = stack.enter_context(TestClient(create_app(settings, models=models)))
        yield a, b
    asyncio.run(forget(shared))


def hello(ws: WebSocketTestSession, session: str | None = None) -> str:
    ws.send_json({"v": 1, "type": "hello", "session": session, "last_seq": 0})
    while (frame := receive(ws))["type"] != "welcome":
        pass
    return str(frame["session"])


def say(ws: WebSocketTestSession, text: str) -> Frame:
    """The ack, or the error, of one message."""
    ws.send_json({"v": 1, "type": "message", "client_id": str(uuid.uuid4()), "text": text})
    while (frame := receive(ws))["type"] not in ("ack", "error"):
        pass
    return frame


def test_two_processes_grant_one_message_budget_per_session(
    two_processes: tuple[TestClient, TestClient],
) -> None:
    a, b = two_processes
    with a.websocket_connect("/ws") as on_a, b.websocket_connect("/ws") as on_b:
        session = hello(on_a)
        assert hello(on_b, session) == session  # a second tab, on the other process
        assert say(on_a, "hello")["type"] == "ack"
        assert say(on_b, "do you ship to oslo?")["type"] == "ack"
        assert say(on_a, "thanks")["type"] == "ack"
        refused = [say(on_b, "one more"), say(on_a, "and another")]
    for frame in refused:
        assert frame["code"] == "rate_limited"
        assert 0 < frame["retry_after"] <= 60


def test_connections_per_address_are_counted_across_processes(
    two_processes: tuple[TestClient, TestClient],
) -> None:
    a, b = two_processes
    with ExitStack() as open_sockets:
        for app in (a, b):  # each welcomed: counted by now
            hello(open_sockets.enter_context(app.websocket_connect("/ws")))
        with a.websocket_connect("/ws") as third:
            hello(third)
            with b.websocket_connect("/ws") as fourth:
                assert receive(fourth)["code"] == "too_many_connections"
        given_back(a.app, 2)  # the third has gone: its slot is free on either process
        with b.websocket_connect("/ws") as again:
            hello(again)


def given_back(app: Any, open_now: int) -> None:
    """Wait (up to 5 s) until the address's count in Redis is down to `open_now`: the test
    client cancels a closed socket's task, which gives its slot back in a moment."""
    settings = app.state.settings
    key = f"{settings.redis_prefix}connections:testclient"
    with SyncRedis.from_url(REDIS_URL) as redis:
        deadline = time.monotonic() + 5
        while redis.zcard(key) > open_now:
            assert time.monotonic() < deadline, "the closed socket was still counted after 5 s"
            time.sleep(0.01)


@pytest.fixture
async def redis() -> AsyncIterator[tuple[Redis, str]]:
    client, shared = Redis.from_url(REDIS_URL), prefix()
    yield client, shared
    await client.aclose()
    await forget(shared)


async def test_a_dead_process_stops_counting_after_its_ttl(redis: tuple[Redis, str]) -> None:
    client, shared = redis
    dying, living = Limits(client, shared, 0.3), Limits(client, shared, 0.3)
    theirs, mine = dying.connections(2), living.connections(2)
    assert await theirs.acquire("10.0.0.1")
    assert await theirs.acquire("10.0.0.1")
    await asyncio.sleep(0.45)  # past one ttl: still open, so still counted
    assert await mine.acquire("10.0.0.1") is None
    await dying.stop()  # it dies: never releases, never refreshes again
    await asyncio.sleep(0.45)
    held = await mine.acquire("10.0.0.1")
    assert held is not None
    await mine.release(held)
    await living.stop()


async def test_shared_budgets_count_in_all_or_none(redis: tuple[Redis, str]) -> None:
    client, shared = redis
    a, b = Limits(client, shared), Limits(client, shared)
    session_a, address_a = a.rate("messages", 2), a.rate("address", 3)
    session_b, address_b = b.rate("messages", 2), b.rate("address", 3)
    assert await retry_after((session_a, "s1"), (address_a, "10.0.0.2")) == 0
    assert await retry_after((session_b, "s1"), (address_b, "10.0.0.2")) == 0
    assert 59 <= await retry_after((session_b, "s1"), (address_b, "10.0.0.2")) <= 60
    # The refusal spent nothing: the address still has one left, for another session.
    assert await retry_after((session_a, "s2"), (address_a, "10.0.0.2")) == 0
    assert await retry_after((session_a, "s3"), (address_a, "10.0.0.2")) > 0
    ttl = await client.pttl(f"{shared}rate:address:10.0.0.2")
    assert 0 < ttl <= 60_000  # gone on its own a minute after the last message


async def test_without_redis_each_process_keeps_its_own_limits(
    caplog: pytest.LogCaptureFixture,
) -> None:
    nowhere = Redis(port=free_port(), retry=Retry(NoBackoff(), 0))  # nothing listens there
    limits = Limits(nowhere, prefix())
    rate, connections = limits.rate("messages", 2), limits.connections(1)
    with caplog.at_level(logging.WARNING, logger="handoff.rates"):
        waits: list[Any] = [await retry_after((rate, "s1")) for _ in range(3)]
        held = await connections.acquire("10.0.0.3")
        refused = await connections.acquire("10.0.0.3")
    assert waits[:2] == [0, 0]
    assert waits[2] > 0
    assert held is not None
    assert refused is None
    assert len([r for r in caplog.records if "out of reach" in r.message]) == 1
    await connections.release(held)
    assert await connections.acquire("10.0.0.3") is not None
    await limits.stop()
    await nowhere.aclose()
