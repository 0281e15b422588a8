"""Answers written by a model (engine/generators/openai.py): streamed to the customer as they
come, and the stored reply rewritten before any channel shows it (the grounded one stays when
the model cannot)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from engine.generators.prompt import Document, Said
from engine.state import ConversationStore
from engine.types import Inbound
from handoff.customers import Customers
from handoff.runner import Runner

if TYPE_CHECKING:  # the openai client takes half a second to import: not when it is unused
    from engine.generators.openai import Written


class Writer(Protocol):
    """Writes the bot's answer with a model (engine/generators/openai.py)."""

    async def answer(
        self,
        documents: Sequence[Document],
        history: Sequence[Said],
        text: str,
        grounded: str,
        on_delta: Callable[[str], Awaitable[None]] | None = None,
    ) -> Written: ...


class ModelAnswers:
    def __init__(
        self, writer: Writer, store: ConversationStore, run: Runner, customers: Customers
    ) -> None:
        self._writer = writer
        self._store = store
        self._run = run
        self._customers = customers

    async def write(self, inbound: Inbound, cid: int) -> None:
        store = self._store
        found = await asyncio.to_thread(store.answered, cid, inbound.client_message_id)
        if found is None:
            return
        customer, bot, earlier = found
        docs = [Document.from_dict(d) for d in customer.understanding.get("documents", [])]
        history = [Said(m.role, m.text) for m in earlier]
        side, stream = self._customers.side(inbound.channel), f"m{bot.id}"

        async def on_delta(delta: str) -> None:
            if side is not None:
                await side.notify(inbound.conversation_key, "stream", stream=stream, delta=delta)

        written = await self._writer.answer(docs, history, customer.text, bot.text, on_delta)
        revised = {"generation": written.as_dict(), "stream": stream}
        bot_id = bot.id or 0
        await self._run(lambda: store.revise(bot_id, written.text, revised))
