"""Rates: at most N events in any W seconds per key (a session, an address, a login name), in
this process or in Redis so that many processes grant one budget between them. The widget's
limits (channels/web/limits.py) and the console's login budgets (handoff/logins.py) both count
here. (It lives in handoff, the lowest layer both can import that already speaks to Redis: the
engine stays free of it.)

`Rates` makes them: `Rates()` keeps everything in this process (as a single `serve` with no
`REDIS_URL` always has); `Rates(redis, prefix)` keeps them in Redis.

In Redis:

- **A sliding-window log**, one sorted set per (limit, key) of the moments events were counted,
  in one Lua script that drops what left the window, checks every budget the event spends and
  counts it in all of them or in none. It is the in-memory algorithm (the same "at most N in
  any W seconds" and the same exact wait), and the sets stay small: at most a budget's worth of
  entries, each set expiring a window after its last event. (GCRA would keep one number per key
  but smooths bursts: a customer's three quick messages would be refused where they are refused
  nowhere today.) The script reads Redis's own clock, so processes whose clocks differ agree.
  The check and the count are one script call, so parallel events cannot all slip past a budget
  between them; an event counted can be given back (`Counted.give_back`: a login that
  succeeded was not a guess).
- **Keys** start with the prefix (`SHOPCLERK_REDIS_PREFIX`), so deployments and tests can share
  one Redis, and every key expires on its own.
- **While Redis is out of reach** each process goes back to its own in-memory counts, and logs
  one line when that starts and one when Redis is back (and tries Redis again at most every
  `RETRY_REDIS` seconds, so callers do not each wait for a connect timeout). Refusing every
  event while Redis is down would turn a Redis outage into an outage; dropping the limits would
  open the door they guard. Per-process limits are what one process had before Redis, and still
  bound each process.
"""

from __future__ import annotations

import itertools
import logging
import os
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from redis.exceptions import RedisError

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)
WINDOW: Final = 60.0  # seconds: a rate is "per minute" unless it says otherwise
RETRY_REDIS: Final = 5.0  # seconds between tries while Redis is out of reach
# Out of reach, timed out, or refusing (out of memory, a read-only replica): each the same to
# whoever is counted, whose request should not fail for it.
UNREACHABLE = (RedisError, OSError)
Clock = Callable[[], float]

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

# KEYS: the budgets an event was counted in; ARGV[1]: the event's id.
GIVE_BACK = """
for _, key in ipairs(KEYS) do redis.call('ZREM', key, ARGV[1]) end
return #KEYS
"""


class RateLimit:
    """At most `budget` events in any `window` seconds, per key, in this process."""

    def __init__(self, budget: int, window: float = WINDOW, clock: Clock = time.monotonic) -> None:
        self.budget, self.window = budget, window
        self._clock = clock
        self._sent: dict[str, deque[float]] = defaultdict(deque)
        self._swept = clock()

    def __len__(self) -> int:
        """Keys remembered (for the memory soak)."""
        return len(self._sent)

    def retry_after(self, key: str, take: bool = True) -> float:
        """0 when `key` may go now (and, with `take`, counts it), else seconds to wait."""
        wait = self.wait(key)
        if not wait and take:
            self.take(key)
        return wait

    def wait(self, key: str) -> float:
        """0 when `key` may go now, else seconds to wait; counts nothing."""
        now = self._clock()
        self._sweep(now)
        sent = self._sent.get(key)
        if sent is None:
            return 0.0
        while sent and sent[0] <= now - self.window:
            sent.popleft()
        if not sent:
            del self._sent[key]
            return 0.0
        if len(sent) >= self.budget:
            return max(0.1, round(sent[0] + self.window - now, 1))
        return 0.0

    def take(self, key: str) -> float:
        """Count an event for `key` (whatever its budget says); the moment it was counted."""
        now = self._clock()
        self._sent[key].append(now)
        return now

    def give_back(self, key: str, at: float) -> None:
        """Forget the event counted for `key` at `at` (if it is still held)."""
        sent = self._sent.get(key)
        if sent is not None and at in sent:
            sent.remove(at)
            if not sent:
                del self._sent[key]

    def _sweep(self, now: float) -> None:
        """Keys come and go (every session is one): once a window, forget those idle for one,
        so what is kept is at most two windows' keys, however many visitors came before. (A
        new dict: a dict keeps its largest table however many keys are deleted from it.)"""
        if now - self._swept < self.window:
            return
        self._swept = now
        recent = {k: s for k, s in self._sent.items() if s and s[-1] > now - self.window}
        self._sent = defaultdict(deque, recent)


class SharedRateLimit:
    """A `RateLimit` held in Redis: one budget per key across every process. `local` counts
    while Redis is out of reach."""

    def __init__(
        self, redis: SharedRedis, name: str, budget: int, window: float, clock: Clock
    ) -> None:
        self.budget, self.window = budget, window
        self.local = RateLimit(budget, window, clock)
        self._redis = redis
        self._name = name

    def __len__(self) -> int:
        return len(self.local)

    def key(self, key: str) -> str:
        return f"{self._redis.prefix}rate:{self._name}:{key}"


Rate = RateLimit | SharedRateLimit


@dataclass
class Counted:
    """One event: counted in every budget it spends (`wait` 0), or in none (`wait`: seconds
    until it would be). What it was counted in, to give it back."""

    wait: float = 0.0
    local: list[tuple[RateLimit, str, float]] = field(default_factory=list)
    shared: tuple[SharedRedis, list[str], str] | None = None

    async def give_back(self) -> None:
        """The event does not count after all (a login that succeeded was not a guess)."""
        for limit, key, at in self.local:
            limit.give_back(key, at)
        self.local = []
        if self.shared is not None:
            redis, keys, event = self.shared
            self.shared = None
            await redis.give_back(keys, event)


async def count(*limits: tuple[Rate, str]) -> Counted:
    """Count one event in every (limit, key), or, when one refuses, in none. In-memory limits
    are checked and counted with no await between, and the shared ones in one script call: so
    parallel events cannot all pass a budget between a check and a count."""
    mine = [(limit, key) for limit, key in limits if isinstance(limit, RateLimit)]
    shared = [(limit, key) for limit, key in limits if isinstance(limit, SharedRateLimit)]
    wait = max((limit.wait(key) for limit, key in mine), default=0.0)
    if wait:
        return Counted(wait)
    counted = Counted()
    if shared:
        counted = await _count_shared(shared)
        if counted.wait:
            return counted
    local = _count_local(mine)  # (none of these awaited: still within their budgets)
    counted.local += local.local
    return counted


async def retry_after(*limits: tuple[Rate, str]) -> float:
    """0 when every (limit, key) allows one more (and all are counted), else the longest wait;
    nothing is counted when one refuses."""
    return (await count(*limits)).wait


async def _count_shared(limits: Sequence[tuple[SharedRateLimit, str]]) -> Counted:
    redis = limits[0][0]._redis
    event = redis.event()
    keys = [limit.key(key) for limit, key in limits]
    budgets = [(limit.budget, limit.window) for limit, _ in limits]
    waited = await redis.take(keys, budgets, event)
    if waited is None:  # out of reach: this process's own counts
        return _count_local([(limit.local, key) for limit, key in limits])
    if waited:
        return Counted(waited)
    return Counted(shared=(redis, keys, event))


def _count_local(limits: Sequence[tuple[RateLimit, str]]) -> Counted:
    wait = max((limit.wait(key) for limit, key in limits), default=0.0)
    if wait:
        return Counted(wait)
    return Counted(local=[(limit, key, limit.take(key)) for limit, key in limits])


class SharedRedis:
    """The Redis every process keeps its limits in, and what happens while it is out of reach
    (see the module docstring). channels/web/limits.py runs its connection counts through
    `call` too, so that one outage is noticed, and logged, once."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis, self.prefix = redis, prefix
        self.process = f"{os.getpid()}-{secrets.token_hex(4)}"
        self._take = redis.register_script(TAKE)
        self._give_back = redis.register_script(GIVE_BACK)
        self._events = (f"{self.process}:{n}" for n in itertools.count())
        self._down_until: float | None = None  # monotonic; None: reachable

    def event(self) -> str:
        """A new event id, unique among every process's."""
        return next(self._events)

    async def take(
        self, keys: Sequence[str], budgets: Sequence[tuple[int, float]], event: str
    ) -> float | None:
        """Seconds to wait (0: `event` is counted in every key); None: Redis is out of reach."""
        args: list[Any] = [event]
        for budget, window in budgets:
            args += [budget, int(window * 1000)]
        waited = await self.call(self._take, list(keys), args)
        return None if waited is None else _seconds(int(waited))

    async def give_back(self, keys: Sequence[str], event: str) -> None:
        await self.call(self._give_back, list(keys), [event])

    async def call(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        """The script's answer; None when Redis is out of reach (now or a moment ago)."""
        if not self.reachable():
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

    def reachable(self) -> bool:
        return self._down_until is None or time.monotonic() >= self._down_until


def _seconds(ms: int) -> float:
    return max(0.1, round(ms / 1000, 1)) if ms > 0 else 0.0


class Rates:
    """Makes rate limits: in this process (no `redis`), or shared in Redis."""

    def __init__(
        self, redis: Redis | None = None, prefix: str = "shopclerk:", clock: Clock = time.monotonic
    ) -> None:
        self.shared = SharedRedis(redis, prefix) if redis is not None else None
        self._clock = clock

    def rate(self, name: str, budget: int, window: float = WINDOW) -> Rate:
        """At most `budget` events in any `window` seconds per key; `name` tells it apart from
        the other rates."""
        if self.shared is None:
            return RateLimit(budget, window, self._clock)
        return SharedRateLimit(self.shared, name, budget, window, self._clock)
