"""The database: opened from the settings, its schema brought up to date with Alembic."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

import migrations
from kb.database import Database, open_database
from shopclerk.settings import Settings


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(db: Database) -> None:
    """Apply every migration not yet applied to `db`, all in one transaction."""
    url = db.url.render_as_string(hide_password=False)
    config = alembic_config(url)
    # SQLite migrations rebuild tables that others point at: foreign keys are checked by the
    # app, not during the rebuild (Alembic's batch mode documents this).
    migrator = open_database(url, migrating=True) if db.dialect.name == "sqlite" else db
    try:
        with migrator.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        if migrator is not db:
            migrator.dispose()


def open_db(settings: Settings, *, migrate: bool = True) -> Database:
    db = open_database(settings.sqlalchemy_url)
    if migrate:
        upgrade(db)
    return db
