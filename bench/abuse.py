"""The desk under attack: a well-behaved customer's reply time alone and during each attack.

    .venv/bin/python bench/abuse.py --data-dir DIR [--seconds 12]

DIR is a built data directory (`shopclerk --data-dir DIR db upgrade`, then `kb build`).
Starts `shopclerk serve` with the product's default limits on a free loopback port. The
well-behaved side is 8 widget customers, each on a loopback address of its own (127.0.0.2-9),
each sending a message every 2.5 s (within the per-session limit) and timing it until the
bot's reply arrives. Every attack runs in a process of its own, from addresses of its own
(127.0.1.x), while they measure:

- stuck reader: 20 tabs of one session with history, each sending `hello` with last_seq 0 over
  and over and never reading its socket (tiny receive buffers);
- login flood: waves of 60 concurrent `POST /agent/api/login` with random names and passwords;
- hello flood: 20 sockets sending `hello` with `session: null` as fast as they are let;
- big frames: 16 MiB websocket frames, reconnecting after each close;
- idle half-open: 2,000 TCP connections from 40 addresses, each sending half a request and
  nothing more, opened again as the server closes them.

Prints one table: replies, p50/p95/max reply time and messages lost (sent and never answered,
or refused with an error frame),
and a line on what the attacker saw. The server's torch/ONNX/FAISS threads are set to 1 and
the attackers are single-threaded: the machine has 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import resource
import socket
import string
import time
import uuid
from collections import Counter
from collections.abc import Callable, Coroutine
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from pathlib import Path

import httpx
import websockets
from serving import percentile, shopclerk_serve

CUSTOMERS = [f"127.0.0.{n}" for n in range(2, 10)]
EVERY = 2.5  # seconds between one customer's messages: 24 a minute, under the session's 30
# Questions the FAQ answers: a customer the bot kept failing would be handed to the queue, and a
# queued customer's messages get no bot reply (they wait for a person), which is not a loss.
QUESTIONS = [
    "which payment methods do you accept?", "do you ship to switzerland",
    "how long does a refund take", "is there a fee for cancelling",
    "can i change the delivery address",
]  # fmt: skip
HELLO = {"v": 1, "type": "hello", "session": None, "last_seq": 0}


def _attacker(n: int) -> str:
    return f"127.0.1.{n}"


def _socket(host: str, port: int, local: str, rcvbuf: int | None = None) -> socket.socket:
    """A connected TCP socket from `local` (tiny receive buffer: a reader that stalls early)."""
    sock = socket.socket()
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.bind((local, 0))
    sock.connect((host, port))
    sock.setblocking(False)
    return sock


# -- the well-behaved customers ----------------------------------------------------------------


class Customer:
    def __init__(self, port: int, address: str) -> None:
        self.port, self.address = port, address
        self.sent: dict[str, float] = {}
        self.latencies: list[float] = []
        self.refused = 0  # error frames: a limit that should not have hit a customer
        self.handed_off = False
        self.ws: websockets.ClientConnection | None = None
        self.listener: asyncio.Task[None] | None = None

    async def open(self) -> None:
        self.ws = await websockets.connect(
            f"ws://127.0.0.1:{self.port}/ws", sock=_socket("127.0.0.1", self.port, self.address)
        )
        await self.ws.send(json.dumps(HELLO))
        assert json.loads(await self.ws.recv())["type"] == "welcome"
        self.listener = asyncio.create_task(self._listen())

    async def _listen(self) -> None:
        assert self.ws is not None
        pending: str | None = None
        async for raw in self.ws:
            frame = json.loads(raw)
            if frame.get("type") == "error":
                self.refused += 1
                print(f"  {self.address} refused: {frame.get('code')}", flush=True)
            if frame.get("type") == "handoff" and frame.get("state") not in (None, "bot"):
                self.handed_off = True
            if frame.get("type") != "message":
                continue
            if frame["role"] == "customer":
                pending = frame.get("client_id")
            elif frame["role"] == "bot" and pending in self.sent:
                self.latencies.append(time.perf_counter() - self.sent.pop(pending))

    async def run(self, seconds: float) -> None:
        assert self.ws is not None
        deadline = time.perf_counter() + seconds
        await asyncio.sleep(random.random() * EVERY)  # spread the customers out
        while time.perf_counter() < deadline:
            client_id = str(uuid.uuid4())
            self.sent[client_id] = time.perf_counter()
            await self.ws.send(
                json.dumps(
                    {
                        "v": 1,
                        "type": "message",
                        "client_id": client_id,
                        "text": random.choice(QUESTIONS),
                    }
                )
            )
            await asyncio.sleep(EVERY)


async def measure(customers: list[Customer], seconds: float) -> tuple[list[float], int]:
    for c in customers:
        c.latencies.clear()
    await asyncio.gather(*(c.run(seconds) for c in customers))
    await asyncio.sleep(5)  # the last replies
    if any(c.handed_off for c in customers):
        print("  (a customer was handed to the queue: their later messages wait for a person)")
    lost = sum(len(c.sent) for c in customers) + sum(c.refused for c in customers)
    for c in customers:
        c.sent.clear()
        c.refused = 0
    return [x for c in customers for x in c.latencies], lost


# -- the attacks, each in a process of its own -------------------------------------------------


async def stuck_reader(
    port: int, stop: Callable[[], bool], seen: Counter[str], ready: Callable[[], None]
) -> None:
    url = f"ws://127.0.0.1:{port}/ws"
    sock = _socket("127.0.0.1", port, _attacker(1))
    async with websockets.connect(url, sock=sock, max_queue=None) as ws:
        await ws.send(json.dumps(HELLO))
        session = json.loads(await ws.recv())["session"]
        for n in range(15):  # some history for every hello to replay
            await ws.send(
                json.dumps(
                    {
                        "v": 1,
                        "type": "message",
                        "client_id": f"h{n}",
                        "text": f"question {n}: do you ship to spain?",
                    }
                )
            )
        replies = 0  # read the replies: unread frames would hold up our own close handshake
        while replies < 15:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
            replies += frame.get("type") == "message" and frame.get("role") == "bot"
    ready()

    async def tab(n: int) -> None:
        while not stop():
            try:
                sock = _socket("127.0.0.1", port, _attacker(2 + n % 4), rcvbuf=1024)
                async with websockets.connect(url, sock=sock, max_queue=1) as ws:
                    while not stop():  # hello after hello, never reading a reply
                        await ws.send(json.dumps({**HELLO, "session": session}))
                        seen["hellos sent"] += 1
                        await asyncio.sleep(0.05)
            except (OSError, websockets.ConnectionClosed, TimeoutError) as exc:
                seen[type(exc).__name__] += 1
                await asyncio.sleep(0.2)

    await asyncio.gather(*(tab(n) for n in range(20)))


async def login_flood(
    port: int, stop: Callable[[], bool], seen: Counter[str], ready: Callable[[], None]
) -> None:
    transport = httpx.AsyncHTTPTransport(local_address=_attacker(10))
    limits = httpx.Limits(max_connections=60)
    async with httpx.AsyncClient(transport=transport, limits=limits, timeout=30) as client:
        # As a browser would: the login page's session gives the CSRF token every POST needs.
        session = await client.get(f"http://127.0.0.1:{port}/agent/api/session")
        client.headers["x-csrf-token"] = session.json()["csrf"]

        async def guess() -> None:
            name = "".join(random.choices(string.ascii_lowercase, k=8))
            try:
                response = await client.post(
                    f"http://127.0.0.1:{port}/agent/api/login",
                    json={"username": name, "password": "hunter22"},
                )
                seen[f"HTTP {response.status_code}"] += 1
            except httpx.HTTPError as exc:
                seen[type(exc).__name__] += 1

        ready()
        while not stop():
            await asyncio.gather(*(guess() for _ in range(60)))


async def hello_flood(
    port: int, stop: Callable[[], bool], seen: Counter[str], ready: Callable[[], None]
) -> None:
    url = f"ws://127.0.0.1:{port}/ws"

    async def flood(n: int) -> None:
        while not stop():
            try:
                sock = _socket("127.0.0.1", port, _attacker(20 + n % 4))
                async with websockets.connect(url, sock=sock) as ws:
                    while not stop():
                        await ws.send(json.dumps(HELLO))
                        seen[json.loads(await ws.recv()).get("type", "?")] += 1
            except (OSError, websockets.ConnectionClosed) as exc:
                seen[type(exc).__name__] += 1
                await asyncio.sleep(0.05)

    ready()
    await asyncio.gather(*(flood(n) for n in range(20)))


async def big_frames(
    port: int, stop: Callable[[], bool], seen: Counter[str], ready: Callable[[], None]
) -> None:
    url, frame = f"ws://127.0.0.1:{port}/ws", "x" * (16 * 1024 * 1024)

    async def sender(n: int) -> None:
        while not stop():
            try:
                sock = _socket("127.0.0.1", port, _attacker(30 + n))
                async with websockets.connect(url, sock=sock, max_size=None) as ws:
                    await ws.send(json.dumps(HELLO))
                    await ws.recv()
                    await ws.send(frame)
                    await ws.recv()
            except websockets.ConnectionClosed as exc:
                seen[f"closed {exc.rcvd.code if exc.rcvd else 'abruptly'}"] += 1
            except OSError as exc:
                seen[type(exc).__name__] += 1
                await asyncio.sleep(0.1)

    ready()
    await asyncio.gather(*(sender(n) for n in range(4)))


async def half_open(
    port: int, stop: Callable[[], bool], seen: Counter[str], ready: Callable[[], None]
) -> None:
    loop = asyncio.get_running_loop()

    async def hold(n: int) -> None:
        while not stop():
            try:
                sock = socket.socket()
                sock.setblocking(False)
                sock.bind((_attacker(50 + n % 40), 0))
                await loop.sock_connect(sock, ("127.0.0.1", port))
                await loop.sock_sendall(sock, b"GET / HTTP/1.1\r\nHost: shop\r\nX-Slow: ")
                seen["opened"] += 1
                data = await loop.sock_recv(sock, 1024)  # until the server gives up on us
                seen["closed by server" if not data else "answered"] += 1
            except OSError as exc:
                seen[type(exc).__name__] += 1
                await asyncio.sleep(0.5)
            finally:
                sock.close()

    ready()
    await asyncio.gather(*(hold(n) for n in range(2000)))


Attack = Callable[
    [int, Callable[[], bool], Counter[str], Callable[[], None]], Coroutine[None, None, None]
]
ATTACKS: dict[str, Attack] = {
    "stuck reader": stuck_reader,
    "login flood": login_flood,
    "hello flood": hello_flood,
    "big frames": big_frames,
    "idle half-open": half_open,
}


def _attack(
    name: str, port: int, ready: Event, stop: Event, results: Queue[dict[str, int]]
) -> None:
    """The attacker's process: run the attack until `stop` is set; report what it saw."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    seen: Counter[str] = Counter()

    async def main() -> None:
        task = asyncio.create_task(ATTACKS[name](port, stop.is_set, seen, ready.set))
        while not stop.is_set():
            await asyncio.sleep(0.2)
        await asyncio.sleep(1)
        task.cancel()

    asyncio.run(main())
    results.put(dict(seen))


# -- the run -----------------------------------------------------------------------------------


def _row(name: str, latencies: list[float], lost: int, seen: dict[str, int]) -> str:
    ms = [x * 1000 for x in latencies] or [float("nan")]
    saw = ", ".join(f"{k} {v}" for k, v in sorted(seen.items(), key=lambda kv: -kv[1])[:4])
    return (
        f"| {name} | {len(latencies)} | {percentile(ms, 0.5):.0f} | "
        f"{percentile(ms, 0.95):.0f} | {max(ms):.0f} | {lost} | {saw or '-'} |"
    )


async def run(port: int, seconds: float) -> None:
    customers = [Customer(port, address) for address in CUSTOMERS]
    await asyncio.gather(*(c.open() for c in customers))
    await measure(customers, 3)  # warm up
    print("| attack | replies | p50 ms | p95 ms | max ms | lost | the attacker saw |")
    print("|---|---|---|---|---|---|---|")
    latencies, lost = await measure(customers, seconds)
    print(_row("none", latencies, lost, {}), flush=True)
    context = multiprocessing.get_context("spawn")
    for name in ATTACKS:
        ready, stop, results = context.Event(), context.Event(), context.Queue()
        attacker = context.Process(target=_attack, args=(name, port, ready, stop, results))
        attacker.start()
        await asyncio.to_thread(ready.wait, 120)
        await asyncio.sleep(2)  # let it ramp up
        latencies, lost = await measure(customers, seconds)
        stop.set()
        seen = await asyncio.to_thread(results.get, True, 60)
        attacker.join(30)
        print(_row(name, latencies, lost, seen), flush=True)
        await asyncio.sleep(3)  # let the server drop what the attacker left


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--seconds", type=float, default=12)
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    threads = {k: "1" for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    # The product's own limits, as shipped: the bench measures them, it does not lift them.
    env = {**os.environ, **threads, "SHOPCLERK_CONNECTIONS_PER_ADDRESS": "64"}
    with shopclerk_serve(args.data_dir, env) as (port, server):
        print(
            f"server pid {server.pid} on port {port}, {os.cpu_count()} cores, "
            f"{args.seconds:g} s per phase, {len(CUSTOMERS)} customers, "
            f"a message every {EVERY:g} s each\n"
        )
        asyncio.run(run(port, args.seconds))


if __name__ == "__main__":
    main()
