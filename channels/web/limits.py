"""The widget's limits: message, session and hello rates (per session, per address, per socket)
and per-address connection counts, in memory for one process, or in Redis so that many web
processes grant one budget between them.

`Limits` makes them: `Limits()` keeps everything in this process (as a single `serve` with no
`REDIS_URL` always has); `Limits(redis, prefix)` puts every per-session and per-address limit in
Redis. A per-socket limit stays in memory either way: a socket lives in one process.

- **Rates** are handoff/rates.py's (`Rates`: a sliding-window log, in Redis one Lua script that
  counts an event in all its budgets or in none); the console's login budgets count there too.
- **Connections: a sorted set of connection ids per address, scored by when each expires.** A
  process refreshes the expiry of its open connections every `CONNECTION_TTL / 3` seconds and
  removes a connection when it closes; a process that dies stops refreshing, and its
  connections stop counting after `CONNECTION_TTL`.
- **While Redis is out of reach** each process keeps its own counts (handoff/rates.py says
  why, and logs it once for rates and connections alike).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from handoff.rates import UNREACHABLE, Rate, Rates, SharedRedis

if TYPE_CHECKING:
    from redis.asyncio import Redis

CONNECTION_TTL: Final = 30.0  # seconds a dead process's connections keep counting
REFRESH_BATCH: Final = 1000  # connections refreshed per script call

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

    def __init__(self, redis: SharedRedis, per_address: int, ttl: float) -> None:
        self.per_address, self.ttl = per_address, ttl
        self.local = ConnectionCount(per_address)
        self._redis = redis
        self._acquire = redis.redis.register_script(ACQUIRE)
        self._refresh_script = redis.redis.register_script(REFRESH)
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
        args = [self.per_address, int(self.ttl * 1000), held.id]
        counted = await self._redis.call(self._acquire, [self.key(address)], args)
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
            await asyncio.shield(self._release(key, held.id))

    async def _release(self, key: str, connection: str) -> None:
        if self._redis.reachable():
            with contextlib.suppress(*UNREACHABLE):
                await self._redis.redis.zrem(key, connection)

    def _start(self) -> None:
        if self._refreshing is None or self._refreshing.done():
            self._refreshing = asyncio.create_task(self._refresh())

    async def _refresh(self) -> None:
        """Keep this process's connections counted while they are open."""
        while True:
            await asyncio.sleep(self.ttl / 3)
            connections = list(self._open.items())
            ttl = int(self.ttl * 1000)
            for start in range(0, len(connections), REFRESH_BATCH):
                batch = connections[start : start + REFRESH_BATCH]
                keys = [key for _, key in batch]
                await self._redis.call(self._refresh_script, keys, [ttl, *(i for i, _ in batch)])

    async def stop(self) -> None:
        if self._refreshing is not None:
            self._refreshing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refreshing


class Limits:
    """Makes the web channel's limits: in this process (no `redis`), or shared in Redis.
    `rates` is the process's one `Rates`, which the console's login budgets use too."""

    def __init__(
        self,
        redis: Redis | None = None,
        prefix: str = "shopclerk:",
        connection_ttl: float = CONNECTION_TTL,
    ) -> None:
        self.rates = Rates(redis, prefix)
        self._connection_ttl = connection_ttl
        self._counts: list[SharedConnectionCount] = []

    def rate(self, name: str, per_minute: int) -> Rate:
        """A per-session or per-address rate, `name` telling it apart from the others."""
        return self.rates.rate(name, per_minute)

    def connections(self, per_address: int) -> ConnectionCount | SharedConnectionCount:
        shared = self.rates.shared
        if shared is None:
            return ConnectionCount(per_address)
        count = SharedConnectionCount(shared, per_address, self._connection_ttl)
        self._counts.append(count)
        return count

    async def stop(self) -> None:
        """Stop refreshing this process's connections (they expire unless released)."""
        for count in self._counts:
            await count.stop()
