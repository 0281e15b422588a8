"""Per-session message rates and per-address connection counts, in memory (one process)."""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Callable


class RateLimit:
    """At most `per_minute` messages in any 60 seconds, per key (a session)."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._sent: dict[str, deque[float]] = defaultdict(deque)

    def retry_after(self, key: str) -> float:
        """0 when `key` may send now (and counts this message), else seconds to wait."""
        now, sent = self._clock(), self._sent[key]
        while sent and sent[0] <= now - 60:
            sent.popleft()
        if len(sent) >= self.per_minute:
            return round(sent[0] + 60 - now, 1)
        sent.append(now)
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
