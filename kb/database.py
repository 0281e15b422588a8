"""Opening the database: SQLite by default, PostgreSQL when the URL says so."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine as Database
from sqlalchemy import event
from sqlmodel import create_engine


def open_database(url: str, *, migrating: bool = False) -> Database:
    """An SQLAlchemy engine for `url`, tuned for a chat service's short transactions.

    `migrating=True` (SQLite) is for schema changes: transactions are begun explicitly
    (SQLAlchemy's recipe) so that DDL is transactional and a failed migration leaves nothing
    half-done, and foreign keys are off while tables that others point at are rebuilt. The
    app's own connections keep pysqlite's usual transactions, which begin at the first write:
    an explicit BEGIN before a read would make concurrent writers fail at once instead of
    waiting their turn.
    """
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    db = create_engine(url, connect_args={"check_same_thread": False})

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        if migrating:
            dbapi_connection.isolation_level = None  # no implicit transactions from pysqlite
        cursor = dbapi_connection.cursor()
        # WAL lets readers run beside the one writer; NORMAL sync survives app crashes.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA foreign_keys={'OFF' if migrating else 'ON'}")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()

    def on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")

    event.listen(db, "connect", on_connect)
    if migrating:
        event.listen(db, "begin", on_begin)
    return db


__all__ = ["Database", "open_database"]
