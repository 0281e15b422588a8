"""The answer a model writes (engine/generators/openai.py) in place of the grounded one, for a
reply the engine composed from records: its words go to `on_delta` as they pass the fact check,
and the stored reply is revised before any channel shows it. When the model cannot answer, the
grounded text stands. Nothing here knows how the customer is reached: the caller shows the
deltas."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from engine.generators.prompt import Document, Said
from engine.store import ConversationStore
from engine.understanding import Understanding

if TYPE_CHECKING:  # the openai client takes half a second to import: not when it is unused
    from engine.generators.openai import Written

# Shows one piece of the answer: (the stream it belongs to, the new text).
StreamDelta = Callable[[str, str], Awaitable[None]]
# Runs a write where conversations are written (the engine's worker thread, `EngineWorker.run`).
Run = Callable[[Callable[[], None]], Awaitable[None]]


class Writer(Protocol):
    """Writes the bot's answer with a model (`OpenAIWriter`, engine/generators/openai.py)."""

    async def answer(
        self,
        documents: Sequence[Document],
        history: Sequence[Said],
        text: str,
        grounded: str,
        on_delta: Callable[[str], Awaitable[None]] | None = None,
    ) -> Written: ...


class AnswerWriter:
    """Has the model rewrite a stored reply from records, and stores what the customer got."""

    def __init__(self, writer: Writer, store: ConversationStore, run: Run) -> None:
        self._writer = writer
        self._store = store
        self._run = run

    async def write(
        self, conversation_id: int, client_message_id: str | None, on_delta: StreamDelta
    ) -> str | None:
        """The final text of the bot's reply to the customer's message (`client_message_id`,
        the latest when None): the model's if it passed, else the grounded one. None when no
        such reply is stored. The deltas name their stream `m<bot message id>`, as stored."""
        store = self._store
        found = await asyncio.to_thread(store.answered, conversation_id, client_message_id)
        if found is None:
            return None
        customer, bot, earlier = found
        docs = [Document.from_dict(d) for d in customer.understood.documents or []]
        history = [Said(m.role, m.text) for m in earlier]
        stream = f"m{bot.id}"

        async def delta(text: str) -> None:
            await on_delta(stream, text)

        written = await self._writer.answer(docs, history, customer.text, bot.text, delta)
        revised = Understanding(generation=written.as_dict(), stream=stream)
        bot_id = bot.id or 0
        await self._run(lambda: store.revise(bot_id, written.text, revised))
        return written.text
