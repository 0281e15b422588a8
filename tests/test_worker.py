"""The engine worker: turns computed off the event loop, in batches, each to its own caller."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

import pytest

from engine.engine import Engine
from engine.types import Inbound, Turn
from engine.worker import EngineWorker


async def test_many_messages_at_once_each_get_their_own_turn(engine: Engine) -> None:
    worker = EngineWorker(engine, max_batch=8)
    worker.start()
    texts = ["hello", "which payment methods do you accept?", "do you ship to norway?"] * 10

    inbounds = [Inbound(f"w-{uuid.uuid4()}", t, "test") for t in texts]
    try:
        turns = list(await asyncio.gather(*(worker.handle(i) for i in inbounds)))
    finally:
        worker.stop()
    assert [t.inbound.text for t in turns] == texts
    assert {t.intent.intent for t in turns[1::3]} == {"check_payment_methods"}


class _BrokenOnce:
    """Stands in for the engine: fails the first batch, then answers as the real one."""

    def __init__(self, real: Engine) -> None:
        self.real, self.failed = real, False

    def handle_many(self, batch: Sequence[Inbound]) -> list[Turn]:
        if not self.failed:
            self.failed = True
            raise RuntimeError("disk full")
        return self.real.handle_many(batch)


async def test_a_failed_batch_is_an_error_for_its_callers_and_the_worker_goes_on(
    engine: Engine,
) -> None:
    worker = EngineWorker(_BrokenOnce(engine))  # type: ignore[arg-type]
    worker.start()

    async def ask(text: str) -> Turn:
        return await worker.handle(Inbound(f"w-{uuid.uuid4()}", text, "test"))

    try:
        with pytest.raises(RuntimeError, match="disk full"):
            await ask("hello")
        assert (await ask("hello")).intent.intent == "smalltalk"
    finally:
        worker.stop()
