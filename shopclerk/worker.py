"""`shopclerk worker`: an engine worker. It holds the models and the indexes, takes customer
messages from the web processes over Redis (handoff/turn_stream.py) and answers them with the
whole desk (`Desk.handle`), telling every process over the bus. As many run as the load needs;
each takes what it can (handoff/turn_stream.py has the delivery rules).

SIGTERM or SIGINT: take no more turns, answer and acknowledge the ones in hand, then stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from wsgiref.simple_server import WSGIServer

from prometheus_client import start_http_server

from engine.metrics import QUEUE_DEPTH
from handoff.desk import Desk, DeskConfig
from handoff.tickets import Tickets
from handoff.turn_stream import TurnConsumer
from shopclerk.database import open_db
from shopclerk.live import open_live
from shopclerk.parts import with_engine
from shopclerk.settings import Settings
from shopclerk.wiring import Models, limit_threads, load_models

log = logging.getLogger(__name__)


class Worker:
    """One engine worker; `run` in an event loop, `stop` from anywhere."""

    def __init__(self, settings: Settings, models: Models | None = None) -> None:
        if not settings.redis_url:
            raise ValueError("an engine worker needs REDIS_URL (the web processes' Redis)")
        self._settings = settings
        self._models = models
        self._consumer: TurnConsumer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_asked = False
        self.started = asyncio.Event()  # set once it takes turns (for tests and logs)

    async def run(self) -> int:
        """Answer turns until stopped; how many were answered."""
        settings = self._settings
        self._loop = asyncio.get_running_loop()
        limit_threads(settings.threads)
        db = open_db(settings)
        live = open_live(settings)
        assert live.redis is not None
        parts = with_engine(settings, db, self._models or load_models(settings), None)
        hours, away, flag = settings.hours, settings.agent_away_seconds, settings.queue_flag_seconds
        desk = Desk(
            parts.handle,
            parts.run,
            Tickets(db, parts.store),
            parts.orders,
            DeskConfig(hours, away, flag),
            parts.writer,
            live.bus,
            live.leader,
        )
        consumer = self._consumer = TurnConsumer(
            live.redis, live.prefix, live.bus, desk.handle, claim_after=settings.turn_claim_seconds
        )
        following = asyncio.create_task(parts.follow())
        metrics = _serve_metrics(settings.worker_metrics_port, parts.depth)
        try:
            await desk.start()
            log.info("engine worker %s is taking turns", consumer.consumer)
            if self._stop_asked:
                consumer.stop()
            self.started.set()
            await consumer.run()
            return consumer.answered
        finally:
            if metrics is not None:
                metrics.shutdown()
                QUEUE_DEPTH.set_function(lambda: 0.0)
            following.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await following
            await desk.stop()
            parts.stop()
            await live.close()
            db.dispose()

    def stop(self) -> None:
        """Take no more turns; `run` returns once those in hand are answered (thread-safe)."""
        self._stop_asked = True
        if self._loop is not None and self._consumer is not None:
            self._loop.call_soon_threadsafe(self._consumer.stop)


def _serve_metrics(port: int | None, depth: Callable[[], int]) -> WSGIServer | None:
    """Prometheus metrics on `port` (the turns' latency and handoffs are counted where the
    turns are answered: here), on a thread of prometheus-client's own."""
    if port is None:
        return None
    QUEUE_DEPTH.set_function(depth)
    server, _thread = start_http_server(port)
    log.info("metrics on port %d", port)
    return server


async def serve_worker(settings: Settings) -> int:
    """`shopclerk worker`: until SIGTERM or SIGINT."""
    worker = Worker(settings)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, worker.stop)
    return await worker.run()
