"""The customers' side of the desk: the channels they are reached through (each registered
once at start-up) and which conversations a person, not the bot, answers.

A customer may be connected to another process (a second tab on another web process, or this
process an engine worker with no sockets at all): whatever is told to a customer here is told
to this process's channel at once and posted on the bus for the others (handoff/bus.py)."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Protocol

from handoff.bus import Bus, NoBus
from handoff.tickets import Tickets

Address = tuple[str, str]  # (channel, conversation key)
TOPIC = "customers"
HERE_FOR = 30.0  # seconds another process's "customer here" counts without being said again


class CustomerSide(Protocol):
    """What a channel offers the desk: show stored messages, show an event, say if the
    customer is there."""

    async def deliver(self, key: str) -> None: ...
    async def notify(self, key: str, event: str, **fields: Any) -> None: ...
    def online(self, key: str) -> bool: ...


class Customers:
    """Reaches a conversation's customer wherever they are, by the conversation's id."""

    def __init__(self, tickets: Tickets, bus: Bus | None = None) -> None:
        self._tickets = tickets
        self._bus = bus or NoBus()
        self._channels: dict[str, CustomerSide] = {}
        self._with_people: set[Address] = set()  # the bot keeps quiet in these
        self._changes = 0  # owners told so far (see `resync`)
        # Customers with a socket open in another process: address -> process -> until when.
        self._elsewhere: dict[Address, dict[str, float]] = {}
        self._bus.on(TOPIC, self._heard)

    def connect(self, channel: str, side: CustomerSide) -> None:
        self._channels[channel] = side

    def side(self, channel: str) -> CustomerSide | None:
        return self._channels.get(channel)

    async def load(self) -> None:
        """Which conversations people have, from the database (at start-up)."""
        addresses = await asyncio.to_thread(self._tickets.addresses_with_people)
        self._with_people.update(addresses)
        self._bus.post(TOPIC, {"op": "who"})  # the others say who is connected to them

    async def resync(self) -> None:
        """Which conversations people have, from the database again (the sweeper, now and
        then). Every change of owner is told (`answered_by`), here and on the bus; but the bus
        tells only whoever listens at that moment (a process reconnecting to Redis misses what
        was posted meanwhile), and two processes' news may cross. A missed "the bot has it
        again" would keep the address here for as long as the process runs: this puts the set
        back to what the database says. (Skipped when an owner changed while it read: the
        database answer may predate it; the next pass has it.)"""
        changes = self._changes
        addresses = await asyncio.to_thread(self._tickets.addresses_with_people)
        if changes == self._changes:
            self._with_people = set(addresses)  # a new set: a set keeps its largest table

    def bot_answers(self, channel: str, key: str) -> bool:
        """Whether the bot answers this conversation, as far as this process knows (for the
        typing indicator; the engine itself goes by the database)."""
        return (channel, key) not in self._with_people

    def answered_by(self, address: Address, person: bool) -> None:
        self._answered_by(address, person)
        self._bus.post(TOPIC, {"op": "owner", "address": list(address), "person": person})

    def _answered_by(self, address: Address, person: bool) -> None:
        self._changes += 1
        if person:
            self._with_people.add(address)
        else:
            self._with_people.discard(address)

    async def address(self, cid: int) -> Address | None:
        known = self._tickets.known_address(cid)
        return known if known is not None else await asyncio.to_thread(self._tickets.address, cid)

    def online(self, channel: str, key: str) -> bool:
        if channel in self._channels and self._channels[channel].online(key):
            return True
        now = time.monotonic()
        return any(until > now for until in self._elsewhere.get((channel, key), {}).values())

    def online_at(self, address: Address | None) -> bool:
        return address is not None and self.online(*address)

    def here(self, channel: str, key: str, on: bool) -> None:
        """A channel of this process: the customer's first socket here opened (`on`), or the
        last one here closed. The other processes count them online (or not) from now on."""
        if self._bus.shared:
            self._bus.post(TOPIC, {"op": "here", "address": [channel, key], "on": on})

    def tick(self) -> None:
        """Said every few seconds (the sweeper) for the customers connected here: the others
        keep counting them online; a process that died stops saying it, and is counted out."""
        if not self._bus.shared:
            return
        self._forget_gone()
        for channel, side in self._channels.items():
            keys = getattr(side, "keys", None)  # channels holding sockets list them
            if keys is not None:
                here = list(keys())
                if here:
                    post = {"op": "here", "channel": channel, "keys": here, "on": True}
                    self._bus.post(TOPIC, post)

    async def deliver(self, cid: int) -> None:
        """Show the customer what the conversation holds that they have not seen."""
        address = await self.address(cid)
        if address:
            await self.deliver_at(address)

    async def notify(self, cid: int, event: str, **fields: Any) -> None:
        address = await self.address(cid)
        if address:
            await self.notify_at(address, event, **fields)

    async def deliver_at(self, address: Address, here: bool = True) -> None:
        """Deliver in every process; `here=False`: in the others only (the channel showed
        this process's sockets what is new itself)."""
        self._bus.post(TOPIC, {"op": "deliver", "address": list(address)})
        side = self._channels.get(address[0])
        if side is not None and here:
            await side.deliver(address[1])

    async def notify_at(self, address: Address, event: str, **fields: Any) -> None:
        post = {"op": "notify", "address": list(address), "event": event, "fields": fields}
        self._bus.post(TOPIC, post)
        side = self._channels.get(address[0])
        if side is not None:
            await side.notify(address[1], event, **fields)

    async def _heard(self, event: dict[str, Any]) -> None:
        """Another process's news about a customer."""
        op = event.get("op")
        if op == "who":
            self.tick()
            return
        if op == "here" and "keys" in event:
            until = time.monotonic() + HERE_FOR
            for key in event["keys"]:
                self._elsewhere.setdefault((event["channel"], key), {})[event["from"]] = until
            self._forget_gone()
            return
        channel, key = event["address"]
        address = (str(channel), str(key))
        side = self._channels.get(address[0])
        if op == "deliver" and side is not None:
            await side.deliver(address[1])
        elif op == "notify" and side is not None:
            await side.notify(address[1], str(event["event"]), **dict(event["fields"]))
        elif op == "owner":
            self._answered_by(address, bool(event["person"]))
        elif op == "here":
            processes = self._elsewhere.setdefault(address, {})
            if event["on"]:
                processes[str(event["from"])] = time.monotonic() + HERE_FOR
            else:
                processes.pop(str(event["from"]), None)
                if not processes:
                    del self._elsewhere[address]

    def _forget_gone(self) -> None:
        now = time.monotonic()
        for address in list(self._elsewhere):
            processes = self._elsewhere[address]
            for process in [p for p, until in processes.items() if until <= now]:
                del processes[process]
            if not processes:
                del self._elsewhere[address]
