"""Which agents are there: the consoles they have open, their presence elsewhere (Slack), and
since when each has been gone (after `away_after` their conversations go back to the queue).

`Roster` is the state alone, no I/O: a change says whether the set of online agents changed.
`Presence` is what consoles and Slack call: it changes the roster and, when who is online
changed, tells everyone (the board, every waiting customer's place).

With many processes, each says on the bus who is online by way of it (its consoles, its Slack)
whenever that changes and every few seconds besides; the others count those agents present
"by way of that process". A process that stops saying it (it died) is counted out after
`PRESENT_FOR`, and its agents' away time starts then, as when a console closes.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from handoff.bus import Bus, NoBus
from handoff.models import Agent
from handoff.outbox import Outbox

if TYPE_CHECKING:
    from handoff.board import QueueBoard
    from handoff.feed import ConsoleFeed
    from handoff.publisher import Publisher

TOPIC = "presence"
PROCESS = "process:"  # where agents are present by way of another process
SAY_EVERY = 3.0  # seconds between a process's reminders of who is online by way of it
PRESENT_FOR = 10.0  # seconds a process's word holds without a reminder


@dataclass(eq=False)
class Console:
    """One open agent console: frames for it go into its outbox, never straight to the socket,
    so a console that stops reading holds up nobody (handoff/outbox.py)."""

    outbox: Outbox
    agent: Agent
    login: str = ""  # the agent_login row it was opened with: logging out closes it


class Roster:
    """The open consoles by agent, the agents present elsewhere by where, and since when (a
    monotonic time) each agent who went away has been gone."""

    def __init__(self) -> None:
        self._consoles: dict[int, set[Console]] = defaultdict(set)
        self._elsewhere: dict[str, dict[int, str]] = {}
        self._gone_since: dict[int, float] = {}  # agent id -> when their last console closed

    def online(self) -> dict[int, str]:
        """Agent id -> display name of everyone online, by a console or elsewhere."""
        return self._online(others=True)

    def online_here(self) -> dict[int, str]:
        """Those online by way of this process (its consoles, its Slack), not another's."""
        return self._online(others=False)

    def _online(self, others: bool) -> dict[int, str]:
        online = {i: next(iter(c)).agent.display_name for i, c in self._consoles.items() if c}
        for where, agents in self._elsewhere.items():
            if others or not where.startswith(PROCESS):
                for agent_id, name in agents.items():
                    online.setdefault(agent_id, name)
        return online

    def elsewhere(self) -> list[str]:
        return list(self._elsewhere)

    def consoles(self) -> list[Console]:
        """Every open console (a copy: sending may close one)."""
        return [console for consoles in list(self._consoles.values()) for console in consoles]

    def has_consoles(self) -> bool:
        return bool(self._consoles)

    def logged_in_with(self, agent_id: int, logins: set[str]) -> list[Console]:
        return [c for c in self._consoles.get(agent_id, ()) if c.login in logins]

    def opened(self, console: Console) -> bool:
        """Count `console` in; whether its agent came online with it."""
        agent_id = console.agent.id or 0
        came_online = agent_id not in self.online()
        self._consoles[agent_id].add(console)
        self._gone_since.pop(agent_id, None)
        return came_online

    def closed(self, console: Console, now: float) -> bool:
        """Count `console` out; whether its agent went away with it."""
        agent_id = console.agent.id or 0
        self._consoles[agent_id].discard(console)
        if not self._consoles[agent_id]:
            del self._consoles[agent_id]
            if agent_id not in self.online():
                self._gone_since[agent_id] = now
                return True
        return False

    def present(self, where: str, agents: dict[int, str], now: float) -> bool:
        """The agents present by way of `where` are these now; whether who is online changed."""
        before = set(self.online())
        if agents:
            self._elsewhere[where] = dict(agents)
        else:
            self._elsewhere.pop(where, None)
        after = set(self.online())
        for agent_id in after:
            self._gone_since.pop(agent_id, None)
        for agent_id in before - after:
            self._gone_since[agent_id] = now
        return before != after

    def gone(self, agent_ids: set[int], now: float) -> None:
        """These agents count as gone since `now` (owners from before a restart)."""
        self._gone_since.update({agent_id: now for agent_id in agent_ids})

    def away(self, now: float, after: float) -> list[int]:
        """The agents gone for `after` seconds or more."""
        return [a for a, since in self._gone_since.items() if now - since >= after]

    def take_away(self, agent_id: int, now: float, after: float) -> bool:
        """Whether the agent is still gone for `after` seconds (not back meanwhile); they no
        longer count as gone (their conversations are being requeued)."""
        since = self._gone_since.get(agent_id)
        if since is None or now - since < after:
            return False
        del self._gone_since[agent_id]
        return True


class Presence:
    """Agents coming and going: consoles opened and closed, presence reported by Slack."""

    def __init__(
        self,
        roster: Roster,
        board: QueueBoard,
        feed: ConsoleFeed,
        publisher: Publisher,
        bus: Bus | None = None,
    ) -> None:
        self._roster = roster
        self._board = board
        self._feed = feed
        self._publisher = publisher
        self._bus = bus or NoBus()
        self._heard_from: dict[str, float] = {}  # process -> when it last said who it has
        self._said = 0.0
        self._bus.on(TOPIC, self._heard)

    async def console_opened(self, console: Console) -> None:
        came_online = self._roster.opened(console)
        self._feed.send(console, {"type": "board", **await self._board.board_for(console.agent)})
        self._say()
        if came_online:
            await self._publisher.everyone_changed()

    async def console_closed(self, console: Console) -> None:
        gone = self._roster.closed(console, time.monotonic())
        self._say()
        if gone:
            await self._publisher.everyone_changed()

    # -- the other processes --------------------------------------------------------------------

    def ask(self) -> None:
        """At start-up: every other process says who is online by way of it."""
        self._bus.post(TOPIC, {"op": "who"})

    def leave(self) -> None:
        """At shutdown: nobody is online by way of this process any more."""
        self._bus.post(TOPIC, {"op": "online", "agents": {}})

    async def tick(self) -> None:
        """Every sweep: remind the others who is here; count out processes gone quiet."""
        if not self._bus.shared:
            return
        now = time.monotonic()
        if now - self._said >= SAY_EVERY:
            self._say()
        for process, heard in list(self._heard_from.items()):
            if now - heard > PRESENT_FOR:
                del self._heard_from[process]
                await self._present(PROCESS + process, {})

    def _say(self) -> None:
        if self._bus.shared:
            self._said = time.monotonic()
            agents = {str(k): v for k, v in self._roster.online_here().items()}
            self._bus.post(TOPIC, {"op": "online", "agents": agents})

    async def _heard(self, event: dict[str, Any]) -> None:
        if event.get("op") == "who":
            self._say()
            return
        process = str(event["from"])
        agents = {int(k): str(v) for k, v in dict(event["agents"]).items()}
        if agents:
            self._heard_from[process] = time.monotonic()
        else:
            self._heard_from.pop(process, None)
        # That process told everyone what its change means (the board, the queue's places).
        self._roster.present(PROCESS + process, agents, time.monotonic())

    def close_consoles(self, agent_id: int, logins: set[str], code: int, reason: str) -> int:
        """Close the consoles opened with these logins (ended: logged out, password changed);
        at once, without waiting for what is still queued. How many were open."""
        closing = self._roster.logged_in_with(agent_id, logins)
        for console in closing:
            console.outbox.drop(code, reason)
        return len(closing)

    async def set_present(self, where: str, agents: dict[int, str]) -> None:
        """The agents who are there by some other way than a console (Slack's presence)."""
        await self._present(where, agents)
        self._say()

    async def _present(self, where: str, agents: dict[int, str]) -> None:
        if self._roster.present(where, agents, time.monotonic()):
            await self._publisher.everyone_changed()
