"""Shared fixtures: a built demo data directory and its models (loaded once per run, shared by
every engine and app the tests start: pass `models` to `create_app`), fresh databases per test.

Tests never reach outside this machine: any connection to a non-loopback address fails.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import text

from engine.engine import Engine
from kb.database import Database, open_database
from shopclerk.database import upgrade
from shopclerk.settings import Settings, load_settings
from shopclerk.wiring import (
    Models,
    build,
    import_demo_store,
    limit_threads,
    load_engine,
    load_models,
)
from tests.slack_api import SlackStandIn

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
_real_connect = socket.socket.connect


def _endpoint_addresses() -> set[str]:
    """The one outside host a test may reach: the model endpoint a developer configured for
    the opt-in integration test (SHOPCLERK_TEST_OPENAI_BASE_URL); none by default."""
    url = os.environ.get("SHOPCLERK_TEST_OPENAI_BASE_URL")
    host = urlsplit(url).hostname if url else None
    if not host:
        return set()
    try:
        return {str(info[4][0]) for info in socket.getaddrinfo(host, None)}
    except OSError:
        return set()


_ALLOWED = {"127.0.0.1", "::1", "localhost"} | _endpoint_addresses()


def _loopback_only(self: socket.socket, address: Any) -> Any:
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and host not in _ALLOWED and not host.startswith("/"):
        raise OSError(f"tests may not reach {host}: only loopback is allowed")
    return _real_connect(self, address)


@pytest.fixture(autouse=True, scope="session")
def _offline() -> Iterator[None]:
    socket.socket.connect = _loopback_only  # type: ignore[method-assign]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def built_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A data directory with the demo store imported, indexed and the intent model trained."""
    limit_threads(2)
    settings = load_settings(tmp_path_factory.mktemp("shopclerk-data"))
    settings = settings.model_copy(update={"threads": 2})
    db = open_database(settings.sqlalchemy_url)
    upgrade(db)
    import_demo_store(db)
    build(settings, db)
    return settings


@pytest.fixture(scope="session")
def built_db(built_settings: Settings) -> Database:
    return open_database(built_settings.sqlalchemy_url)


@pytest.fixture(scope="session")
def models(built_settings: Settings) -> Models:
    """The built data directory's models, loaded once: they are read-only once loaded."""
    return load_models(built_settings)


@pytest.fixture(scope="session")
def engine(built_settings: Settings, built_db: Database, models: Models) -> Engine:
    return load_engine(built_settings, built_db, models)


def _sqlite(tmp_path: Path) -> Iterator[Database]:
    db = open_database(f"sqlite:///{tmp_path / 'test.db'}")
    upgrade(db)
    yield db
    db.dispose()


def _postgres() -> Iterator[Database]:
    """A schema of its own in the machine's PostgreSQL, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = open_database(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    db = open_database(f"{POSTGRES_URL}?options=-csearch_path%3D{schema}")
    try:
        upgrade(db)
        yield db
    finally:
        db.dispose()
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty, migrated database: every storage test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield from _sqlite(tmp_path)
    else:
        yield from _postgres()


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    """A stand-in for Slack's Web API and Socket Mode on loopback (tests/slack_api.py)."""
    with SlackStandIn() as stand_in:
        yield stand_in
