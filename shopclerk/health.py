"""What an operator and an orchestrator ask a `serve` process: `/healthz`, `/readyz`, `/metrics`.

- `/healthz`: the process answers (200 `{"status": "ok"}`); a liveness probe, nothing checked.
- `/readyz`: send it traffic? 200 when the database answers `SELECT 1` and Redis (when
  REDIS_URL is set) answers PING, each within `CHECK_TIMEOUT`, and the lifespan has loaded the
  models and the engine; else 503 with every failing check and its reason. 503 `draining` from
  the moment shutdown began, so a load balancer stops sending new clients first.
- `/metrics`: Prometheus's text format, from the objects in `engine/metrics.py`.

All three are cheap, need no login, and read no body. A check that hangs (a database behind a
black-holed network) is abandoned after `CHECK_TIMEOUT`, and is not started again while it
still runs: probes every second never pile threads up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from channels.web.availability import Availability
from engine.metrics import QUEUE_DEPTH
from kb.database import Database

if TYPE_CHECKING:
    import redis.asyncio

CHECK_TIMEOUT: Final = 2.0  # seconds the database or Redis has to answer a readiness check


class Operations:
    """One process's readiness and drain: filled in by the app's lifespan as it builds."""

    def __init__(self, redis_url: str | None, drain_seconds: float) -> None:
        self.redis_url = redis_url
        self.drain_seconds = drain_seconds
        self.loaded = False  # the lifespan built everything (models, engine, desk, channels)
        self.draining = False
        self._db: Database | None = None
        self._redis: redis.asyncio.Redis | None = None
        self._web: Availability | None = None
        self._depth: Callable[[], float] | None = None
        self._checks: dict[str, asyncio.Future[str | None]] = {}

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/healthz", self.healthz),
            Route("/readyz", self.readyz),
            Route("/metrics", self.metrics),
        ]

    def started(self, db: Database, web: Availability, depth: Callable[[], float]) -> None:
        """The lifespan built the parts: check `db` (and Redis), drain `web`."""
        self._db, self._web, self._depth = db, web, depth
        QUEUE_DEPTH.set_function(self._queue_depth)
        if self.redis_url:
            import redis.asyncio

            self._redis = redis.asyncio.from_url(
                self.redis_url, socket_timeout=CHECK_TIMEOUT, socket_connect_timeout=CHECK_TIMEOUT
            )
        self.loaded = True

    async def stopped(self) -> None:
        """The lifespan ends: what it built is let go (the metric reads 0 from now on)."""
        self.loaded = False
        self._db = self._web = self._depth = None
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    async def drain(self) -> None:
        """Shutdown began (SIGTERM): not ready any more; the widget sockets are drained."""
        self.draining = True
        if self._web is not None:
            await self._web.drain(self.drain_seconds)

    def _queue_depth(self) -> float:
        depth = self._depth
        return depth() if depth is not None else 0.0

    # -- endpoints ------------------------------------------------------------------------------

    async def healthz(self, request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(self, request: Request) -> JSONResponse:
        if self.draining:
            return JSONResponse({"status": "draining"}, status_code=503)
        failing = await self._failing()
        if failing:
            return JSONResponse({"status": "unavailable", "failing": failing}, status_code=503)
        return JSONResponse({"status": "ready"})

    async def metrics(self, request: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    # -- checks ---------------------------------------------------------------------------------

    async def _failing(self) -> dict[str, str]:
        if not self.loaded or self._db is None:
            return {"startup": "still loading the models and the engine"}
        db, client = self._db, self._redis
        checks: dict[str, Callable[[], Awaitable[str | None]]] = {
            "database": lambda: asyncio.to_thread(_select_one, db)
        }
        if client is not None:
            checks["redis"] = lambda: _ping(client)
        names = list(checks)
        results = await asyncio.gather(*(self._check(n, checks[n]) for n in names))
        return {name: why for name, why in zip(names, results, strict=True) if why}

    async def _check(self, name: str, check: Callable[[], Awaitable[str | None]]) -> str | None:
        """The reason `check` fails (None when it passes), within CHECK_TIMEOUT; one running
        check per name, shared by the probes that come meanwhile."""
        running = self._checks.get(name)
        if running is None or running.done():
            running = self._checks[name] = asyncio.ensure_future(_reason(check))
        try:
            return await asyncio.wait_for(asyncio.shield(running), CHECK_TIMEOUT)
        except TimeoutError:
            return f"no answer within {CHECK_TIMEOUT:.0f} s"


async def _reason(check: Callable[[], Awaitable[str | None]]) -> str | None:
    try:
        return await check()
    except Exception as exc:  # the reason is the answer: an operator reads it
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
        return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def _select_one(db: Database) -> None:
    with db.connect() as connection:
        connection.execute(text("SELECT 1"))


async def _ping(client: Any) -> None:
    await client.ping()
