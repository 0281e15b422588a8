"""A schema of the test's own in the machine's PostgreSQL (trust auth, database `test`)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text

from kb.database import Database, open_database
from shopclerk.database import upgrade
from shopclerk.wiring import import_demo_store

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def schema_url(schema: str) -> str:
    """The database URL whose connections work in `schema`."""
    return f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"


@contextmanager
def migrated_schema(demo: bool = False) -> Iterator[tuple[str, Database]]:
    """A new schema, migrated (and holding the demo store, imported in the same order as the
    build's so the built indexes' ids match, when `demo`): its name and a database on it.
    Dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = open_database(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    db = open_database(schema_url(schema))
    try:
        upgrade(db)
        if demo:
            import_demo_store(db)
        yield schema, db
    finally:
        db.dispose()
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
