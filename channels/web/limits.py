"""Message, session and hello rates (per session, per address, per socket) and per-address
connection counts, in memory (one process)."""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Callable

SWEEP_EVERY = 1000  # calls between forgetting keys that sent nothing in the last minute


class RateLimit:
    """At most `per_minute` events in any 60 seconds, per key (a session, an address)."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._sent: dict[str, deque[float]] = defaultdict(deque)
        self._calls = 0

    def retry_after(self, key: str, take: bool = True) -> float:
        """0 when `key` may go now (and, with `take`, counts it), else seconds to wait."""
        now = self._clock()
        self._sweep(now)
        sent = self._sent[key]
        while sent and sent[0] <= now - 60:
            sent.popleft()
        if len(sent) >= self.per_minute:
            return max(0.1, round(sent[0] + 60 - now, 1))
        if take:
            sent.append(now)
        elif not sent:
            del self._sent[key]
        return 0.0

    def _sweep(self, now: float) -> None:
        """Keys come and go (every session is one): forget the idle ones now and then."""
        self._calls += 1
        if self._calls % SWEEP_EVERY:
            return
        for key in [k for k, sent in self._sent.items() if not sent or sent[-1] <= now - 60]:
            del self._sent[key]


def retry_after(*limits: tuple[RateLimit, str]) -> float:
    """0 when every (limit, key) allows one more (and all are counted), else the longest wait;
    nothing is counted when one refuses."""
    wait = max((limit.retry_after(key, take=False) for limit, key in limits), default=0.0)
    if wait:
        return wait
    for limit, key in limits:
        limit.retry_after(key)
    return 0.0


class ConnectionCount:
    """Open sockets per client address."""

    def __init__(self, per_address: int) -> None:
        self.per_address = per_address
        self._open: dict[str, int] = defaultdict(int)

    def acquire(self, address: str) -> bool:
        if self._open[address] >= self.per_address:
            return False
        self._open[address] += 1
        return True

    def release(self, address: str) -> None:
        self._open[address] -= 1
        if self._open[address] <= 0:
            del self._open[address]
