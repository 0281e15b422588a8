"""Slack event acknowledgement time against a real `shopclerk serve`, while other
conversations are being answered.

    .venv/bin/python bench/slack_ack.py --data-dir DIR [--conversations 20] [--seconds 30]

Starts a stand-in for Slack's Web API on loopback (tests/support/slack_api.py) and the server as a
child process on a copy of DIR's database (models and index from DIR), with Slack turned on and
pointed at the stand-in. `--conversations` Slack users then each DM the bot, wait until its
answer is posted, and write again, for `--seconds`. Every event is a really signed POST to
/slack/events. Prints, over all events: the time from sending the event to Slack's 200 (the
acknowledgement; Slack's limit is 3 s, the goal here 100 ms at p99), and the answers per
second, with the CPU the server used.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import httpx
from serving import percentile, shopclerk_serve

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.slack_api import Call, SlackStandIn, event_callback, message_event, sign

SECRET = "bench-signing-secret-0123456789abcdef"
QUESTIONS = [
    "How long does delivery take?", "do you have running shoes?", "where is my order?",
    "can I pay with klarna?", "what is your return policy?", "do you ship to Belgium?",
    "I want to cancel my order", "is the trail runner waterproof?", "how do I reset my password",
    "do you sell gift cards?",
]  # fmt: skip


class Answers:
    """A future per channel, resolved (on the bench's loop) when the bot posts there."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.waiting: dict[str, asyncio.Future[tuple[float, Call]]] = {}

    def expect(self, channel: str) -> asyncio.Future[tuple[float, Call]]:
        future: asyncio.Future[tuple[float, Call]] = self.loop.create_future()
        self.waiting[channel] = future
        return future

    def posted(self, call: Call) -> None:  # on the stand-in's thread
        if call.method == "chat.postMessage" and call.response.get("ok"):
            self.loop.call_soon_threadsafe(self._resolve, call, time.perf_counter())

    def _resolve(self, call: Call, at: float) -> None:
        future = self.waiting.pop(str(call.params.get("channel")), None)
        if future is not None and not future.done():
            future.set_result((at, call))


async def customer(
    http: httpx.AsyncClient,
    answers: Answers,
    n: int,
    until: float,
    acks: list[float],
    turns: list[float],
) -> None:
    user, rng, started = f"UBENCH{n:04d}", random.Random(n), 0
    channel = f"DBENCH{n:04d}{started:04d}"
    while time.perf_counter() < until:
        body = json.dumps(event_callback(message_event(user, rng.choice(QUESTIONS), channel)))
        answered = answers.expect(channel)
        sent = time.perf_counter()
        response = await http.post("/slack/events", content=body, headers=sign(body, SECRET))
        acked = time.perf_counter()
        if response.status_code != 200:
            raise RuntimeError(f"event refused: {response.status_code} {response.text}")
        acks.append(acked - sent)
        try:
            at, reply = await asyncio.wait_for(answered, 30)
            turns.append(at - sent)
        except TimeoutError:
            print(f"{channel}: no answer within 30 s", file=sys.stderr)
            reply = None
        if reply is None or "feedback" not in json.dumps(reply.params.get("blocks")):
            # Handed off (nobody is online in the bench): the bot keeps quiet from now on, so
            # this customer starts a new conversation.
            started += 1
            channel = f"DBENCH{n:04d}{started:04d}"


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run(base: str, args: argparse.Namespace, slack: SlackStandIn, pid: int) -> None:
    answers = Answers(asyncio.get_running_loop())
    slack.listeners.append(answers.posted)
    limits = httpx.Limits(max_connections=args.conversations + 5)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as http:
        # Warm up: every conversation once (the first event also makes bolt ask auth.test).
        warm_acks: list[float] = []
        await asyncio.gather(*(customer(http, answers, n, 0.0, warm_acks, []) for n in range(1)))
        acks: list[float] = []
        turns: list[float] = []
        cpu, started = cpu_seconds(pid), time.perf_counter()
        until = started + args.seconds
        await asyncio.gather(
            *(customer(http, answers, n, until, acks, turns) for n in range(args.conversations))
        )
        elapsed = time.perf_counter() - started
        used = cpu_seconds(pid) - cpu
    ms = [a * 1000 for a in acks]
    rate, cores = len(turns) / elapsed, used / elapsed
    print(
        f"{len(acks)} events from {args.conversations} conversations in {elapsed:.1f} s; "
        f"{rate:.1f} answers/s; server CPU {cores:.2f} cores"
    )
    print(
        f"ack (event sent -> 200): p50 {percentile(ms, 0.5):.1f} ms, "
        f"p95 {percentile(ms, 0.95):.1f} ms, p99 {percentile(ms, 0.99):.1f} ms, "
        f"max {max(ms):.1f} ms"
    )
    answered = [t * 1000 for t in turns]
    p50, p95 = percentile(answered, 0.5), percentile(answered, 0.95)
    print(f"answer posted (event sent -> chat.postMessage): p50 {p50:.0f} ms, p95 {p95:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--conversations", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir, SlackStandIn() as slack:
        with (
            sqlite3.connect(args.data_dir / "shopclerk.db") as source,
            sqlite3.connect(Path(workdir) / "bench.db") as copy,
        ):
            source.backup(copy)
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{Path(workdir) / 'bench.db'}",
            "SLACK_BOT_TOKEN": slack.bot_token,
            "SLACK_SIGNING_SECRET": SECRET,
            "SHOPCLERK_SLACK_API_URL": slack.base_url,
        }
        with shopclerk_serve(args.data_dir, env) as (port, server):
            print(f"server pid {server.pid} on port {port}, {os.cpu_count()} cores")
            asyncio.run(run(f"http://127.0.0.1:{port}", args, slack, server.pid))


if __name__ == "__main__":
    main()
