"""One process leads the desk's chores (requeueing the conversations of agents gone away,
ending idle episodes, flagging long waits): with many processes each would otherwise do them
once, and an agent's conversation would be put back in the queue by a process that merely did
not know the agent is online elsewhere.

With REDIS_URL the leader is whoever holds a Redis key with an expiry (`RedisLeader`): it
renews the key on every sweep; when it dies, the key expires and the next process to sweep
takes over. Without Redis there is one process, and it leads (`Alone`).
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# Renew the key when it is ours, take it when it is nobody's: one step, so two processes
# can never both believe they hold it.
_HOLD = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""
_RESIGN = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class Leader(Protocol):
    async def held(self) -> bool:
        """Whether this process leads now (asked before each round of chores)."""
        ...

    async def resign(self) -> None: ...


class Alone:
    """The one process leads."""

    async def held(self) -> bool:
        return True

    async def resign(self) -> None:
        pass


class RedisLeader:
    """Leads while it holds `key`; the key lapses `ttl` seconds after its holder stops
    renewing it, so a dead leader is replaced within `ttl` plus one sweep."""

    def __init__(self, redis: Redis, key: str, ttl: float = 10.0) -> None:
        self._redis = redis
        self._key = key
        self._ttl_ms = str(int(ttl * 1000))
        self._token = uuid.uuid4().hex
        self._hold = redis.register_script(_HOLD)
        self._resign = redis.register_script(_RESIGN)
        self._leading = False

    async def held(self) -> bool:
        try:
            leading = bool(await self._hold(keys=[self._key], args=[self._token, self._ttl_ms]))
        except RedisError as exc:
            # Nobody can know who leads: lead nothing rather than risk two leaders.
            leading = False
            if self._leading:
                log.warning("leading the desk's chores paused: Redis is unreachable (%s)", exc)
        if leading != self._leading:
            log.info("this process %s the desk's chores", "leads" if leading else "no longer leads")
            self._leading = leading
        return leading

    async def resign(self) -> None:
        with contextlib.suppress(RedisError):  # else the key lapses on its own
            await self._resign(keys=[self._key], args=[self._token])
        self._leading = False
