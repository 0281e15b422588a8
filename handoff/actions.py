"""What an agent does with a conversation, from the console or from Slack: claim it, reply,
write a note, hand it back or resolve it; and what they look at while doing it."""

from __future__ import annotations

import asyncio
from typing import Any

from engine.outcomes import FROM_AGENT
from engine.state import Message
from handoff.customers import Customers
from handoff.episodes import Episodes
from handoff.feed import ConsoleFeed
from handoff.models import Agent
from handoff.ownership import BOT, QUEUE, Change, agent_owner
from handoff.publisher import Publisher
from handoff.runner import Runner
from handoff.tickets import Tickets
from handoff.views import Orders, conversation_view


class AgentActions:
    def __init__(
        self,
        run: Runner,
        tickets: Tickets,
        orders: Orders,
        customers: Customers,
        feed: ConsoleFeed,
        publisher: Publisher,
        episodes: Episodes,
    ) -> None:
        self._run = run
        self._tickets = tickets
        self._orders = orders
        self._customers = customers
        self._feed = feed
        self._publisher = publisher
        self._episodes = episodes

    async def claim(self, agent: Agent, cid: int) -> Change:
        event = await self._run(lambda: self._tickets.claim(cid, agent))
        if event.change.done:
            await self._publisher.told(event)
        return event.change

    async def release(self, agent: Agent, cid: int, to: str, outcome: str) -> Change:
        """Hand back (to the bot), resolve (to the bot, with an outcome) or put back (queue)."""
        event = await self._run(lambda: self._tickets.release(cid, agent, to, outcome))
        await self._publisher.told(event, announce="requeued" if to == QUEUE else None)
        if outcome in FROM_AGENT:
            await self._episodes.end(cid, agent_owner(agent.id or 0), FROM_AGENT[outcome])
        return event.change

    async def reply(
        self, agent: Agent, cid: int, text: str, client_id: str, draft_use: str
    ) -> Message:
        message = await self._run(
            lambda: self._tickets.reply(cid, agent, text, client_id, draft_use)
        )
        await self._typing_to_customer(cid, agent, False)
        await self._customers.deliver(cid)
        self._feed.message(cid, message)
        return message

    async def note(self, agent: Agent, cid: int, text: str) -> None:
        await self._run(lambda: self._tickets.note(cid, agent, text))
        self._feed.changed(cid)

    async def typing(self, agent: Agent, cid: int, on: bool) -> None:
        """Shown to the customer while the agent who has the conversation types."""
        owner = await asyncio.to_thread(self._tickets.owner, cid)
        if agent.id is not None and owner == agent_owner(agent.id):
            await self._typing_to_customer(cid, agent, on)

    async def owner_name(self, owner: str | None) -> str:
        """Who `owner` is, as agents are told ("Anna already has this conversation")."""
        if owner is None or not owner.startswith("agent:"):
            return {QUEUE: "The queue", BOT: "The bot"}.get(owner or "", "Nobody")
        agent_id = int(owner.split(":", 1)[1])
        agents = await asyncio.to_thread(self._tickets.agents, [agent_id])
        return agents[agent_id].display_name if agent_id in agents else "Another agent"

    async def view(self, cid: int) -> dict[str, Any] | None:
        online = self._customers.online_at(await self._customers.address(cid))
        return await asyncio.to_thread(conversation_view, self._tickets, self._orders, cid, online)

    async def _typing_to_customer(self, cid: int, agent: Agent, on: bool) -> None:
        await self._customers.notify(cid, "typing", on=on, who="agent", name=agent.display_name)
