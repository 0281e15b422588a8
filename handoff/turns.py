"""Every customer message: the engine's turn, then what follows from it. A model may rewrite
the answer; a goodbye ends the episode; a `Handoff` puts the conversation in the queue (or
makes it an offline ticket when nobody is there); a `Forwarded` message is shown to the
agents."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace

from engine.clock import utcnow
from engine.generators.grounded import is_goodbye
from engine.generators.writer import AnswerWriter
from engine.metrics import HANDOFFS, MESSAGES_RECEIVED, TURN_SECONDS
from engine.models import Role
from engine.store import ConversationStore
from engine.types import Forwarded, Handoff, HandoffReason, Inbound, Reply, Turn
from handoff.board import QueueBoard
from handoff.customers import Customers
from handoff.episodes import Episodes
from handoff.feed import ConsoleFeed
from handoff.hours import BusinessHours
from handoff.publisher import Publisher
from handoff.runner import Runner
from handoff.tickets import Tickets


class TurnRouter:
    def __init__(
        self,
        handle: Callable[[Inbound], Awaitable[Turn]],
        run: Runner,
        tickets: Tickets,
        store: ConversationStore,
        customers: Customers,
        feed: ConsoleFeed,
        board: QueueBoard,
        publisher: Publisher,
        episodes: Episodes,
        hours: BusinessHours,
        answers: AnswerWriter | None = None,
    ) -> None:
        self._handle = handle
        self._run = run
        self._tickets = tickets
        self._store = store
        self._customers = customers
        self._feed = feed
        self._board = board
        self._publisher = publisher
        self._episodes = episodes
        self._hours = hours
        self._answers = answers

    async def handle(self, inbound: Inbound) -> Turn:
        MESSAGES_RECEIVED.labels(inbound.channel).inc()
        arrived = time.perf_counter()
        turn = await self._handle(inbound)
        TURN_SECONDS.observe(time.perf_counter() - arrived)
        cid = turn.conversation_id
        if cid is None or turn.rejected == "duplicate":
            return turn
        plain = True  # nothing but the turn's own messages stored: the channel may show them
        if self._answers is not None and isinstance(turn.decision, Reply) and turn.from_records:
            await self._written(inbound, cid, self._answers)
            plain = False  # the reply stored was rewritten: read it back
        if isinstance(turn.decision, Reply) and is_goodbye(inbound.text) and not turn.rejected:
            await self._episodes.end(cid, "customer")
            plain = False
        if isinstance(turn.decision, Handoff):
            await self._hand_off(cid, turn.decision)
            plain = False
        elif isinstance(turn.decision, Forwarded):
            address = (inbound.channel, inbound.conversation_key)
            self._customers.answered_by(address, person=True)
            await self._forwarded(turn, cid)
            plain = False
        return turn if plain else replace(turn, stored=())

    async def _written(self, inbound: Inbound, cid: int, answers: AnswerWriter) -> None:
        """The model's answer streamed to the customer's channel as it passes the check."""
        address = (inbound.channel, inbound.conversation_key)

        async def on_delta(stream: str, delta: str) -> None:
            await self._customers.notify_at(address, "stream", stream=stream, delta=delta)

        await answers.write(cid, inbound.client_message_id, on_delta)

    async def customer_typing(self, channel: str, key: str, on: bool) -> None:
        """Shown in the consoles while a person has the conversation (not for the bot's)."""
        if self._customers.bot_answers(channel, key):
            return
        cid = await asyncio.to_thread(self._tickets.conversation_id, channel, key)
        if cid is not None:
            self._feed.to_all({"type": "typing", "conversation_id": cid, "on": on})

    async def _hand_off(self, cid: int, handoff: Handoff) -> None:
        asked = handoff.reason == HandoffReason.CUSTOMER_ASKED
        by = "customer" if asked else "bot"
        offline = not self._board.available()
        event = await self._run(lambda: self._tickets.hand_off(cid, handoff.reason, by, offline))
        if not event.change.done:
            return
        HANDOFFS.labels(handoff.reason.value).inc()
        if offline:
            record = await asyncio.to_thread(self._tickets.open_record, cid)
            text = self._offline_text(record.contact_email if record else None)
            await self._run(lambda: self._store.append(cid, Role.BOT, text))
        await self._publisher.told(event, announce="new")

    async def _forwarded(self, turn: Turn, cid: int) -> None:
        email = turn.slots.email
        if email:  # kept for the agent; thanked for when we asked (nobody is there)
            record = await asyncio.to_thread(self._tickets.open_record, cid)
            if record is not None and record.contact_email is None:
                await self._run(lambda: self._tickets.contact(cid, email))
                if not self._board.available():
                    text = f"Thank you. We will answer you at {email}."
                    await self._run(lambda: self._store.append(cid, Role.SYSTEM, text))
                    await self._customers.deliver(cid)
                # The banner stops asking for the email it has.
                status = await asyncio.to_thread(self._board.status, cid)
                if status is not None:
                    await self._customers.notify(cid, "handoff", **status)
        messages = await asyncio.to_thread(self._tickets.messages, cid, 5)
        customer = [m for m in messages if m.role == Role.CUSTOMER][-1:]
        for message in customer:
            self._feed.message(cid, message)
        # The bot's understanding and draft are new: a console showing it fetches them. (No
        # board push: consoles update the item from the message; the sweeper refreshes.)
        self._feed.changed(cid)

    def _offline_text(self, email: str | None) -> str:
        hours = self._hours
        when = "" if hours.always else f" (we answer {hours.describe()})"
        if not hours.open_at(utcnow()):
            first = f"Our team is not available right now{when}."
        else:
            first = f"Nobody from our team is online right now{when}."
        if email:
            return f"{first} We will answer you at {email} as soon as we can."
        return f"{first} Leave your email address here and we will answer you by email."
