"""Live events between the processes of one desk: web processes holding sockets and consoles,
engine workers answering turns.

Each process tells its own sockets and consoles itself, at once, as it always has; the bus
tells the others. `post` is fire-and-forget and keeps its order: the events go out one by one
on one connection, and every other process handles them one by one in that order, so a
customer's "deliver" never overtakes the "typing" posted before it.

With one process (no REDIS_URL) there is nobody else to tell: `NoBus` drops what is posted.
With REDIS_URL, `RedisBus` publishes on Redis pub/sub and listens to it.

Pub/sub, not Streams, because these events are live and the truth is elsewhere: a message is
in the database before anyone is told about it (a socket that missed the news replays by seq
when it comes back), a board is computed from the tables, a presence is refreshed every few
seconds. At-most-once to whoever listens now is right for them, and Redis keeps nothing. The
turns themselves must survive a process dying: they go through a Stream with a consumer group
(handoff/turn_stream.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable[None]]
POSTS_QUEUED = 10_000  # events waiting to go out before the oldest are dropped (Redis down)
SENT_TOGETHER = 1000  # events published in one round trip, at most
RETRY_EVERY = (0.2, 0.5, 1.0, 2.0, 5.0)  # seconds between attempts to listen again


class Bus(Protocol):
    """What the desk's parts use to tell the other processes."""

    process: str  # this process's id, unique among the desk's processes

    @property
    def shared(self) -> bool:
        """Whether other processes may be listening (there is a Redis)."""
        ...

    def on(self, topic: str, handler: Handler) -> None: ...
    def post(self, topic: str, event: dict[str, Any]) -> None: ...
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


class NoBus:
    """One process: there is nobody else to tell."""

    process = "local"
    shared = False

    def on(self, topic: str, handler: Handler) -> None:
        pass

    def post(self, topic: str, event: dict[str, Any]) -> None:
        pass

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass


class RedisBus:
    """Redis pub/sub, one channel per topic under `prefix`. Events this process posted come
    back to it from Redis and are skipped: it told its own sockets already."""

    shared = True

    def __init__(self, redis: Redis, prefix: str, process: str | None = None) -> None:
        self.process = process or uuid.uuid4().hex[:12]
        self._redis = redis
        self._prefix = prefix
        self._handlers: dict[str, list[Handler]] = defaultdict(list)
        self._outgoing: asyncio.Queue[tuple[str, str]] = asyncio.Queue(POSTS_QUEUED)
        self._tasks: list[asyncio.Task[None]] = []
        self._listening = asyncio.Event()
        self._sending = 0  # taken from the queue, not yet published
        self._down = False  # an outage is logged once, when it starts, and once when it ends

    def on(self, topic: str, handler: Handler) -> None:
        if self._tasks:
            raise RuntimeError("handlers are added before the bus starts")
        self._handlers[topic].append(handler)

    def post(self, topic: str, event: dict[str, Any]) -> None:
        payload = json.dumps({**event, "from": self.process}, separators=(",", ":"))
        if self._outgoing.full():  # Redis has been away long: the oldest news is stale anyway
            self._outgoing.get_nowait()
        self._outgoing.put_nowait((self._channel(topic), payload))

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._send(), name="bus-send"),
            asyncio.create_task(self._listen(), name="bus-listen"),
        ]
        # Listening before anything is posted: a process that starts hears what follows.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._listening.wait(), 5.0)

    async def stop(self) -> None:
        await self._drain(timeout=2.0)
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _drain(self, timeout: float) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while (not self._outgoing.empty() or self._sending) and (
            asyncio.get_running_loop().time() < deadline
        ):
            await asyncio.sleep(0.01)

    def _channel(self, topic: str) -> str:
        return f"{self._prefix}bus:{topic}"

    async def _send(self) -> None:
        """Whatever is waiting goes out in one round trip (a pipeline, in order): one publish
        at a time could not keep up with a busy process, whose queue then grew until the
        oldest news was dropped (bench/soak_visits.py --redis saw thousands waiting)."""
        while True:
            batch = [await self._outgoing.get()]
            while len(batch) < SENT_TOGETHER and not self._outgoing.empty():
                batch.append(self._outgoing.get_nowait())
            self._sending = len(batch)
            for attempt, pause in enumerate((0.0, *RETRY_EVERY)):
                await asyncio.sleep(pause)
                try:
                    await self._publish(batch)
                    self._up()
                    break
                except RedisError as exc:
                    self._outage(exc)
                    if attempt == len(RETRY_EVERY):
                        break  # given up on these: live news, the database has the rest
            self._sending = 0

    async def _publish(self, batch: list[tuple[str, str]]) -> None:
        if len(batch) == 1:
            await self._redis.publish(*batch[0])
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for channel, payload in batch:
                pipe.publish(channel, payload)
            await pipe.execute()

    async def _listen(self) -> None:
        channels = {self._channel(topic): topic for topic in self._handlers}
        attempt = 0
        while True:
            try:
                async with self._redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    if channels:
                        await pubsub.subscribe(*channels)
                    self._listening.set()
                    self._up()
                    attempt = 0
                    if not channels:
                        await asyncio.Event().wait()
                    async for message in pubsub.listen():
                        await self._dispatch(channels[message["channel"].decode()], message)
            except RedisError as exc:
                self._outage(exc)
                await asyncio.sleep(RETRY_EVERY[min(attempt, len(RETRY_EVERY) - 1)])
                attempt += 1

    async def _dispatch(self, topic: str, message: dict[str, Any]) -> None:
        try:
            event = json.loads(message["data"])
        except (ValueError, TypeError):
            log.warning("bus: an unreadable event on %s was skipped", topic)
            return
        if event.get("from") == self.process:
            return
        for handler in self._handlers[topic]:
            try:
                await handler(event)
            except Exception:  # one bad event must not stop the others
                log.exception("bus: handling a %s event failed", topic)

    def _outage(self, exc: Exception) -> None:
        if not self._down:
            self._down = True
            log.warning("Redis is unreachable (%s); live events to other processes wait", exc)

    def _up(self) -> None:
        if self._down:
            self._down = False
            log.info("Redis is reachable again")
