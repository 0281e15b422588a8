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
    """Apply every migration not yet applied to `db`."""
    config = alembic_config(db.url.render_as_string(hide_password=False))
    with db.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def open_db(settings: Settings, *, migrate: bool = True) -> Database:
    db = open_database(settings.sqlalchemy_url)
    if migrate:
        upgrade(db)
    return db
