"""Slack's inbox and lease on the machine's Redis (channels/slack/cluster.py): an event id is
queued once whichever process takes it; a thread's events are handled in the order they were
queued while another thread's go on; one process at a time holds the lease, and another takes
it when the holder stops, along with the events the holder left unfinished."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from channels.slack.cluster import Inbox, SlackLease
from tests.support.slack_api import event_callback, message_event

pytestmark = pytest.mark.redis

Body = dict[str, Any]


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url("redis://127.0.0.1:6379/0")
    yield client
    await client.aclose()


@pytest.fixture
async def prefix(redis: Redis) -> AsyncIterator[str]:
    """A key prefix of the test's own, its keys removed afterwards."""
    prefix = f"test-{uuid.uuid4().hex[:10]}:"
    yield prefix
    keys = [key async for key in redis.scan_iter(f"{prefix}*")]
    if keys:
        await redis.delete(*keys)


def said(channel: str, text: str, thread: str | None = None) -> Body:
    return event_callback(message_event("UCUST", text, channel, thread_ts=thread))


def dispatcher(handled: list[str], gate: dict[str, asyncio.Event]) -> Any:
    """Notes each event's text once handled (after its gate, if it has one)."""

    async def dispatch(body: Body) -> None:
        text = body["event"]["text"]
        if text in gate:
            await gate[text].wait()
        handled.append(text)

    return dispatch


async def until(predicate: Any) -> None:
    async with asyncio.timeout(10):
        while not predicate():
            await asyncio.sleep(0.01)


async def test_an_event_id_is_queued_once_whichever_process_takes_it(
    redis: Redis, prefix: str
) -> None:
    a, b = Inbox(redis, prefix, "a"), Inbox(redis, prefix, "b")
    body = said("DCUST", "hello")
    assert await a.put(body)
    assert not await b.put(body)  # Slack's retry, on the other process
    assert not await a.put(body)
    assert await b.put(said("DCUST", "hello"))  # another event (its own id), the same text
    assert await redis.xlen(f"{prefix}slack:inbox") == 2


async def test_a_thread_s_events_wait_for_each_other_and_other_threads_do_not(
    redis: Redis, prefix: str
) -> None:
    inbox = Inbox(redis, prefix, "holder")
    await inbox.ensure_group()
    for body in (
        said("CSHOP", "first", "1.1"),
        said("CSHOP", "second", "1.1"),
        said("CSHOP", "elsewhere", "2.2"),
        said("DCUST", "in a DM"),
    ):
        await inbox.put(body)
    gate = {"first": asyncio.Event()}
    handled: list[str] = []
    inbox.start(dispatcher(handled, gate))
    try:
        await until(lambda: set(handled) == {"elsewhere", "in a DM"})
        assert "second" not in handled  # it waits for "first", held up
        gate["first"].set()
        await until(lambda: len(handled) == 4)
        assert handled[-2:] == ["first", "second"]
        await until_empty(redis, prefix)  # each acknowledged and removed
    finally:
        await inbox.stop()


async def until_empty(redis: Redis, prefix: str) -> None:
    async with asyncio.timeout(10):
        while await redis.xlen(f"{prefix}slack:inbox"):
            await asyncio.sleep(0.01)


async def test_when_the_holder_stops_another_takes_the_lease_and_its_unfinished_events(
    redis: Redis, prefix: str
) -> None:
    told: list[str] = []
    inboxes = {name: Inbox(redis, prefix, name) for name in ("a", "b")}
    handled: list[str] = []
    stuck = {"stuck": asyncio.Event()}  # "a" never gets past it

    def lease(name: str) -> SlackLease:
        async def gained() -> None:
            told.append(f"{name} gained")
            inboxes[name].start(dispatcher(handled, stuck if name == "a" else {}))

        async def lost() -> None:
            told.append(f"{name} lost")
            await inboxes[name].stop()

        return SlackLease(redis, prefix, 1.0, gained, lost)

    leases = {name: lease(name) for name in ("a", "b")}
    running = {"a": asyncio.create_task(leases["a"].run())}
    await until(leases["a"].holds)
    running["b"] = asyncio.create_task(leases["b"].run())
    await inboxes["a"].put(said("DCUST", "stuck"))
    await until(lambda: bool(inboxes["a"]._working))  # "a" has it in hand, and holds alone
    assert not leases["b"].holds()

    running["a"].cancel()  # "a" stops: it gives the lease up
    with contextlib.suppress(asyncio.CancelledError):
        await running["a"]
    await until(leases["b"].holds)
    await until(lambda: handled == ["stuck"])  # handled by "b", from where "a" left it
    await until_empty(redis, prefix)
    assert told == ["a gained", "a lost", "b gained"]
    assert not leases["a"].holds()
    running["b"].cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await running["b"]
