"""Telling "the database (or Redis) cannot be reached" from a bug, and an outage from a request.

When PostgreSQL goes away every request fails the same way: logging a traceback for each one
buries the one line an operator needs. `unreachable(exc)` says whether a failure is the
connection's (the client is told to retry; nothing is wrong with its message), and `Outage`
logs one warning when such failures start and one info line when a request succeeds again:

    ok ──failed()──> down (warning: what failed, once) ──ok()──> ok (info: how long, how many)
                      └── failed() again: counted, not logged
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Final

from sqlalchemy import exc as sa_exc

log = logging.getLogger(__name__)

RETRY_AFTER: Final = 2  # seconds a client waits before resending while the database is down


def unreachable(exc: BaseException) -> bool:
    """`exc` (or what it was raised from) is a lost or refused connection to the database or
    Redis, not a fault of the request."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _connection_error(current):
            return True
        current = current.__cause__ or current.__context__
    return False


def _connection_error(exc: BaseException) -> bool:
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, sa_exc.OperationalError):
        return _transient(exc.orig)
    kind = type(exc)
    if getattr(kind, "service_unreachable", False):  # says so itself (no engine worker answers)
        return True
    # By module, not by import: psycopg and redis are optional drivers here.
    module = kind.__module__
    if module.startswith("psycopg") and kind.__name__ == "OperationalError":
        return True
    return module.startswith("redis") and kind.__name__ in {"ConnectionError", "TimeoutError"}


def _transient(orig: BaseException | None) -> bool:
    """SQLite says OperationalError of a missing table too (a bug, to be seen): only a locked
    or unopenable file counts as the database being away. Any other driver's
    OperationalError is about the connection (PostgreSQL: refused, lost, timed out)."""
    if type(orig).__module__ != "sqlite3":
        return True
    text = str(orig).lower()
    return "locked" in text or "unable to open" in text


class Outage:
    """One spell of failures to reach `what`: logged when it starts and when it ends."""

    def __init__(
        self, what: str = "the database or Redis", clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.what = what
        self._clock = clock
        self.since: float | None = None
        self.refused = 0  # requests turned away during the current spell

    @property
    def down(self) -> bool:
        return self.since is not None

    def failed(self, exc: BaseException) -> int:
        """A request failed on `exc` (see `unreachable`): the seconds its client should wait."""
        self.refused += 1
        if self.since is None:
            self.since = self._clock()
            reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
            what = getattr(type(exc), "service_unreachable_name", self.what)
            log.warning(
                "%s is unreachable (%s%s): clients are asked to retry in %d s until it is back",
                what,
                type(exc).__name__,
                f": {reason}" if reason else "",
                RETRY_AFTER,
            )
        return RETRY_AFTER

    def ok(self) -> None:
        """A request that needed `what` succeeded: the outage, if any, is over."""
        if self.since is None:
            return
        lasted = self._clock() - self.since
        log.info(
            "%s is back after %.1f s; %d requests were asked to retry",
            self.what,
            lasted,
            self.refused,
        )
        self.since, self.refused = None, 0
