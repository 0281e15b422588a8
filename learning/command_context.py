"""What the learning commands (`dataset`, `finetune`, `kb suggestions`) are handed by the
command line that registers them: the settings they read and the clients they use, through
Typer's context (`ctx.obj`), so that learning never imports `shopclerk`, which sits above it.

`shopclerk.cli` puts a `shopclerk.command_services.CliServices` there before any subcommand runs;
tests invoke the sub-apps with their own (`runner.invoke(app, args, obj=...)`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import typer

if TYPE_CHECKING:
    from openai import AsyncOpenAI
    from pydantic import SecretStr
    from sqlalchemy import Engine as Database

    from kb.embeddings import Embedder


class CommandSettings(Protocol):
    """The settings the learning commands read (shopclerk.settings.Settings has them all)."""

    @property
    def data_dir(self) -> Path: ...
    @property
    def index_dir(self) -> Path: ...
    @property
    def store_timezone(self) -> str: ...
    @property
    def openai_model(self) -> str: ...
    @property
    def openai_api_key(self) -> SecretStr | None: ...
    @property
    def openai_base_url(self) -> str | None: ...
    @property
    def finetuned_model_file(self) -> Path: ...


class CommandServices(Protocol):
    """The settings, and the clients built from them, as the composition root builds them."""

    @property
    def settings(self) -> CommandSettings: ...

    def open_db(self) -> Database:
        """The configured database, its schema checked (one `error:` line when unusable)."""
        ...

    def openai_client(self) -> AsyncOpenAI:
        """The model API's client."""
        ...

    def encoder(self) -> Embedder:
        """The embedding model the indexes are built with."""
        ...


def services(ctx: typer.Context) -> CommandServices:
    """What the root command put in the context for its subcommands."""
    found: CommandServices | None = ctx.obj
    if found is None:
        raise RuntimeError(
            "the learning commands run under a root command that puts their "
            "settings and clients in ctx.obj (shopclerk.cli does)"
        )
    return found


def fail(message: str) -> typer.Exit:
    """One `error:` line on stderr, and exit status 1 (as every shopclerk command fails)."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(1)
