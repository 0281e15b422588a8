"""The parts a desk is built on in this process: with the engine here (one process, or an
engine worker), or beside engine workers (a web process with REDIS_URL)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from engine.generators.writer import Writer
from engine.store import ConversationStore
from engine.types import Inbound, Turn
from engine.worker import EngineWorker
from handoff.runner import OneThread, Runner
from handoff.turn_stream import TurnStream
from kb.database import Database
from kb.embeddings import Embedder
from kb.knowledge import load_catalog
from kb.orders import OrderBook
from kb.search import Catalog
from learning.suggestion_server import KnowledgeReloader
from shopclerk.live import Live
from shopclerk.settings import Settings
from shopclerk.wiring import Models, embedder, load_engine, load_knowledge, load_writer

if TYPE_CHECKING:
    import openai


@dataclass
class Parts:
    """What the desk and the channels are built on, with or without an engine here."""

    store: ConversationStore
    catalog: Catalog
    orders: OrderBook
    encoder: Embedder
    handle: Callable[[Inbound], Awaitable[Turn]]
    run: Runner
    writer: Writer | None
    elsewhere: Callable[[Inbound], Awaitable[None]] | None
    reload: Callable[[], Coroutine[Any, Any, None]]
    follow: Callable[[], Coroutine[Any, Any, None]]
    stop: Callable[[], None]
    depth: Callable[[], int]  # turns waiting here: for the engine, or for the workers' word


def with_engine(
    settings: Settings, db: Database, loaded: Models, client: openai.AsyncOpenAI | None
) -> Parts:
    engine = load_engine(settings, db, loaded)
    worker = EngineWorker(engine, max_queued=settings.max_queued_turns)
    worker.start()
    # FAQ entries accepted from agents' answers are indexed and used at once; so are index
    # changes made by another process (`shopclerk kb ...`), within seconds.
    reloader = KnowledgeReloader(
        engine, settings.index_dir, partial(load_knowledge, db, settings.index_dir), worker.run
    )

    return Parts(
        engine.store,
        engine.stages.lookup.catalog,
        engine.stages.lookup.orders,
        loaded.encoder,
        worker.handle,
        worker.run,
        load_writer(settings, client),
        None,
        reloader.reload,
        reloader.follow,
        worker.stop,
        lambda: worker.depth,
    )


def beside_workers(settings: Settings, db: Database, live: Live, models: Models | None) -> Parts:
    """A web process: no intent model, speller or search here, only the records the frames
    and the console show, and the encoder that indexes the FAQ entries agents accept (the
    workers follow the indexes' changes)."""
    assert live.redis is not None
    stream = TurnStream(live.redis, live.prefix, live.bus, max_queued=settings.max_queued_turns)
    writes = OneThread()

    async def no_engine(inbound: Inbound) -> Turn:
        raise RuntimeError("a web process beside engine workers answers no turn itself")

    async def nothing() -> None:
        return None

    return Parts(
        ConversationStore(db),
        load_catalog(db),
        OrderBook(db),
        models.encoder if models is not None else embedder(settings),
        no_engine,
        writes,
        None,
        stream.submit,
        nothing,
        nothing,
        writes.stop,
        stream.waiting,
    )
