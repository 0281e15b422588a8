"""The customers' side of the desk: the channels they are reached through (each registered
once at start-up) and which conversations a person, not the bot, answers."""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from handoff.tickets import Tickets

Address = tuple[str, str]  # (channel, conversation key)


class CustomerSide(Protocol):
    """What a channel offers the desk: show stored messages, show an event, say if the
    customer is there."""

    async def deliver(self, key: str) -> None: ...
    async def notify(self, key: str, event: str, **fields: Any) -> None: ...
    def online(self, key: str) -> bool: ...


class Customers:
    """Reaches a conversation's customer wherever they are, by the conversation's id."""

    def __init__(self, tickets: Tickets) -> None:
        self._tickets = tickets
        self._channels: dict[str, CustomerSide] = {}
        self._with_people: set[Address] = set()  # the bot keeps quiet in these

    def connect(self, channel: str, side: CustomerSide) -> None:
        self._channels[channel] = side

    def side(self, channel: str) -> CustomerSide | None:
        return self._channels.get(channel)

    async def load(self) -> None:
        """Which conversations people have, from the database (at start-up)."""
        people = await asyncio.to_thread(self._tickets.with_people)
        conversations = await asyncio.to_thread(self._tickets.conversations, people)
        self._with_people.update((c.channel, c.key) for c in conversations.values())

    def bot_answers(self, channel: str, key: str) -> bool:
        """Whether the bot answers this conversation, as far as this process knows (for the
        typing indicator; the engine itself goes by the database)."""
        return (channel, key) not in self._with_people

    def answered_by(self, address: Address, person: bool) -> None:
        if person:
            self._with_people.add(address)
        else:
            self._with_people.discard(address)

    async def address(self, cid: int) -> Address | None:
        known = self._tickets.known_address(cid)
        return known if known is not None else await asyncio.to_thread(self._tickets.address, cid)

    def online(self, channel: str, key: str) -> bool:
        return channel in self._channels and self._channels[channel].online(key)

    def online_at(self, address: Address | None) -> bool:
        return address is not None and self.online(*address)

    async def deliver(self, cid: int) -> None:
        """Show the customer what the conversation holds that they have not seen."""
        address = await self.address(cid)
        if address and address[0] in self._channels:
            await self._channels[address[0]].deliver(address[1])

    async def notify(self, cid: int, event: str, **fields: Any) -> None:
        address = await self.address(cid)
        if address and address[0] in self._channels:
            await self._channels[address[0]].notify(address[1], event, **fields)
