"""The ASGI application: clients (database, models, indexes, engine worker) are built in the
lifespan, never at import time."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette

from channels.web.channel import WebChannel, WebConfig
from channels.web.routes import web_routes
from engine.worker import EngineWorker
from shopclerk.database import open_db
from shopclerk.settings import Settings
from shopclerk.wiring import limit_threads, load_engine


def create_app(settings: Settings) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        limit_threads(settings.threads)
        db = open_db(settings)
        engine = load_engine(settings, db)
        worker = EngineWorker(engine)
        worker.start()
        app.state.web = WebChannel(worker.handle, engine.store, engine.stages.lookup.catalog,
                                   web_config(settings))  # fmt: skip
        # What start-up built lives as long as the process: keep it out of the garbage
        # collector's full passes, which otherwise stall every socket now and then.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            worker.stop()
            db.dispose()

    return Starlette(routes=web_routes(), lifespan=lifespan)


def web_config(settings: Settings) -> WebConfig:
    return WebConfig(
        allowed_origins=tuple(settings.allowed_origins),
        max_message_chars=settings.max_message_chars,
        messages_per_minute=settings.ws_messages_per_minute,
        connections_per_address=settings.ws_connections_per_address,
        product_url=settings.product_url,
    )
