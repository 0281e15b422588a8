"""The desk: the live side of the handoff, between the engine, the customers' channels and the
agents' consoles. `Desk` builds its parts together and is the one object channels and consoles
are given; each part does one thing and is handed what it needs when it is built:

    channel (customer) ──▶ TurnRouter ──▶ the engine's turn, AnswerWriter, Episodes, the queue
                       ──▶ Episodes (end chat, rate), QueueBoard (their status)
    console, Slack     ──▶ AgentActions (claim, reply, note, release), Presence (come, go)
    Sweeper (each tick) ─▶ board refresh, agents away, idle episodes, flagged waits
    all of them        ──▶ Publisher ──▶ ConsoleFeed (every console and watcher)
                                     ──▶ Customers (a conversation's channel)
                                     ──▶ QueueBoard (statuses, the board; who is on: Roster)

Every change is written on the engine's worker thread (`Runner`), in order with the turns, and
then told to whoever watches: the consoles (board, messages) and the customer's channel
(stored messages, the handoff status, typing). `Roster` holds who is online.

The state is in the database. With REDIS_URL there are many processes: web processes holding
sockets and consoles, engine workers answering turns. Each tells its own sockets and consoles,
and the bus (handoff/bus.py) tells the others; one of them leads the sweeper's chores
(handoff/leader.py). A web process with `elsewhere` set hands customer messages to the
workers (handoff/turn_stream.py), which run `handle` here in full and tell everyone.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from engine.generators.writer import AnswerWriter, Writer
from engine.models import Message
from engine.outcomes import Outcomes
from engine.types import Inbound, Turn
from handoff.actions import AgentActions
from handoff.board import QueueBoard
from handoff.bus import Bus, NoBus
from handoff.customers import Address, Customers, CustomerSide
from handoff.episodes import Episodes
from handoff.feed import ConsoleFeed, Watcher
from handoff.hours import BusinessHours
from handoff.leader import Leader
from handoff.models import Agent
from handoff.ownership import Change
from handoff.presence import Console, Presence, Roster
from handoff.publisher import Publisher
from handoff.runner import Runner
from handoff.sweeper import Sweeper
from handoff.tickets import Tickets
from handoff.turns import TurnRouter
from handoff.views import Orders

__all__ = ["Console", "CustomerSide", "Desk", "DeskConfig", "Watcher", "Writer"]


@dataclass(frozen=True)
class DeskConfig:
    hours: BusinessHours
    away_after: float = 120.0  # seconds an agent may be gone before losing their conversations
    flag_after: float = 300.0  # seconds a handoff may wait unclaimed before it is flagged
    tick: float = 1.0  # how often the desk looks for both


class Desk:
    """What channels (customers) and consoles (agents) ask of the handoff side."""

    def __init__(
        self,
        handle: Callable[[Inbound], Awaitable[Turn]],
        run: Runner,
        tickets: Tickets,
        orders: Orders,
        config: DeskConfig,
        writer: Writer | None = None,
        bus: Bus | None = None,
        leader: Leader | None = None,
        elsewhere: Callable[[Inbound], Awaitable[None]] | None = None,
    ) -> None:
        store = tickets.store
        bus = bus or NoBus()
        self._bus = bus
        self._elsewhere = elsewhere
        self._tickets = tickets
        self._roster = roster = Roster()
        self._customers = customers = Customers(tickets, bus)
        self._feed = feed = ConsoleFeed(roster, bus)
        self._board = board = QueueBoard(tickets, roster, customers, feed, config.hours, bus)
        publisher = Publisher(customers, feed, board)
        outcomes = Outcomes(tickets.db)
        episodes = Episodes(run, tickets, store, outcomes, customers, feed, publisher)
        self._episodes = episodes
        answers = None if writer is None else AnswerWriter(writer, store, run)
        self._turns = TurnRouter(
            handle,
            run,
            tickets,
            store,
            customers,
            feed,
            board,
            publisher,
            episodes,
            config.hours,
            answers,
        )
        self._agents = AgentActions(run, tickets, orders, customers, feed, publisher, episodes)
        self._presence = presence = Presence(roster, board, feed, publisher, bus)
        self._sweeper = Sweeper(
            config.tick,
            config.away_after,
            config.flag_after,
            run,
            tickets,
            roster,
            board,
            feed,
            publisher,
            episodes,
            presence,
            customers,
            leader,
        )

    # -- life -----------------------------------------------------------------------------------

    def connect(self, channel: str, side: CustomerSide) -> None:
        """The channel `channel`'s customers are reached through `side` from now on."""
        self._customers.connect(channel, side)

    def follow(self, watcher: Watcher) -> None:
        """`watcher` is given every frame the consoles get from now on."""
        self._feed.follow(watcher)

    async def start(self) -> None:
        """Agents who own conversations from before a restart get `away_after` to come back
        (those online by way of another process are back as soon as it says so)."""
        owners = await asyncio.to_thread(self._tickets.owners)
        self._roster.gone(owners, time.monotonic())
        await self._bus.start()
        self._presence.ask()
        await self._customers.load()
        self._sweeper.start()

    async def stop(self) -> None:
        await self._sweeper.stop()
        await self._board.stop()
        self._presence.leave()
        await self._bus.stop()

    # -- looking up -----------------------------------------------------------------------------

    def conversation_id(self, channel: str, key: str) -> int | None:
        return self._tickets.conversation_id(channel, key)

    def address(self, cid: int) -> Address | None:
        """The conversation's (channel, key); None when there is no such conversation."""
        return self._tickets.address(cid)

    async def exists(self, cid: int) -> bool:
        return await asyncio.to_thread(self._tickets.address, cid) is not None

    async def owner(self, cid: int) -> str | None:
        return await asyncio.to_thread(self._tickets.owner, cid)

    async def messages(self, cid: int, limit: int) -> list[Message]:
        """The conversation's latest `limit` messages, oldest first."""
        return await asyncio.to_thread(self._tickets.messages, cid, limit)

    # -- customers ------------------------------------------------------------------------------

    async def handle(self, inbound: Inbound) -> Turn | None:
        """The message answered, stored and told to whoever needs it; the turn when it was
        answered in this process (None when an engine worker answered it)."""
        if self._elsewhere is not None:
            await self._elsewhere(inbound)
            return None
        return await self._turns.handle(inbound)

    async def deliver_to(self, channel: str, key: str) -> None:
        """Show the customer's every socket, in whichever process, what they have not seen."""
        await self._customers.deliver_at((channel, key))

    async def deliver_elsewhere(self, channel: str, key: str) -> None:
        """Show the customer's sockets in the other processes what they have not seen (this
        process's channel has shown its own)."""
        await self._customers.deliver_at((channel, key), here=False)

    async def notify_to(self, channel: str, key: str, event: str, **fields: Any) -> None:
        """An ephemeral frame to the customer's every socket, in whichever process."""
        await self._customers.notify_at((channel, key), event, **fields)

    def customer_here(self, channel: str, key: str, on: bool) -> None:
        """The customer's first socket in this process opened (or its last one closed)."""
        self._customers.here(channel, key, on)

    async def customer_typing(self, channel: str, key: str, on: bool) -> None:
        await self._turns.customer_typing(channel, key, on)

    def bot_answers(self, channel: str, key: str) -> bool:
        return self._customers.bot_answers(channel, key)

    async def status(self, channel: str, key: str) -> dict[str, Any] | None:
        return await self._board.status_of(channel, key)

    async def end_chat(self, channel: str, key: str) -> None:
        await self._episodes.end_chat(channel, key)

    async def rate(self, channel: str, key: str, episode: int, score: int) -> bool:
        return await self._episodes.rate(channel, key, episode, score)

    async def survey_due(self, channel: str, key: str) -> dict[str, Any] | None:
        return await self._episodes.survey_due(channel, key)

    # -- agents ---------------------------------------------------------------------------------

    async def claim(self, agent: Agent, cid: int) -> Change:
        return await self._agents.claim(agent, cid)

    async def release(self, agent: Agent, cid: int, to: str, outcome: str) -> Change:
        return await self._agents.release(agent, cid, to, outcome)

    async def reply(
        self, agent: Agent, cid: int, text: str, client_id: str, draft_use: str
    ) -> Message:
        return await self._agents.reply(agent, cid, text, client_id, draft_use)

    async def note(self, agent: Agent, cid: int, text: str) -> None:
        await self._agents.note(agent, cid, text)

    async def agent_typing(self, agent: Agent, cid: int, on: bool) -> None:
        await self._agents.typing(agent, cid, on)

    async def owner_name(self, owner: str | None) -> str:
        return await self._agents.owner_name(owner)

    async def view(self, cid: int) -> dict[str, Any] | None:
        return await self._agents.view(cid)

    async def board_for(self, agent: Agent) -> dict[str, Any]:
        return await self._board.board_for(agent)

    # -- consoles and presence ------------------------------------------------------------------

    async def console_opened(self, console: Console) -> None:
        await self._presence.console_opened(console)

    async def console_closed(self, console: Console) -> None:
        await self._presence.console_closed(console)

    def close_consoles(self, agent_id: int, logins: set[str], code: int, reason: str) -> int:
        return self._presence.close_consoles(agent_id, logins, code, reason)

    async def set_present(self, where: str, agents: dict[int, str]) -> None:
        await self._presence.set_present(where, agents)

    def send(self, console: Console, frame: dict[str, Any]) -> bool:
        return self._feed.send(console, frame)
