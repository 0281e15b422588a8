"""`serve` started before its database (or Redis) is up waits for it, instead of exiting.

Containers start in any order, and a database restarts: each attempt that fails is logged in
one line, and the next comes after a growing interval (`FIRST_WAIT`, doubled up to
`LONGEST_WAIT`), until `Settings.startup_wait_seconds` have passed; then the last reason is
raised as `NotUpError`, which the CLI prints in one line (exit code 1). What cannot get
better by waiting (a URL that does not parse, a schema newer than the code) is raised at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Final, TypeVar

from shopclerk.database import DatabaseUnreachableError, masked, open_db
from shopclerk.settings import Settings

log = logging.getLogger(__name__)

FIRST_WAIT: Final = 0.5  # seconds before the second attempt
LONGEST_WAIT: Final = 10.0  # the interval stops growing here
T = TypeVar("T")


class NotUpError(Exception):
    """A service did not answer within `startup_wait_seconds`; the message says which, why."""


def wait_for_services(
    settings: Settings, clock: Callable[[], float] = time.monotonic, migrate: bool = True
) -> None:
    """Return once the database answers (migrated when `migrate`: `serve` migrates, a worker
    does not) and Redis, when set."""
    bound = settings.startup_wait_seconds
    deadline = clock() + bound

    def database() -> None:
        open_db(settings, migrate=migrate).dispose()

    _retrying("the database", database, (DatabaseUnreachableError,), (deadline, bound), clock)
    if settings.redis_url:
        import redis

        url = settings.redis_url

        def ping() -> None:
            client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
            try:
                client.ping()
            finally:
                client.close()

        errors = (redis.ConnectionError, redis.TimeoutError)
        _retrying(f"Redis at {masked(url)}", ping, errors, (deadline, bound), clock)


def _retrying(
    what: str,
    attempt: Callable[[], T],
    transient: tuple[type[Exception], ...],
    until: tuple[float, float],
    clock: Callable[[], float],
) -> T:
    """`attempt()` until it does not raise one of `transient`, or `until` (the deadline on
    `clock`, and the seconds it allows in all, for the message) has passed."""
    (deadline, bound), wait, tries = until, FIRST_WAIT, 1
    while True:
        try:
            result = attempt()
        except transient as exc:
            left = deadline - clock()
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if left <= 0:
                raise NotUpError(
                    f"{what} did not answer within {bound:g} s ({tries} attempt"
                    f"{'s' if tries > 1 else ''}): {reason}"
                ) from exc
            pause = min(wait, left)
            log.warning(
                "%s is not answering (attempt %d): %s; trying again in %.1f s",
                what,
                tries,
                reason,
                pause,
            )
            time.sleep(pause)
            wait, tries = min(wait * 2, LONGEST_WAIT), tries + 1
            continue
        if tries > 1:
            log.info("%s answers after %d attempts", what, tries)
        return result
