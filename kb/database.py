"""Opening the database: SQLite by default, PostgreSQL when the URL says so."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine as Database
from sqlalchemy import event
from sqlmodel import create_engine


def open_database(url: str) -> Database:
    """An SQLAlchemy engine for `url`, tuned for a chat service's short transactions."""
    if url.startswith("sqlite"):
        db = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(db, "connect", _sqlite_pragmas)
        return db
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the one writer; NORMAL sync is durable across app crashes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


__all__ = ["Database", "open_database"]
