"""Login attempts: budgets that hold, and password hashing that cannot take the server down.

A guess costs the server an Argon2 hash (tens of milliseconds of CPU and 64 MiB). So:

- Every attempt is counted *before* its password is hashed, and synchronously (`reserve`, no
  await between the check and the count), so 200 parallel guesses cannot all slip past a
  budget of 5. A successful login gives its attempt back.
- Budgets per 5 minutes: 5 per name and address, 20 per address, 10 per name. A browser with
  the agent's device cookie (set at a successful login) is counted on a budget of its own
  instead of the name's, so a stranger guessing an agent's password cannot lock that agent out.
- Hashes run in one worker thread, with at most `WAITING` more waiting their turn; beyond that,
  `BusyError` (503): the event loop and the default thread pool stay free for everything else.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Final, TypeVar

WINDOW: Final = 300.0  # seconds a counted attempt is held against its budgets
PER_NAME_AND_ADDRESS: Final = 5
PER_ADDRESS: Final = 20
PER_NAME: Final = 10
PER_DEVICE: Final = 5
WAITING: Final = 8  # password checks that may wait for the one running
BUSY_RETRY: Final = 5  # seconds a client is told to wait when the waiting room is full
PRUNE_AT: Final = 10_000  # budgets kept before the expired ones are swept out
T = TypeVar("T")


class ThrottledError(Exception):
    """Too many attempts on one of the budgets."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many login attempts; retry after {retry_after} s")
        self.retry_after = retry_after


class BusyError(Exception):
    """The password checker's waiting room is full."""

    retry_after = BUSY_RETRY


@dataclass
class Attempt:
    """A counted attempt: `succeeded` gives it back to its budgets."""

    gate: LoginGate
    keys: list[str]
    at: float

    def succeeded(self) -> None:
        for key in self.keys:
            with_key = self.gate.budgets.get(key)
            if with_key is not None and self.at in with_key:
                with_key.remove(self.at)


class LoginGate:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.budgets: dict[str, deque[float]] = {}
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="password")
        self._checking = 0  # running or waiting

    def reserve(self, name: str, address: str, device: str | None = None) -> Attempt:
        """Count an attempt at `name` from `address` (from a browser with the agent's device
        cookie: `device`, its id), or raise ThrottledError when a budget is spent."""
        now = self._clock()
        if device is not None:
            limits = {f"device|{device}": PER_DEVICE, f"address|{address}": PER_ADDRESS}
        else:
            limits = {
                f"pair|{name}|{address}": PER_NAME_AND_ADDRESS,
                f"address|{address}": PER_ADDRESS,
                f"name|{name}": PER_NAME,
            }
        if len(self.budgets) > PRUNE_AT:
            self._prune(now)
        wait = 0.0
        for key, limit in limits.items():
            held = self._held(key, now)
            if len(held) >= limit:
                wait = max(wait, WINDOW - (now - held[0]))
        if wait > 0:
            raise ThrottledError(int(wait) + 1)
        for key in limits:
            self.budgets.setdefault(key, deque()).append(now)
        return Attempt(self, list(limits), now)

    async def check(self, fn: Callable[[], T]) -> T:
        """Run `fn` (which hashes a password) in the password thread, or raise BusyError."""
        if self._checking > WAITING:
            raise BusyError()
        self._checking += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, fn)
        finally:
            self._checking -= 1

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _held(self, key: str, now: float) -> deque[float]:
        held = self.budgets.get(key)
        if held is None:
            return deque()
        while held and now - held[0] > WINDOW:
            held.popleft()
        if not held:
            del self.budgets[key]
        return held

    def _prune(self, now: float) -> None:
        for key in list(self.budgets):
            self._held(key, now)
