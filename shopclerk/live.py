"""What joins this process to the desk's other processes: with REDIS_URL, a Redis client, the
bus (handoff/bus.py) and the lead of the sweeper's chores (handoff/leader.py); without it,
nothing to join (`NoBus`, `Alone`), and the process is the whole desk."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from redis.asyncio import Redis
from redis.exceptions import RedisError

from handoff.bus import Bus, NoBus, RedisBus
from handoff.leader import Alone, Leader, RedisLeader
from shopclerk.settings import Settings


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
