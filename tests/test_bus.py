"""The bus and the leader on the machine's Redis: what one process posts reaches the others, in
order, and not itself; exactly one process leads, and another takes over when it stops."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from handoff.bus import RedisBus
from handoff.leader import RedisLeader

pytestmark = pytest.mark.redis


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url("redis://127.0.0.1:6379/0")
    yield client
    await client.aclose()


def prefix() -> str:
    return f"test-{uuid.uuid4().hex[:10]}:"


async def test_what_one_process_posts_reaches_the_others_in_order_and_not_itself(
    redis: Redis,
) -> None:
    shared = prefix()
    buses = [RedisBus(redis, shared) for _ in range(3)]
    heard: list[list[Any]] = [[], [], []]
    for bus, log in zip(buses, heard, strict=True):

        async def handler(event: dict[str, Any], log: list[Any] = log) -> None:
            log.append(event["n"])

        bus.on("news", handler)
    for bus in buses:
        await bus.start()
    for n in range(50):
        buses[0].post("news", {"n": n})
    async with asyncio.timeout(10):
        while len(heard[1]) < 50 or len(heard[2]) < 50:
            await asyncio.sleep(0.01)
    assert heard[1] == heard[2] == list(range(50))
    assert heard[0] == []  # the poster told its own sockets itself
    other = RedisBus(redis, prefix())  # another desk on the same Redis hears nothing
    seen: list[Any] = []

    async def stranger(event: dict[str, Any]) -> None:
        seen.append(event)

    other.on("news", stranger)
    await other.start()
    buses[0].post("news", {"n": 99})
    async with asyncio.timeout(10):
        while 99 not in heard[1]:
            await asyncio.sleep(0.01)
    assert seen == []
    for bus in [*buses, other]:
        await bus.stop()


async def test_one_process_leads_and_another_takes_over_when_it_stops(redis: Redis) -> None:
    key = f"{prefix()}leader"
    first, second = RedisLeader(redis, key, ttl=0.3), RedisLeader(redis, key, ttl=0.3)
    assert await first.held()
    assert not await second.held()
    assert await first.held()  # renewed, still the one
    await asyncio.sleep(0.5)  # the first stops renewing (it died): its key lapses
    assert await second.held()
    assert not await first.held()
    await second.resign()  # a clean stop hands over at once
    assert await first.held()
    await first.resign()


async def test_nobody_leads_while_redis_is_unreachable() -> None:
    gone = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    assert not await RedisLeader(gone, "x").held()
    await gone.aclose()


async def test_a_busy_process_s_news_keeps_up_and_none_is_dropped(redis: Redis) -> None:
    """A process posting faster than one publish per round trip (a busy web process: every
    visitor's sockets, typing and deliveries) has its news sent together, not queued up
    until the oldest is dropped."""
    shared = prefix()
    busy, other = RedisBus(redis, shared), RedisBus(redis, shared)
    heard: list[int] = []

    async def handler(event: dict[str, Any]) -> None:
        heard.append(event["n"])

    other.on("news", handler)
    for bus in (busy, other):
        await bus.start()
    for n in range(30_000):  # 20 events each time the loop turns: ~3 times POSTS_QUEUED
        busy.post("news", {"n": n})
        if n % 20 == 19:
            await asyncio.sleep(0)
    async with asyncio.timeout(60):  # the last one posted: never the one dropped
        while not heard or heard[-1] != 29_999:
            await asyncio.sleep(0.01)
    assert len(heard) == 30_000
    assert heard == list(range(30_000))
    for bus in (busy, other):
        await bus.stop()
