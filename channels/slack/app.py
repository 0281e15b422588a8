"""The Slack app: slack-bolt's async app, its events over HTTP (`/slack/events`) or Socket Mode.

Bolt verifies every HTTP request with the signing secret (401 when unsigned, wrongly signed or
older than five minutes), answers Slack's URL check, ignores the bot's own events and
acknowledges each event before its listener runs (`process_before_response=False`): the
engine's work happens after the ack, so Slack's 3 seconds are never at risk. With many
processes (REDIS_URL) every process takes events and queues them, and the one holding Slack's
lease handles them and posts (channels/slack/cluster.py). Posting goes
through one `AsyncWebClient` whose retry handlers wait out a 429's `Retry-After` (and retry
server and connection errors); what still fails is retried later from what is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError
from slack_bolt.adapter.socket_mode.websockets import AsyncSocketModeHandler
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import HttpRequest, HttpResponse, RetryState
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from starlette.requests import Request
from starlette.responses import Response

from channels.slack.agents import SlackAgents
from channels.slack.blocks import (
    CLAIM,
    FEEDBACK,
    HAND_BACK,
    MORE,
    QUICK_REPLY,
    RESOLVE,
    SATISFACTION,
    SEND_DRAFT,
)
from channels.slack.channel import CHANNEL, SlackChannel
from channels.slack.cluster import Inbox, SlackCluster, SlackLease
from channels.slack.store import SlackStore
from engine.store import ConversationStore
from handoff.agents import AgentAccounts
from handoff.desk import Desk
from kb.search import Catalog

log = logging.getLogger(__name__)
RATE_LIMIT_RETRIES = 8  # 429s waited out per call before the message is retried later
CATCH_UP_EVERY = 30.0  # seconds between the lease holder's looks for what Slack has not shown


class RetryAfter(AsyncRateLimitErrorRetryHandler):
    """slack_sdk's handler for 429s, waiting as long as `Retry-After` says. (Its own reads
    only the header's first character with aiohttp, so "30" waits 3 seconds.)"""

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        if response is None:
            raise error or RuntimeError("no response to retry")
        state.next_attempt_requested = True
        await asyncio.sleep(retry_after(response.headers) + random.random())
        state.increment_current_attempt()


def retry_after(headers: Mapping[str, Any]) -> float:
    """Seconds from a Retry-After header (a value or a list of them); 1 when absent or odd."""
    for name, value in headers.items():
        if name.lower() == "retry-after":
            first = value[0] if isinstance(value, list | tuple) and value else value
            with contextlib.suppress(TypeError, ValueError):
                return max(0.0, float(str(first).strip()))
    return 1.0


@dataclass(frozen=True)
class SlackConfig:
    bot_token: str
    signing_secret: str
    app_token: str | None = None
    socket_mode: bool = False
    agents_channel: str | None = None
    api_url: str = "https://slack.com/api/"
    product_url: str = "/#product-{sku}"


class SlackApp:
    def __init__(
        self,
        config: SlackConfig,
        desk: Desk,
        store: ConversationStore,
        slack: SlackStore,
        accounts: AgentAccounts,
        catalog: Catalog,
        cluster: SlackCluster | None = None,
    ) -> None:
        self.config = config
        self.client = AsyncWebClient(
            token=config.bot_token,
            base_url=config.api_url,
            timeout=15,
            retry_handlers=[
                AsyncConnectionErrorRetryHandler(max_retry_count=2),
                RetryAfter(max_retry_count=RATE_LIMIT_RETRIES),
                AsyncServerErrorRetryHandler(max_retry_count=2),
            ],
        )
        self.bolt = AsyncApp(
            client=self.client,
            signing_secret=config.signing_secret,
            process_before_response=False,
            logger=log,
        )
        # With many processes the front door (`bolt`) queues each event in the inbox; the lease
        # holder hands it to `handler`, which runs the listeners to the end before the next
        # event of the same conversation.
        self.handler = self.bolt
        self._inbox: Inbox | None = None
        self._lease: SlackLease | None = None
        self._holding: list[asyncio.Task[None]] = []
        self._leasing: asyncio.Task[None] | None = None
        if cluster is not None:
            self.handler = AsyncApp(
                client=self.client,
                signing_secret=config.signing_secret,
                process_before_response=True,
                request_verification_enabled=False,
                logger=log,
            )
            self._inbox = Inbox(cluster.redis, cluster.prefix, cluster.process)
            self._lease = SlackLease(
                cluster.redis, cluster.prefix, cluster.lease_seconds, self._gained, self._lost
            )
            self.bolt.middleware(self._queue)
        holds = self._lease.holds if self._lease is not None else _always
        self.customers = SlackChannel(
            desk,
            store,
            slack,
            self.client,
            catalog,
            config.product_url,
            desk.conversation_id,
            desk.address,
            holds,
        )
        self.agents = (
            SlackAgents(desk, slack, accounts, self.client, config.agents_channel, holds)
            if config.agents_channel
            else None
        )
        self._desk = desk
        self._http = AsyncSlackRequestHandler(self.bolt)
        self._socket: AsyncSocketModeHandler | None = None
        self._register()

    def _register(self) -> None:
        bolt = self.handler
        bolt.event("message")(self._on_message)
        bolt.event("app_mention")(self._on_mention)
        for prefix in (QUICK_REPLY, FEEDBACK, SATISFACTION):
            bolt.action(re.compile(f"^{prefix}_"))(self._on_customer_action)
        for action_id in (CLAIM, HAND_BACK, RESOLVE, MORE, SEND_DRAFT):
            bolt.action(action_id)(self._on_agent_action)
        # Links in product cards open in the browser; Slack still sends the click.
        bolt.action(re.compile(r"^product_link_"))(self._ack_only)

    # -- life -----------------------------------------------------------------------------------

    async def start(self) -> None:
        self._desk.connect(CHANNEL, self.customers)
        if self.agents is not None:
            self._desk.follow(self.agents)
            await self.agents.start()
        try:  # who the bot is (its own messages are not a customer's); bolt also asks lazily
            me = await self.client.auth_test()
            self.customers.bot_user_id = me.get("user_id")
            if self.agents is not None:
                self.agents.bot_user_id = me.get("user_id")
        except SlackApiError as exc:
            log.error("Slack refused the bot token: %s", exc.response.get("error"))
        except Exception as exc:  # Slack unreachable now: bolt asks again with the first event
            log.warning("Slack not reachable at start-up: %s", exc)
        if self._lease is None:  # the one process: the front door and the voice
            await self._open_socket()
            await self.customers.catch_up()
            return
        assert self._inbox is not None
        with contextlib.suppress(RedisError):  # else made when the first holder reads
            await self._inbox.ensure_group()
        self._leasing = asyncio.create_task(self._lease.run(), name="slack-lease")

    async def stop(self) -> None:
        if self._leasing is not None:
            self._leasing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._leasing
        await self._close_socket()
        if self.agents is not None:
            await self.agents.stop()
        await self.customers.stop()

    async def _open_socket(self) -> None:
        if self.config.socket_mode:
            self._socket = AsyncSocketModeHandler(self.bolt, self.config.app_token)
            await self._socket.connect_async()  # type: ignore[no-untyped-call]

    async def _close_socket(self) -> None:
        socket, self._socket = self._socket, None
        if socket is not None:
            await socket.close_async()  # type: ignore[no-untyped-call]

    # -- the lease (many processes) -------------------------------------------------------------

    async def _gained(self) -> None:
        """This process speaks for Slack now: it handles the inbox, holds the Socket Mode
        connection, and posts what is pending (what a former holder left, first)."""
        log.info("this process speaks for Slack now")
        assert self._inbox is not None
        self._inbox.start(self._handle)
        self._holding = [asyncio.create_task(self._speak(), name="slack-outbox")]

    async def _lost(self) -> None:
        log.info("this process no longer speaks for Slack")
        holding, self._holding = self._holding, []
        for task in holding:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._inbox is not None:
            await self._inbox.stop()
        await self._close_socket()

    async def _speak(self) -> None:
        try:
            await self._open_socket()
        except Exception:  # Slack unreachable: events still come over HTTP, if set up so
            log.exception("Socket Mode did not connect")
        while True:
            try:
                await self.customers.catch_up()
            except Exception:  # the next look tries again
                log.exception("posting what Slack has not shown failed")
            await asyncio.sleep(CATCH_UP_EVERY)

    async def _queue(self, req: AsyncBoltRequest, resp: BoltResponse, next: Any) -> BoltResponse:
        """The front door's one listener: the verified event into the inbox, then the ack.
        Without Redis Slack is told to send it again (HTTP: up to three times, minutes apart)
        rather than told it arrived."""
        assert self._inbox is not None
        try:
            if not await self._inbox.put(req.body):
                log.info("a Slack event came again (%s); handled once", req.body.get("event_id"))
        except RedisError as exc:
            log.error("a Slack event was not queued (Redis: %s); Slack will send it again", exc)
            return BoltResponse(status=503, body="")
        return BoltResponse(status=200, body="")

    async def _handle(self, body: dict[str, Any]) -> None:
        """One queued event through the listeners, to the end (verified at the front door)."""
        await self.handler.async_dispatch(AsyncBoltRequest(body=body, mode="socket_mode"))

    async def connected(self) -> bool:
        """Whether Socket Mode has a live connection (False over HTTP)."""
        return self._socket is not None and await self._socket.client.is_connected()

    async def endpoint(self, request: Request) -> Response:
        """POST /slack/events: events and interactivity (buttons), verified by bolt."""
        return await self._http.handle(request)

    # -- listeners (run after bolt's ack) -------------------------------------------------------

    async def _on_message(self, event: dict[str, Any], context: AsyncBoltContext) -> None:
        self._learn(context)
        if self.agents is not None and await self.agents.thread_message(event):
            return
        await self.customers.message(_team(event, context), event, mentioned=False)

    async def _on_mention(self, event: dict[str, Any], context: AsyncBoltContext) -> None:
        self._learn(context)
        if self.agents is not None and await self.agents.is_handoff_thread(event):
            return  # an agent writing in a handoff's thread: the message event carries it
        await self.customers.message(_team(event, context), event, mentioned=True)

    async def _on_customer_action(self, ack: Any, body: dict[str, Any], action: Any) -> None:
        await ack()
        await self.customers.action(body, action)

    async def _on_agent_action(self, ack: Any, body: dict[str, Any], action: Any) -> None:
        await ack()
        if self.agents is not None:
            await self.agents.action(body, action)

    @staticmethod
    async def _ack_only(ack: Any) -> None:
        await ack()

    def _learn(self, context: AsyncBoltContext) -> None:
        """Who the bot is, from bolt's auth.test, if start-up could not ask."""
        if self.customers.bot_user_id is None and context.bot_user_id:
            self.customers.bot_user_id = context.bot_user_id
            if self.agents is not None:
                self.agents.bot_user_id = context.bot_user_id


def _always() -> bool:
    return True


def _team(event: dict[str, Any], context: AsyncBoltContext) -> str:
    """The workspace the app is in (in a shared channel, the writer's own team may differ)."""
    return str(context.team_id or event.get("team") or "T")
