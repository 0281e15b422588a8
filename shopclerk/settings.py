"""One typed settings object, loaded once at start-up.

Values come from the environment first, then from a `.env` file in the working directory, then
from the defaults below. Every file the product writes lives under `data_dir`.
"""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from handoff.hours import BusinessHours


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "shopclerk"


class Settings(BaseSettings):
    """Everything shopclerk can be configured with (environment prefix `SHOPCLERK_`)."""

    model_config = SettingsConfigDict(
        env_prefix="SHOPCLERK_", env_file=".env", extra="ignore", frozen=True
    )

    data_dir: Path = Field(default_factory=_default_data_dir)
    database_url: str | None = Field(
        default=None,
        validation_alias="DATABASE_URL",
        description="SQLAlchemy URL; default: a SQLite file in the data directory.",
    )
    redis_url: str | None = Field(
        default=None,
        validation_alias="REDIS_URL",
        description="redis://host:port/db: run many web processes and engine workers "
        "(`shopclerk worker`) over one Redis; empty: one process holds everything.",
    )
    turn_claim_seconds: float = Field(
        default=30,
        ge=0.5,
        le=3600,
        description="With engine workers: a turn a worker took and has not answered in this "
        "long (it died) is taken over by another.",
    )
    worker_metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="`shopclerk worker` serves Prometheus metrics (turn latency, queue depth, "
        "handoffs) on this port, at any path; none: no HTTP at all.",
    )
    redis_prefix: str = Field(
        default="shopclerk:",
        max_length=100,
        description="Put before every Redis key and channel: several desks (or test runs) "
        "can share one Redis.",
    )
    generator: Literal["grounded", "openai"] = Field(
        default="grounded",
        description="grounded: replies composed from the records (offline); openai: written "
        "by a model over any OpenAI-compatible API, checked against the records.",
    )
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias="OPENAI_API_KEY", description="Key for the model's API."
    )
    openai_base_url: str | None = Field(
        default=None,
        validation_alias="OPENAI_BASE_URL",
        description="An OpenAI-compatible API (vLLM, Ollama, llama.cpp, Azure...); "
        "default: OpenAI's.",
    )
    openai_model: str = Field(
        default="gpt-4o-mini",
        description="The model that answers (a fine-tuned one from `shopclerk finetune` is "
        "used instead once it exists), and the base model `shopclerk finetune` trains.",
    )
    openai_timeout_seconds: float = Field(
        default=20.0, gt=0, le=600, description="Longest wait for the model's answer."
    )
    store_timezone: str = Field(default="Europe/Amsterdam", description="For dates in replies.")
    threads: int = Field(default=1, ge=1, le=64, description="CPU threads for the models.")
    max_message_chars: int = Field(default=2000, ge=50, le=100_000)
    max_queued_turns: int = Field(
        default=256,  # engine.worker.MAX_QUEUED_TURNS says why (not imported: it loads the engine)
        ge=1,
        description="Messages that may wait for the engine; past that new ones are refused "
        "with `overloaded` and the client sends them again after `retry_after` seconds.",
    )
    refund_policy_limit_eur: float = Field(
        default=250.0, ge=0, description="Refund requests above this go to a person."
    )
    repeated_failure_limit: int = Field(default=3, ge=1, le=20)
    allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Pages (origins) that may open the chat websocket, comma-separated; "
        "empty: only pages this server serves; * for any.",
    )
    ws_messages_per_minute: int = Field(default=30, ge=1)
    ws_connections_per_address: int = Field(default=20, ge=1)
    product_url: str = Field(default="/#product-{sku}", description="Link to a product page.")
    business_hours: str = Field(
        default="",
        description="When people answer handoffs, in the store's time zone, e.g. "
        "'mon-fri 09:00-17:30; sat 10:00-14:00'; empty: any time an agent is online.",
    )
    agent_away_seconds: float = Field(
        default=120,
        ge=1,
        description="An agent gone this long loses their conversations to the queue.",
    )
    queue_flag_seconds: float = Field(
        default=300,
        ge=1,
        description="A handoff unclaimed this long is flagged and announced "
        "again (and again after as long).",
    )
    secret_key: str | None = Field(
        default=None,
        min_length=32,
        description="Signs agent console cookies; default: a "
        "random key kept in the data directory.",
    )

    # Operations (docs/operations.md): logs, start-up and shutdown.
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="text: lines for people; json: one JSON object per line (log collectors).",
    )
    startup_wait_seconds: float = Field(
        default=60.0,
        ge=0,
        le=3600,
        description="How long `serve` waits for the database (and Redis) to answer at start-up, "
        "trying again at growing intervals, before it gives up (exit code 1).",
    )
    drain_seconds: float = Field(
        default=20.0,
        ge=0,
        le=600,
        description="On SIGTERM, how long messages in hand may take to be answered before every "
        "socket is closed (1012: reconnect at once).",
    )

    # Security and abuse (docs/security.md).
    identity_secret: SecretStr | None = Field(
        default=None,
        min_length=32,
        description="Shared with the shop's backend, which signs a logged-in shopper's id and "
        "email with it (HMAC-SHA256, or an HS256 JWT); empty: no signed shoppers.",
    )
    identity_max_age_seconds: int = Field(
        default=86_400,
        ge=60,
        description="Longest lifetime a signed identity token (JWT) may have.",
    )
    public_url: str | None = Field(
        default=None,
        description="The address customers and agents reach this server at, e.g. "
        "https://support.shop.example (behind a TLS proxy).",
    )
    secure_cookies: bool | None = Field(
        default=None,
        description="Send the console's cookie only over HTTPS; default: on when "
        "SHOPCLERK_PUBLIC_URL starts with https://.",
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Addresses or networks (CIDR) of reverse proxies whose X-Forwarded-For "
        "is believed, comma-separated; empty: none (limits key on the connecting address).",
    )
    allowed_link_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Hosts a model's answer may link to besides those in its sources.",
    )
    ws_sessions_per_address_per_minute: int = Field(
        default=20, ge=1, description="New chat sessions one client address may start per minute."
    )
    ws_messages_per_address_per_minute: int = Field(
        default=120, ge=1, description="Messages one client address may send per minute."
    )
    ws_hellos_per_address_per_minute: int = Field(
        default=60,
        ge=1,
        description="Chats one client address may open or resume per minute (each replays "
        "history); raise it when many customers share one address.",
    )
    connections_per_address: int = Field(
        default=64, ge=1, description="Open TCP connections one client address may hold."
    )
    max_body_bytes: int = Field(
        default=1_048_576, ge=1024, description="Largest HTTP request body taken."
    )
    header_timeout_seconds: float = Field(
        default=10.0, gt=0, le=300, description="Time a client has to send a request's headers."
    )
    body_timeout_seconds: float = Field(
        default=20.0, gt=0, le=600, description="Time a client has to send a request's body."
    )
    proof_failures: int = Field(
        default=5,
        ge=1,
        le=100,
        description="Failed order look-ups (order number and email that do not match) per "
        "conversation, order and email within the window before look-ups are locked.",
    )
    proof_failures_per_address: int = Field(
        default=10, ge=1, le=1000, description="The same, per client address."
    )
    proof_window_seconds: int = Field(
        default=900,
        ge=60,
        description="The window failed look-ups are counted in (and the longest lockout).",
    )

    # Slack: the three credentials under the names slack-bolt itself reads.
    slack_bot_token: SecretStr | None = Field(
        default=None, validation_alias="SLACK_BOT_TOKEN", description="xoxb-…: the bot's token."
    )
    slack_signing_secret: SecretStr | None = Field(
        default=None,
        validation_alias="SLACK_SIGNING_SECRET",
        description="Verifies that requests come from Slack.",
    )
    slack_app_token: SecretStr | None = Field(
        default=None,
        validation_alias="SLACK_APP_TOKEN",
        description="xapp-…: the app-level token Socket Mode connects with.",
    )
    slack_socket_mode: bool = Field(
        default=False,
        description="Take Slack's events over a websocket (Socket Mode) instead of HTTP.",
    )
    slack_agents_channel: str | None = Field(
        default=None,
        description="ID (C…) of the Slack channel where handed-off conversations are posted.",
    )
    slack_api_url: str = Field(
        default="https://slack.com/api/", description="Slack's Web API (a proxy, or tests)."
    )
    slack_lease_seconds: float = Field(
        default=10.0,
        ge=1.0,
        le=300,
        description="With REDIS_URL: one web process at a time posts to Slack and handles its "
        "events; when it dies another takes over within this many seconds.",
    )

    @field_validator("slack_agents_channel")
    @classmethod
    def _channel_id(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if not re.fullmatch(r"[CG][A-Z0-9]{4,}", value):
            raise ValueError(
                f"{value!r} is not a channel ID: use the ID shown at the bottom of the "
                "channel's details in Slack (it starts with C), not its name"
            )
        return value

    @model_validator(mode="after")
    def _slack_complete(self) -> Settings:
        """Slack turns on with the bot token and signing secret; name whatever else is missing
        for what is turned on."""
        token, secret = self.slack_bot_token, self.slack_signing_secret
        wanted = [
            name
            for name, on in (
                ("SLACK_APP_TOKEN", self.slack_app_token),
                ("SHOPCLERK_SLACK_SOCKET_MODE", self.slack_socket_mode),
                ("SHOPCLERK_SLACK_AGENTS_CHANNEL", self.slack_agents_channel),
            )
            if on
        ]
        missing = [
            name
            for name, value in (("SLACK_BOT_TOKEN", token), ("SLACK_SIGNING_SECRET", secret))
            if not value
        ]
        if missing and (wanted or len(missing) == 1):
            why = f" ({', '.join(wanted)} is set)" if wanted and len(missing) == 2 else ""
            raise ValueError(f"Slack needs {' and '.join(missing)}{why}")
        if token and not token.get_secret_value().startswith("xoxb-"):
            raise ValueError("SLACK_BOT_TOKEN is the bot token, which starts with xoxb-")
        if self.slack_socket_mode and not self.slack_app_token:
            raise ValueError(
                "Socket Mode (SHOPCLERK_SLACK_SOCKET_MODE) needs SLACK_APP_TOKEN, an app-level "
                "token with the connections:write scope"
            )
        if self.generator == "openai" and not (self.openai_api_key or self.openai_base_url):
            raise ValueError(
                "the openai generator needs OPENAI_API_KEY (or OPENAI_BASE_URL for a local "
                "server that takes no key)"
            )
        app_token = self.slack_app_token
        if app_token and not app_token.get_secret_value().startswith("xapp-"):
            raise ValueError("SLACK_APP_TOKEN is the app-level token, which starts with xapp-")
        return self

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_bot_token and self.slack_signing_secret)

    @field_validator("business_hours")
    @classmethod
    def _readable_hours(cls, value: str) -> str:
        BusinessHours.parse(value, "UTC")
        return value

    @property
    def hours(self) -> BusinessHours:
        return BusinessHours.parse(self.business_hours, self.store_timezone)

    @field_validator("allowed_origins", "trusted_proxies", "allowed_link_hosts", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("store_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (e.g. Europe/Amsterdam)") from exc
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for part in value:
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError as exc:
                raise ValueError(
                    f"{part!r} is not an address or network (e.g. 10.0.0.5 or 10.0.0.0/8)"
                ) from exc
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().rstrip("/")
        if not re.match(r"https?://[^/\s]+", value):
            raise ValueError(f"{value!r} is not an http(s) address, e.g. https://support.example")
        return value

    @property
    def cookies_secure(self) -> bool:
        """The console's cookie carries the Secure flag."""
        if self.secure_cookies is not None:
            return self.secure_cookies
        return bool(self.public_url and self.public_url.startswith("https://"))

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'shopclerk.db'}"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"

    @property
    def finetuned_model_file(self) -> Path:
        """Written by `shopclerk finetune`: the fine-tuned model's id, used once it exists."""
        return self.data_dir / "finetuned-model.json"


def load_settings(data_dir: Path | None = None) -> Settings:
    """Read the settings once; `data_dir` (from `--data-dir`) wins over the environment."""
    settings = Settings()
    if data_dir is not None:
        settings = settings.model_copy(update={"data_dir": data_dir})
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings
