"""How the desk's parts write: on the engine's worker thread, in order with the turns."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol, TypeVar

T = TypeVar("T")


class Runner(Protocol):
    """Runs `fn` where conversations are written (the engine's worker thread)."""

    def __call__(self, fn: Callable[[], T], /) -> Awaitable[T]: ...


class OneThread:
    """A `Runner` for a process with no engine (a web process beside engine workers): the
    desk's writes on one thread of their own, in the order they were asked for."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="desk-writes")

    def __call__(self, fn: Callable[[], T], /) -> Awaitable[T]:
        return asyncio.get_running_loop().run_in_executor(self._pool, fn)

    def stop(self) -> None:
        self._pool.shutdown(wait=True)
