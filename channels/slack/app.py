"""The Slack app: slack-bolt's async app, its events over HTTP (`/slack/events`) or Socket Mode.

Bolt verifies every HTTP request with the signing secret (401 when unsigned, wrongly signed or
older than five minutes), answers Slack's URL check, ignores the bot's own events and
acknowledges each event before its listener runs (`process_before_response=False`): the
engine's work happens after the ack, so Slack's 3 seconds are never at risk. Posting goes
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

from slack_bolt.adapter.socket_mode.websockets import AsyncSocketModeHandler
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
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
from channels.slack.store import SlackStore
from engine.store import ConversationStore
from handoff.agents import AgentAccounts
from handoff.desk import Desk
from kb.search import Catalog

log = logging.getLogger(__name__)
RATE_LIMIT_RETRIES = 8  # 429s waited out per call before the message is retried later


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
        self.customers = SlackChannel(
            desk,
            store,
            slack,
            self.client,
            catalog,
            config.product_url,
            desk.conversation_id,
            desk.address,
        )
        self.agents = (
            SlackAgents(desk, slack, accounts, self.client, config.agents_channel)
            if config.agents_channel
            else None
        )
        self._desk = desk
        self._http = AsyncSlackRequestHandler(self.bolt)
        self._socket: AsyncSocketModeHandler | None = None
        self._register()

    def _register(self) -> None:
        bolt = self.bolt
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
        if self.config.socket_mode:
            self._socket = AsyncSocketModeHandler(self.bolt, self.config.app_token)
            await self._socket.connect_async()  # type: ignore[no-untyped-call]
        await self.customers.catch_up()

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.close_async()  # type: ignore[no-untyped-call]
        if self.agents is not None:
            await self.agents.stop()
        await self.customers.stop()

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


def _team(event: dict[str, Any], context: AsyncBoltContext) -> str:
    """The workspace the app is in (in a shared channel, the writer's own team may differ)."""
    return str(context.team_id or event.get("team") or "T")
