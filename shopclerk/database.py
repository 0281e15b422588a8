"""The database: opened from the settings, its schema brought up to date with Alembic.

Only `shopclerk db upgrade` and `shopclerk serve` migrate (`open_db(..., migrate=True)`); every
other command opens the database as it is and stops, in one line, when its schema is behind.
What can go wrong on the way is one of these, each with a message a newcomer can act on:

    DatabaseError
     ├── DatabaseUrlError           DATABASE_URL cannot be parsed, or has no installed driver
     ├── DatabaseUnreachableError   nobody answers at the URL (down, wrong host/port/password)
     └── SchemaBehindError          the schema is missing or older than the code: `db upgrade`
"""

from __future__ import annotations

import re
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, make_url

import migrations
from kb.database import Database, open_database
from shopclerk.settings import Settings

UPGRADE = "run `shopclerk db upgrade`"


class DatabaseError(Exception):
    """The configured database cannot be used; the message says why and what to do."""


class DatabaseUrlError(DatabaseError):
    """DATABASE_URL is not a URL SQLAlchemy can open."""


class DatabaseUnreachableError(DatabaseError):
    """The database server does not answer, or refuses the credentials."""


class SchemaBehindError(DatabaseError):
    """The schema is missing or older than the code; `shopclerk db upgrade` brings it up."""


def masked(url: str | URL) -> str:
    """`url` with its password replaced by ***, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (
        sa_exc.ArgumentError,
        ValueError,
    ):  # not a URL SQLAlchemy reads: hide what looks like a password
        return re.sub(r"(//[^/:@]*:)[^@/]*@", r"\1***@", str(url))


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


def open_db(settings: Settings, *, migrate: bool = False) -> Database:
    """The configured database; `migrate`: bring its schema up to date first (`db upgrade` and
    `serve`), otherwise check that it is (`SchemaBehindError` when not). Raises `DatabaseError`."""
    url = _parsed(settings.sqlalchemy_url)
    if not migrate:
        _exists(url)
    try:
        db = open_database(settings.sqlalchemy_url)
    except (sa_exc.NoSuchModuleError, ModuleNotFoundError) as exc:
        raise DatabaseUrlError(
            f"DATABASE_URL {masked(url)}: no driver for {url.drivername!r} ({exc}); "
            "for PostgreSQL use postgresql+psycopg://USER:PASSWORD@HOST:PORT/DATABASE"
        ) from exc
    try:
        if migrate:
            upgrade(db)
        else:
            _check_schema(db)
    except sa_exc.OperationalError as exc:
        db.dispose()
        reason = str(exc.orig or exc).strip().splitlines()[0]
        check = (
            "check that its directory exists and is writable"
            if url.get_backend_name() == "sqlite"
            else "check that the server is running there and that DATABASE_URL's host, port, "
            "user and password are right"
        )
        raise DatabaseUnreachableError(
            f"cannot open the database at {masked(url)}: {reason}; {check}"
        ) from exc
    except DatabaseError:
        db.dispose()
        raise
    return db


def _parsed(raw: str) -> URL:
    try:
        return make_url(raw)
    except (sa_exc.ArgumentError, ValueError) as exc:  # ValueError: a port that is no number
        raise DatabaseUrlError(
            f"DATABASE_URL {masked(raw)!s} is not a database URL; it looks like "
            "postgresql+psycopg://USER:PASSWORD@HOST:5432/DATABASE (or unset it for SQLite)"
        ) from exc


def _exists(url: URL) -> None:
    """A SQLite file that is not there yet is not created by merely looking at it."""
    path = url.database
    sqlite_file = url.get_backend_name() == "sqlite" and path and path != ":memory:"
    if sqlite_file and not Path(str(path)).is_file():
        raise SchemaBehindError(f"no database at {path} yet: {UPGRADE} to create it")


def _check_schema(db: Database) -> None:
    scripts = ScriptDirectory.from_config(alembic_config(db.url.render_as_string()))
    head = scripts.get_current_head()
    with db.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    if current == head:
        return
    where = masked(db.url)
    if current is None:
        raise SchemaBehindError(f"the database at {where} has no shopclerk tables yet: {UPGRADE}")
    known = {script.revision for script in scripts.walk_revisions()}
    if current not in known:
        raise SchemaBehindError(
            f"the database at {where} is at revision {current}, which this shopclerk does not "
            f"know (newer than {head}?): use the shopclerk that migrated it"
        )
    raise SchemaBehindError(
        f"the database at {where} is at revision {current}, this shopclerk needs {head}: " + UPGRADE
    )
