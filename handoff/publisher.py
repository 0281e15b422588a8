"""Telling everyone what changed: the consoles and watchers (the conversation, its messages,
the board) and the customers (stored messages, their handoff status)."""

from __future__ import annotations

import asyncio

from handoff.board import QueueBoard
from handoff.customers import Customers
from handoff.feed import ConsoleFeed
from handoff.ownership import BOT
from handoff.tickets import Event


class Publisher:
    def __init__(self, customers: Customers, feed: ConsoleFeed, board: QueueBoard) -> None:
        self._customers = customers
        self._feed = feed
        self._board = board

    async def told(self, event: Event, announce: str | None = None) -> None:
        """A handoff event happened (queued, claimed, released...): the customer sees its
        message, the consoles the conversation and the new board."""
        cid = event.conversation_id
        address = await self._customers.address(cid)
        if address is not None:
            self._customers.answered_by(address, person=event.change.owner != BOT)
        if event.message is not None:
            await self._customers.deliver(cid)
            self._feed.message(cid, event.message)
        self._feed.changed(cid)
        if announce:
            self._feed.announce(cid, announce)
        await self.everyone_changed(also=cid)

    async def everyone_changed(self, also: int | None = None) -> None:
        """The queue or who is online changed: the board, and every waiting customer's place."""
        self._board.changed()
        statuses = await asyncio.to_thread(self._board.statuses, also)
        for cid, status in statuses.items():
            await self._customers.notify(cid, "handoff", **status)
