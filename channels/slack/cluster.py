"""Slack with many web processes (REDIS_URL): every process is a front door, one at a time
is Slack's voice.

    Slack ──HTTP──▶ any web process: verified, acknowledged, XADDed ──▶ [stream `slack:inbox`]
                    (an event id seen before is dropped in the same step)          │
                                                                                   ▼
    the lease holder: reads the inbox, one conversation's events in the order they came,
    hands messages to the desk; alone posts to Slack (what is stored and not yet posted,
    handoff threads), alone holds the Socket Mode connection and looks at presence

Why route every event to one process rather than lock per conversation: Slack acknowledges
an event before it is handled, so two messages of one thread reaching two processes would
race to the engine (a thread reply could even be handled before the mention that opened the
thread); in the inbox they keep the order they were acknowledged in. An acknowledged event
also survives its process: it waits in the stream until the holder has handled it.

Why one poster: what Slack has been shown (`posted_seq`) is read, posted past and moved on;
two processes doing that at once would post the same answer twice. The holder is whoever
holds a Redis key with an expiry (`handoff/leader.py`'s `RedisLeader`); it renews the key every
third of its life and stops believing it holds it after half its life without a renewal, so
a holder that stalls stops posting before another can take over. The one that takes over
first posts what was pending (`SlackChannel.catch_up`) and handles what the dead holder left
unacknowledged in the inbox (an event handled twice is answered once: its message's `ts` is
its client id).

Without REDIS_URL none of this runs: the one process is the front door and the voice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from prometheus_client import Gauge
from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from channels.slack.locks import KeyedLocks
from handoff.leader import RedisLeader
from handoff.turn_stream import forget

log = logging.getLogger(__name__)

GROUP = "slack"
SEEN_FOR = 3600  # seconds an event id is remembered (Slack retries within minutes)
READ_COUNT = 64
IN_FLIGHT = 256  # events the holder works on at once (each waits for its conversation's turn)
RETRY_EVERY = 1.0  # seconds before reading the inbox again after Redis failed
READ_BLOCK_MS = 500  # a read waits this long for events; stopping waits for it to end
STOP_WAIT = 5.0  # seconds `Inbox.stop` waits for the reads and the events in hand
SPEAKS = Gauge(
    "shopclerk_slack_lease_held",
    "1 while this web process speaks for Slack (holds Slack's lease), else 0.",
)

# Remember the event id and queue the event in one step: an event is either queued and
# remembered, or neither (a process dying between the two would lose a retried event).
_PUT = """
if ARGV[1] ~= '' then
  if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[2]) then
    return false
  end
end
return redis.call('XADD', KEYS[2], '*', 'body', ARGV[3])
"""

Dispatch = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class SlackCluster:
    """What Slack needs to share the work with the desk's other processes."""

    redis: Redis
    prefix: str
    process: str  # this process's id among the desk's (the bus's)
    lease_seconds: float = 10.0


class SlackLease:
    """Who speaks for Slack: held while its Redis key is ours. `run` renews it until
    cancelled, calling `gained` when it becomes ours and `lost` when it stops being ours."""

    def __init__(
        self,
        redis: Redis,
        prefix: str,
        ttl: float,
        gained: Callable[[], Awaitable[None]],
        lost: Callable[[], Awaitable[None]],
    ) -> None:
        self._leader = RedisLeader(redis, f"{prefix}slack:lease", ttl)
        self._ttl = ttl
        self._gained = gained
        self._lost = lost
        self._until = 0.0  # monotonic time until which this process may act as the holder
        self._active = False  # `gained` was called, `lost` not yet

    def holds(self) -> bool:
        return time.monotonic() < self._until

    async def run(self) -> None:
        try:
            while True:
                asked = time.monotonic()
                if await self._leader.held():
                    self._until = asked + self._ttl / 2
                    if not self._active:
                        self._active = True
                        SPEAKS.set(1)
                        await self._gained()
                else:
                    self._until = 0.0
                    if self._active:
                        self._active = False
                        SPEAKS.set(0)
                        await self._lost()
                await asyncio.sleep(self._ttl / 3)
        finally:
            self._until = 0.0
            if self._active:
                self._active = False
                SPEAKS.set(0)
                await self._lost()
            await self._leader.resign()


class Inbox:
    """Slack's events between the front doors and the lease holder: a Redis Stream with a
    consumer group (`GROUP`), one entry per event, acknowledged and deleted once handled."""

    def __init__(self, redis: Redis, prefix: str, consumer: str) -> None:
        self._redis = redis
        self._stream = f"{prefix}slack:inbox"
        self._seen = f"{prefix}slack:seen:"
        self._consumer = consumer
        self._put = redis.register_script(_PUT)
        self._order: KeyedLocks[str] = KeyedLocks()
        self._slots = asyncio.Semaphore(IN_FLIGHT)
        self._working: set[bytes] = set()  # entry ids being handled here
        self._tasks: set[asyncio.Task[None]] = set()
        self._reader: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def put(self, body: dict[str, Any]) -> bool:
        """Queue one event (False: its event id was queued before, by any process)."""
        event_id = str(body.get("event_id") or "") if body.get("type") == "event_callback" else ""
        keys = [f"{self._seen}{event_id}", self._stream]
        args = [event_id, str(SEEN_FOR), json.dumps(body, separators=(",", ":"))]
        return bool(await self._put(keys=keys, args=args))

    async def ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(self._stream, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def start(self, dispatch: Dispatch) -> None:
        """Handle the inbox until `stop`: first what a former holder left unacknowledged,
        then what comes. Each conversation's events run one at a time, in the inbox's order;
        different conversations' at once."""
        self._stopping = asyncio.Event()
        self._reader = asyncio.create_task(self._read(dispatch), name="slack-inbox")

    async def stop(self) -> None:
        """Read no more; the events in hand are stopped (a later holder handles them again).
        The read under way is left to end by itself (within `READ_BLOCK_MS`): a blocking
        read cancelled in redis-py can leave its task hanging."""
        self._stopping.set()
        if self._reader is not None:
            await asyncio.wait({self._reader}, timeout=STOP_WAIT)
            self._reader = None
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=STOP_WAIT)

    async def _read(self, dispatch: Dispatch) -> None:
        while not self._stopping.is_set():
            try:
                await self.ensure_group()
                await self._take_over(dispatch)
                while not self._stopping.is_set():
                    read: Any = await self._redis.xreadgroup(
                        GROUP,
                        self._consumer,
                        {self._stream: ">"},
                        count=READ_COUNT,
                        block=READ_BLOCK_MS,
                    )
                    for _stream, entries in read or []:
                        for entry_id, fields in entries:
                            await self._start(entry_id, fields, dispatch)
            except RedisError as exc:
                log.warning("reading Slack's events from Redis failed (%s); trying again", exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), RETRY_EVERY)

    async def _take_over(self, dispatch: Dispatch) -> None:
        """Everything pending in the group, whoever took it, in the inbox's order."""
        start = "0-0"
        while True:
            answer: Any = await self._redis.xautoclaim(
                self._stream, GROUP, self._consumer, 0, start_id=start, count=READ_COUNT
            )
            start, entries = answer[0], answer[1]
            for entry_id, fields in entries:
                if fields:
                    await self._start(entry_id, fields, dispatch)
            if start in (b"0-0", "0-0"):
                return

    async def _start(self, entry_id: bytes, fields: dict[Any, Any], dispatch: Dispatch) -> None:
        if entry_id in self._working or self._stopping.is_set():
            return
        try:
            body: dict[str, Any] = json.loads(fields[b"body"])
        except (KeyError, ValueError, TypeError):
            log.error("an unreadable Slack event %s was dropped", entry_id)
            await self._forget(entry_id)
            return
        await self._slots.acquire()
        self._working.add(entry_id)
        # Created in the inbox's order, each task asks for its conversation's lock first
        # (asyncio locks are fair): a conversation's events run in that order.
        task = asyncio.create_task(self._handle(entry_id, body, dispatch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, entry_id: bytes, body: dict[str, Any], dispatch: Dispatch) -> None:
        try:
            async with self._order[order_key(body)]:
                try:
                    await dispatch(body)
                except Exception:  # one bad event must not stop the others, nor come back
                    log.exception("handling a Slack event failed")
                await self._forget(entry_id)
        except RedisError as exc:  # not acknowledged: handled again by the next holder
            log.warning("a Slack event was handled but not acknowledged: %s", exc)
        finally:
            self._working.discard(entry_id)
            self._slots.release()

    async def _forget(self, entry_id: bytes) -> None:
        await forget(self._redis, self._stream, GROUP, entry_id)


def order_key(body: dict[str, Any]) -> str:
    """What an event's order is kept within: its channel and thread (a DM is one thread; a
    message outside a thread starts one of its own)."""
    event = body.get("event") or {}
    if event:
        channel = str(event.get("channel") or "")
        thread = event.get("thread_ts") or event.get("ts") or ""
    else:  # a click: on a message in a channel, a thread or a DM
        container = body.get("container") or {}
        channel = str(container.get("channel_id") or (body.get("channel") or {}).get("id") or "")
        thread = container.get("thread_ts") or container.get("message_ts") or ""
    if channel.startswith("D"):
        return channel
    return f"{channel}:{thread}"
