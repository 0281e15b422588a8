"""The reports' speed on PostgreSQL: a 30-day report over `--conversations` conversations.

    PYTHONPATH=. .venv/bin/python bench/reports.py [--conversations 100000] [--days 30]
        [--report-days 30] [--runs 5] [--seed 1] [--show]

Seeds a scratch schema of the machine's PostgreSQL (tests/support/postgres.py: migrated, dropped
afterwards) with COPY: conversations spread over the last `--days` days (busier by day than by
night), on web (80%), slack (15%), eval and cli (5%, left out of the report); one to four
customer questions each, answered by the bot (stored with the question, as the engine stores a
turn); one in five handed to people (queued, then claimed by one of 10 agents or left; one in
twenty taken over by an agent), with the agents' replies and system events; an ended episode
for most, a third of them rated 1-5; thumbs on a tenth of the bot's answers; 50 FAQ
suggestions. Then VACUUM ANALYZE (as autovacuum would) and `--runs` reports of the last
`--report-days` days, as `shopclerk report` makes them.

Prints the rows seeded, the seconds seeding took, each run's seconds, their median, the CPU
seconds a report uses (this process and its PostgreSQL backends, from /proc: what the wall time
would approach on idle cores), the CPU seconds PostgreSQL takes to count 5,000,000 generated
rows (a yardstick for the machine), and the report's headline figures (with --show, all its
tables).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from kb.database import open_database
from learning.report_tables import text_lines
from learning.reports import Period, build_report
from tests.support.postgres import migrated_schema, schema_url

AGENTS = 10
BENCH_APP = "shopclerk_reports_bench"  # names the report's connections in pg_stat_activity
REASONS = (["low_confidence"] * 4 + ["customer_asked"] * 3 + ["no_grounded_answer"] * 2
           + ["policy", "negative_sentiment", "complaint", "repeated_failure"])  # fmt: skip
CHANNELS = ["web"] * 80 + ["slack"] * 15 + ["eval"] * 3 + ["cli"] * 2
# A customer message's recorded understanding: intent candidates, slots, evidence (its size is
# what a scan reads past).
UNDERSTANDING = json.dumps({
    "intents": [{"name": "track_order", "score": 0.71}, {"name": "delivery_period", "score": 0.12}],
    "slots": {"order_id": None, "products": []},
    "evidence": [{"kind": "faq", "key": "shipping-times", "score": 0.64},
                 {"kind": "product", "key": "espresso-grinder", "score": 0.31}],
    "language": "en", "spelling": [],
})  # fmt: skip
SOURCES = json.dumps([{"kind": "faq", "key": "shipping-times", "title": "How long is delivery?"}])


@dataclass
class Rows:
    conversations: list[tuple[Any, ...]] = field(default_factory=list)
    messages: list[tuple[Any, ...]] = field(default_factory=list)
    handoffs: list[tuple[Any, ...]] = field(default_factory=list)
    episodes: list[tuple[Any, ...]] = field(default_factory=list)
    feedback: list[tuple[Any, ...]] = field(default_factory=list)
    handed_questions: list[int] = field(default_factory=list)


class Seeder:
    def __init__(self, rng: random.Random, now: datetime, days: int) -> None:
        self.rng, self.now, self.days = rng, now, days
        self.rows = Rows()
        self.message_id = 0

    def start(self) -> datetime:
        """A moment in the last `days` days, three times as likely by day as by night."""
        while True:
            moment = self.now - timedelta(seconds=self.rng.uniform(3600, self.days * 86400))
            if 8 <= moment.hour < 22 or self.rng.random() < 1 / 3:
                return moment

    def message(self, cid: int, seq: int, role: str, at: datetime, **extra: Any) -> int:
        self.message_id += 1
        self.rows.messages.append((
            self.message_id, cid, seq, role, extra.get("text", f"{role} message {seq}"),
            UNDERSTANDING if role == "customer" else "{}",
            SOURCES if extra.get("decision") == "reply" else "[]",
            extra.get("decision"), extra.get("reason"), extra.get("intent"), at,
        ))  # fmt: skip
        return self.message_id

    def conversation(self, cid: int) -> None:
        rng, at = self.rng, self.start()
        channel = rng.choice(CHANNELS)
        seq, created, handed = 0, at, None
        for _ in range(rng.randint(1, 4)):
            seq += 1
            asked = self.message(cid, seq, "customer", at, intent="track_order",
                                 text="where is my order, it has been a week")  # fmt: skip
            seq += 1  # the bot's reply is stored with the question (one turn, one moment)
            if handed is None and rng.random() < 0.06:
                handed = rng.choice(REASONS)
                self.message(cid, seq, "bot", at, decision="handoff", reason=handed)
                self.rows.handed_questions.append(asked)
                seq, at = self.handoff(cid, seq, at, handed)
                break
            bot = self.message(cid, seq, "bot", at, decision="reply")
            if rng.random() < 0.1:
                rating = "up" if rng.random() < 0.7 else "down"
                self.rows.feedback.append((bot, rating, at + timedelta(seconds=20)))
            at += timedelta(seconds=rng.uniform(20, 300))
        if handed is None and rng.random() < 0.05:
            seq, at = self.handoff(cid, seq, at, "agent_took_over")
            handed = "agent_took_over"
        self.rows.conversations.append((cid, channel, f"k{cid}", created, at, seq))
        self.episode(cid, seq, at, handed)

    def handoff(self, cid: int, seq: int, at: datetime, reason: str) -> tuple[int, datetime]:
        rng = self.rng
        agent = rng.randint(1, AGENTS)
        taken = reason == "agent_took_over"
        if not taken and rng.random() < 0.15:  # left the queue
            closed = at + timedelta(seconds=rng.expovariate(1 / 300))
            self.rows.handoffs.append((cid, reason, at, None, None, closed, "abandoned", None))
            return seq, closed
        claimed = at if taken else at + timedelta(seconds=rng.expovariate(1 / 120))
        seq += 1
        self.message(cid, seq, "system", claimed, text="Anna joined the chat.")
        moment, replied = claimed, None
        for _ in range(rng.randint(1, 3)):
            moment += timedelta(seconds=rng.expovariate(1 / 90))
            seq += 1
            self.message(cid, seq, "customer", moment, text="the parcel number is 12345")
            moment += timedelta(seconds=rng.expovariate(1 / 60))
            seq += 1
            self.message(cid, seq, "agent", moment, text="It left our warehouse yesterday.")
            replied = replied or moment
        closed = moment + timedelta(seconds=rng.expovariate(1 / 120))
        outcome = rng.choice(["resolved"] * 8 + ["unresolved", "handed_back"])
        self.rows.handoffs.append((cid, reason, at, agent, claimed, closed, outcome, replied))
        return seq, closed

    def episode(self, cid: int, seq: int, at: datetime, handed: str | None) -> None:
        rng = self.rng
        if rng.random() < 0.05 or at > self.now:
            return  # still going on
        if handed is None:
            outcome = "bot_resolved" if rng.random() < 0.85 else "abandoned"
            by, ended = "idle", at + timedelta(minutes=30)
        else:
            outcome = rng.choice(["agent_resolved"] * 8 + ["abandoned", "handed_off_unresolved"])
            by, ended = f"agent:{rng.randint(1, AGENTS)}", at
        rated = rng.choice([1, 2, 3, 4, 4, 5, 5, 5]) if rng.random() < 1 / 3 else None
        self.rows.episodes.append((cid, 1, seq, outcome, by, ended, rated))


def seed(db: Any, conversations: int, days: int, rng: random.Random, now: datetime) -> Rows:
    seeder = Seeder(rng, now, days)
    for cid in range(1, conversations + 1):
        seeder.conversation(cid)
    rows = seeder.rows
    raw = db.raw_connection()
    try:
        with raw.cursor() as cursor:
            copy(
                cursor,
                "agent (id, username, display_name, password_hash, created_at)",
                [(i, f"agent{i}", f"Agent {i}", "x", now) for i in range(1, AGENTS + 1)],
            )
            copy(
                cursor,
                "conversation (id, channel, key, created_at, updated_at, last_seq, "
                "memory, failures_in_a_row, owner)",
                [(*c, "{}", 0, "bot") for c in rows.conversations],
            )
            copy(
                cursor,
                "message (id, conversation_id, seq, role, text, understanding, "
                "sources, decision, handoff_reason, intent, created_at)",
                rows.messages,
            )
            copy(
                cursor,
                "handoff (conversation_id, reason, requested_at, agent_id, claimed_at, "
                "closed_at, outcome, first_reply_at, requested_by, offline)",
                [(*h, "bot", False) for h in rows.handoffs],
            )
            copy(
                cursor,
                "conversation_outcome (conversation_id, first_seq, last_seq, outcome, "
                "ended_by, ended_at, satisfaction)",
                rows.episodes,
            )
            copy(cursor, "feedback (message_id, rating, created_at)", rows.feedback)
            questions = rows.handed_questions
            copy(
                cursor,
                "faq_suggestion (question, alternates, answer, status, "
                "source_message_ids, cluster_size, created_at)",
                [
                    (
                        f"question {n}",
                        "[]",
                        "an answer",
                        "pending",
                        json.dumps(part := questions[n::50]),
                        len(part),
                        now,
                    )
                    for n in range(50)
                ],
            )
        raw.commit()
    finally:
        raw.close()
    return rows


def cpu_seconds(db: Any) -> float:
    """CPU time used so far by this process and by the PostgreSQL backends serving `db` (read
    from /proc: the machine's own server). Unlike wall time it does not grow when other
    programs share the cores."""
    with db.connect() as connection:
        pids = (
            connection.execute(
                text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"),
                {"name": BENCH_APP},
            )
            .scalars()
            .all()
        )
    ticks = os.sysconf("SC_CLK_TCK")
    backends = 0.0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        backends += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return time.process_time() + backends


def calibrate(db: Any) -> float:
    """CPU seconds PostgreSQL takes to count 5,000,000 generated rows (the least of three): a
    yardstick to compare this machine, as busy as it was, with another."""
    used = []
    with db.connect() as connection:
        connection.exec_driver_sql("SET jit = off")
        for _ in range(3):
            before = cpu_seconds(db)
            connection.execute(text("SELECT count(*) FROM generate_series(1, 5000000)"))
            used.append(cpu_seconds(db) - before)
    return min(used)


def copy(cursor: Any, into: str, rows: list[tuple[Any, ...]]) -> None:
    with cursor.copy(f"COPY {into} FROM STDIN") as writer:
        for row in rows:
            writer.write_row(row)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=30, help="Spread them over this many days.")
    parser.add_argument("--report-days", type=int, default=30, help="The report's period.")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--show", action="store_true", help="Print the whole report's tables.")
    args = parser.parse_args()
    now = datetime.now(UTC)
    with migrated_schema() as (schema, db):
        started = time.perf_counter()
        rows = seed(db, args.conversations, args.days, random.Random(args.seed), now)
        with db.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
        print(f"seeded {len(rows.conversations)} conversations, {len(rows.messages)} messages, "
              f"{len(rows.handoffs)} handoffs, {len(rows.episodes)} episodes, "
              f"{len(rows.feedback)} thumbs in {time.perf_counter() - started:.1f} s")  # fmt: skip
        when = Period(now - timedelta(days=args.report_days), now, ZoneInfo("Europe/Amsterdam"))
        reader = open_database(f"{schema_url(schema)}&application_name={BENCH_APP}")
        report = build_report(reader, when)  # the pool's connections opened, the cache warm
        seconds, cpu = [], []
        for _ in range(args.runs):
            started, used = time.perf_counter(), cpu_seconds(reader)
            report = build_report(reader, when)
            seconds.append(time.perf_counter() - started)
            cpu.append(cpu_seconds(reader) - used)
        calibration = calibrate(reader)
        reader.dispose()
        print("runs: " + ", ".join(f"{s:.3f}" for s in seconds) + " s")
        median = statistics.median(seconds)
        print(
            f"median {args.report_days}-day report: {median:.3f} s; CPU per report "
            f"{statistics.median(cpu):.3f} s (this process and its PostgreSQL backends)"
        )
        print(f"for scale: counting 5,000,000 rows of generate_series took {calibration:.3f} s "
              "of CPU here")  # fmt: skip
        shown = ("conversations", "handoffs", "handoff_rate", "bot_resolution_rate",
                 "csat_average", "first_response_p50_seconds", "queue_wait_p50_seconds",
                 "handling_time_p50_seconds")  # fmt: skip
        print(json.dumps({name: getattr(report, name) for name in shown}))
        if args.show:
            print("\n".join(text_lines(report)))


if __name__ == "__main__":
    main()
