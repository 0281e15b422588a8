"""The ASGI application: clients (database, models, indexes, engine worker) are built in the
lifespan, never at import time."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from channels.web.channel import CHANNEL, WebChannel, WebConfig
from channels.web.limits import Limits
from channels.web.routes import web_routes
from handoff.agents import AgentAccounts
from handoff.console import AgentConsole
from handoff.desk import Desk, DeskConfig
from handoff.logins import LoginGate
from handoff.tickets import Tickets
from learning.suggestion_server import SuggestionEndpoints
from shopclerk.database import open_db
from shopclerk.guards import guarded
from shopclerk.health import Operations
from shopclerk.live import limits_redis, open_live
from shopclerk.parts import beside_workers, with_engine
from shopclerk.settings import Settings
from shopclerk.wiring import (
    Models,
    limit_threads,
    load_models,
)

if TYPE_CHECKING:  # imported only when used: the openai client and slack-bolt take a while
    import openai

    from channels.slack.app import SlackConfig


def create_app(
    settings: Settings,
    openai_client: openai.AsyncOpenAI | None = None,
    models: Models | None = None,
) -> Starlette:
    """The app; `openai_client` replaces the one the settings describe (another transport);
    `models`, already loaded from `settings.models_dir`, spare the start-up loading them (the
    tests start many apps on one set). Everything else is built afresh in the lifespan."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        limit_threads(settings.threads)
        db = open_db(settings, migrate=True)
        live = open_live(settings)
        config = DeskConfig(
            settings.hours, settings.agent_away_seconds, settings.queue_flag_seconds
        )
        if live.redis is None:  # the whole desk in this process, the engine included
            parts = with_engine(settings, db, models or load_models(settings), openai_client)
        else:  # the engine workers answer (`shopclerk worker`); this process holds sockets
            parts = beside_workers(settings, db, live, models)
        tickets = Tickets(db, parts.store)
        desk = Desk(
            parts.handle,
            parts.run,
            tickets,
            parts.orders,
            config,
            parts.writer,
            live.bus,
            live.leader,
            parts.elsewhere,
        )
        # The limits' own client: short timeouts (the bus's blocking reads can have none).
        # limits (the widget's, logins) shared by every process; None: in this process
        redis = limits_redis(settings.redis_url) if settings.redis_url else None
        limits = Limits(redis, settings.redis_prefix)
        web = WebChannel(desk, parts.store, parts.catalog, web_config(settings), limits)
        desk.connect(CHANNEL, web)
        app.state.web, app.state.desk = web, desk
        accounts = AgentAccounts(db)
        suggestions = SuggestionEndpoints(db, settings.index_dir, parts.encoder, parts.reload)
        logins = LoginGate(limits.rates)  # with Redis, one budget across every web process
        agent_console = AgentConsole(desk, db, accounts, suggestions, logins)
        console.app = agent_console.app(secret_key(settings), secure_cookie=settings.cookies_secure)
        following = asyncio.create_task(parts.follow())
        await desk.start()
        slack = None
        if settings.slack_enabled:
            from channels.slack.app import SlackApp
            from channels.slack.cluster import SlackCluster
            from channels.slack.store import SlackStore

            cluster = None
            if live.redis is not None:  # any process takes events; the lease holder posts
                lease = settings.slack_lease_seconds
                cluster = SlackCluster(live.redis, live.prefix, live.bus.process, lease)
            slack = SlackApp(
                slack_config(settings),
                desk,
                parts.store,
                SlackStore(db),
                accounts,
                parts.catalog,
                cluster,
            )
            await slack.start()
            slack_events.app = slack.endpoint
        app.state.slack = slack
        operations.started(db, web.availability, parts.depth)
        # What start-up built lives as long as the process: keep it out of the garbage
        # collector's full passes, which otherwise stall every socket now and then. (With
        # `models` lent by the caller, as in the tests' ~50 apps, the caller's long-lived
        # objects are most of the heap: a full pass over them at each start costs ~0.7 s, and
        # what an earlier app left is collected once this one unfreezes it again.)
        if models is None:
            gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await operations.stopped()
            following.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await following
            if slack is not None:
                await slack.stop()
            await desk.stop()
            await limits.stop()
            if redis is not None:
                await redis.aclose()
            agent_console.logins.close()  # the password-hashing thread
            parts.stop()
            await live.close()
            db.dispose()
            # An app started again in this process (as in the tests) must not keep this one.
            gc.unfreeze()

    console = _Late()
    operations = Operations(settings.redis_url, settings.drain_seconds)
    routes = [
        *operations.routes(),
        *web_routes(),
        Route("/agent", _to_console),
        Mount("/agent", app=console),
    ]
    slack_events = _LateEndpoint()
    if settings.slack_enabled:
        routes.append(Route("/slack/events", slack_events.handle, methods=["POST"]))
    app = Starlette(routes=routes, lifespan=lifespan, middleware=list(guarded(settings)))
    app.state.settings = settings
    app.state.operations = operations  # SIGTERM drains through it (shopclerk.serving)
    return app


class _Late:
    """An ASGI app built in the lifespan (the console needs the desk), mounted before that."""

    app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.app is None:
            raise RuntimeError("the agent console is not ready: the app has not started")
        await self.app(scope, receive, send)


class _LateEndpoint:
    """A request handler built in the lifespan (Slack needs the desk), routed before that."""

    app: Callable[[Request], Awaitable[Response]] | None = None

    async def handle(self, request: Request) -> Response:
        if self.app is None:
            return Response("not ready", status_code=503)
        return await self.app(request)


async def _to_console(request: Request) -> Response:
    return RedirectResponse("/agent/", status_code=307)


def secret_key(settings: Settings) -> str:
    """The key that signs console cookies: the setting, or one made once and kept (0600) in
    the data directory, so logins survive a restart."""
    if settings.secret_key:
        return settings.secret_key
    path = settings.data_dir / "secret_key"
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48))
    return path.read_text().strip()


def slack_config(settings: Settings) -> SlackConfig:
    from channels.slack.app import SlackConfig

    def secret(value: SecretStr | None) -> str | None:
        return value.get_secret_value() if value is not None else None

    return SlackConfig(
        bot_token=secret(settings.slack_bot_token) or "",
        signing_secret=secret(settings.slack_signing_secret) or "",
        app_token=secret(settings.slack_app_token),
        socket_mode=settings.slack_socket_mode,
        agents_channel=settings.slack_agents_channel,
        api_url=settings.slack_api_url,
        product_url=settings.product_url,
    )


def web_config(settings: Settings) -> WebConfig:
    return WebConfig(
        allowed_origins=tuple(settings.allowed_origins),
        max_message_chars=settings.max_message_chars,
        messages_per_minute=settings.ws_messages_per_minute,
        connections_per_address=settings.ws_connections_per_address,
        product_url=settings.product_url,
        sessions_per_address_per_minute=settings.ws_sessions_per_address_per_minute,
        messages_per_address_per_minute=settings.ws_messages_per_address_per_minute,
        hellos_per_address_per_minute=settings.ws_hellos_per_address_per_minute,
        identity_secret=secret.get_secret_value() if (secret := settings.identity_secret) else None,
        identity_max_age_seconds=settings.identity_max_age_seconds,
    )
