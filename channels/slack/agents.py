"""Slack as the agents' workspace: every handoff becomes a thread in the agents channel.

The thread's root is a card (reason, customer, intent, what the bot found, its draft, and
Claim / Hand back / Resolve); the conversation is mirrored under it as it goes on. A linked
agent (`shopclerk agents link`) who claims it and writes in the thread is answering the
customer, wherever the customer is. Every action goes through the same `Desk` as the console,
so ownership holds across both: what one agent has, nobody else can answer, in either place.

The desk's events arrive through `desk_event` (never blocking the desk) and are worked off in
order per conversation.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import aiohttp
from rapidfuzz import fuzz
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from channels.slack.blocks import (
    CLAIM,
    HAND_BACK,
    MORE,
    RESOLVE,
    SEND_DRAFT,
    announcement,
    card_state,
    handoff_card,
    history,
    mirrored,
    plain_text,
)
from channels.slack.locks import KeyedLocks
from channels.slack.models import SlackAgentThread
from channels.slack.store import SlackStore
from engine.models import Message, Role
from engine.owners import BOT, QUEUE, agent_owner
from handoff.agents import AgentAccounts
from handoff.desk import Desk
from handoff.models import Agent
from handoff.tickets import NotYoursError
from handoff.views import iso

log = logging.getLogger(__name__)
PRESENCE_EVERY = 30.0  # seconds between looks at who of the linked agents is active in Slack
HISTORY = 20  # messages shown when a thread starts
FROM_SLACK = "slack:"  # client ids of agent replies written in an agents thread
RELEASES = {HAND_BACK: (BOT, "handed_back"), RESOLVE: (BOT, "resolved"),
            "unresolved": (BOT, "unresolved"), "abandoned": (BOT, "abandoned"),
            "put_back": (QUEUE, "put_back")}  # fmt: skip
HINTS = {
    "not_in_channel": " (invite the bot to the agents channel: /invite @shopclerk)",
    "channel_not_found": " (SHOPCLERK_SLACK_AGENTS_CHANNEL is not a channel the bot can see)",
    "missing_scope": " (reinstall the app with the scopes in docs/slack/manifest.json)",
}
NOT_LINKED = (
    "Your Slack account is not linked to an agent yet. Ask an admin to run "
    "`shopclerk agents link <username> {user}`."
)


class SlackAgents:
    def __init__(
        self,
        desk: Desk,
        slack: SlackStore,
        accounts: AgentAccounts,
        client: AsyncWebClient,
        channel: str,
        holds: Callable[[], bool] = lambda: True,
    ) -> None:
        self._desk = desk
        self._holds = holds  # this process speaks for Slack (channels/slack/cluster.py)
        self._slack = slack
        self._accounts = accounts
        self._client = client
        self.channel = channel
        self._locks: KeyedLocks[int] = KeyedLocks()
        self._tasks: set[asyncio.Task[None]] = set()
        self._sync_waiting: set[int] = set()  # conversations with a sync queued, not started
        self._presence: asyncio.Task[None] | None = None
        self.bot_user_id: str | None = None

    async def start(self) -> None:
        self._presence = asyncio.create_task(self._watch_presence())

    async def stop(self) -> None:
        for task in [self._presence, *self._tasks]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    # -- the desk's events ----------------------------------------------------------------------

    def desk_event(self, frame: dict[str, Any]) -> None:
        """Every process's watchers are given every frame; only the process that speaks for
        Slack acts on it, so a thread hears each event once."""
        kind, cid = frame.get("type"), frame.get("conversation_id")
        if not self._holds():
            return
        if kind not in ("announce", "message", "changed") or not isinstance(cid, int):
            return
        if kind != "announce":
            # A customer message comes as `message` and `changed`: one sync that has not
            # started yet will read both (it reads the conversation when it runs).
            if cid in self._sync_waiting:
                return
            self._sync_waiting.add(cid)
        task = asyncio.get_running_loop().create_task(self._work(cid, frame))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _work(self, cid: int, frame: dict[str, Any]) -> None:
        async with self._locks[cid]:  # in order per conversation (asyncio locks are fair)
            if not self._holds():  # no longer the one that speaks for Slack: the holder does
                self._sync_waiting.discard(cid)
                return
            try:
                if frame["type"] == "announce" and frame.get("why") in ("new", "requeued"):
                    await self._open_thread(cid)
                elif frame["type"] == "announce":
                    await self._flagged(cid)
                else:
                    self._sync_waiting.discard(cid)
                    await self._sync(cid)
            except SlackApiError as exc:
                error = exc.response.get("error")
                hint = HINTS.get(str(error), "")
                log.error(
                    "agents channel %s not updated for conversation %s: %s%s",
                    self.channel,
                    cid,
                    error,
                    hint,
                )
            except (aiohttp.ClientError, TimeoutError) as exc:
                log.warning("agents channel not updated for conversation %s: %s", cid, exc)

    async def _open_thread(self, cid: int) -> None:
        view = await self._desk.view(cid)
        if view is None:
            return
        text, blocks = handoff_card(view)
        posted = await self._client.chat_postMessage(
            channel=self.channel, text=text, blocks=blocks, unfurl_links=False
        )
        messages = await self._desk.messages(cid, HISTORY)
        last = messages[-1].seq if messages else 0
        handoff = view.get("handoff") or {}
        thread = await asyncio.to_thread(
            self._slack.add_thread,
            SlackAgentThread(
                conversation_id=cid,
                handoff_id=handoff.get("id"),
                channel_id=self.channel,
                ts=str(posted["ts"]),
                posted_seq=last,
                card_state=card_state(view),
            ),
        )
        text, blocks = history(messages, _customer(view))
        await self._client.chat_postMessage(
            channel=self.channel, thread_ts=thread.ts, text=text, blocks=blocks, unfurl_links=False
        )

    async def _flagged(self, cid: int) -> None:
        thread = await asyncio.to_thread(self._slack.latest_thread, cid)
        view = await self._desk.view(cid)
        if thread is None or view is None:
            return
        minutes = round(view["conversation"].get("wait_seconds", 0) / 60)
        await self._client.chat_postMessage(
            channel=thread.channel_id,
            thread_ts=thread.ts,
            text=announcement("flagged", minutes),
            reply_broadcast=True,
        )
        await self._sync(cid)

    async def _sync(self, cid: int) -> None:
        """Mirror the conversation's new messages into its thread; update the card if what it
        shows has changed."""
        thread = await asyncio.to_thread(self._slack.latest_thread, cid)
        if thread is None or thread.id is None:
            return
        view = await self._desk.view(cid)
        if view is None or not _same_handoff(view, thread):
            return  # a newer handoff: its own thread is on its way
        customer = _customer(view)
        closed = (view.get("handoff") or {}).get("closed_at")
        messages = await self._desk.messages(cid, 50)
        for message in messages:
            if message.seq <= thread.posted_seq:
                continue
            if closed and iso(message.created_at) > closed:
                break  # after the handoff ended: the bot's again, not the agents'

            if not _written_in_slack(message):
                text, blocks = mirrored(message, customer)
                await self._client.chat_postMessage(
                    channel=thread.channel_id,
                    text=text,
                    thread_ts=thread.ts,
                    blocks=blocks,
                    unfurl_links=False,
                )
            thread.posted_seq = message.seq
            await asyncio.to_thread(self._slack.update_thread, thread.id, message.seq)
        state = card_state(view)
        if state != thread.card_state:
            text, blocks = handoff_card(view)
            await self._client.chat_update(
                channel=thread.channel_id, ts=thread.ts, text=text, blocks=blocks
            )
            await asyncio.to_thread(self._slack.update_thread, thread.id, None, state)

    # -- what agents do in Slack ----------------------------------------------------------------

    async def action(self, body: dict[str, Any], action: dict[str, Any]) -> None:
        """Claim, hand back, resolve (or close otherwise), send the bot's draft."""
        user = str((body.get("user") or {}).get("id") or "")
        action_id = str(action.get("action_id"))
        value = str(action.get("value") or (action.get("selected_option") or {}).get("value"))
        agent = await self._agent(user)
        if agent is None:
            await self._tell(user, NOT_LINKED.format(user=user), body)
            return
        if action_id == SEND_DRAFT:
            await self._send_draft(agent, user, value, body)
            return
        if action_id == MORE:
            value, _, action_id = value.partition(":")
        if not value.isdigit():
            return
        cid = int(value)
        try:
            if action_id == CLAIM:
                change = await self._desk.claim(agent, cid)
                if not change.done:
                    who = await self._desk.owner_name(change.owner)
                    await self._tell(user, f"{who} already has this conversation.", body)
            elif action_id in RELEASES:
                to, outcome = RELEASES[action_id]
                await self._desk.release(agent, cid, to, outcome)
        except NotYoursError as exc:
            who = await self._desk.owner_name(exc.owner)
            await self._tell(user, f"{who} has this conversation, not you.", body)

    async def is_handoff_thread(self, event: dict[str, Any]) -> bool:
        channel, thread_ts = event.get("channel"), event.get("thread_ts")
        if channel != self.channel or not isinstance(thread_ts, str):
            return False
        return await asyncio.to_thread(self._slack.thread_at, channel, thread_ts) is not None

    async def thread_message(self, event: dict[str, Any]) -> bool:
        """A message in a handoff's thread (False: not one). The owner's goes to the customer;
        another agent's is kept as an internal note."""
        channel, thread_ts = event.get("channel"), event.get("thread_ts")
        if channel != self.channel or not isinstance(thread_ts, str):
            return False
        thread = await asyncio.to_thread(self._slack.thread_at, self.channel, thread_ts)
        if thread is None:
            return False
        user, ts = str(event.get("user") or ""), str(event.get("ts"))
        text = plain_text(str(event.get("text") or ""), self.bot_user_id)
        if not text or event.get("bot_id"):
            return True
        agent = await self._agent(user)
        if agent is None or agent.id is None:
            await self._tell(user, NOT_LINKED.format(user=user), None, thread_ts)
            return True
        cid = thread.conversation_id
        owner = await self._desk.owner(cid)
        if owner == agent_owner(agent.id):
            draft_use = await self._draft_use(cid, text)
            await self._desk.reply(agent, cid, text, f"{FROM_SLACK}{ts}", draft_use)
        else:
            await self._desk.note(agent, cid, text)
            await self._tell(
                user,
                "Kept as an internal note: claim the conversation to answer the customer.",
                None,
                thread_ts,
            )
        return True

    async def _send_draft(self, agent: Agent, user: str, value: str, body: dict[str, Any]) -> None:
        if not value.isdigit():
            return
        message = await asyncio.to_thread(self._message, int(value))
        draft = message.understood.bot_draft if message else None
        if message is None or draft is None:
            await self._tell(user, "There is no draft to send for that message.", body)
            return
        try:
            await self._desk.reply(
                agent, message.conversation_id, str(draft["text"]), f"draft:{message.id}", "sent"
            )
        except NotYoursError as exc:
            who = await self._desk.owner_name(exc.owner)
            await self._tell(user, f"{who} has this conversation: claim it first.", body)

    async def _draft_use(self, cid: int, text: str) -> str:
        """Whether the agent sent the bot's latest draft, edited it, or wrote their own."""
        view = await self._desk.view(cid)
        draft = str(((view or {}).get("draft") or {}).get("text") or "")
        if not draft:
            return "own"
        if draft.strip() == text.strip():
            return "sent"
        return "edited" if fuzz.ratio(draft, text) >= 60 else "own"

    def _message(self, message_id: int) -> Message | None:
        return self._slack.message(message_id)

    async def _agent(self, user: str) -> Agent | None:
        if not user:
            return None
        return await asyncio.to_thread(self._accounts.by_slack_user, user)

    async def _tell(
        self, user: str, text: str, body: dict[str, Any] | None, thread_ts: str | None = None
    ) -> None:
        """A message only `user` sees, where they are."""
        if body is not None:
            container = body.get("container") or {}
            thread_ts = container.get("thread_ts") or container.get("message_ts")
        try:
            await self._client.chat_postEphemeral(
                channel=self.channel, user=user, text=text, thread_ts=thread_ts
            )
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("could not tell %s in Slack: %s", user, exc)

    # -- presence -------------------------------------------------------------------------------

    async def _watch_presence(self) -> None:
        """Linked agents who are active in Slack count as online: handoffs go to the queue (not
        offline tickets) and their conversations stay theirs."""
        while True:
            try:
                await self._look()
            except Exception:  # the watch must outlive one bad look
                log.exception("reading Slack presence failed")
            await asyncio.sleep(PRESENCE_EVERY)

    async def _look(self) -> None:
        present: dict[int, str] = {}
        if not self._holds():  # the holder looks (and says who is there for every process)
            await self._desk.set_present("slack", present)
            return
        for agent in await asyncio.to_thread(self._accounts.linked):
            if agent.id is None or not agent.slack_user_id:
                continue
            try:
                answer = await self._client.users_getPresence(user=agent.slack_user_id)
            except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
                log.info("no presence for %s: %s", agent.username, exc)
                continue
            if answer.get("presence") == "active":
                present[agent.id] = agent.display_name
        await self._desk.set_present("slack", present)


def _customer(view: dict[str, Any]) -> str:
    customer = view["conversation"].get("customer") or {}
    return str(customer.get("name") or "Customer")


def _written_in_slack(message: Message) -> bool:
    """An agent's reply typed in the thread: already there."""
    return message.role == Role.AGENT and (message.client_message_id or "").startswith(FROM_SLACK)


def _same_handoff(view: dict[str, Any], thread: SlackAgentThread) -> bool:
    handoff = view.get("handoff") or {}
    return thread.handoff_id is None or handoff.get("id") == thread.handoff_id
