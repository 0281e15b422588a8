"""How conversations end: the customer says goodbye or ends the chat, an agent resolves it,
the customer is gone (idle); each end closes the current episode and, when someone is there,
asks the customer to rate it."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from engine.outcomes import QUESTION, SCALE, Outcomes
from engine.state import ConversationStore
from handoff.customers import Customers
from handoff.feed import ConsoleFeed
from handoff.ownership import BOT, QUEUE
from handoff.publisher import Publisher
from handoff.runner import Runner
from handoff.tickets import Tickets


class Episodes:
    def __init__(
        self,
        run: Runner,
        tickets: Tickets,
        store: ConversationStore,
        outcomes: Outcomes,
        customers: Customers,
        feed: ConsoleFeed,
        publisher: Publisher,
    ) -> None:
        self._run = run
        self._tickets = tickets
        self._store = store
        self._outcomes = outcomes
        self._customers = customers
        self._feed = feed
        self._publisher = publisher

    async def end(self, cid: int, by: str, outcome: str | None = None, ask: bool = True) -> None:
        """End the current episode; ask the customer to rate it (after what they were told)."""
        episode = await self._run(lambda: self._outcomes.end(cid, by, outcome))
        if episode is None or episode.id is None or not ask:
            return
        await self._customers.deliver(cid)
        await self._customers.notify(cid, "survey", **survey(episode.id))

    async def end_idle(self) -> None:
        """End the episodes of customers who have left; nobody is there to ask."""
        for cid in await asyncio.to_thread(self._outcomes.idle):
            await self.end(cid, "idle", ask=False)

    async def end_chat(self, channel: str, key: str) -> None:
        """The customer ends the chat: waiting in the queue, they leave it (abandoned); with the
        bot, the episode ends and they are asked to rate it; with an agent, the agent is told
        (and resolves it)."""
        cid = await asyncio.to_thread(self._tickets.conversation_id, channel, key)
        if cid is None:
            return
        owner = await asyncio.to_thread(self._tickets.owner, cid)
        if owner == QUEUE:
            event = await self._run(lambda: self._tickets.withdraw(cid))
            if event.change.done:
                await self._publisher.told(event)
                await self.end(cid, "customer", "abandoned")
        elif owner == BOT:
            await self.end(cid, "customer")
        else:
            text = "The customer ended the chat."
            message = await self._run(lambda: self._store.append(cid, "system", text))
            await self._customers.deliver(cid)
            self._feed.message(cid, message)

    async def rate(self, channel: str, key: str, episode: int, score: int) -> bool:
        cid = await asyncio.to_thread(self._tickets.conversation_id, channel, key)
        if cid is None:
            return False
        rated = await self._run(lambda: self._outcomes.rate(cid, episode, score))
        return rated is not None

    async def survey_due(self, channel: str, key: str) -> dict[str, Any] | None:
        """The rating question again, for a customer back within the hour who has not answered."""
        cid = await asyncio.to_thread(self._tickets.conversation_id, channel, key)
        if cid is None:
            return None
        episode = await asyncio.to_thread(self._outcomes.unrated, cid, timedelta(hours=1))
        return survey(episode.id) if episode is not None and episode.id else None


def survey(episode: int) -> dict[str, Any]:
    return {"episode": episode, "question": QUESTION, "scale": list(SCALE)}
