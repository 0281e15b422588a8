"""Scaling out on this machine: one process, one web process with two engine workers, two web
processes with two engine workers, measured side by side in one run, and a soak with restarts.

    .venv/bin/python bench/scale.py --data-dir DIR [--connections 64] [--seconds 20]
        [--configs 1,1+2,2+2] [--soak 600] [--soak-rate 40]

DIR is a built data directory (`shopclerk db upgrade`, `kb build`): its models and indexes. The
records are imported again into a PostgreSQL schema of the run's own (in the same order, so the
indexes' ids match), and the processes share it and a Redis key prefix of the run's own; both
are removed afterwards. Every process runs with SHOPCLERK_THREADS=1.

Prints, in one run:
- engine alone: messages/s through `Engine.handle_many` in batches of 64 in this process (the
  ceiling the serving path is held against);
- for each configuration: `--connections` widget sockets, each sending its next message as soon
  as the previous one is answered, for `--seconds`: answered/s, latency p50/p95, errors, and
  each process's CPU use in that window (what bounds it: a process near 100% of a core is the
  bottleneck; all of them together near 200% means the two cores are);
- with --soak S: two web processes and two workers for S seconds at --soak-rate messages/s;
  at a third of the way one web process is killed and started again, at two thirds one worker
  is stopped (SIGTERM) and started again. The clients do what the widget does (resume from the
  last seq on any web process, send again what was never acknowledged, wait out `retry_after`).
  Then: sent, stored, answered, lost (sent but never stored) and doubled (stored or answered
  more than once), read from the database.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import resource
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import websockets
from serving import free_port, percentile

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUESTIONS = [
    "which payment methods do you accept?", "hello", "do you ship to switzerland",
    "how long does a refund take with paypal", "is there a fee for cancelling",
    "how much is the Harbor & Pine Mooring 35 Travel Backpack?", "I forgot my password",
    "can i change the delivery address", "do you have waterproof boots", "where is my order",
]  # fmt: skip
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REDIS = "redis://127.0.0.1:6379/0"
RAISED_LIMITS = {  # every simulated customer comes from 127.0.0.1
    "SHOPCLERK_WS_CONNECTIONS_PER_ADDRESS": "100000",
    "SHOPCLERK_WS_MESSAGES_PER_MINUTE": "100000",
    "SHOPCLERK_WS_SESSIONS_PER_ADDRESS_PER_MINUTE": "100000",
    "SHOPCLERK_WS_MESSAGES_PER_ADDRESS_PER_MINUTE": "10000000",
    "SHOPCLERK_WS_HELLOS_PER_ADDRESS_PER_MINUTE": "10000000",
    "SHOPCLERK_CONNECTIONS_PER_ADDRESS": "1000000",
}


# -- the processes ---------------------------------------------------------------------------


@dataclass
class Proc:
    kind: str  # web | worker
    popen: subprocess.Popen[bytes]
    port: int | None = None

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.popen.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Cluster:
    env: dict[str, str]
    procs: list[Proc] = field(default_factory=list)

    def start(self, kind: str, port: int | None = None) -> Proc:
        command = [sys.executable, "-c", "from shopclerk.cli import main; main()"]
        if kind == "web":
            port = port or free_port()
            command += ["serve", "--port", str(port)]
        else:
            command += ["worker"]
        popen = subprocess.Popen(
            command, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        proc = Proc(kind, popen, port)
        self.procs.append(proc)
        return proc

    def webs(self) -> list[Proc]:
        return [p for p in self.procs if p.kind == "web" and p.popen.poll() is None]

    def stop(self, proc: Proc, how: int = signal.SIGTERM) -> None:
        proc.popen.send_signal(how)
        try:
            proc.popen.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.popen.kill()
            proc.popen.wait()
        if proc.popen.stderr:
            proc.popen.stderr.close()
        self.procs.remove(proc)

    def stop_all(self) -> None:
        for proc in list(self.procs):
            self.stop(proc)


def wait_for_web(proc: Proc) -> None:
    import httpx

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise RuntimeError(f"a web process exited: {proc.popen.stderr.read().decode()[-800:]}")  # type: ignore[union-attr]
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{proc.port}/", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError("a web process did not start in time")


# -- the customers ---------------------------------------------------------------------------


class Widget:
    """One customer doing what the widget does: resume on any web process after a drop, send
    again what was not acknowledged, wait out `retry_after`."""

    def __init__(self, urls: list[str]) -> None:
        self.urls = urls
        self.session: str | None = None
        self.last_seq = 0
        self.unacked: dict[str, tuple[str, float]] = {}  # client id -> (text, first sent)
        self.sent: list[str] = []
        self.latencies: list[float] = []
        self.errors: Counter[str] = Counter()
        self.answered = asyncio.Event()
        self._ws: websockets.ClientConnection | None = None
        self._waiting_reply: dict[int, float] = {}  # customer seq -> sent at

    async def connect(self) -> None:
        while True:
            url = random.choice(self.urls)
            try:
                ws = await websockets.connect(url, max_queue=None, open_timeout=10)
                hello = {
                    "v": 1,
                    "type": "hello",
                    "session": self.session,
                    "last_seq": self.last_seq,
                }
                await ws.send(json.dumps(hello))
                while True:
                    frame = json.loads(await ws.recv())
                    if frame["type"] == "welcome":
                        break
                    if frame["type"] == "error":
                        raise ConnectionError(frame.get("code"))
                self.session = frame["session"]
                self._ws = ws
                for client_id, (text, _) in list(self.unacked.items()):
                    await self._send(client_id, text)
                return
            except (OSError, ConnectionError, websockets.WebSocketException) as exc:
                self.errors[f"reconnect ({exc})"[:60]] += 1
                await asyncio.sleep(0.5)

    async def say(self) -> None:
        client_id = str(uuid.uuid4())
        text = random.choice(QUESTIONS)
        self.unacked[client_id] = (text, time.perf_counter())
        self.sent.append(client_id)
        self.answered.clear()
        await self._send(client_id, text)

    async def _send(self, client_id: str, text: str) -> None:
        if self._ws is None:
            return  # sent on reconnect
        frame = {"v": 1, "type": "message", "client_id": client_id, "text": text}
        with contextlib.suppress(websockets.WebSocketException):
            await self._ws.send(json.dumps(frame))

    async def listen(self) -> None:
        while True:
            if self._ws is None:
                await self.connect()
            assert self._ws is not None
            try:
                async for raw in self._ws:
                    await self._frame(json.loads(raw))
            except websockets.WebSocketException:
                pass
            self._ws = None
            self.errors["dropped"] += 1

    async def _frame(self, frame: dict[str, object]) -> None:
        kind = frame["type"]
        if kind == "ack":
            sent = self.unacked.pop(str(frame["client_id"]), None)
            if sent is not None and isinstance(frame.get("seq"), int):
                self._waiting_reply[int(frame["seq"])] = sent[1]  # type: ignore[arg-type]
        elif kind == "message":
            seq = int(frame["seq"])  # type: ignore[call-overload]
            self.last_seq = max(self.last_seq, seq)
            if frame["role"] != "customer":
                asked = [s for s in self._waiting_reply if s < seq]
                for s in asked:
                    self.latencies.append(time.perf_counter() - self._waiting_reply.pop(s))
                if asked:
                    self.answered.set()
        elif kind == "error":
            code = str(frame.get("code"))
            self.errors[code] += 1
            client_id = frame.get("client_id")
            if code in ("overloaded", "unavailable") and isinstance(client_id, str):
                pending = self.unacked.get(client_id)
                if pending is not None:
                    await asyncio.sleep(float(frame.get("retry_after") or 1))  # type: ignore[arg-type]
                    await self._send(client_id, pending[0])
            elif code not in ("overloaded", "unavailable"):
                self.answered.set()


async def flat_out(urls: list[str], connections: int, seconds: float) -> dict[str, float]:
    widgets = [Widget([urls[i % len(urls)]]) for i in range(connections)]
    await asyncio.gather(*(w.connect() for w in widgets))
    listeners = [asyncio.create_task(w.listen()) for w in widgets]

    async def loop(widget: Widget, until: float) -> None:
        while time.perf_counter() < until:
            await widget.say()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(widget.answered.wait(), 30)

    warm = time.perf_counter() + 3
    await asyncio.gather(*(loop(w, warm) for w in widgets))
    for w in widgets:
        w.latencies.clear()
    started = time.perf_counter()
    await asyncio.gather(*(loop(w, started + seconds) for w in widgets))
    elapsed = time.perf_counter() - started
    latencies = [x for w in widgets for x in w.latencies]
    for task in listeners:
        task.cancel()
    errors = Counter[str]()
    for w in widgets:
        errors.update(w.errors)
    print(f"  client events: {dict(errors)}", flush=True)
    return {
        "answered_per_s": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000 if latencies else float("nan"),
        "p95_ms": percentile(latencies, 0.95) * 1000 if latencies else float("nan"),
        "errors": sum(errors.values()),
    }


# -- the store --------------------------------------------------------------------------------


@contextlib.contextmanager
def run_store(data_dir: Path) -> Iterator[dict[str, str]]:
    from redis import Redis
    from sqlalchemy import text

    from kb.database import open_database
    from shopclerk.database import upgrade
    from shopclerk.wiring import import_demo_store

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = open_database(POSTGRES)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    url = f"{POSTGRES}?options=-csearch_path%3D{schema}"
    db = open_database(url)
    upgrade(db)
    import_demo_store(db)
    db.dispose()
    prefix = f"bench-{uuid.uuid4().hex[:8]}:"
    env = {
        **os.environ,
        **RAISED_LIMITS,
        "PYTHONPATH": str(ROOT),
        "SHOPCLERK_DATA_DIR": str(data_dir),
        "DATABASE_URL": url,
        "SHOPCLERK_REDIS_PREFIX": prefix,
        "SHOPCLERK_THREADS": "1",
        "SHOPCLERK_SECRET_KEY": "bench-" + "k" * 40,
    }
    try:
        yield env
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
        redis = Redis.from_url(REDIS)
        keys = list(redis.scan_iter(f"{prefix}*"))
        if keys:
            redis.delete(*keys)


def engine_alone(env: dict[str, str], seconds: float) -> float:
    from engine.types import Inbound
    from kb.database import open_database
    from shopclerk.settings import load_settings
    from shopclerk.wiring import limit_threads, load_engine

    limit_threads(1)
    settings = load_settings(Path(env["SHOPCLERK_DATA_DIR"])).model_copy(
        update={"database_url": env["DATABASE_URL"], "threads": 1}
    )
    db = open_database(settings.sqlalchemy_url)
    engine = load_engine(settings, db)
    run = uuid.uuid4().hex[:6]

    def batch(n: int) -> list[Inbound]:
        return [
            Inbound(f"alone-{run}-{n}-{i}", random.choice(QUESTIONS), "bench") for i in range(64)
        ]

    engine.handle_many(batch(-1))  # warm
    answered, n, started = 0, 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        answered += len(engine.handle_many(batch(n)))
        n += 1
    rate = answered / (time.perf_counter() - started)
    db.dispose()
    return rate


# -- the run ----------------------------------------------------------------------------------


def measure(env: dict[str, str], config: str, args: argparse.Namespace) -> None:
    webs, workers = (int(x) for x in config.split("+")) if "+" in config else (1, 0)
    run_env = {**env}
    if workers:
        run_env["REDIS_URL"] = REDIS
    else:
        run_env.pop("REDIS_URL", None)
    cluster = Cluster(run_env)
    try:
        procs = [cluster.start("web") for _ in range(webs)]
        procs += [cluster.start("worker") for _ in range(workers)]
        for proc in procs:
            if proc.kind == "web":
                wait_for_web(proc)
        urls = [f"ws://127.0.0.1:{p.port}/ws" for p in cluster.webs()]
        cpu_before = {id(p): p.cpu_seconds() for p in procs}
        started = time.perf_counter()
        result = asyncio.run(flat_out(urls, args.connections, args.seconds))
        wall = time.perf_counter() - started
        use = [f"{p.kind} {100 * (p.cpu_seconds() - cpu_before[id(p)]) / wall:.0f}%" for p in procs]
        label = {"1": "1 process", "1+2": "1 web + 2 workers", "2+2": "2 web + 2 workers"}
        print(
            f"{label.get(config, config)}: {result['answered_per_s']:.1f} answered/s, "
            f"p50 {result['p50_ms']:.0f} ms, p95 {result['p95_ms']:.0f} ms, errors "
            f"{result['errors']:.0f}; CPU: {', '.join(use)}",
            flush=True,
        )
    finally:
        cluster.stop_all()


def soak(env: dict[str, str], args: argparse.Namespace) -> None:
    run_env = {**env, "REDIS_URL": REDIS}
    cluster = Cluster(run_env)
    try:
        webs = [cluster.start("web") for _ in range(2)]
        workers = [cluster.start("worker") for _ in range(2)]
        for web in webs:
            wait_for_web(web)
        urls = [f"ws://127.0.0.1:{p.port}/ws" for p in webs]
        widgets = asyncio.run(_soak(cluster, webs, workers, urls, args))
    finally:
        cluster.stop_all()
    sent = Counter(c for w in widgets for c in w.sent)
    stored, answers = _stored(env, [w.session for w in widgets if w.session])
    lost = [c for c in sent if stored[c] == 0]
    doubled = [c for c in sent if stored[c] > 1] + [c for c, n in answers.items() if n > 1]
    errors = Counter[str]()
    for w in widgets:
        errors.update(w.errors)
    print(
        f"soak {args.soak:.0f} s at {args.soak_rate:g}/s, 2 web + 2 workers, a web process "
        f"killed and a worker restarted: sent {sum(sent.values())}, stored "
        f"{sum(1 for c in sent if stored[c])}, answered {sum(1 for c in sent if answers[c])}, "
        f"lost {len(lost)}, doubled {len(doubled)}; client events {dict(errors)}",
        flush=True,
    )


async def _soak(
    cluster: Cluster,
    webs: list[Proc],
    workers: list[Proc],
    urls: list[str],
    args: argparse.Namespace,
) -> list[Widget]:
    widgets = [Widget(urls) for _ in range(args.connections)]
    await asyncio.gather(*(w.connect() for w in widgets))
    listeners = [asyncio.create_task(w.listen()) for w in widgets]
    total = int(args.soak * args.soak_rate)
    started = time.perf_counter()
    events = [(args.soak / 3, "kill web"), (2 * args.soak / 3, "restart worker")]
    for n in range(total):
        await asyncio.sleep(max(0.0, started + n / args.soak_rate - time.perf_counter()))
        if events and time.perf_counter() - started >= events[0][0]:
            _, what = events.pop(0)
            if what == "kill web":
                port = webs[0].port
                cluster.stop(webs[0], signal.SIGKILL)
                webs[0] = cluster.start("web", port)
                asyncio.get_running_loop().run_in_executor(None, wait_for_web, webs[0])
            else:
                await asyncio.to_thread(cluster.stop, workers[0], signal.SIGTERM)
                workers[0] = cluster.start("worker")
            print(f"  {time.perf_counter() - started:.0f} s: {what}", flush=True)
        await widgets[n % len(widgets)].say()
    deadline = time.perf_counter() + 60  # what is still on its way
    while any(w.unacked for w in widgets) and time.perf_counter() < deadline:
        await asyncio.sleep(0.5)
    await asyncio.sleep(3)
    for task in listeners:
        task.cancel()
    return widgets


def _stored(env: dict[str, str], sessions: list[str]) -> tuple[Counter[str], Counter[str]]:
    """Per client id: how many times the customer's message was stored, and how many replies
    directly follow it."""
    from sqlalchemy import text

    from kb.database import open_database

    db = open_database(env["DATABASE_URL"])
    stored: Counter[str] = Counter()
    answers: Counter[str] = Counter()
    with db.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT m.conversation_id, m.seq, m.role, m.client_message_id FROM message m "
                "JOIN conversation c ON c.id = m.conversation_id WHERE c.channel = 'web' "
                "ORDER BY m.conversation_id, m.seq"
            )
        ).all()
    last: str | None = None
    for _cid, _seq, role, client_id in rows:
        if str(role).lower().endswith("customer"):
            stored[client_id] += 1
            last = client_id
        elif last is not None:
            answers[last] += 1
            last = None
    db.dispose()
    return stored, answers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--configs", default="1,1+2,2+2")
    parser.add_argument("--soak", type=float, default=0, help="seconds; 0: no soak")
    parser.add_argument("--soak-rate", type=float, default=40)
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    print(f"{os.cpu_count()} cores; every process with 1 model thread", flush=True)
    with run_store(args.data_dir.resolve()) as env:
        print(f"engine alone: {engine_alone(env, args.seconds):.1f} messages/s", flush=True)
        for config in args.configs.split(","):
            measure(env, config, args)
        if args.soak:
            soak(env, args)


if __name__ == "__main__":
    main()
