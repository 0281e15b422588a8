"""Many processes of one desk, as an operator runs them: web processes and engine workers on
one PostgreSQL database and one Redis (the machine's own). The web processes are real uvicorn
servers (tests/support/live_server.py) and the workers real `Worker`s, each on its own thread
and event loop, sharing the session's loaded models; clients talk to them over real sockets."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import httpx
from redis import Redis
from websockets.sync.client import ClientConnection, connect

from shopclerk.settings import Settings
from shopclerk.wiring import Models
from shopclerk.worker import Worker
from tests.support.desk import PASSWORD
from tests.support.frames import RECEIVE_TIMEOUT, Frame
from tests.support.live_server import free_port
from tests.support.postgres import migrated_schema, schema_url

REDIS_URL = "redis://127.0.0.1:6379/0"
ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def demo_schema() -> Iterator[str]:
    """A PostgreSQL schema of its own holding the demo store (the built indexes' ids match);
    its name. Dropped afterwards."""
    with migrated_schema(demo=True) as (schema, db):
        db.dispose()  # the processes under test open their own connections
        yield schema


@contextmanager
def shared_store(built: Settings, **changes: Any) -> Iterator[Settings]:
    """The built models and indexes over a demo store of the test's own in PostgreSQL
    (`demo_schema`), and a Redis key prefix of its own; both removed afterwards."""
    prefix = f"test-{uuid.uuid4().hex[:10]}:"
    try:
        with demo_schema() as schema:
            url = schema_url(schema)
            yield built.model_copy(
                update={"database_url": url, "redis_url": REDIS_URL, "redis_prefix": prefix}
                | changes
            )
    finally:
        redis = Redis.from_url(REDIS_URL)
        keys = list(redis.scan_iter(f"{prefix}*"))
        if keys:
            redis.delete(*keys)
        redis.close()


@contextmanager
def worker_running(settings: Settings, models: Models) -> Iterator[Worker]:
    """An engine worker on a thread of its own, taking turns until the block ends."""
    worker = Worker(settings, models)
    failed: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(worker.run())
        except BaseException as exc:  # shown by the test, not lost in the thread
            failed.append(exc)

    thread = threading.Thread(target=run, name="engine-worker-under-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not worker.started.is_set():
        if failed or not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the worker did not start: {failed}")
        time.sleep(0.05)
    try:
        yield worker
    finally:
        worker.stop()
        thread.join(timeout=30)
    if failed:
        raise failed[0]


class Client:
    """A websocket client of one process: frames in, the ones wanted picked out."""

    def __init__(self, url: str, path: str, headers: dict[str, str] | None = None) -> None:
        ws_url = url.replace("http://", "ws://") + path
        self.ws: ClientConnection = connect(ws_url, additional_headers=headers or {})

    def send(self, frame: Frame) -> None:
        self.ws.send(json.dumps(frame))

    def until(self, wanted: Callable[[Frame], bool], timeout: float = RECEIVE_TIMEOUT) -> Frame:
        deadline = time.monotonic() + timeout
        skipped: list[str] = []
        while (left := deadline - time.monotonic()) > 0:
            try:
                frame: Frame = json.loads(self.ws.recv(timeout=left))
            except TimeoutError:
                break
            if wanted(frame):
                return frame
            skipped.append(str(frame.get("type", "?")))
        raise AssertionError(f"the frame never came within {timeout:g} s; skipped: {skipped}")

    def close(self) -> None:
        self.ws.close()


class Customer(Client):
    def __init__(self, url: str, session: str | None = None, last_seq: int = 0) -> None:
        super().__init__(url, "/ws")
        self.send({"v": 1, "type": "hello", "session": session, "last_seq": last_seq})
        self.session = str(self.until(lambda f: f["type"] == "welcome")["session"])

    def say(self, text: str, client_id: str | None = None) -> str:
        client_id = client_id or str(uuid.uuid4())
        self.send({"v": 1, "type": "message", "client_id": client_id, "text": text})
        return client_id


class Agent:
    """An agent logged in on one process, with their console there."""

    def __init__(self, url: str, username: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=RECEIVE_TIMEOUT)
        csrf = self.http.get("/agent/api/session").json()["csrf"]
        login = {"username": username, "password": PASSWORD}
        answer = self.http.post("/agent/api/login", json=login, headers={"x-csrf-token": csrf})
        assert answer.status_code == 200, answer.text
        self.csrf = answer.json()["csrf"]
        cookie = f"sc_agent={self.http.cookies['sc_agent']}"
        self.console = Client(url, "/agent/ws", {"cookie": cookie})

    def post(self, path: str, body: Frame | None = None) -> Any:
        answer = self.http.post(path, json=body or {}, headers={"x-csrf-token": self.csrf})
        assert answer.status_code < 300, answer.text
        return answer.json()

    def close(self) -> None:
        self.console.close()
        self.http.close()


@contextmanager
def web_subprocess(
    settings: Settings, **more: str
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`shopclerk serve` in a process of its own (one a test can kill), beside workers; its
    base URL and the process. `more`: further environment variables (Slack's settings, say).
    Stopped, if still running, when the block ends."""
    with web_subprocesses(settings, 1, **more) as [started]:
        yield started


@contextmanager
def web_subprocesses(
    settings: Settings, count: int, **more: str
) -> Iterator[list[tuple[str, subprocess.Popen[bytes]]]]:
    """`count` of `web_subprocess`, started at once (each takes seconds to load)."""
    with contextlib.ExitStack() as stack:
        started = [_start_web(settings, stack, more) for _ in range(count)]
        for url, process, log in started:
            _wait_ready(url, process, log)
        yield [(url, process) for url, process, _ in started]


def _start_web(
    settings: Settings, stack: contextlib.ExitStack, more: dict[str, str]
) -> tuple[str, subprocess.Popen[bytes], IO[bytes]]:
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SHOPCLERK_DATA_DIR": str(settings.data_dir),
        "DATABASE_URL": settings.sqlalchemy_url,
        "REDIS_URL": settings.redis_url or "",
        "SHOPCLERK_REDIS_PREFIX": settings.redis_prefix,
        "SHOPCLERK_THREADS": "1",
        **more,
    }
    command = [sys.executable, "-c", "from shopclerk.cli import main; main()"]
    # Its log in a file, not a pipe: a process that runs long would fill a pipe nobody reads.
    log = stack.enter_context(tempfile.TemporaryFile())  # noqa: SIM115 (the stack closes it)
    process = subprocess.Popen(
        [*command, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    stack.callback(_stop, process)
    return f"http://127.0.0.1:{port}", process, log


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: IO[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            _stop(process)
            log.seek(0)
            err = log.read().decode(errors="replace")[-2000:]
            raise RuntimeError(f"the web process did not start: {err}")
        time.sleep(0.1)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
    process.wait()
