"""Customers (and support staff) talking to the bot in Slack: a DM, or a mention in a channel
answered in its thread.

A Slack message becomes an `Inbound` keyed by where it was written (`Address`), goes through
the desk like a widget message, and whatever the conversation then holds that Slack has not
seen (the bot's reply, an agent's reply, "Anna joined the chat.") is posted, in order, once.
The message's `ts` is its client id, so Slack's retries and the twin `message`/`app_mention`
events of one message are answered once.

Identity is the message's author, never the thread's: each message carries its author's Slack
id and the verified email of their Slack profile. A channel thread is read by everyone in the
channel, so a reply that shows someone's orders goes to its author alone (an ephemeral message
in the thread, else a DM) with a public line in the thread, and is never streamed there.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from channels.slack.blocks import (
    FEEDBACK,
    QUICK_REPLY,
    SATISFACTION,
    Block,
    Posting,
    agent_message,
    block_thread,
    bot_message,
    escape,
    plain_text,
    private_note,
    replace_block,
    survey,
    system_message,
)
from channels.slack.locks import KeyedLocks
from channels.slack.store import SlackStore
from engine.models import Message, Role
from engine.store import ConversationStore
from engine.types import Inbound
from engine.worker import OverloadedError
from kb.search import Catalog

log = logging.getLogger(__name__)
CHANNEL = "slack"
# Slack's answers that retrying will not change: the message is logged and passed over.
PERMANENT = {"channel_not_found", "is_archived", "not_in_channel", "msg_too_long",
             "no_text", "restricted_action", "account_inactive", "invalid_auth",
             "token_revoked", "missing_scope"}  # fmt: skip
HANDLED_SUBTYPES = {None, "file_share", "thread_broadcast"}
USER_CACHE_SECONDS = 3600.0
# How long a customer's Slack message waits for room in an overloaded engine before they are
# asked to send it again (Slack itself never resends an event that was acknowledged).
BUSY_WAIT_SECONDS = 120.0
BUSY = "Sorry, we're very busy right now and missed that message. Please send it again."
RETRY_DELAYS = (5.0, 15.0, 60.0, 300.0)  # after Slack failed even with the client's retries
STREAM_UPDATE_EVERY = 1.0  # seconds between updates of a message being written
AUTHORS_KEPT = 10_000  # who wrote recent messages, to send private replies to their author


class Desk(Protocol):
    async def handle(self, inbound: Inbound) -> object: ...
    async def rate(self, channel: str, key: str, episode: int, score: int) -> bool: ...


@dataclass(frozen=True)
class Address:
    """Where a Slack conversation lives: a DM (answered in it), or a thread in a channel."""

    team: str
    channel: str
    thread: str | None = None

    @property
    def key(self) -> str:
        parts = [self.team, self.channel] + ([self.thread] if self.thread else [])
        return ":".join(parts)

    @classmethod
    def parse(cls, key: str) -> Address:
        team, channel, *thread = key.split(":", 2)
        return cls(team, channel, thread[0] if thread else None)

    @classmethod
    def of(cls, team: str, channel: str, ts: str, thread_ts: str | None) -> Address:
        """A DM is one conversation; in a channel, the thread (a mention starts one)."""
        if is_dm(channel):
            return cls(team, channel)
        return cls(team, channel, thread_ts or ts)


def is_dm(channel: str) -> bool:
    return channel.startswith("D")


@dataclass
class _Streamed:
    """A model's answer being shown in Slack as it is written."""

    text: str = ""
    ts: str | None = None
    updated: float = 0.0
    private: bool | None = None  # the answer shows orders: not streamed into a thread


@dataclass
class _Person:
    name: str | None
    email: str | None
    at: float


class SlackChannel:
    def __init__(
        self,
        desk: Desk,
        store: ConversationStore,
        slack: SlackStore,
        client: AsyncWebClient,
        catalog: Catalog,
        product_url: str,
        conversation_id: Callable[[str, str], int | None],
        address: Callable[[int], tuple[str, str] | None],
        holds: Callable[[], bool] = lambda: True,
    ) -> None:
        self._desk = desk
        # Whether this process speaks for Slack (with many processes, the lease holder alone
        # posts: channels/slack/cluster.py); the others leave the desk's news to it.
        self._holds = holds
        self._store = store
        self._slack = slack
        self._client = client
        self._catalog = catalog
        self._product_url = product_url
        self._conversation_id = conversation_id
        self._address = address
        self._locks: KeyedLocks[str] = KeyedLocks()
        self._people: dict[str, _Person] = {}
        self._people_swept = time.monotonic()
        self._states: dict[str, str] = {}  # key -> "queued" once told in Slack, until it is not
        self._retrying: set[str] = set()
        self._streams: dict[str, _Streamed] = {}
        # (conversation key, client message id) -> the Slack user who wrote it
        self._authors: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()
        self.bot_user_id: str | None = None

    # -- from Slack -----------------------------------------------------------------------------

    async def message(self, team: str, event: dict[str, Any], mentioned: bool) -> None:
        """A `message` or `app_mention` event: answered if it is for the bot."""
        if event.get("bot_id") or event.get("subtype") not in HANDLED_SUBTYPES:
            return  # other bots, edits, joins...: not a customer writing
        user, channel, ts = event.get("user"), event.get("channel"), event.get("ts")
        if not (isinstance(user, str) and isinstance(channel, str) and isinstance(ts, str)):
            return
        if user == self.bot_user_id:
            return
        raw = str(event.get("text") or "")
        address = Address.of(team, channel, ts, event.get("thread_ts"))
        if not mentioned and not is_dm(channel):
            # In channels the bot answers mentions, then the threads it is in; a mention in a
            # thread comes as an app_mention too, answered there.
            if not event.get("thread_ts") or (self.bot_user_id and f"<@{self.bot_user_id}>" in raw):
                return
            if not await asyncio.to_thread(self._store.exists, CHANNEL, address.key):
                return
        text = plain_text(raw, self.bot_user_id)
        if not text and event.get("files"):
            text = "(sent a file)"
        await self.customer_says(address, user, text, ts)

    async def customer_says(self, address: Address, user: str, text: str, client_id: str) -> None:
        """One person's message: their own id and verified email, whoever else is in the thread
        (the author is noted first, so whichever delivery posts the reply knows whose it is)."""
        person = await self._person(user)
        self._authors[(address.key, client_id)] = user
        while len(self._authors) > AUTHORS_KEPT:
            self._authors.popitem(last=False)
        inbound = Inbound(
            address.key,
            text,
            CHANNEL,
            customer_email=person.email,
            customer_name=person.name,
            client_message_id=client_id,
            sender=user,
        )
        if await self._handed(inbound):
            await self.deliver(address.key)
        else:
            await self._send(address, system_message(BUSY))

    async def _handed(self, inbound: Inbound) -> bool:
        """The message handed to the engine, waiting its turn while the engine is overloaded:
        Slack sends an event once and its customer has no client that resends, so a refused
        message would be lost. False if it was still not taken after `BUSY_WAIT_SECONDS` (the
        customer is then asked to send it again)."""
        waited = 0.0
        while True:
            try:
                await self._desk.handle(inbound)
                return True
            except OverloadedError as busy:
                if waited + busy.retry_after > BUSY_WAIT_SECONDS:
                    log.warning(
                        "engine overloaded: a Slack message in %s not taken",
                        inbound.conversation_key,
                    )
                    return False
                waited += busy.retry_after
                await asyncio.sleep(busy.retry_after)

    async def action(self, body: dict[str, Any], action: dict[str, Any]) -> None:
        """A customer's button: a quick reply (sent as their message) or feedback."""
        address = _action_address(body, action)
        if address is None:
            return
        action_id, value = action.get("action_id"), str(action.get("value") or "")
        user = str((body.get("user") or {}).get("id") or "")
        message = dict(body.get("message") or {})
        message["channel"] = (body.get("container") or {}).get("channel_id") or address.channel
        if action_id in (f"{FEEDBACK}_up", f"{FEEDBACK}_down"):
            message_id, _, rating = value.partition(":")
            if rating not in ("up", "down") or not message_id.isdigit():
                return
            saved = await asyncio.to_thread(
                self._store.save_feedback, CHANNEL, address.key, int(message_id), rating
            )
            if saved:
                thanks = (
                    "Thanks for your feedback 👍"
                    if rating == "up"
                    else "Thanks for telling us. Ask again, or say “person” to reach our team."
                )
                await self._replace(address, message, FEEDBACK, thanks)
        elif str(action_id).startswith(SATISFACTION) and value.isdigit():
            score = int(str(action_id).rsplit("_", 1)[1])
            if await self._desk.rate(CHANNEL, address.key, int(value), score):
                thanks = f"Thank you: you rated this chat {score} out of 5."
                await self._replace(address, message, SATISFACTION, thanks)
        elif str(action_id).startswith(QUICK_REPLY) and value:
            await self._replace(address, message, QUICK_REPLY, f"<@{user}> chose *{escape(value)}*")
            await self.customer_says(address, user, value, f"action:{action.get('action_ts')}")

    async def _replace(
        self, address: Address, message: dict[str, Any], block_id: str, text: str
    ) -> None:
        """The clicked message's buttons replaced by a note (an ephemeral message, which
        Slack does not send along, keeps them)."""
        blocks: list[Block] = message.get("blocks") or []
        channel = str(message.get("channel") or address.channel)
        if not blocks:
            return
        try:
            await self._client.chat_update(
                channel=channel,
                ts=str(message.get("ts")),
                text=str(message.get("text") or ""),
                blocks=replace_block(blocks, block_id, text),
            )
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("could not update a Slack message: %s", exc)

    # -- to Slack (what the handoff desk asks of a channel) ------------------------------------

    async def deliver(self, key: str) -> None:
        """Post what the conversation holds that Slack has not shown yet, in order, once."""
        if not self._holds():
            return
        address = Address.parse(key)
        async with self._locks[key]:
            await self._deliver(address)

    async def _deliver(self, address: Address) -> bool:
        key = address.key
        cid = await asyncio.to_thread(self._conversation_id, CHANNEL, key)
        if cid is None:
            return True
        posted = await asyncio.to_thread(
            self._slack.posted_seq, cid, address.team, address.channel, address.thread
        )
        # From the last one posted on: a reply's own message says whether it shows orders.
        messages = await asyncio.to_thread(
            self._store.messages_after, CHANNEL, key, max(posted - 1, 0)
        )
        before: Message | None = None
        for message in messages:
            asked, before = before, message
            if message.seq <= posted:
                continue
            if message.role != Role.CUSTOMER and not await self._post(address, message, asked):
                self._retry_later(key)
                return False
            await asyncio.to_thread(self._slack.set_posted, cid, message.seq)
        return True

    async def notify(self, key: str, event: str, **fields: Any) -> None:
        """The handoff status, posted when it changes to waiting in the queue (joining and
        leaving are stored messages, posted by `deliver`); a model's answer as it is written,
        as one message updated at most once a second; the rating question at the end. Typing
        has no Slack equivalent."""
        if not self._holds():
            return
        if event == "stream":
            await self._stream(Address.parse(key), str(fields["stream"]), str(fields["delta"]))
            return
        if event == "survey":
            async with self._locks[key]:
                await self._send(Address.parse(key), survey(int(fields["episode"])))
            return
        if event != "handoff":
            return
        state, before = str(fields.get("state")), self._states.pop(key, None)
        if state == "queued":  # all that is asked of the last state told
            self._states[key] = state
        if state != "queued" or before == "queued":
            return
        address = Address.parse(key)
        async with self._locks[key]:
            if await self._deliver(address):  # the bot's "connecting you" first
                await self._send(address, system_message(str(fields.get("text", ""))))

    def online(self, key: str) -> bool:
        """Slack keeps what is posted for the customer: they are always reachable."""
        return True

    async def catch_up(self) -> None:
        """After a restart, or on taking over Slack from a process that died: post what Slack
        missed (Slack was down, the process stopped, or the news of it was lost)."""
        if not self._holds():
            return
        for cid in await asyncio.to_thread(self._slack.behind):
            address = await asyncio.to_thread(self._address, cid)
            if address is not None and address[0] == CHANNEL:
                await self.deliver(address[1])

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    async def _stream(self, address: Address, stream: str, delta: str) -> None:
        """Slack has no streaming: the first piece is posted, later ones update that message
        (throttled to Slack's pace); `deliver` puts the final answer in its place. An answer
        that shows orders is never streamed into a thread (it goes to its author alone)."""
        async with self._locks[address.key]:
            shown = self._streams.setdefault(stream, _Streamed())
            if shown.private is None:
                shown.private = address.thread is not None and await self._streams_orders(
                    address, stream
                )
            if shown.private:
                return
            shown.text += delta
            now = time.monotonic()
            if shown.ts is not None and now - shown.updated < STREAM_UPDATE_EVERY:
                return
            shown.updated = now
            text = escape(shown.text) + " …"
            try:
                if shown.ts is None:
                    posted = await self._client.chat_postMessage(
                        channel=address.channel,
                        text=text,
                        unfurl_links=False,
                        thread_ts=address.thread,
                    )
                    shown.ts = str(posted["ts"])
                else:
                    await self._client.chat_update(channel=address.channel, ts=shown.ts, text=text)
            except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
                log.info("streaming to Slack paused: %s", exc)  # the final answer still comes

    # -- posting --------------------------------------------------------------------------------

    async def _streams_orders(self, address: Address, stream: str) -> bool:
        """Whether the answer being written (`m<bot message id>`) is one that shows orders."""
        number = stream.removeprefix("m")
        if not number.isdigit():
            return True
        bot = await asyncio.to_thread(self._slack.message, int(number))
        if bot is None:
            return True  # unknown: not streamed (the final answer still comes)
        found = await asyncio.to_thread(
            self._store.messages_after, CHANNEL, address.key, bot.seq - 2, 1
        )
        return bool(found) and shows_orders(found[0])

    async def _post(self, address: Address, message: Message, asked: Message | None) -> bool:
        """True once Slack has it (or refuses it for good); False to try again later. A reply
        that shows orders, in a thread, goes to the one who asked alone."""
        posting: Posting
        extra: dict[str, Any] = {}
        if (
            address.thread is not None
            and message.role == Role.BOT
            and asked is not None
            and shows_orders(asked)
        ):
            author = self._authors.get((address.key, str(asked.client_message_id)))
            return await self._post_privately(address, message, author)
        streamed = self._streams.pop(str(message.understood.stream), None)
        if message.role == Role.BOT and streamed is not None and streamed.ts is not None:
            text, blocks = bot_message(message, self._catalog, self._product_url)
            try:  # the streamed message becomes the answer
                await self._client.chat_update(
                    channel=address.channel, ts=streamed.ts, text=text, blocks=blocks
                )
                return True
            except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
                log.info("could not complete a streamed message (%s); posting it", exc)
        if message.role == Role.BOT:
            posting = bot_message(message, self._catalog, self._product_url)
        elif message.role == Role.AGENT:
            posting = agent_message(message)
            extra["username"] = (message.understood.agent_name or "Support")[:80]
        else:
            posting = system_message(message.text)
        return await self._send(address, posting, **extra)

    async def _post_privately(self, address: Address, message: Message, user: str | None) -> bool:
        """An ephemeral message to `user` in the thread, else a DM, else nothing but a line
        asking for a DM; the thread gets only a public line saying which. (Ephemeral clicks
        come without the thread's ts: the buttons' block ids carry it.)"""
        self._streams.pop(str(message.understood.stream), None)
        how = "unknown"
        if user is not None:
            where = f"{address.channel}:{address.thread}"
            text, blocks = bot_message(message, self._catalog, self._product_url, where)
            try:
                await self._client.chat_postEphemeral(
                    channel=address.channel,
                    user=user,
                    thread_ts=address.thread,
                    text=text,
                    blocks=blocks,
                )
                how = "ephemeral"
            except SlackApiError as exc:
                log.info("no ephemeral message for %s (%s); trying a DM", user, exc)
                how = "dm" if await self._direct(user, text, blocks) else "none"
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                log.warning("Slack unreachable for %s (%s); will retry", address.key, exc)
                return False
        if not await self._send(address, private_note(user or "", how)):
            log.warning("the thread was not told of a private answer in %s", address.key)
        return True

    async def _direct(self, user: str, text: str, blocks: list[Block]) -> bool:
        """A DM to `user` (conversations.open, then the message); False if Slack refuses."""
        try:
            opened = await self._client.conversations_open(users=user)
            channel = str((opened.get("channel") or {}).get("id") or "")
            if not channel:
                return False
            await self._client.chat_postMessage(
                channel=channel, text=text, blocks=blocks, unfurl_links=False, unfurl_media=False
            )
        except (SlackApiError, aiohttp.ClientError, TimeoutError, OSError) as exc:
            log.warning("no DM to %s for a private answer: %s", user, exc)
            return False
        return True

    async def _send(self, address: Address, posting: Posting, **extra: Any) -> bool:
        text, blocks = posting
        where: dict[str, Any] = {
            "channel": address.channel,
            "unfurl_links": False,
            "unfurl_media": False,
            **extra,
        }
        if address.thread:
            where["thread_ts"] = address.thread
        try:
            try:
                await self._client.chat_postMessage(text=text, blocks=blocks, **where)
            except SlackApiError as exc:
                if exc.response.get("error") != "invalid_blocks":
                    raise
                log.warning("Slack refused the blocks; sending the text alone: %s", exc)
                await self._client.chat_postMessage(text=text, **where)
        except SlackApiError as exc:
            error = exc.response.get("error")
            if error in PERMANENT:
                log.error("Slack refused a message for %s for good: %s", address.key, error)
                return True
            log.warning("Slack did not take a message for %s (%s); will retry", address.key, error)
            return False
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            log.warning("Slack unreachable for %s (%s); will retry", address.key, exc)
            return False
        return True

    def _retry_later(self, key: str) -> None:
        if key in self._retrying:
            return
        self._retrying.add(key)
        task = asyncio.get_running_loop().create_task(self._retry(key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _retry(self, key: str) -> None:
        try:
            for delay in RETRY_DELAYS:
                await asyncio.sleep(delay)
                if not self._holds():
                    return  # the holder now posts it (its catch-up)
                async with self._locks[key]:  # (a failure inside starts no second loop)
                    if await self._deliver(Address.parse(key)):
                        return
            log.error("gave up posting to Slack for %s for now; a restart tries again", key)
        finally:
            self._retrying.discard(key)

    async def _person(self, user: str) -> _Person:
        """The Slack user's name and email (users.info, kept for an hour)."""
        known = self._people.get(user)
        if known is not None and time.monotonic() - known.at < USER_CACHE_SECONDS:
            return known
        try:
            response = await self._client.users_info(user=user)
            info: dict[str, Any] = response.get("user") or {}
            profile = info.get("profile") or {}
            name = profile.get("real_name") or profile.get("display_name") or info.get("name")
            person = _Person(name or None, profile.get("email") or None, time.monotonic())
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            log.info("no profile for Slack user %s: %s", user, exc)
            person = _Person(None, None, time.monotonic() - USER_CACHE_SECONDS + 60)
        self._people[user] = person
        self._forget_people()
        return person

    def _forget_people(self) -> None:
        """Once an hour, forget the people whose profile is out of date (those who wrote
        within the hour stay): a profile is kept for an hour, not for as long as we run."""
        now = time.monotonic()
        if now - self._people_swept < USER_CACHE_SECONDS:
            return
        self._people_swept = now
        fresh = {u: p for u, p in self._people.items() if now - p.at < USER_CACHE_SECONDS}
        self._people = fresh


def shows_orders(asked: Message) -> bool:
    """The reply to this customer message shows order records: `Turn.private`, from what the
    engine stored of the turn (its documents)."""
    documents = asked.understood.documents or []
    return asked.role == Role.CUSTOMER and any(
        str(d.get("id", "")).startswith("order:") for d in documents if isinstance(d, dict)
    )


def _action_address(body: dict[str, Any], action: dict[str, Any]) -> Address | None:
    team = (body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id")
    carried = block_thread(str(action.get("block_id") or ""))
    if team and carried is not None:  # an ephemeral message's or a DM's: its thread
        return Address(str(team), *carried)
    container = body.get("container") or {}
    message = body.get("message") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    ts = container.get("message_ts") or message.get("ts")
    if not (team and channel and ts):
        return None
    thread = container.get("thread_ts") or message.get("thread_ts")
    return Address.of(str(team), str(channel), str(ts), thread)
