"""How the desk's parts write: on the engine's worker thread, in order with the turns."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

T = TypeVar("T")


class Runner(Protocol):
    """Runs `fn` where conversations are written (the engine's worker thread)."""

    def __call__(self, fn: Callable[[], T], /) -> Awaitable[T]: ...
