"""What the command line hands its sub-apps (`dataset`, `finetune`, `kb suggestions`) through
Typer's context: the settings, and the clients built the one way the rest of shopclerk builds
them. The sub-apps see it as `learning.command_context.CommandServices`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from learning.command_context import fail
from shopclerk.settings import Settings

if TYPE_CHECKING:  # each imported when a command uses it, to keep start-up quick
    import openai
    from sqlalchemy import Engine as Database

    from kb.embeddings import Embedder


@dataclass(frozen=True)
class CliServices:
    settings: Settings

    def open_db(self) -> Database:
        """The database as it is (no migration); one `error:` line when it cannot be used."""
        from shopclerk.database import DatabaseError, open_db

        try:
            return open_db(self.settings)
        except DatabaseError as exc:
            raise fail(str(exc)) from exc

    def openai_client(self) -> openai.AsyncOpenAI:
        from shopclerk.wiring import openai_client

        return openai_client(self.settings)

    def encoder(self) -> Embedder:
        from shopclerk.wiring import embedder

        return embedder(self.settings)
