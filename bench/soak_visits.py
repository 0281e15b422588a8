"""Memory over many short widget visits: does a serving process end where it started?

    PYTHONPATH=. .venv/bin/python bench/soak_visits.py --data-dir DIR [--visits 20000]
        [--warm-up 1000] [--parallel 16] [--bounce 0.25] [--settle 65] [--frames 1]

DIR is a built data directory (`shopclerk --data-dir DIR db upgrade`, then `kb build`); the run
uses a copy of its database, so DIR is left as it was. One app, as `shopclerk serve` builds it,
runs in this process under uvicorn on a free loopback port (so its structures can be counted),
with one engine thread. `--parallel` visitors at a time each:
connect, hello (a new session), one message and its answer (a `--bounce` share leave after the
hello, as visitors who only open the page), close.

Printed at the start, after `--warm-up` visits, every `--every` visits and at the end: the
process's RSS, the Python heap traced by tracemalloc (started once the app is up), and the size
of every structure kept per visitor, per session or per address. Entries that last a minute
(rates) are counted as they stand and again after `--settle` seconds of quiet (0: no wait) and
a few visits, when whatever expires has expired; "ends where it started" compares those settled
figures. Also printed: the ten lines of code (with `--frames N`, call stacks) whose memory grew
most between warm-up and the end.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import random
import shutil
import tempfile
import time
import tracemalloc
import uuid
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


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


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
    }


async def visit(url: str, n: int, bounce: float) -> None:
    """Visitor `n`, from an address of its own (as a trusted proxy says)."""
    address = f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"
    async with websockets.connect(url, additional_headers={"x-forwarded-for": address}) as ws:
        await ws.send(json.dumps({"v": 1, "type": "hello", "session": None, "last_seq": 0}))
        while json.loads(await ws.recv())["type"] != "welcome":
            pass
        if random.random() < bounce:
            return
        frame = {"v": 1, "type": "message", "client_id": str(uuid.uuid4()),
                 "text": random.choice(QUESTIONS)}  # fmt: skip
        await ws.send(json.dumps(frame))
        while True:
            got = json.loads(await ws.recv())
            if got["type"] == "error" or (got["type"] == "message" and got["role"] == "bot"):
                return


async def visits(url: str, count: int, parallel: int, bounce: float) -> float:
    """`count` visits, `parallel` at a time; visits per second."""
    started, left = time.perf_counter(), iter(range(count))

    async def visitor() -> None:
        for _ in left:
            await visit(url, next(numbers), bounce)

    await asyncio.gather(*(visitor() for _ in range(parallel)))
    return count / (time.perf_counter() - started)


def report(label: str, app: Starlette) -> dict[str, Any]:
    gc.collect()
    traced = tracemalloc.get_traced_memory()[0] / 2**20 if tracemalloc.is_tracing() else 0.0
    figures = {"rss MiB": round(rss_mib(), 1), "traced MiB": round(traced, 2), **structures(app)}
    print(f"{label:>28}: " + ", ".join(f"{k} {v}" for k, v in figures.items()), flush=True)
    return figures


async def settle(label: str, app: Starlette, url: str, seconds: float) -> dict[str, Any]:
    if seconds:
        await asyncio.sleep(seconds)
        await visits(url, 4, 1, 0.0)  # a few visits: whatever sweeps on use sweeps now
    for _ in range(100):  # the last visitor's socket is closing: let it go
        if not app.state.web._sessions and not len(app.state.web._connections):
            break
        await asyncio.sleep(0.01)
    return report(f"{label}, settled", app)


async def soak(app: Starlette, port: int, args: argparse.Namespace) -> None:
    url = f"ws://127.0.0.1:{port}/ws"
    report("start", app)
    tracemalloc.start(args.frames)
    rate = await visits(url, args.warm_up, args.parallel, args.bounce)
    report(f"after {args.warm_up} visits", app)
    warm = await settle(f"after {args.warm_up} visits", app, url, args.settle)
    before = tracemalloc.take_snapshot()
    done, started = args.warm_up, time.perf_counter()
    while done < args.visits:  # a line every `--every` visits: the trend, not just the ends
        step = min(args.every, args.visits - done)
        await visits(url, step, args.parallel, args.bounce)
        done += step
        report(f"after {done} visits", app)
    rate = (args.visits - args.warm_up) / (time.perf_counter() - started)
    end = await settle(f"after {args.visits} visits", app, url, args.settle)
    after = tracemalloc.take_snapshot()
    print(f"visits per second (after the warm-up): {rate:.1f}")
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--visits", type=int, default=20_000)
    parser.add_argument("--warm-up", type=int, default=1000)
    parser.add_argument("--parallel", type=int, default=16)
    parser.add_argument("--bounce", type=float, default=0.25)
    parser.add_argument("--settle", type=float, default=65.0)
    parser.add_argument("--every", type=int, default=4750)
    parser.add_argument(
        "--frames", type=int, default=1, help="frames tracemalloc keeps (more: slower)"
    )
    args = parser.parse_args()

    from shopclerk.app import create_app
    from shopclerk.settings import load_settings

    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(args.data_dir / "shopclerk.db", Path(tmp) / "shopclerk.db")
        settings = load_settings(args.data_dir).model_copy(update={
            "threads": 1, "database_url": f"sqlite:///{tmp}/shopclerk.db",
            # Each visitor has an address of its own, as the proxy (this process) says.
            "trusted_proxies": ["127.0.0.1"], "connections_per_address": 1_000_000,
        })  # fmt: skip
        app = create_app(settings)

        async def run() -> None:
            async with app.router.lifespan_context(app):
                await serve_and_soak(app, args)

        asyncio.run(run())


if __name__ == "__main__":
    main()
