"""Message, session and hello rates (per session, per address, per socket) and per-address
connection counts: in memory for one process, or in Redis so that many web processes grant one
budget between them.

`Limits` makes them: `Limits()` keeps everything in this process (as a single `serve` with no
`REDIS_URL` always has); `Limits(redis, prefix)` puts every per-session and per-address limit in
Redis. A per-socket limit stays in memory either way: a socket lives in one process.

In Redis:

- **Rates: a sliding-window log**, one sorted set per (limit, key) of the moments events were
  counted, in one Lua script that drops what left the window, checks every budget the event
  spends and counts it in all of them or in none. It is the in-memory algorithm (the same
  "at most N in any 60 seconds" and the same exact `retry_after`), and the sets stay small: at
  most a budget's worth of entries (30 to 120), each set expiring a window after its last event.
  (GCRA would keep one number per key but smooths bursts: a customer's three quick messages
  would be refused where they are refused nowhere today.) The script reads Redis's own clock, so
  processes on machines whose clocks differ agree.
- **Connections: a sorted set of connection ids per address, scored by when each expires.** A
  process refreshes the expiry of its open connections every `CONNECTION_TTL / 3` seconds and
  removes a connection when it closes; a process that dies stops refreshing, and its
  connections stop counting after `CONNECTION_TTL`.
- **Keys** start with the prefix (`SHOPCLERK_REDIS_PREFIX`), so deployments and tests can share
  one Redis, and every key expires on its own.
- **While Redis is out of reach** each process goes back to its own in-memory limits, and logs
  one line when that starts and one when Redis is back (and tries Redis again at most every
  `RETRY_REDIS` seconds, so customers do not each wait for a connect timeout). Refusing every
  message while Redis is down would turn a Redis outage into a chat outage; dropping the limits
  would open the door they guard. Per-process limits are what one process had before Redis, and
  still bound each process.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from redis.exceptions import RedisError

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)
WINDOW: Final = 60.0  # seconds: every rate here is "per minute"
CONNECTION_TTL: Final = 30.0  # seconds a dead process's connections keep counting
RETRY_REDIS: Final = 5.0  # seconds between tries while Redis is out of reach
REFRESH_BATCH: Final = 1000  # connections refreshed per script call
# Out of reach, timed out, or refusing (out of memory, read-only replica): each the same to a
# customer, whose message should not fail for it.
UNREACHABLE = (RedisError, OSError)

# KEYS: one sorted set per budget. ARGV[1]: this event's id; then each key's budget and window
# (ms). All or nothing: the wait when a budget is spent (ms), else 0 and the event is counted.
TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local wait = 0
for i, key in ipairs(KEYS) do
  local budget, window = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local held = redis.call('ZCARD', key)
  if held >= budget then
    local first = redis.call('ZRANGE', key, held - budget, held - budget, 'WITHSCORES')
    wait = math.max(wait, tonumber(first[2]) + window - now)
  end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[1])
  redis.call('PEXPIRE', key, ARGV[2 * i + 1])
end
return 0
"""

# KEYS[1]: an address's connections. ARGV: budget, ttl (ms), this connection's id. 1: counted.
ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""

# KEYS: addresses' connection sets; ARGV[1]: ttl (ms), then the connection id in each.
REFRESH = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now + ttl, ARGV[i + 1])
  redis.call('PEXPIRE', key, ttl)
end
return #KEYS
"""


class RateLimit:
    """At most `per_minute` events in any 60 seconds, per key (a session, an address), in this
    process."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._sent: dict[str, deque[float]] = defaultdict(deque)
        self._swept = clock()

    def __len__(self) -> int:
        """Keys remembered (for the memory soak)."""
        return len(self._sent)

    def retry_after(self, key: str, take: bool = True) -> float:
        """0 when `key` may go now (and, with `take`, counts it), else seconds to wait."""
        now = self._clock()
        self._sweep(now)
        sent = self._sent[key]
        while sent and sent[0] <= now - WINDOW:
            sent.popleft()
        if len(sent) >= self.per_minute:
            return max(0.1, round(sent[0] + WINDOW - now, 1))
        if take:
            sent.append(now)
        elif not sent:
            del self._sent[key]
        return 0.0

    def _sweep(self, now: float) -> None:
        """Keys come and go (every session is one): once a window, forget those idle for one,
        so what is kept is at most two windows' keys, however many visitors came before. (A
        new dict: a dict keeps its largest table however many keys are deleted from it.)"""
        if now - self._swept < WINDOW:
            return
        self._swept = now
        recent = {k: sent for k, sent in self._sent.items() if sent and sent[-1] > now - WINDOW}
        self._sent = defaultdict(deque, recent)


class SharedRateLimit:
    """A `RateLimit` held in Redis: one budget per key across every process. `local` counts
    while Redis is out of reach."""

    def __init__(self, redis: SharedRedis, name: str, per_minute: int) -> None:
        self.per_minute = per_minute
        self.local = RateLimit(per_minute)
        self._redis = redis
        self._name = name

    def key(self, key: str) -> str:
        return f"{self._redis.prefix}rate:{self._name}:{key}"


Rate = RateLimit | SharedRateLimit


async def retry_after(*limits: tuple[Rate, str]) -> float:
    """0 when every (limit, key) allows one more (and all are counted), else the longest wait;
    nothing is counted when one refuses."""
    mine = [(limit, key) for limit, key in limits if isinstance(limit, RateLimit)]
    shared = [(limit, key) for limit, key in limits if isinstance(limit, SharedRateLimit)]
    wait = max((limit.retry_after(key, take=False) for limit, key in mine), default=0.0)
    if wait:
        return wait
    if shared:
        wait = await _take_shared(shared)
        if wait:
            return wait
    for limit, key in mine:
        limit.retry_after(key)
    return 0.0


async def _take_shared(limits: Sequence[tuple[SharedRateLimit, str]]) -> float:
    redis = limits[0][0]._redis
    waited = await redis.take([(limit.key(key), limit.per_minute) for limit, key in limits])
    if waited is not None:
        return waited
    return _take_local([(limit.local, key) for limit, key in limits])


def _take_local(limits: Sequence[tuple[RateLimit, str]]) -> float:
    wait = max((limit.retry_after(key, take=False) for limit, key in limits), default=0.0)
    if wait:
        return wait
    for limit, key in limits:
        limit.retry_after(key)
    return 0.0


@dataclass(frozen=True)
class Held:
    """One counted connection: its address, and its id in Redis (None: counted in memory)."""

    address: str
    id: str | None = None


class ConnectionCount:
    """Open sockets per client address, in this process."""

    def __init__(self, per_address: int) -> None:
        self.per_address = per_address
        self._open: dict[str, int] = defaultdict(int)

    def __len__(self) -> int:
        return len(self._open)

    async def acquire(self, address: str) -> Held | None:
        """The connection, counted; None when the address has its fill."""
        return self.take(address)

    def take(self, address: str) -> Held | None:
        if self._open[address] >= self.per_address:
            return None
        self._open[address] += 1
        return Held(address)

    async def release(self, held: Held) -> None:
        self._open[held.address] -= 1
        if self._open[held.address] <= 0:
            del self._open[held.address]


class SharedConnectionCount:
    """Open sockets per client address across every process (see the module docstring)."""

    def __init__(self, redis: SharedRedis, per_address: int) -> None:
        self.per_address = per_address
        self.local = ConnectionCount(per_address)
        self._redis = redis
        self._ids = (f"{redis.process}:{n}" for n in itertools.count())
        self._open: dict[str, str] = {}  # connection id -> its key, refreshed while open
        self._refreshing: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self._open) + len(self.local)

    def key(self, address: str) -> str:
        return f"{self._redis.prefix}connections:{address}"

    async def acquire(self, address: str) -> Held | None:
        self._start()
        held = Held(address, next(self._ids))
        counted = await self._redis.acquire(self.key(address), self.per_address, held.id)
        if counted is None:
            return self.local.take(address)
        if not counted:
            return None
        self._open[held.id or ""] = self.key(address)
        return held

    async def release(self, held: Held) -> None:
        if held.id is None:
            await self.local.release(held)
            return
        key = self._open.pop(held.id, None)
        if key is not None:  # (shielded: a socket cancelled at shutdown still gives it back)
            await asyncio.shield(self._redis.release(key, held.id))

    def _start(self) -> None:
        if self._refreshing is None or self._refreshing.done():
            self._refreshing = asyncio.create_task(self._refresh())

    async def _refresh(self) -> None:
        """Keep this process's connections counted while they are open."""
        while True:
            await asyncio.sleep(self._redis.connection_ttl / 3)
            await self._redis.refresh(list(self._open.items()))

    async def stop(self) -> None:
        if self._refreshing is not None:
            self._refreshing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refreshing


class SharedRedis:
    """The Redis every process keeps its limits in, and what happens while it is out of reach
    (see the module docstring)."""

    def __init__(self, redis: Redis, prefix: str, connection_ttl: float = CONNECTION_TTL) -> None:
        self.redis, self.prefix, self.connection_ttl = redis, prefix, connection_ttl
        self.process = f"{os.getpid()}-{secrets.token_hex(4)}"
        self._take = redis.register_script(TAKE)
        self._acquire = redis.register_script(ACQUIRE)
        self._refresh = redis.register_script(REFRESH)
        self._events = (f"{self.process}:{n}" for n in itertools.count())
        self._down_until: float | None = None  # monotonic; None: reachable

    async def take(self, budgets: Sequence[tuple[str, int]]) -> float | None:
        """Seconds to wait (0: counted in every budget); None: Redis is out of reach."""
        window = int(WINDOW * 1000)
        args: list[Any] = [next(self._events)]
        for _, budget in budgets:
            args += [budget, window]
        waited = await self._call(self._take, [key for key, _ in budgets], args)
        return None if waited is None else _seconds(int(waited))

    async def acquire(self, key: str, budget: int, connection: str | None) -> bool | None:
        ttl = int(self.connection_ttl * 1000)
        counted = await self._call(self._acquire, [key], [budget, ttl, connection])
        return None if counted is None else bool(counted)

    async def release(self, key: str, connection: str) -> None:
        if self._reachable():
            with contextlib.suppress(*UNREACHABLE):
                await self.redis.zrem(key, connection)

    async def refresh(self, connections: Sequence[tuple[str, str]]) -> None:
        ttl = int(self.connection_ttl * 1000)
        for start in range(0, len(connections), REFRESH_BATCH):
            batch = connections[start : start + REFRESH_BATCH]
            keys = [key for _, key in batch]
            await self._call(self._refresh, keys, [ttl, *(id_ for id_, _ in batch)])

    async def _call(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        """The script's answer; None when Redis is out of reach (now or a moment ago)."""
        if not self._reachable():
            return None
        try:
            answer = await script(keys=keys, args=args)
        except UNREACHABLE as error:
            if self._down_until is None:
                log.warning("Redis is out of reach (%s): limits hold per process for now", error)
            self._down_until = time.monotonic() + RETRY_REDIS
            return None
        if self._down_until is not None:
            log.warning("Redis is back: limits hold across processes again")
            self._down_until = None
        return answer

    def _reachable(self) -> bool:
        return self._down_until is None or time.monotonic() >= self._down_until


def _seconds(ms: int) -> float:
    return max(0.1, round(ms / 1000, 1)) if ms > 0 else 0.0


class Limits:
    """Makes the web channel's limits: in this process (no `redis`), or shared in Redis."""

    def __init__(
        self,
        redis: Redis | None = None,
        prefix: str = "shopclerk:",
        connection_ttl: float = CONNECTION_TTL,
    ) -> None:
        self.shared = SharedRedis(redis, prefix, connection_ttl) if redis is not None else None
        self._counts: list[SharedConnectionCount] = []

    def rate(self, name: str, per_minute: int) -> Rate:
        """A per-session or per-address rate, `name` telling it apart from the others."""
        if self.shared is None:
            return RateLimit(per_minute)
        return SharedRateLimit(self.shared, name, per_minute)

    def connections(self, per_address: int) -> ConnectionCount | SharedConnectionCount:
        if self.shared is None:
            return ConnectionCount(per_address)
        count = SharedConnectionCount(self.shared, per_address)
        self._counts.append(count)
        return count

    async def stop(self) -> None:
        """Stop refreshing this process's connections (they expire unless released)."""
        for count in self._counts:
            await count.stop()
