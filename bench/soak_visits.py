"""Memory over many short widget visits: does a serving process end where it started?

    PYTHONPATH=. .venv/bin/python bench/soak_visits.py --data-dir DIR [--visits 20000]
        [--warm-up 1000] [--parallel 16] [--bounce 0.25] [--handoffs 0.05] [--settle 65]
        [--frames 1] [--trim] [--redis redis://127.0.0.1:6379/0]

DIR is a built data directory (`shopclerk --data-dir DIR db upgrade`, then `kb build`); the run
uses a copy of its database, so DIR is left as it was. One app, as `shopclerk serve` builds it,
runs in this process under uvicorn on a free loopback port (so its structures can be counted),
with one engine thread. With `--redis`, as a web process beside one engine worker
(`shopclerk worker`, a process of its own, whose RSS is printed too), both on the copy.
`--parallel` visitors at a time each: connect, hello (a new session), one message and its
answer (a `--bounce` share leave after the hello, as visitors who only open the page; a
`--handoffs` share ask for a person instead, and end the chat once queued), close.

Printed at the start, after `--warm-up` visits, every `--every` visits and at the end: the
process's RSS, the Python heap traced by tracemalloc (started once the app is up), and the size
of every structure kept per visitor, per session or per address. Entries that last a minute
(rates) are counted as they stand and again after `--settle` seconds of quiet (0: no wait) and
a few visits, when whatever expires has expired; "ends where it started" compares those settled
figures. RSS is summed up twice: from the start to the end of the warm-up (the process
settling in: caches filling, allocator pools growing) and from the warm-up to the end (what
stays per visitor); "ends where it started" is about the second. With `--trim` every report
also gives glibc's free memory back (`malloc_trim(0)`) and prints RSS after it: what it frees
was the allocator's, not state. Also printed: the ten lines of code (with `--frames N`, call
stacks) whose memory grew most between warm-up and the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import gc
import itertools
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvicorn
import websockets
from serving import free_port
from starlette.applications import Starlette

from shopclerk.serving import server_config

numbers = itertools.count()  # each visit's number, for its address
QUESTIONS = [
    "which payment methods do you accept?", "hello", "do you ship to switzerland",
    "how long does a refund take with paypal", "is there a fee for cancelling",
    "how much is the Harbor & Pine Mooring 35 Travel Backpack?", "thanks, bye",
    "can i change the delivery address", "do you have waterproof boots",
]  # fmt: skip


ROOT = Path(__file__).resolve().parent.parent
WORKER: subprocess.Popen[bytes] | None = None  # the engine worker, with --redis


def rss_mib(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def sqlite_mib() -> float:
    """What SQLite holds in this process: page caches, prepared statements (its own count)."""
    lib = ctypes.CDLL("libsqlite3.so.0")
    lib.sqlite3_memory_used.restype = ctypes.c_int64
    return float(lib.sqlite3_memory_used()) / 2**20


def pymalloc_mib() -> tuple[float, float]:
    """Python's small-object arenas (MiB held; MiB of it in live blocks): an arena goes back to
    the system only once every block in it is free, so a heap that stays flat can still hold
    more arenas than it needs."""
    with tempfile.TemporaryFile() as out:
        saved = os.dup(2)
        os.dup2(out.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        out.seek(0)
        text = out.read().decode()

    def figure(name: str) -> float:
        match = re.search(rf"# {name}\s*=\s*([\d,]+)", text)
        return int(match.group(1).replace(",", "")) if match else 0.0

    arenas = figure("arenas allocated current") * 2**20  # (1 MiB arenas since Python 3.10)
    return round(arenas / 2**20, 1), round(figure("bytes in allocated blocks") / 2**20, 1)


def malloc_trim() -> None:
    """Give glibc's free memory back to the system (what it frees was never state)."""
    ctypes.CDLL("libc.so.6").malloc_trim(0)


def structures(app: Starlette) -> dict[str, int]:
    """Entries in what a serving process keeps per visitor, session or address."""
    web, desk = app.state.web, app.state.desk
    return {
        "web sessions": len(web._sessions),
        "message rates": len(web._rates),
        "address message rates": len(web._address_rates),
        "new-session rates": len(web._new_sessions),
        "hello rates": len(web._address_hellos),
        "connection counts": len(web._connections),
        "conversations with people": len(desk._customers._with_people),
        "conversation addresses": len(desk._tickets._addresses),
        "sqlite connections": desk._tickets.db.pool.checkedin(),
        "bus posts waiting": desk._bus._outgoing.qsize() if desk._bus.shared else 0,
    }


async def visit(url: str, n: int, bounce: float, handoffs: float) -> None:
    """Visitor `n`, from an address of its own (as a trusted proxy says)."""
    address = f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"
    async with websockets.connect(url, additional_headers={"x-forwarded-for": address}) as ws:
        await ws.send(json.dumps({"v": 1, "type": "hello", "session": None, "last_seq": 0}))
        while json.loads(await ws.recv())["type"] != "welcome":
            pass
        draw = random.random()
        if draw < bounce:
            return
        person = draw < bounce + handoffs
        text = "I want to talk to a person" if person else random.choice(QUESTIONS)
        frame = {"v": 1, "type": "message", "client_id": str(uuid.uuid4()), "text": text}
        await ws.send(json.dumps(frame))
        while True:
            got = json.loads(await ws.recv())
            if got["type"] == "error":
                return
            if person and got["type"] == "handoff" and got["state"] in ("queued", "offline"):
                await ws.send(json.dumps({"v": 1, "type": "end"}))  # leaves the queue
                person = False
            elif got["type"] == "survey" or (
                got["type"] == "message" and got["role"] == "bot" and "person" not in text
            ):
                return


async def visits(url: str, count: int, parallel: int, args: argparse.Namespace) -> float:
    """`count` visits, `parallel` at a time; visits per second."""
    started, left = time.perf_counter(), iter(range(count))

    async def visitor() -> None:
        for _ in left:
            await visit(url, next(numbers), args.bounce, args.handoffs)

    await asyncio.gather(*(visitor() for _ in range(parallel)))
    return count / (time.perf_counter() - started)


def report(label: str, app: Starlette, trim: bool = False) -> dict[str, Any]:
    gc.collect()
    traced = tracemalloc.get_traced_memory()[0] / 2**20 if tracemalloc.is_tracing() else 0.0
    figures: dict[str, Any] = {"rss MiB": round(rss_mib(), 1)}
    if trim:
        malloc_trim()
        figures["rss trimmed MiB"] = round(rss_mib(), 1)
    if WORKER is not None:
        figures["worker rss MiB"] = round(rss_mib(WORKER.pid), 1)
    if not tracemalloc.is_tracing():  # (tracemalloc's hooks hide pymalloc's figures)
        arenas, live = pymalloc_mib()
        figures |= {"pymalloc arenas MiB": arenas, "pymalloc live MiB": live}
    figures |= {"sqlite MiB": round(sqlite_mib(), 1), "traced MiB": round(traced, 2)}
    figures["tracemalloc's own MiB"] = round(tracemalloc.get_tracemalloc_memory() / 2**20, 1)
    figures |= structures(app)
    print(f"{label:>28}: " + ", ".join(f"{k} {v}" for k, v in figures.items()), flush=True)
    return figures


async def settle(label: str, app: Starlette, url: str, args: argparse.Namespace) -> dict[str, Any]:
    if args.settle:
        await asyncio.sleep(args.settle)
        quiet = argparse.Namespace(bounce=0.0, handoffs=0.0)
        await visits(url, 4, 1, quiet)  # a few visits: whatever sweeps on use sweeps now
    for _ in range(100):  # the last visitor's socket is closing: let it go
        if not app.state.web._sessions and not len(app.state.web._connections):
            break
        await asyncio.sleep(0.01)
    return report(f"{label}, settled", app, args.trim)


async def soak(app: Starlette, port: int, args: argparse.Namespace) -> None:
    url = f"ws://127.0.0.1:{port}/ws"
    start = report("start", app, args.trim)
    if args.frames:
        tracemalloc.start(args.frames)
    rate = await visits(url, args.warm_up, args.parallel, args)
    report(f"after {args.warm_up} visits", app, args.trim)
    warm = await settle(f"after {args.warm_up} visits", app, url, args)
    before = tracemalloc.take_snapshot() if args.frames else None
    done, started = args.warm_up, time.perf_counter()
    while done < args.visits:  # a line every `--every` visits: the trend, not just the ends
        step = min(args.every, args.visits - done)
        await visits(url, step, args.parallel, args)
        done += step
        report(f"after {done} visits", app, args.trim)
    rate = (args.visits - args.warm_up) / (time.perf_counter() - started)
    end = await settle(f"after {args.visits} visits", app, url, args)
    after = tracemalloc.take_snapshot() if args.frames else None
    print(f"visits per second (after the warm-up): {rate:.1f}")
    for figure in [f for f in start if "rss" in f or "pymalloc" in f]:
        settling, staying = warm[figure] - start[figure], end[figure] - warm[figure]
        per_visit = staying * 2**20 / (args.visits - args.warm_up)
        print(f"{figure}: warm-up {settling:+.1f} MiB (start {start[figure]}); warm-up to end "
              f"{staying:+.1f} MiB ({per_visit:+.0f} bytes per visit)")  # fmt: skip
    if before is None or after is None:
        return
    grew = end["traced MiB"] - warm["traced MiB"]
    per_visit = grew * 2**20 / (args.visits - args.warm_up)
    print(f"traced heap from warm-up to end: {grew:+.2f} MiB ({per_visit:+.1f} bytes per visit)")
    print("lines whose memory grew most from warm-up to end:")
    key = "lineno" if args.frames == 1 else "traceback"
    for stat in after.compare_to(before, key)[:10]:
        print(f"  {stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+7d} blocks")
        for line in stat.traceback.format(most_recent_first=True)[: 2 * args.frames : 2]:
            print(f"      {line.strip()}")


async def serve_and_soak(app: Starlette, args: argparse.Namespace) -> None:
    port = free_port()
    config = server_config(app, app.state.settings, port=port, log_level="warning")
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    try:
        await soak(app, port, args)
    finally:
        server.should_exit = True
        await serving


@contextlib.contextmanager
def engine_worker(data_dir: Path, database_url: str, redis_url: str, prefix: str) -> Iterator[None]:
    """`shopclerk worker` in a process of its own (on the run's database), until the block ends;
    its keys in Redis removed afterwards."""
    global WORKER
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SHOPCLERK_DATA_DIR": str(data_dir),
           "DATABASE_URL": database_url, "REDIS_URL": redis_url,
           "SHOPCLERK_REDIS_PREFIX": prefix, "SHOPCLERK_THREADS": "1"}  # fmt: skip
    command = [sys.executable, "-c", "from shopclerk.cli import main; main()", "worker"]
    WORKER = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    try:
        yield
    finally:
        WORKER.terminate()
        WORKER.wait(timeout=60)
        from redis import Redis

        with Redis.from_url(redis_url) as redis:
            keys = list(redis.scan_iter(f"{prefix}*"))
            if keys:
                redis.delete(*keys)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--visits", type=int, default=20_000)
    parser.add_argument("--warm-up", type=int, default=1000)
    parser.add_argument("--parallel", type=int, default=16)
    parser.add_argument("--bounce", type=float, default=0.25)
    parser.add_argument("--handoffs", type=float, default=0.05)
    parser.add_argument("--settle", type=float, default=65.0)
    parser.add_argument("--every", type=int, default=4750)
    parser.add_argument(
        "--frames",
        type=int,
        default=1,
        help="frames tracemalloc keeps (more: slower; 0: no tracemalloc, pymalloc's arenas shown)",
    )
    parser.add_argument("--trim", action="store_true", help="malloc_trim(0) at each report")
    parser.add_argument("--redis", help="a Redis URL: a web process beside an engine worker")
    args = parser.parse_args()

    from shopclerk.app import create_app
    from shopclerk.settings import load_settings

    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        shutil.copy(args.data_dir / "shopclerk.db", Path(tmp) / "shopclerk.db")
        database = f"sqlite:///{tmp}/shopclerk.db"
        prefix = f"soak-{uuid.uuid4().hex[:8]}:"
        settings = load_settings(args.data_dir).model_copy(update={
            "threads": 1, "database_url": database,
            "secret_key": uuid.uuid4().hex * 2,  # (else one is made and kept in DIR)
            # Each visitor has an address of its own, as the proxy (this process) says.
            "trusted_proxies": ["127.0.0.1"], "connections_per_address": 1_000_000,
            "redis_url": args.redis, "redis_prefix": prefix,
        })  # fmt: skip
        if args.redis:
            stack.enter_context(engine_worker(args.data_dir, database, args.redis, prefix))
        app = create_app(settings)

        async def run() -> None:
            async with app.router.lifespan_context(app):
                await serve_and_soak(app, args)

        asyncio.run(run())


if __name__ == "__main__":
    main()
