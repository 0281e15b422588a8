"""What joins this process to the desk's other processes: with REDIS_URL, a Redis client, the
bus (handoff/bus.py) and the lead of the sweeper's chores (handoff/leader.py); without it,
nothing to join (`NoBus`, `Alone`), and the process is the whole desk."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import RedisError

from handoff.bus import Bus, NoBus, RedisBus
from handoff.leader import Alone, Leader, RedisLeader
from shopclerk.settings import Settings

LIMITS_CONNECTIONS = 100  # the limits' connections to Redis, at most, per process
LIMITS_WAIT = 2.0  # seconds a call may wait for one of them before the limits go per process


@dataclass
class Live:
    bus: Bus = field(default_factory=NoBus)
    leader: Leader = field(default_factory=Alone)
    redis: Redis | None = None
    prefix: str = ""

    async def close(self) -> None:
        if self.redis is not None:
            with contextlib.suppress(RedisError):
                await self.redis.aclose()


def open_live(settings: Settings) -> Live:
    """Built in the running event loop (the client's connections belong to it)."""
    if not settings.redis_url:
        return Live()
    redis = Redis.from_url(
        settings.redis_url,
        health_check_interval=10,
        socket_connect_timeout=5,
        socket_keepalive=True,
    )
    prefix = settings.redis_prefix
    return Live(RedisBus(redis, prefix), RedisLeader(redis, f"{prefix}leader"), redis, prefix)


def limits_redis(url: str) -> Redis:
    """The limits' own client (handoff/rates.py, channels/web/limits.py), connecting when first
    used: timeouts and retries short enough that an unreachable Redis costs a customer's
    message a moment (redis-py's default retries take about 4 s to give up on a refused
    connection), and a pool where a burst waits its turn for a connection. (redis-py's default
    pool refuses the 101st call at once, and each refusal sends the limits back to per-process
    ones: 200 parallel guesses at a password would do that on purpose.)"""
    retry = Retry(ExponentialBackoff(cap=0.2, base=0.02), retries=2)
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=LIMITS_CONNECTIONS,
        timeout=LIMITS_WAIT,
        socket_timeout=2,
        socket_connect_timeout=2,
        retry=retry,
    )
    return Redis.from_pool(pool)
