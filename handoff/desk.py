"""The desk: the live side of the handoff, between the engine, the customers' channels and the
agents' consoles.

Every customer message goes through `Desk.handle`: the engine's turn, then what follows from
it. A `Handoff` puts the conversation in the queue (or makes it an offline ticket when nobody is
there); a `Forwarded` message is shown to the agents. Agents act through the desk too (claim,
reply, hand back...); every change is written on the engine's worker thread, in order with the
turns, and then told to whoever watches: the consoles (board, messages) and the customer's
channel (stored messages, the handoff status, typing).

One process holds the live connections; the state is in the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from engine.generators.grounded import is_goodbye
from engine.generators.prompt import Document, Said
from engine.outcomes import FROM_AGENT, QUESTION, SCALE, Outcomes
from engine.state import Message, utcnow
from engine.types import Forwarded, Handoff, HandoffReason, Inbound, Reply, Turn
from handoff.hours import BusinessHours
from handoff.models import Agent
from handoff.outbox import Outbox
from handoff.ownership import BOT, QUEUE, Change, agent_owner
from handoff.tickets import Event, Tickets
from handoff.views import Orders, board, conversation_view, for_agent, message_view

if TYPE_CHECKING:  # the openai client takes half a second to import: not when it is unused
    from engine.generators.openai import Written

log = logging.getLogger(__name__)
BOARD_EVERY = 0.2  # seconds: changes within this are pushed to the consoles as one board
REFRESH_EVERY = 10.0  # seconds: the board is pushed anyway (wait times, the bot's list)
IDLE_EVERY = 60.0  # seconds between looks for conversations the customer has left
T = TypeVar("T")


class CustomerSide(Protocol):
    """What a channel offers the desk: show stored messages, show an event, say if the
    customer is there."""

    async def deliver(self, key: str) -> None: ...
    async def notify(self, key: str, event: str, **fields: Any) -> None: ...
    def online(self, key: str) -> bool: ...


class Watcher(Protocol):
    """Something besides the consoles that follows the desk's events (the Slack agents
    channel): it is given every frame the consoles get, and must not block."""

    def desk_event(self, frame: dict[str, Any]) -> None: ...


class Runner(Protocol):
    """Runs `fn` where conversations are written (the engine's worker thread)."""

    def __call__(self, fn: Callable[[], T], /) -> Awaitable[T]: ...


class Writer(Protocol):
    """Writes the bot's answer with a model (engine/generators/openai.py)."""

    async def answer(
        self,
        documents: Sequence[Document],
        history: Sequence[Said],
        text: str,
        grounded: str,
        on_delta: Callable[[str], Awaitable[None]] | None = None,
    ) -> Written: ...


@dataclass(frozen=True)
class DeskConfig:
    hours: BusinessHours
    away_after: float = 120.0  # seconds an agent may be gone before losing their conversations
    flag_after: float = 300.0  # seconds a handoff may wait unclaimed before it is flagged
    tick: float = 1.0  # how often the desk looks for both


@dataclass(eq=False)
class Console:
    """One open agent console: frames for it go into its outbox, never straight to the socket,
    so a console that stops reading holds up nobody (handoff/outbox.py)."""

    outbox: Outbox
    agent: Agent
    login: str = ""  # the agent_login row it was opened with: logging out closes it


class Desk:
    def __init__(
        self,
        handle: Callable[[Inbound], Awaitable[Turn]],
        run: Runner,
        tickets: Tickets,
        orders: Orders,
        config: DeskConfig,
        writer: Writer | None = None,
    ) -> None:
        self._handle = handle
        self.writer = writer
        self.outcomes = Outcomes(tickets.db)
        self._run = run
        self.tickets = tickets
        self.orders = orders
        self.config = config
        self._channels: dict[str, CustomerSide] = {}
        self._watchers: list[Watcher] = []
        self._present: dict[str, dict[int, str]] = {}  # agents online elsewhere, by where
        self._consoles: dict[int, set[Console]] = defaultdict(set)
        self._gone_since: dict[int, float] = {}  # agent id -> when their last console closed
        self._with_people: set[tuple[str, str]] = set()  # (channel, key): the bot keeps quiet
        self._board_pending = False
        self._refreshed = time.monotonic()
        self._idle_checked = time.monotonic()
        self._tasks: set[asyncio.Task[None]] = set()
        self._sweeper: asyncio.Task[None] | None = None

    # -- life -----------------------------------------------------------------------------------

    async def start(self) -> None:
        """Agents who own conversations from before a restart get `away_after` to come back."""
        owners = await asyncio.to_thread(self.tickets.owners)
        self._gone_since.update({a: time.monotonic() for a in owners})
        people = await asyncio.to_thread(self.tickets.with_people)
        conversations = await asyncio.to_thread(self.tickets.conversations, people)
        self._with_people.update((c.channel, c.key) for c in conversations.values())
        self._sweeper = asyncio.create_task(self._sweep())

    def connect(self, channel: str, side: CustomerSide) -> None:
        """The channel `channel`'s customers are reached through `side` from now on."""
        self._channels[channel] = side

    def follow(self, watcher: Watcher) -> None:
        """`watcher` is given every frame the consoles get from now on."""
        self._watchers.append(watcher)

    async def stop(self) -> None:
        for task in [self._sweeper, *self._tasks]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    # -- looking up ------------------------------------------------------------------------------

    def conversation_id(self, channel: str, key: str) -> int | None:
        return self.tickets.conversation_id(channel, key)

    def address(self, cid: int) -> tuple[str, str] | None:
        """The conversation's (channel, key); None when there is no such conversation."""
        return self.tickets.address(cid)

    async def exists(self, cid: int) -> bool:
        return await asyncio.to_thread(self.tickets.address, cid) is not None

    async def owner(self, cid: int) -> str | None:
        return await asyncio.to_thread(self.tickets.ownership.owner, cid)

    async def messages(self, cid: int, limit: int) -> list[Message]:
        """The conversation's latest `limit` messages, oldest first."""
        return await asyncio.to_thread(self.tickets.messages, cid, limit)

    # -- customers ------------------------------------------------------------------------------

    async def handle(self, inbound: Inbound) -> Turn:
        turn = await self._handle(inbound)
        if turn.conversation_id is None or turn.rejected == "duplicate":
            return turn
        if self.writer is not None and isinstance(turn.decision, Reply) and turn.from_records:
            await self._write(inbound, turn.conversation_id, self.writer)
        if isinstance(turn.decision, Reply) and is_goodbye(inbound.text) and not turn.rejected:
            await self._end(turn.conversation_id, "customer")
        if isinstance(turn.decision, Handoff):
            await self._hand_off(turn, turn.conversation_id, turn.decision)
        elif isinstance(turn.decision, Forwarded):
            self._with_people.add((inbound.channel, inbound.conversation_key))
            await self._forwarded(turn, turn.conversation_id)
        return turn

    # -- how conversations end -------------------------------------------------------------------

    async def end_chat(self, channel: str, key: str) -> None:
        """The customer ends the chat: waiting in the queue, they leave it (abandoned); with the
        bot, the episode ends and they are asked to rate it; with an agent, the agent is told
        (and resolves it)."""
        cid = await asyncio.to_thread(self.tickets.conversation_id, channel, key)
        if cid is None:
            return
        owner = await asyncio.to_thread(self.tickets.ownership.owner, cid)
        if owner == QUEUE:
            event = await self._run(lambda: self.tickets.withdraw(cid))
            if event.change.done:
                await self._told(event)
                await self._end(cid, "customer", "abandoned")
        elif owner == BOT:
            await self._end(cid, "customer")
        else:
            text = "The customer ended the chat."
            message = await self._run(lambda: self.tickets.store.append(cid, "system", text))
            await self._deliver(cid)
            self._message_to_consoles(cid, message)

    async def rate(self, channel: str, key: str, episode: int, score: int) -> bool:
        cid = await asyncio.to_thread(self.tickets.conversation_id, channel, key)
        if cid is None:
            return False
        rated = await self._run(lambda: self.outcomes.rate(cid, episode, score))
        return rated is not None

    async def survey_due(self, channel: str, key: str) -> dict[str, Any] | None:
        """The rating question again, for a customer back within the hour who has not answered."""
        cid = await asyncio.to_thread(self.tickets.conversation_id, channel, key)
        if cid is None:
            return None
        episode = await asyncio.to_thread(self.outcomes.unrated, cid, timedelta(hours=1))
        return _survey(episode.id) if episode is not None and episode.id else None

    async def _end(self, cid: int, by: str, outcome: str | None = None, ask: bool = True) -> None:
        """End the current episode; ask the customer to rate it (after what they were told)."""
        episode = await self._run(lambda: self.outcomes.end(cid, by, outcome))
        if episode is None or episode.id is None or not ask:
            return
        await self._deliver(cid)
        address = await self._address(cid)
        if address and address[0] in self._channels:
            await self._channels[address[0]].notify(address[1], "survey", **_survey(episode.id))

    async def _write(self, inbound: Inbound, cid: int, writer: Writer) -> None:
        """The model writes the answer, streamed to the customer as it comes; the stored reply
        is rewritten before any channel shows it (the grounded one when the model cannot)."""
        store = self.tickets.store
        found = await asyncio.to_thread(store.answered, cid, inbound.client_message_id)
        if found is None:
            return
        customer, bot, earlier = found
        docs = [Document.from_dict(d) for d in customer.understanding.get("documents", [])]
        history = [Said(m.role, m.text) for m in earlier]
        side, stream = self._channels.get(inbound.channel), f"m{bot.id}"

        async def on_delta(delta: str) -> None:
            if side is not None:
                await side.notify(inbound.conversation_key, "stream", stream=stream, delta=delta)

        written = await writer.answer(docs, history, customer.text, bot.text, on_delta)
        revised = {"generation": written.as_dict(), "stream": stream}
        bot_id = bot.id or 0
        await self._run(lambda: store.revise(bot_id, written.text, revised))

    def bot_answers(self, channel: str, key: str) -> bool:
        """Whether the bot answers this conversation, as far as this process knows (for the
        typing indicator; the engine itself goes by the database)."""
        return (channel, key) not in self._with_people

    def available(self) -> bool:
        """Someone can take a handoff now: an agent online, within business hours."""
        return bool(self.online_agents()) and self.config.hours.open_at(utcnow())

    async def status(self, channel: str, key: str) -> dict[str, Any] | None:
        """The customer's handoff status (the widget's banner), None with the bot."""
        cid = await asyncio.to_thread(self.tickets.conversation_id, channel, key)
        if cid is None:
            return None
        return await asyncio.to_thread(self._status, cid)

    async def customer_typing(self, channel: str, key: str, on: bool) -> None:
        """Shown in the consoles while a person has the conversation (not for the bot's)."""
        if self.bot_answers(channel, key):
            return
        cid = await asyncio.to_thread(self.tickets.conversation_id, channel, key)
        if cid is not None:
            self._to_consoles({"type": "typing", "conversation_id": cid, "on": on})

    async def _hand_off(self, turn: Turn, cid: int, handoff: Handoff) -> None:
        asked = handoff.reason == HandoffReason.CUSTOMER_ASKED
        by = "customer" if asked else "bot"
        offline = not self.available()
        event = await self._run(lambda: self.tickets.hand_off(cid, handoff.reason, by, offline))
        if not event.change.done:
            return
        if offline:
            record = await asyncio.to_thread(self.tickets.open_record, cid)
            text = self._offline_text(record.contact_email if record else None)
            await self._run(lambda: self.tickets.store.append(cid, "bot", text))
        await self._told(event, announce="new")

    async def _forwarded(self, turn: Turn, cid: int) -> None:
        email = turn.slots.email
        if email:  # kept for the agent; thanked for when we asked (nobody is there)
            record = await asyncio.to_thread(self.tickets.open_record, cid)
            if record is not None and record.contact_email is None:
                await self._run(lambda: self.tickets.contact(cid, email))
                if not self.available():
                    text = f"Thank you. We will answer you at {email}."
                    await self._run(lambda: self.tickets.store.append(cid, "system", text))
                    await self._deliver(cid)
        messages = await asyncio.to_thread(self.tickets.messages, cid, 5)
        customer = [m for m in messages if m.role == "customer"][-1:]
        for message in customer:
            self._message_to_consoles(cid, message)
        # The bot's understanding and draft are new: a console showing it fetches them. (No
        # board push: consoles update the item from the message; the sweeper refreshes.)
        self._to_consoles({"type": "changed", "conversation_id": cid})

    def _offline_text(self, email: str | None) -> str:
        hours = self.config.hours
        when = "" if hours.always else f" (we answer {hours.describe()})"
        if not hours.open_at(utcnow()):
            first = f"Our team is not available right now{when}."
        else:
            first = f"Nobody from our team is online right now{when}."
        if email:
            return f"{first} We will answer you at {email} as soon as we can."
        return f"{first} Leave your email address here and we will answer you by email."

    # -- agents ---------------------------------------------------------------------------------

    async def claim(self, agent: Agent, cid: int) -> Change:
        event = await self._run(lambda: self.tickets.claim(cid, agent))
        if event.change.done:
            await self._told(event)
        return event.change

    async def release(self, agent: Agent, cid: int, to: str, outcome: str) -> Change:
        """Hand back (to the bot), resolve (to the bot, with an outcome) or put back (queue)."""
        event = await self._run(lambda: self.tickets.release(cid, agent, to, outcome))
        await self._told(event, announce="requeued" if to == QUEUE else None)
        if outcome in FROM_AGENT:
            await self._end(cid, agent_owner(agent.id or 0), FROM_AGENT[outcome])
        return event.change

    async def reply(
        self, agent: Agent, cid: int, text: str, client_id: str, draft_use: str
    ) -> Message:
        message = await self._run(
            lambda: self.tickets.reply(cid, agent, text, client_id, draft_use)
        )
        await self._typing_to_customer(cid, agent, False)
        await self._deliver(cid)
        self._message_to_consoles(cid, message)
        return message

    async def note(self, agent: Agent, cid: int, text: str) -> None:
        await self._run(lambda: self.tickets.note(cid, agent, text))
        self._to_consoles({"type": "changed", "conversation_id": cid})

    async def agent_typing(self, agent: Agent, cid: int, on: bool) -> None:
        owner = await asyncio.to_thread(self.tickets.ownership.owner, cid)
        if owner == f"agent:{agent.id}":
            await self._typing_to_customer(cid, agent, on)

    async def owner_name(self, owner: str | None) -> str:
        """Who `owner` is, as agents are told ("Anna already has this conversation")."""
        if owner is None or not owner.startswith("agent:"):
            return {QUEUE: "The queue", BOT: "The bot"}.get(owner or "", "Nobody")
        agent_id = int(owner.split(":", 1)[1])
        agents = await asyncio.to_thread(self.tickets.agents, [agent_id])
        return agents[agent_id].display_name if agent_id in agents else "Another agent"

    async def view(self, cid: int) -> dict[str, Any] | None:
        address = await self._address(cid)
        online = self._customer_online(address)
        return await asyncio.to_thread(conversation_view, self.tickets, self.orders, cid, online)

    async def board_for(self, agent: Agent) -> dict[str, Any]:
        whole = await asyncio.to_thread(self._board)
        return for_agent(whole, agent.id or 0)

    # -- consoles -------------------------------------------------------------------------------

    async def console_opened(self, console: Console) -> None:
        agent_id = console.agent.id or 0
        came_online = agent_id not in self.online_agents()
        self._consoles[agent_id].add(console)
        self._gone_since.pop(agent_id, None)
        self.send(console, {"type": "board", **await self.board_for(console.agent)})
        if came_online:
            await self._everyone_changed()

    async def console_closed(self, console: Console) -> None:
        agent_id = console.agent.id or 0
        self._consoles[agent_id].discard(console)
        if not self._consoles[agent_id]:
            del self._consoles[agent_id]
            if agent_id not in self.online_agents():
                self._gone_since[agent_id] = time.monotonic()
                await self._everyone_changed()

    def close_consoles(self, agent_id: int, logins: set[str], code: int, reason: str) -> int:
        """Close the consoles opened with these logins (ended: logged out, password changed);
        at once, without waiting for what is still queued. How many were open."""
        closing = [c for c in self._consoles.get(agent_id, ()) if c.login in logins]
        for console in closing:
            console.outbox.drop(code, reason)
        return len(closing)

    async def set_present(self, where: str, agents: dict[int, str]) -> None:
        """The agents who are there by some other way than a console (Slack's presence)."""
        before = set(self.online_agents())
        self._present[where] = dict(agents)
        after = set(self.online_agents())
        now = time.monotonic()
        for agent_id in after:
            self._gone_since.pop(agent_id, None)
        for agent_id in before - after:
            self._gone_since[agent_id] = now
        if before != after:
            await self._everyone_changed()

    def online_agents(self) -> dict[int, str]:
        online = {i: next(iter(c)).agent.display_name for i, c in self._consoles.items() if c}
        for agents in self._present.values():
            for agent_id, name in agents.items():
                online.setdefault(agent_id, name)
        return online

    # -- telling everyone -----------------------------------------------------------------------

    async def _told(self, event: Event, announce: str | None = None) -> None:
        cid = event.conversation_id
        address = await self._address(cid)
        if address is not None and event.change.owner == BOT:
            self._with_people.discard(address)
        elif address is not None:
            self._with_people.add(address)
        if event.message is not None:
            await self._deliver(cid)
            self._message_to_consoles(cid, event.message)
        self._to_consoles({"type": "changed", "conversation_id": cid})
        if announce:
            self._to_consoles({"type": "announce", "conversation_id": cid, "why": announce})
        await self._everyone_changed(also=cid)

    async def _everyone_changed(self, also: int | None = None) -> None:
        """The queue or who is online changed: the board, and every waiting customer's place."""
        self._board_changed()
        statuses = await asyncio.to_thread(self._statuses, also)
        for cid, status in statuses.items():
            address = await self._address(cid)
            if address and address[0] in self._channels:
                await self._channels[address[0]].notify(address[1], "handoff", **status)

    def _statuses(self, also: int | None) -> dict[int, dict[str, Any]]:
        """The handoff status of every queued conversation (and of `also`), in a few queries
        however long the queue is."""
        queued = self.tickets.queue_order()
        available = self.available()
        records = {} if available else self.tickets.records(queued)
        statuses = {}
        for position, cid in enumerate(queued, 1):
            record = records.get(cid)
            statuses[cid] = _waiting(position, available, bool(record and record.contact_email))
        if also is not None and also not in statuses:
            status = self._status(also)
            if status is not None:
                statuses[also] = status
        return statuses

    def _status(self, cid: int) -> dict[str, Any] | None:
        owner = self.tickets.ownership.owner(cid)
        if owner is None:
            return None
        if owner == BOT:
            return {"state": "bot", "text": ""}
        if owner == QUEUE:
            queued = self.tickets.queue_order()
            position = queued.index(cid) + 1 if cid in queued else len(queued) + 1
            record = self.tickets.open_record(cid)
            return _waiting(position, self.available(), bool(record and record.contact_email))
        agent_id = int(owner.split(":", 1)[1])
        name = self.tickets.agents([agent_id]).get(agent_id)
        display = name.display_name if name else "an agent"
        return {"state": "agent", "agent": display, "text": f"You are chatting with {display}."}

    async def _deliver(self, cid: int) -> None:
        address = await self._address(cid)
        if address and address[0] in self._channels:
            await self._channels[address[0]].deliver(address[1])

    async def _typing_to_customer(self, cid: int, agent: Agent, on: bool) -> None:
        address = await self._address(cid)
        if address and address[0] in self._channels:
            await self._channels[address[0]].notify(
                address[1], "typing", on=on, who="agent", name=agent.display_name
            )

    def _message_to_consoles(self, cid: int, message: Message) -> None:
        frame = {"type": "message", "conversation_id": cid, "message": message_view(message)}
        self._to_consoles(frame)

    def _to_consoles(self, frame: dict[str, Any]) -> None:
        """Queued for every console and watcher; waits for none of them."""
        for watcher in self._watchers:
            watcher.desk_event(frame)
        for consoles in list(self._consoles.values()):
            for console in list(consoles):
                self.send(console, frame)

    def send(self, console: Console, frame: dict[str, Any]) -> bool:
        """Queue `frame` for `console`; False when it is closing or fell behind (and is being
        dropped: its handler cleans up)."""
        return console.outbox.put(frame)

    def _board_changed(self) -> None:
        """Push the board soon, once, however many changes come meanwhile."""
        if self._board_pending or not self._consoles:
            return
        self._board_pending = True
        task = asyncio.get_running_loop().create_task(self._push_board())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _push_board(self) -> None:
        await asyncio.sleep(BOARD_EVERY)
        self._board_pending = False
        whole = await asyncio.to_thread(self._board)
        for consoles in list(self._consoles.values()):
            for console in list(consoles):
                mine = for_agent(whole, console.agent.id or 0)
                self.send(console, {"type": "board", **mine})

    def _board(self) -> dict[str, Any]:
        def customer_online(channel: str, key: str) -> bool:
            return channel in self._channels and self._channels[channel].online(key)

        return board(self.tickets, self.online_agents(), customer_online, not self.available())

    async def _address(self, cid: int) -> tuple[str, str] | None:
        known = self.tickets.known_address(cid)
        return known if known is not None else await asyncio.to_thread(self.tickets.address, cid)

    def _customer_online(self, address: tuple[str, str] | None) -> bool:
        if address is None or address[0] not in self._channels:
            return False
        return self._channels[address[0]].online(address[1])

    # -- the sweeper ----------------------------------------------------------------------------

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self.config.tick)
            try:
                await self._sweep_once()
            except Exception:  # the sweeper must outlive one bad pass
                log.exception("handoff sweep failed")

    async def _sweep_once(self) -> None:
        now = time.monotonic()
        if now - self._refreshed >= REFRESH_EVERY:
            self._refreshed = now
            self._board_changed()
        for agent_id, since in list(self._gone_since.items()):
            if now - since >= self.config.away_after:
                del self._gone_since[agent_id]
                await self._requeue_agent(agent_id)
        if now - self._idle_checked >= IDLE_EVERY:
            self._idle_checked = now
            for cid in await asyncio.to_thread(self.outcomes.idle):
                await self._end(cid, "idle", ask=False)  # gone: nobody to ask
        every = timedelta(seconds=self.config.flag_after)
        for cid in await self._run(lambda: self.tickets.announce_due(every)):
            self._to_consoles({"type": "announce", "conversation_id": cid, "why": "flagged"})
            self._board_changed()

    async def _requeue_agent(self, agent_id: int) -> None:
        agent = (await asyncio.to_thread(self.tickets.agents, [agent_id])).get(agent_id)
        if agent is None:
            return
        for cid in await asyncio.to_thread(self.tickets.owned_by, agent_id):
            try:
                release = partial(self.tickets.release, cid, agent, QUEUE, "agent_offline")
                event = await self._run(partial(release, "system"))
            except Exception:  # taken meanwhile; nothing to put back
                log.info("conversation %s changed hands before it was requeued", cid)
                continue
            await self._told(event, announce="requeued")


def _survey(episode: int) -> dict[str, Any]:
    return {"episode": episode, "question": QUESTION, "scale": list(SCALE)}


def _waiting(position: int, available: bool, email_known: bool) -> dict[str, Any]:
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
