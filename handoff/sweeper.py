"""The desk's sweeper: every `tick` it refreshes the board now and then and tells the other
processes who is here (agents, customers), and now and then reads again which conversations
people have (handoff/customers.py `resync`). The leading process (handoff/leader.py) also puts
back in the queue the conversations of agents gone for `away_after`, ends the episodes of
customers who left, and flags handoffs waiting unclaimed for `flag_after`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import timedelta
from functools import partial

from engine.owners import QUEUE
from handoff.board import QueueBoard
from handoff.customers import Customers
from handoff.episodes import Episodes
from handoff.feed import ConsoleFeed
from handoff.leader import Alone, Leader
from handoff.presence import Presence, Roster
from handoff.publisher import Publisher
from handoff.runner import Runner
from handoff.tickets import Tickets

log = logging.getLogger(__name__)
REFRESH_EVERY = 10.0  # seconds: the board is pushed anyway (wait times, the bot's list)
IDLE_EVERY = 60.0  # seconds between looks for conversations the customer has left
RESYNC_EVERY = 60.0  # seconds between readings of which conversations people have


class Sweeper:
    def __init__(
        self,
        tick: float,
        away_after: float,
        flag_after: float,
        run: Runner,
        tickets: Tickets,
        roster: Roster,
        board: QueueBoard,
        feed: ConsoleFeed,
        publisher: Publisher,
        episodes: Episodes,
        presence: Presence,
        customers: Customers,
        leader: Leader | None = None,
    ) -> None:
        self._tick = tick
        self._away_after = away_after
        self._flag_after = timedelta(seconds=flag_after)
        self._run = run
        self._tickets = tickets
        self._roster = roster
        self._board = board
        self._feed = feed
        self._publisher = publisher
        self._episodes = episodes
        self._presence = presence
        self._customers = customers
        self._leader = leader or Alone()
        self._refreshed = time.monotonic()
        self._idle_checked = time.monotonic()
        self._resynced = time.monotonic()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._sweep())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._leader.resign()

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self._tick)
            try:
                await self.sweep_once()
            except Exception:  # the sweeper must outlive one bad pass
                log.exception("handoff sweep failed")

    async def sweep_once(self) -> None:
        now = time.monotonic()
        if now - self._refreshed >= REFRESH_EVERY:
            self._refreshed = now
            self._board.refresh()
            self._customers.tick()
        await self._presence.tick()
        if now - self._resynced >= RESYNC_EVERY:  # every process: it is each one's own memory
            self._resynced = now
            await self._customers.resync()
        if not await self._leader.held():
            return
        for agent_id in self._roster.away(now, self._away_after):
            if self._roster.take_away(agent_id, now, self._away_after):
                await self._requeue_agent(agent_id)
        if now - self._idle_checked >= IDLE_EVERY:
            self._idle_checked = now
            await self._episodes.end_idle()
        for cid in await self._run(lambda: self._tickets.announce_due(self._flag_after)):
            self._feed.announce(cid, "flagged")
            self._board.changed()

    async def _requeue_agent(self, agent_id: int) -> None:
        agent = (await asyncio.to_thread(self._tickets.agents, [agent_id])).get(agent_id)
        if agent is None:
            return
        for cid in await asyncio.to_thread(self._tickets.owned_by, agent_id):
            try:
                release = partial(self._tickets.release, cid, agent, QUEUE, "agent_offline")
                event = await self._run(partial(release, "system"))
            except Exception:  # taken meanwhile; nothing to put back
                log.info("conversation %s changed hands before it was requeued", cid)
                continue
            await self._publisher.told(event, announce="requeued")
