"""Load on the web channel: many widget connections against a real `shopclerk serve`.

    .venv/bin/python bench/web_load.py --data-dir DIR [--connections 200] [--rate 50]
        [--seconds 20] [--idle 2000]

Starts the server as a child process on a free loopback port (its own data directory copy of
DIR's settings; connection and rate limits raised for the run), then, with the load generator
in this process:
1. paced: `--connections` sockets send `--rate` messages/s in all for `--seconds`; prints
   messages answered per second, end-to-end latency (send -> the bot's reply arrives)
   p50/p95/p99, errors and lost messages;
2. flat out: each socket sends its next message as soon as the previous one is answered;
   prints messages answered per second;
3. idle: opens `--idle` more sockets (hello only) and prints the server's memory per idle
   connection (RSS before and after, from /proc).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import statistics
import time
import uuid
from pathlib import Path

import websockets
from serving import percentile, shopclerk_serve

QUESTIONS = [
    "which payment methods do you accept?", "hello", "do you ship to switzerland",
    "how long does a refund take with paypal", "is there a fee for cancelling",
    "how much is the Harbor & Pine Mooring 35 Travel Backpack?", "I forgot my password",
    "can i change the delivery address", "do you have waterproof boots", "thanks, bye",
]  # fmt: skip


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


class Client:
    """One widget connection: sends messages and times each until its bot reply arrives."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.ws: websockets.ClientConnection | None = None
        self.waiting: dict[str, float] = {}
        self.latencies: list[float] = []
        self.errors = 0
        self.replied = asyncio.Event()
        self._last_client_id: str | None = None

    async def open(self) -> None:
        self.ws = await websockets.connect(self.url, max_queue=None)
        await self.ws.send(json.dumps({"v": 1, "type": "hello", "session": None, "last_seq": 0}))
        welcome = json.loads(await self.ws.recv())
        assert welcome["type"] == "welcome"

    async def listen(self) -> None:
        assert self.ws is not None
        async for raw in self.ws:
            frame = json.loads(raw)
            if frame["type"] == "error":
                self.errors += 1
                self.replied.set()
            elif frame["type"] == "message" and frame["role"] == "customer":
                self._last_client_id = frame["client_id"]
            elif frame["type"] == "message" and frame["role"] == "bot":
                sent = self.waiting.pop(self._last_client_id or "", None)
                if sent is not None:
                    self.latencies.append(time.perf_counter() - sent)
                self.replied.set()

    async def send(self) -> None:
        assert self.ws is not None
        client_id = str(uuid.uuid4())
        self.replied.clear()
        self.waiting[client_id] = time.perf_counter()
        frame = {
            "v": 1,
            "type": "message",
            "client_id": client_id,
            "text": random.choice(QUESTIONS),
        }
        await self.ws.send(json.dumps(frame))


async def paced(clients: list[Client], rate: float, seconds: float) -> None:
    total = int(rate * seconds)
    started = time.perf_counter()
    for n in range(total):
        await asyncio.sleep(max(0.0, started + n / rate - time.perf_counter()))
        await clients[n % len(clients)].send()
    await asyncio.sleep(3)  # let the last replies arrive
    latencies = [x for c in clients for x in c.latencies]
    lost = sum(len(c.waiting) for c in clients)
    elapsed = time.perf_counter() - started - 3
    print(
        f"paced: {len(clients)} connections, {total} messages at {rate:g}/s: "
        f"{len(latencies) / elapsed:.1f} answered/s, latency p50 "
        f"{percentile(latencies, 0.5) * 1000:.0f} ms, p95 "
        f"{percentile(latencies, 0.95) * 1000:.0f} ms, p99 "
        f"{percentile(latencies, 0.99) * 1000:.0f} ms, errors "
        f"{sum(c.errors for c in clients)}, lost {lost}"
    )
    for c in clients:
        c.latencies.clear()


async def flat_out(clients: list[Client], seconds: float) -> None:
    deadline = time.perf_counter() + seconds

    async def loop(client: Client) -> int:
        answered = 0
        while time.perf_counter() < deadline:
            await client.send()
            await client.replied.wait()
            answered += 1
        return answered

    started = time.perf_counter()
    counts = await asyncio.gather(*(loop(c) for c in clients))
    elapsed = time.perf_counter() - started
    latencies = [x for c in clients for x in c.latencies]
    print(
        f"flat out: {len(clients)} connections: {sum(counts) / elapsed:.1f} answered/s, "
        f"latency p50 {statistics.median(latencies) * 1000:.0f} ms"
    )


async def idle(url: str, count: int, pid: int) -> None:
    before = _rss_kib(pid)
    sockets = []
    for _ in range(count):
        ws = await websockets.connect(url)
        await ws.send(json.dumps({"v": 1, "type": "hello", "session": None, "last_seq": 0}))
        await ws.recv()
        sockets.append(ws)
    await asyncio.sleep(2)
    after = _rss_kib(pid)
    print(
        f"idle: {count} connections: server RSS {before / 1024:.0f} -> {after / 1024:.0f} MiB,"
        f" {(after - before) / count:.1f} KiB per idle connection"
    )
    await asyncio.gather(*(ws.close() for ws in sockets))


async def run(url: str, args: argparse.Namespace, pid: int) -> None:
    clients = [Client(url) for _ in range(args.connections)]
    await asyncio.gather(*(c.open() for c in clients))
    listeners = [asyncio.create_task(c.listen()) for c in clients]
    await paced(clients, args.rate, args.seconds)
    await flat_out(clients, args.seconds / 2)
    for task in listeners:
        task.cancel()
    await asyncio.gather(*(c.ws.close() for c in clients if c.ws))
    await idle(url, args.idle, pid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--idle", type=int, default=2000)
    parser.add_argument("--ws", default="websockets-sansio", help="uvicorn's implementation")
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    env = {
        **os.environ,
        "SHOPCLERK_WS_CONNECTIONS_PER_ADDRESS": "100000",
        "SHOPCLERK_WS_MESSAGES_PER_MINUTE": "100000",
        # every simulated customer comes from this one address
        "SHOPCLERK_WS_SESSIONS_PER_ADDRESS_PER_MINUTE": "100000",
        "SHOPCLERK_WS_MESSAGES_PER_ADDRESS_PER_MINUTE": "1000000",
    }
    with shopclerk_serve(args.data_dir, env, "--ws", args.ws) as (port, server):
        print(f"server pid {server.pid} on port {port}, {os.cpu_count()} cores")
        asyncio.run(run(f"ws://127.0.0.1:{port}/ws", args, server.pid))


if __name__ == "__main__":
    main()
