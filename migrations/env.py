"""Alembic environment: the tables of `kb` and `engine`, on the URL shopclerk passes in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, engine_from_config, pool
from sqlmodel import SQLModel

import channels.slack.models  # noqa: F401  (registers the Slack tables)
import handoff.models  # noqa: F401  (registers the agent tables)
import kb.models  # (registers the knowledge tables)
import kb.suggestion_models  # noqa: F401  (registers the FAQ suggestions table)

config = context.config
target_metadata = SQLModel.metadata


def run_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_with(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    given = config.attributes.get("connection")
    if given is not None:  # shopclerk passes its own connection
        run_with(given)
        return
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with connectable.connect() as connection:
        run_with(connection)


if context.is_offline_mode():
    run_offline()
else:
    run_online()
