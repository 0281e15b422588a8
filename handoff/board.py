"""The queue as agents and customers see it: whether anyone can take a handoff now, each
waiting customer's status (their place, or that nobody is there), and the consoles' board,
pushed at most every BOARD_EVERY seconds however many changes come meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from engine.clock import utcnow
from engine.owners import BOT, QUEUE, Owner
from handoff.bus import Bus, NoBus
from handoff.customers import Customers
from handoff.feed import ConsoleFeed
from handoff.hours import BusinessHours
from handoff.models import Agent
from handoff.presence import Roster
from handoff.tickets import Tickets
from handoff.views import board, for_agent

BOARD_EVERY = 0.2  # seconds: changes within this are pushed to the consoles as one board
TOPIC = "board"


class QueueBoard:
    def __init__(
        self,
        tickets: Tickets,
        roster: Roster,
        customers: Customers,
        feed: ConsoleFeed,
        hours: BusinessHours,
        bus: Bus | None = None,
    ) -> None:
        self._tickets = tickets
        self._roster = roster
        self._customers = customers
        self._feed = feed
        self._hours = hours
        self._pending = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._bus = bus or NoBus()
        self._bus.on(TOPIC, self._heard)

    def available(self) -> bool:
        """Someone can take a handoff now: an agent online, within business hours."""
        return bool(self._roster.online()) and self._hours.open_at(utcnow())

    # -- the customers' status ------------------------------------------------------------------

    async def status_of(self, channel: str, key: str) -> dict[str, Any] | None:
        """The customer's handoff status (the widget's banner), None with the bot."""
        cid = await asyncio.to_thread(self._tickets.conversation_id, channel, key)
        if cid is None:
            return None
        return await asyncio.to_thread(self.status, cid)

    def statuses(self, also: int | None) -> dict[int, dict[str, Any]]:
        """The handoff status of every queued conversation (and of `also`), in a few queries
        however long the queue is."""
        queued = self._tickets.queue_order()
        available = self.available()
        records = {} if available else self._tickets.records(queued)
        statuses = {}
        for position, cid in enumerate(queued, 1):
            record = records.get(cid)
            statuses[cid] = waiting(position, available, bool(record and record.contact_email))
        if also is not None and also not in statuses:
            status = self.status(also)
            if status is not None:
                statuses[also] = status
        return statuses

    def status(self, cid: int) -> dict[str, Any] | None:
        owner = self._tickets.owner(cid)
        if owner is None:
            return None
        if owner == BOT:
            return {"state": "bot", "text": ""}
        if owner == QUEUE:
            queued = self._tickets.queue_order()
            position = queued.index(cid) + 1 if cid in queued else len(queued) + 1
            record = self._tickets.open_record(cid)
            return waiting(position, self.available(), bool(record and record.contact_email))
        agent_id = Owner.parse(owner).agent_id or 0
        name = self._tickets.agents([agent_id]).get(agent_id)
        display = name.display_name if name else "an agent"
        return {"state": "agent", "agent": display, "text": f"You are chatting with {display}."}

    # -- the consoles' board --------------------------------------------------------------------

    async def board_for(self, agent: Agent) -> dict[str, Any]:
        whole = await asyncio.to_thread(self._board)
        return for_agent(whole, agent.id or 0)

    def changed(self) -> None:
        """Push the board soon, once, however many changes come meanwhile (here, and in the
        processes whose consoles the bus reaches)."""
        self._bus.post(TOPIC, {})
        self.refresh()

    async def _heard(self, event: dict[str, Any]) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Push this process's consoles the board soon (nothing changed: wait times grow)."""
        if self._pending or not self._roster.has_consoles():
            return
        self._pending = True
        task = asyncio.get_running_loop().create_task(self._push())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _push(self) -> None:
        await asyncio.sleep(BOARD_EVERY)
        self._pending = False
        whole = await asyncio.to_thread(self._board)
        for console in self._roster.consoles():
            mine = for_agent(whole, console.agent.id or 0)
            self._feed.send(console, {"type": "board", **mine})

    def _board(self) -> dict[str, Any]:
        online = self._roster.online()
        return board(self._tickets, online, self._customers.online, not self.available())


def waiting(position: int, available: bool, email_known: bool) -> dict[str, Any]:
    """What a customer in the queue is told: their place, or that nobody is there."""
    if not available:
        text = "Nobody from our team is available right now. " + (
            "We will answer you by email."
            if email_known
            else "Leave your email address here and we will answer you by email."
        )
        return {"state": "offline", "text": text, "email_known": email_known}
    text = f"Connecting you to a person. You are number {position} in the queue."
    return {"state": "queued", "position": position, "text": text}
