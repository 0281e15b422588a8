"""Frames for the agents: queued for every open console and given to every watcher (the Slack
agents channel); the feed waits for none of them. The consoles and watchers in other processes
get them over the bus, so every process's watchers see every frame once, wherever the news
started; a watcher present in many processes acts in one of them (Slack: the process holding
its lease, channels/slack/cluster.py)."""

from __future__ import annotations

from typing import Any, Protocol

from engine.models import Message
from handoff.bus import Bus, NoBus
from handoff.presence import Console, Roster
from handoff.views import message_view

TOPIC = "consoles"


class Watcher(Protocol):
    """Something besides the consoles that follows the desk's events (the Slack agents
    channel): it is given every frame the consoles get, and must not block."""

    def desk_event(self, frame: dict[str, Any]) -> None: ...


class ConsoleFeed:
    def __init__(self, roster: Roster, bus: Bus | None = None) -> None:
        self._roster = roster
        self._watchers: list[Watcher] = []
        self._bus = bus or NoBus()
        self._bus.on(TOPIC, self._heard)

    def follow(self, watcher: Watcher) -> None:
        self._watchers.append(watcher)

    def send(self, console: Console, frame: dict[str, Any]) -> bool:
        """Queue `frame` for `console`; False when it is closing or fell behind (and is being
        dropped: its handler cleans up)."""
        return console.outbox.put(frame)

    def to_all(self, frame: dict[str, Any]) -> None:
        for watcher in self._watchers:
            watcher.desk_event(frame)
        self._to_consoles(frame)
        self._bus.post(TOPIC, {"frame": frame})

    def _to_consoles(self, frame: dict[str, Any]) -> None:
        for console in self._roster.consoles():
            self.send(console, frame)

    async def _heard(self, event: dict[str, Any]) -> None:
        frame = dict(event["frame"])
        for watcher in self._watchers:
            watcher.desk_event(frame)
        self._to_consoles(frame)

    def message(self, cid: int, message: Message) -> None:
        self.to_all({"type": "message", "conversation_id": cid, "message": message_view(message)})

    def changed(self, cid: int) -> None:
        """The conversation changed: a console showing it fetches it again."""
        self.to_all({"type": "changed", "conversation_id": cid})

    def announce(self, cid: int, why: str) -> None:
        self.to_all({"type": "announce", "conversation_id": cid, "why": why})
