"""One asyncio lock per key (a conversation), kept only while someone holds it or waits for it:
a process that sees a million conversations does not keep a million locks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Hashable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class KeyedLocks(Generic[K]):
    """`async with locks[key]:` runs one holder per key at a time, in the order they came
    (asyncio locks are fair); a key's lock is forgotten when its last holder or waiter leaves."""

    def __init__(self) -> None:
        self._locks: dict[K, tuple[asyncio.Lock, int]] = {}  # the lock, holders and waiters

    def __len__(self) -> int:
        return len(self._locks)

    def __getitem__(self, key: K) -> AbstractAsyncContextManager[None]:
        return self._hold(key)

    @asynccontextmanager
    async def _hold(self, key: K) -> AsyncIterator[None]:
        lock, users = self._locks.get(key) or (asyncio.Lock(), 0)
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)
