"""Customer messages from the web processes to the engine workers, over a Redis Stream.

    web process: TurnStream.submit ──XADD──▶ [stream `turns`] ──XREADGROUP──▶ TurnConsumer
         ▲                                   (group `engine`)                (a worker)
         └──────── the bus: `done:<process>` ◀──── XACK, XDEL ◀── Desk.handle: stored, told

Web processes hold sockets and consoles; workers hold the models. A worker runs the whole turn
(`Desk.handle`: the engine, then the handoff, the episode, the model's rewrite) and tells every
process over the bus, as a web process with its own engine would. Then it acknowledges the
entry, and tells the web process that sent it (which acks the customer's message).

Why a Stream with a consumer group: an accepted message must be answered even if the worker
that took it dies. An entry is acknowledged only once its turn is stored; an entry a worker
took and never acknowledged is taken over by another worker after `CLAIM_AFTER` seconds.
So a turn may be delivered twice; the engine answers a client message id once
(`ConversationStore.earlier_reply`), so it is answered once. An entry that failed
`MAX_DELIVERIES` times is logged and dropped, so one poisoned message cannot loop forever.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import socket
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from engine.types import Inbound
from engine.worker import UNKNOWN_PACE_RETRY_AFTER, OverloadedError, retry_after_at
from handoff.bus import Bus

log = logging.getLogger(__name__)

GROUP = "engine"
TURN_TIMEOUT = 60.0  # seconds a web process waits for a worker's word before giving up
CLAIM_AFTER = 30.0  # seconds a taken turn may go unacknowledged before another worker takes it
MAX_DELIVERIES = 3
READ_COUNT = 64  # entries taken per read: about one engine batch
IN_FLIGHT = 128  # turns one worker works on at once (its engine answers them in batches)
LOOK_EVERY = 0.1  # seconds between looks at the stream's backlog (per web process)
PACE_WINDOW = 10.0  # seconds of the workers' pace that retry_after goes by


class TurnTimeoutError(Exception):
    """No worker answered in time (none running, or all far behind). The turn stays in the
    stream: it is answered when a worker gets to it, and shown to the customer then; the
    client is told the service is unavailable for now (engine/availability.py)."""

    service_unreachable = True
    service_unreachable_name = "the engine workers"


def _encode(inbound: Inbound) -> str:
    return json.dumps(dataclasses.asdict(inbound), separators=(",", ":"))


def _decode(raw: str | bytes) -> Inbound:
    fields = json.loads(raw)
    names = {f.name for f in dataclasses.fields(Inbound)}
    return Inbound(**{k: v for k, v in fields.items() if k in names})


class TurnStream:
    """The web process's side: hands a message to the workers and waits for its turn.

    Load shedding: when more than `max_queued` turns wait unread in the stream (the workers
    are behind), a message is refused at once with `OverloadedError` and a `retry_after` from
    the backlog and the pace the workers have been taking turns at; nothing is stored. The
    backlog is read from Redis at most every `LOOK_EVERY` seconds, not once per message."""

    def __init__(
        self,
        redis: Redis,
        prefix: str,
        bus: Bus,
        timeout: float = TURN_TIMEOUT,
        max_queued: int = 256,
    ) -> None:
        self._redis = redis
        self._stream = f"{prefix}turns"
        self._bus = bus
        self._timeout = timeout
        self._max_queued = max_queued
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._backlog = Backlog()
        bus.on(done_topic(bus.process), self._done)

    def waiting(self) -> int:
        """Messages this process handed over and is waiting on."""
        return len(self._waiting)

    async def submit(self, inbound: Inbound) -> None:
        """Returns once a worker has stored the turn and told everyone; raises the worker's
        failure as a RuntimeError, `TurnTimeoutError` when no worker answered in time."""
        await self._room()
        request = uuid.uuid4().hex
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[request] = future
        try:
            entry = {"inbound": _encode(inbound), "reply": self._bus.process, "request": request}
            await self._redis.xadd(self._stream, entry)  # type: ignore[arg-type]
            try:
                outcome = await asyncio.wait_for(future, self._timeout)
            except TimeoutError:
                raise TurnTimeoutError("no engine worker answered in time") from None
        finally:
            self._waiting.pop(request, None)
        if outcome.get("error"):
            raise RuntimeError(f"the engine worker failed on this message: {outcome['error']}")

    async def _room(self) -> None:
        backlog = self._backlog
        now = time.monotonic()
        if now - backlog.looked >= LOOK_EVERY:
            backlog.looked = now
            backlog.seen(now, *await self._unread())
        if backlog.unread >= self._max_queued:
            raise OverloadedError(backlog.retry_after())

    async def _unread(self) -> tuple[int, int]:
        """(entries no worker has taken yet, entries the workers have taken in all)."""
        try:
            groups: Any = await self._redis.xinfo_groups(self._stream)
        except ResponseError:  # no stream yet: nothing waits
            return 0, 0
        for group in groups:
            if _text(group.get("name", b"")) == GROUP:
                lag = group.get("lag")
                if lag is None:  # Redis cannot tell (entries deleted): count what is there
                    lag = await self._redis.xlen(self._stream)
                return int(lag), int(group.get("entries-read") or 0)
        return int(await self._redis.xlen(self._stream)), 0  # no worker has ever started

    async def _done(self, event: dict[str, Any]) -> None:
        future = self._waiting.get(str(event.get("request")))
        if future is not None and not future.done():
            future.set_result(event)


@dataclass
class Backlog:
    """The turns waiting unread, and the workers' recent pace of taking them."""

    unread: int = 0
    looked: float = -1e9
    pace: deque[tuple[float, int]] = field(default_factory=lambda: deque(maxlen=128))

    def seen(self, now: float, unread: int, taken: int) -> None:
        self.unread = unread
        self.pace.append((now, taken))
        while self.pace and self.pace[0][0] < now - PACE_WINDOW:
            self.pace.popleft()

    def retry_after(self) -> int:
        """Seconds until the backlog is taken at the recent pace (5 s when there is none)."""
        if len(self.pace) < 2 or self.pace[-1][1] <= self.pace[0][1]:
            return UNKNOWN_PACE_RETRY_AFTER
        (t0, n0), (t1, n1) = self.pace[0], self.pace[-1]
        return retry_after_at(self.unread, (n1 - n0) / max(t1 - t0, 0.1))


def done_topic(process: str) -> str:
    return f"done:{process}"


class TurnConsumer:
    """The worker's side: takes turns from the stream and runs them through `handle`."""

    def __init__(
        self,
        redis: Redis,
        prefix: str,
        bus: Bus,
        handle: Callable[[Inbound], Awaitable[object]],
        consumer: str | None = None,
        claim_after: float = CLAIM_AFTER,
        in_flight: int = IN_FLIGHT,
    ) -> None:
        self._redis = redis
        self._stream = f"{prefix}turns"
        self._bus = bus
        self._handle = handle
        self.consumer = consumer or f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"
        self._claim_after_ms = int(claim_after * 1000)
        self._slots = asyncio.Semaphore(in_flight)
        self._free = in_flight
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()
        self.answered = 0

    async def run(self) -> None:
        """Until `stop`: read, hand over, acknowledge; now and then take over turns that a
        dead worker left unacknowledged."""
        await self._ensure_group()
        reclaimed = 0.0
        loop = asyncio.get_running_loop()
        while not self._stopping.is_set():
            try:
                if loop.time() - reclaimed > self._claim_after_ms / 3000:
                    reclaimed = loop.time()
                    await self._reclaim()
                await self._read()
            except RedisError as exc:
                log.warning("reading turns from Redis failed (%s); trying again", exc)
                await asyncio.sleep(1.0)
        await self._finish()

    def stop(self) -> None:
        """Take no more turns; `run` returns once the turns in hand are answered."""
        self._stopping.set()

    async def _ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(self._stream, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def _read(self) -> None:
        free = max(1, min(READ_COUNT, self._free))  # what this worker can take now
        read: Any = await self._redis.xreadgroup(
            GROUP, self.consumer, {self._stream: ">"}, count=free, block=500
        )
        for _stream, entries in read or []:
            for entry_id, fields in entries:
                await self._start(entry_id, fields)

    async def _reclaim(self) -> None:
        """Turns taken by a worker that stopped acknowledging them: given up after
        MAX_DELIVERIES, else taken over."""
        pending: Any = await self._redis.xpending_range(
            self._stream, GROUP, min="-", max="+", count=100, idle=self._claim_after_ms
        )
        for item in pending:
            entry_id = item["message_id"]
            if item["times_delivered"] >= MAX_DELIVERIES:
                log.error("turn %s failed %d times; dropped", entry_id, item["times_delivered"])
                await self._forget(entry_id)
                continue
            claimed: Any = await self._redis.xclaim(
                self._stream, GROUP, self.consumer, self._claim_after_ms, [entry_id]
            )
            for claimed_id, fields in claimed:
                if fields:  # None when the entry was deleted meanwhile
                    log.info("turn %s taken over from %s", claimed_id, item["consumer"])
                    await self._start(claimed_id, fields)

    async def _start(self, entry_id: Any, fields: dict[Any, Any]) -> None:
        await self._slots.acquire()
        self._free -= 1
        task = asyncio.create_task(self._turn(entry_id, fields))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _turn(self, entry_id: Any, fields: dict[Any, Any]) -> None:
        try:
            got = {_text(k): _text(v) for k, v in fields.items()}
            reply, request = got.get("reply", ""), got.get("request", "")
            try:
                inbound = _decode(got["inbound"])
            except (KeyError, ValueError, TypeError):
                log.error("turn %s is unreadable; dropped", entry_id)
                await self._forget(entry_id)
                return
            try:
                await self._handle(inbound)
            except Exception as exc:  # left pending: taken again after CLAIM_AFTER
                log.exception("a turn failed in the engine worker")
                self._bus.post(done_topic(reply), {"request": request, "error": type(exc).__name__})
                return
            await self._forget(entry_id)
            self.answered += 1
            self._bus.post(done_topic(reply), {"request": request})
        finally:
            self._free += 1
            self._slots.release()

    async def _forget(self, entry_id: Any) -> None:
        await forget(self._redis, self._stream, GROUP, entry_id)

    async def _finish(self) -> None:
        """The turns in hand answered and acknowledged (what failed stays pending for
        another worker)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def forget(redis: Redis, stream: str, group: str, entry_id: Any) -> None:
    """A handled stream entry, acknowledged for `group` and deleted, in one transaction (the
    stream keeps only what is still to do)."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.xack(stream, group, entry_id)
        pipe.xdel(stream, entry_id)
        await pipe.execute()
