"""The engine worker: turns computed off the event loop, in batches, each to its own caller."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Sequence

import pytest

from engine.engine import Engine
from engine.types import Inbound, Turn
from engine.worker import EngineWorker, OverloadedError


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


class _Slowed:
    """The real engine behind a gate: each batch waits until the test opens it, as turns wait
    behind a busy engine. It notes how many turns were waiting whenever a batch came in."""

    def __init__(self, real: Engine) -> None:
        self.real, self.gate = real, threading.Event()
        self.worker: EngineWorker | None = None
        self.waiting: list[int] = []
        self.busy = threading.Event()  # the engine is on a batch

    def handle_many(self, batch: Sequence[Inbound]) -> list[Turn]:
        assert self.worker is not None
        self.waiting.append(self.worker.turns_waiting)
        self.busy.set()
        self.gate.wait(10)
        return self.real.handle_many(batch)


async def test_past_its_bound_a_message_is_refused_at_once_and_every_one_taken_is_answered(
    engine: Engine,
) -> None:
    slowed = _Slowed(engine)
    worker = slowed.worker = EngineWorker(slowed, max_batch=2, max_queued=3)  # type: ignore[arg-type]
    worker.start()
    keys = [f"w-{uuid.uuid4()}" for _ in range(20)]

    async def ask(key: str) -> Turn | OverloadedError:
        try:
            return await worker.handle(Inbound(key, "hello", "test", client_message_id="c-1"))
        except OverloadedError as busy:
            return busy

    asked, waiting = [], []
    try:
        for key in keys:
            asked.append(asyncio.ensure_future(ask(key)))
            await asyncio.sleep(0)  # queued, or refused
            waiting.append(worker.turns_waiting)
        refused_at_once = [t.result() for t in asked if t.done()]
        slowed.gate.set()
        outcomes = await asyncio.gather(*asked)
    finally:
        worker.stop()

    answered = {t.inbound.conversation_key for t in outcomes if isinstance(t, Turn)}
    refused = [o for o in outcomes if isinstance(o, OverloadedError)]
    assert refused_at_once == refused  # nobody waited to be told
    assert 3 <= len(answered) <= 3 + 2  # the queue, and the batch the engine was on
    assert len(answered) + len(refused) == len(keys)
    assert all(isinstance(o.retry_after, int) and 1 <= o.retry_after <= 30 for o in refused)
    assert max(waiting + slowed.waiting) <= 3
    for key in keys:  # each answered one stored with its reply; nothing of the refused
        stored = engine.store.messages_after("test", key, 0)
        assert len(stored) == (2 if key in answered else 0)


async def test_agent_replies_and_handoff_events_are_never_refused(engine: Engine) -> None:
    slowed = _Slowed(engine)
    worker = slowed.worker = EngineWorker(slowed, max_batch=1, max_queued=1)  # type: ignore[arg-type]
    worker.start()
    try:

        def hi() -> Inbound:
            return Inbound(f"w-{uuid.uuid4()}", "hi", "test")

        taken = [asyncio.ensure_future(worker.handle(hi()))]
        assert await asyncio.to_thread(slowed.busy.wait, 5)
        taken.append(asyncio.ensure_future(worker.handle(hi())))  # waits: the queue is full
        await asyncio.sleep(0)
        with pytest.raises(OverloadedError):
            await worker.handle(hi())
        call = asyncio.ensure_future(worker.run(lambda: "stored"))
        slowed.gate.set()
        assert await call == "stored"
        assert all(isinstance(t, Turn) for t in await asyncio.gather(*taken))
    finally:
        worker.stop()


async def test_the_wait_asked_for_follows_the_queue_and_the_engines_recent_pace(
    engine: Engine,
) -> None:
    """Once turns have been answered, `retry_after` is about how long the waiting ones take at
    that pace: a fuller queue asks for a longer wait."""
    worker = EngineWorker(engine, max_batch=4, max_queued=1000)
    worker.start()
    try:
        await asyncio.gather(
            *(worker.handle(Inbound(f"w-{uuid.uuid4()}", "hi", "test")) for _ in range(8))
        )
        few, many = worker._retry_after(1), worker._retry_after(100_000)
    finally:
        worker.stop()
    assert few == 1
    assert many == 30  # never more than half a minute
