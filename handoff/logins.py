"""Login attempts: budgets that hold, and password hashing that cannot take the server down.

A guess costs the server an Argon2 hash (tens of milliseconds of CPU and 64 MiB). So:

- Every attempt is counted *before* its password is hashed, in one step that checks and counts
  (handoff/rates.py `count`: in memory with no await between the two; with Redis one Lua script
  call), so 200 parallel guesses cannot all slip past a budget of 5. A successful login gives
  its attempt back.
- Budgets per 5 minutes: 5 per name and address, 20 per address, 10 per name. A browser with
  the agent's device cookie (set at a successful login) is counted on a budget of its own
  instead of the name's, so a stranger guessing an agent's password cannot lock that agent out.
- With REDIS_URL the budgets are in Redis (handoff/rates.py), so many web processes grant one
  budget between them: an attacker who spreads guesses over every process gets no more. While
  Redis is out of reach each process counts on its own (and logs it once).
- Hashes run in one worker thread, with at most `WAITING` more waiting their turn; beyond that,
  `BusyError` (503): the event loop and the default thread pool stay free for everything else.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Final, TypeVar

from handoff.rates import Clock, Counted, Rate, Rates, count

WINDOW: Final = 300.0  # seconds a counted attempt is held against its budgets
PER_NAME_AND_ADDRESS: Final = 5
PER_ADDRESS: Final = 20
PER_NAME: Final = 10
PER_DEVICE: Final = 5
WAITING: Final = 8  # password checks that may wait for the one running
BUSY_RETRY: Final = 5  # seconds a client is told to wait when the waiting room is full
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

    counted: Counted

    async def succeeded(self) -> None:
        await self.counted.give_back()


class LoginGate:
    """Counts login attempts (in `rates`: this process's own, or Redis's with REDIS_URL) and
    runs their password checks."""

    def __init__(self, rates: Rates | None = None, clock: Clock = time.monotonic) -> None:
        rates = rates or Rates(clock=clock)
        self._pair = rates.rate("login-pair", PER_NAME_AND_ADDRESS, WINDOW)
        self._address = rates.rate("login-address", PER_ADDRESS, WINDOW)
        self._name = rates.rate("login-name", PER_NAME, WINDOW)
        self._device = rates.rate("login-device", PER_DEVICE, WINDOW)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="password")
        self._checking = 0  # running or waiting

    async def reserve(self, name: str, address: str, device: str | None = None) -> Attempt:
        """Count an attempt at `name` from `address` (from a browser with the agent's device
        cookie: `device`, its id), or raise ThrottledError when a budget is spent."""
        budgets: list[tuple[Rate, str]]
        if device is not None:
            budgets = [(self._device, device), (self._address, address)]
        else:
            budgets = [(self._pair, f"{name}|{address}"), (self._address, address),
                       (self._name, name)]  # fmt: skip
        counted = await count(*budgets)
        if counted.wait:
            raise ThrottledError(math.ceil(counted.wait))
        return Attempt(counted)

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
