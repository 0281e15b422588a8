"""Handoff latency against a real `shopclerk serve`: customers in widget sockets, agents in
console sockets and the console's HTTP API.

    .venv/bin/python bench/handoff_latency.py --data-dir DIR [--conversations 50] [--agents 5]
        [--rate 20] [--seconds 20]

Starts the server as a child process on a free loopback port, on a copy of DIR's database
(models and index from DIR), with `--agents` agent accounts. Each of `--conversations`
customers asks for a person and is claimed by one of the agents (their consoles open). Then,
for `--seconds`, at `--rate` exchanges per second in all, a customer writes and the owning
agent answers. Prints, p50/p95/p99 over all exchanges:
1. customer -> console: from the customer's send to the agent's console showing the message;
2. agent -> widget: from the agent's reply request to the customer's widget showing it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import websockets
from serving import percentile, shopclerk_serve

PASSWORD = "bench-password-123"


class Waits:
    """Futures keyed by message text, resolved by whichever socket sees the text first."""

    def __init__(self) -> None:
        self.pending: dict[str, asyncio.Future[float]] = {}

    def expect(self, text: str) -> asyncio.Future[float]:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.pending[text] = future
        return future

    def seen(self, text: str) -> None:
        future = self.pending.pop(text, None)
        if future is not None and not future.done():
            future.set_result(time.perf_counter())


class Agent:
    def __init__(self, base: str, username: str) -> None:
        self.base, self.username = base, username
        self.http = httpx.AsyncClient(base_url=base, timeout=30)
        self.csrf = ""
        self.console: websockets.ClientConnection | None = None

    async def login(self) -> None:
        self.csrf = (await self.http.get("/agent/api/session")).json()["csrf"]
        answer = await self.http.post(
            "/agent/api/login",
            headers={"x-csrf-token": self.csrf},
            json={"username": self.username, "password": PASSWORD},
        )
        answer.raise_for_status()
        self.csrf = answer.json()["csrf"]
        cookie = f"sc_agent={self.http.cookies['sc_agent']}"
        ws_url = self.base.replace("http", "ws") + "/agent/ws"
        self.console = await websockets.connect(
            ws_url, additional_headers={"cookie": cookie}, max_queue=None
        )

    async def post(self, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return await self.http.post(path, json=body or {}, headers={"x-csrf-token": self.csrf})

    async def listen(self, waits: Waits, announced: asyncio.Queue[int]) -> None:
        assert self.console is not None
        async for raw in self.console:
            frame = json.loads(raw)
            if frame["type"] == "message" and frame["message"]["role"] == "customer":
                waits.seen(frame["message"]["text"])
            elif frame["type"] == "announce" and frame["why"] == "new":
                announced.put_nowait(frame["conversation_id"])


class Customer:
    def __init__(self, url: str) -> None:
        self.url = url
        self.ws: websockets.ClientConnection | None = None

    async def open(self) -> None:
        self.ws = await websockets.connect(self.url, max_queue=None)
        await self.say_raw({"v": 1, "type": "hello", "session": None, "last_seq": 0})

    async def say_raw(self, frame: dict[str, Any]) -> None:
        assert self.ws is not None
        await self.ws.send(json.dumps(frame))

    async def say(self, text: str) -> None:
        await self.say_raw(
            {"v": 1, "type": "message", "client_id": str(uuid.uuid4()), "text": text}
        )

    async def listen(self, waits: Waits) -> None:
        assert self.ws is not None
        async for raw in self.ws:
            frame = json.loads(raw)
            if frame["type"] == "message" and frame["role"] == "agent":
                waits.seen(frame["text"])


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run(base: str, args: argparse.Namespace, usernames: list[str], pid: int) -> None:
    waits, announced = Waits(), asyncio.Queue[int]()
    agents = [Agent(base, name) for name in usernames]
    for agent in agents:
        await agent.login()
    tasks = [asyncio.create_task(a.listen(waits, announced)) for a in agents]
    customers, owners, claimed = [], [], set()
    for n in range(args.conversations):
        customer = Customer(base.replace("http", "ws") + "/ws")
        await customer.open()
        tasks.append(asyncio.create_task(customer.listen(waits)))
        await customer.say("I want to talk to a person")
        cid = await asyncio.wait_for(announced.get(), 30)
        while cid in claimed:  # every console hears each announcement
            cid = await asyncio.wait_for(announced.get(), 30)
        claimed.add(cid)
        agent = agents[n % len(agents)]
        (await agent.post(f"/agent/api/conversations/{cid}/claim")).raise_for_status()
        customers.append(customer)
        owners.append((agent, cid))
    print(f"{len(customers)} conversations handed off and claimed by {len(agents)} agents")

    to_console: list[float] = []
    to_widget: list[float] = []

    async def exchange(n: int) -> None:
        customer, (agent, cid) = customers[n], owners[n]
        text = f"question {uuid.uuid4().hex[:10]} about my order"
        seen = waits.expect(text)
        start = time.perf_counter()
        await customer.say(text)
        to_console.append(await asyncio.wait_for(seen, 30) - start)
        reply = f"answer {uuid.uuid4().hex[:10]}"
        seen = waits.expect(reply)
        start = time.perf_counter()
        answer = await agent.post(
            f"/agent/api/conversations/{cid}/reply",
            {"text": reply, "client_id": reply, "draft": "own"},
        )
        answer.raise_for_status()
        to_widget.append(await asyncio.wait_for(seen, 30) - start)

    running: set[asyncio.Task[None]] = set()
    started, server_cpu, own_cpu = time.monotonic(), _cpu_seconds(pid), time.process_time()
    deadline = started + args.seconds
    while time.monotonic() < deadline:
        task = asyncio.create_task(exchange(random.randrange(len(customers))))
        running.add(task)
        task.add_done_callback(running.discard)
        await asyncio.sleep(random.expovariate(args.rate))
    await asyncio.gather(*running)
    wall = time.monotonic() - started
    print(
        f"CPU used meanwhile (cores): server {(_cpu_seconds(pid) - server_cpu) / wall:.2f}, "
        f"this load generator {(time.process_time() - own_cpu) / wall:.2f}"
    )
    for name, values in (("customer -> console", to_console), ("agent -> widget", to_widget)):
        ms = [v * 1000 for v in values]
        p50, p95, p99 = (percentile(ms, q) for q in (0.5, 0.95, 0.99))
        print(f"{name:>20}: n={len(ms)} p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms")
    for task in tasks:
        task.cancel()


def _prepare(data_dir: Path, workdir: Path, agents: int) -> tuple[str, list[str]]:
    """A copy of the database, with agent accounts made by the real command."""
    with (
        sqlite3.connect(data_dir / "shopclerk.db") as source,
        sqlite3.connect(workdir / "bench.db") as copy,
    ):
        source.backup(copy)
    url = f"sqlite:///{workdir / 'bench.db'}"
    shopclerk = str(Path(sys.executable).parent / "shopclerk")
    env = {**os.environ, "DATABASE_URL": url, "SHOPCLERK_AGENT_PASSWORD": PASSWORD}
    names = [f"agent{n}" for n in range(agents)]
    for name in names:
        subprocess.run(
            [shopclerk, "--data-dir", str(data_dir), "agents", "add", name, "--name", name.title()],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return url, names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--agents", type=int, default=5)
    parser.add_argument("--rate", type=float, default=20, help="exchanges per second, in all")
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        url, names = _prepare(args.data_dir, Path(workdir), args.agents)
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "SHOPCLERK_WS_CONNECTIONS_PER_ADDRESS": "100000",
            "SHOPCLERK_WS_MESSAGES_PER_MINUTE": "100000",
            # every simulated customer comes from this one address
            "SHOPCLERK_WS_SESSIONS_PER_ADDRESS_PER_MINUTE": "100000",
            "SHOPCLERK_WS_MESSAGES_PER_ADDRESS_PER_MINUTE": "1000000",
        }
        with shopclerk_serve(args.data_dir, env) as (port, server):
            print(f"server pid {server.pid} on port {port}, {os.cpu_count()} cores")
            asyncio.run(run(f"http://127.0.0.1:{port}", args, names, server.pid))


if __name__ == "__main__":
    main()
