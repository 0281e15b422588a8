"""The reports' figures against a small desk written into a real database (SQLite and
PostgreSQL) with known moments; every expected number is worked out by hand below, not with the
report's code.

The store is in Europe/Amsterdam (UTC+1 in November). The period is 2 and 3 November, store
time: from 2026-11-01 23:00 UTC to 2026-11-03 23:00 UTC.

    C1 web    asks 11-02 09:00 (store 10:00), bot answers in 2 s; thumbs up; bot_resolved, rated 5
    C2 web    asks 11-02 12:00 (13:00), 1 s; low_confidence: Anna claims after 120 s, replies
              179 s after the request, handles 480 s; agent_resolved by Anna, rated 4
    C3 slack  asks 11-03 08:30 (09:30), 4 s; thumbs down; customer_asked: Ben claims after
              300 s, puts it back after 180 s; Anna claims after 60 s more, replies 299 s
              after that request, handles 600 s; agent_resolved by Anna, rated 2
    C4 web    asks 11-01 23:30 (11-02 00:30); nobody has answered yet (no episode)
    C5 eval   asks 11-02 10:00 (11:00), 1 s; a test: thumbs down, bot_resolved, rated 1
    C6 web    asks 11-01 22:00 (11-01 23:00: before the period), 1 s; abandoned
    C7 web    asks 11-02 15:00 (16:00), 3 s; Ben takes it over (no wait), replies after 60 s,
              handles 240 s; handed_off_unresolved by Ben
    C8 web    asks 11-03 10:00 (11:00), 2 s; no_grounded_answer: the customer leaves the
              queue; abandoned
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import typer
from sqlmodel import Session
from typer.testing import CliRunner, Result

from engine.models import Conversation, Feedback, Message, Role
from engine.outcomes import Episode
from handoff.models import Agent, HandoffRecord
from kb.database import Database
from kb.suggestion_models import FaqSuggestion
from learning.report_commands import report
from learning.report_tables import section_csv, text_lines, to_csv
from learning.reports import Period, ReportError, build_report, period
from shopclerk.cli import app
from shopclerk.command_services import CliServices
from shopclerk.settings import Settings

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
runner = CliRunner()


def at(day: int, hour: int, minute: int = 0, second: float = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC) + timedelta(seconds=second)


@dataclass
class Desk:
    """Writes the rows of one conversation at a time, and remembers ids."""

    session: Session
    agents: dict[str, int] = field(default_factory=dict)
    questions: dict[str, int] = field(default_factory=dict)  # conversation -> first question id
    conversation: int = 0
    seq: int = 0

    def agent(self, name: str) -> None:
        row = Agent(username=name.lower(), display_name=name, password_hash="x")
        self.session.add(row)
        self.session.flush()
        self.agents[name] = row.id or 0

    def start(self, name: str, channel: str) -> None:
        row = Conversation(channel=channel, key=name, created_at=at(1, 0), updated_at=at(1, 0))
        self.session.add(row)
        self.session.flush()
        self.conversation, self.seq = row.id or 0, 0

    def say(self, role: Role, when: datetime, **extra: object) -> int:
        self.seq += 1
        row = Message(conversation_id=self.conversation, seq=self.seq, role=role,
                      text=f"{role.value} {self.seq}", created_at=when, **extra)  # fmt: skip
        self.session.add(row)
        self.session.flush()
        return row.id or 0

    def ask(self, name: str, when: datetime) -> int:
        question = self.say(Role.CUSTOMER, when)
        self.questions.setdefault(name, question)
        return question

    def thumbs(self, message: int, rating: str, when: datetime) -> None:
        self.session.add(Feedback(message_id=message, rating=rating, created_at=when))

    def handoff(self, reason: str, requested: datetime, agent: str | None = None,
                claimed: datetime | None = None, closed: datetime | None = None,
                outcome: str | None = None, replied: datetime | None = None) -> None:  # fmt: skip
        self.session.add(HandoffRecord(
            conversation_id=self.conversation, reason=reason, requested_by="bot",
            requested_at=requested, agent_id=self.agents[agent] if agent else None,
            claimed_at=claimed, closed_at=closed, outcome=outcome, first_reply_at=replied,
        ))  # fmt: skip

    def end(self, outcome: str, by: str, when: datetime, rated: int | None = None) -> None:
        if by in self.agents:
            by = f"agent:{self.agents[by]}"
        self.session.add(Episode(
            conversation_id=self.conversation, first_seq=1, last_seq=self.seq, outcome=outcome,
            ended_by=by, ended_at=when, satisfaction=rated,
        ))  # fmt: skip


def write_desk(db: Database) -> Desk:
    with Session(db) as session:
        desk = Desk(session)
        desk.agent("Anna")
        desk.agent("Ben")

        desk.start("C1", "web")
        desk.ask("C1", at(2, 9))
        answer = desk.say(Role.BOT, at(2, 9, second=2), decision="reply")
        desk.thumbs(answer, "up", at(2, 9, second=10))
        desk.ask("C1", at(2, 9, 1))
        desk.say(Role.BOT, at(2, 9, 1, second=1), decision="reply")
        desk.end("bot_resolved", "idle", at(2, 9, 40), rated=5)

        desk.start("C2", "web")
        desk.ask("C2", at(2, 12))
        desk.say(Role.BOT, at(2, 12, second=1), decision="handoff", handoff_reason="low_confidence")
        desk.say(Role.SYSTEM, at(2, 12, 2, second=1))  # "Anna joined the chat."
        desk.say(Role.AGENT, at(2, 12, 3))
        desk.handoff("low_confidence", at(2, 12, second=1), "Anna", at(2, 12, 2, second=1),
                     at(2, 12, 10, second=1), "resolved", replied=at(2, 12, 3))  # fmt: skip
        desk.end("agent_resolved", "Anna", at(2, 12, 10, second=1), rated=4)

        desk.start("C3", "slack")
        desk.ask("C3", at(3, 8, 30))
        answer = desk.say(Role.BOT, at(3, 8, 30, second=4), decision="reply")
        desk.thumbs(answer, "down", at(3, 8, 31))
        desk.ask("C3", at(3, 8, 32))
        desk.say(Role.BOT, at(3, 8, 32, second=1), decision="handoff",
                 handoff_reason="customer_asked")  # fmt: skip
        desk.handoff("customer_asked", at(3, 8, 32, second=1), "Ben", at(3, 8, 37, second=1),
                     at(3, 8, 40, second=1), "put_back")  # fmt: skip
        desk.handoff("put_back", at(3, 8, 40, second=1), "Anna", at(3, 8, 41, second=1),
                     at(3, 8, 51, second=1), "resolved", replied=at(3, 8, 45))  # fmt: skip
        desk.say(Role.AGENT, at(3, 8, 45))
        desk.end("agent_resolved", "Anna", at(3, 8, 51, second=1), rated=2)

        desk.start("C4", "web")
        desk.ask("C4", at(1, 23, 30))

        desk.start("C5", "eval")
        desk.ask("C5", at(2, 10))
        answer = desk.say(Role.BOT, at(2, 10, second=1), decision="reply")
        desk.thumbs(answer, "down", at(2, 10, 1))
        desk.end("bot_resolved", "customer", at(2, 10, 5), rated=1)

        desk.start("C6", "web")
        desk.ask("C6", at(1, 22))
        desk.say(Role.BOT, at(1, 22, second=1), decision="reply")
        desk.end("abandoned", "idle", at(1, 22, 30))

        desk.start("C7", "web")
        desk.ask("C7", at(2, 15))
        desk.say(Role.BOT, at(2, 15, second=3), decision="reply")
        desk.handoff("agent_took_over", at(2, 15, 1), "Ben", at(2, 15, 1), at(2, 15, 5),
                     "unresolved", replied=at(2, 15, 2))  # fmt: skip
        desk.say(Role.AGENT, at(2, 15, 2))
        desk.end("handed_off_unresolved", "Ben", at(2, 15, 5))

        desk.start("C8", "web")
        desk.ask("C8", at(3, 10))
        desk.say(Role.BOT, at(3, 10, second=2), decision="handoff",
                 handoff_reason="no_grounded_answer")  # fmt: skip
        desk.handoff("no_grounded_answer", at(3, 10, second=2), closed=at(3, 10, 20, second=2),
                     outcome="abandoned")  # fmt: skip
        desk.end("abandoned", "customer", at(3, 10, 20, second=2))

        q = desk.questions
        for question, ids in (
            ("Can I pick up my order at the warehouse?", [q["C2"], q["C8"]]),
            ("Do you ship to Norway?", [q["C6"]]),  # asked before the period
            ("Is the grinder in stock?", [q["C5"]]),  # a test conversation's
        ):
            session.add(FaqSuggestion(question=question, answer="...", source_message_ids=ids))
        session.commit()
        return desk


NOVEMBER = Period(at(1, 23), at(3, 23), AMSTERDAM)


def test_every_figure_of_the_period(db: Database) -> None:
    desk = write_desk(db)
    report = build_report(db, NOVEMBER)

    assert report.conversations == 6  # C1 C2 C3 C4 C7 C8: not C5 (a test), not C6 (before)
    assert report.handoffs == 4  # C2 C3 C7 C8; C3's put_back continues its handoff
    assert report.handoff_reasons == {
        "low_confidence": 1, "customer_asked": 1, "agent_took_over": 1, "no_grounded_answer": 1
    }  # fmt: skip
    assert report.handed_off_conversations == 4
    assert report.handoff_rate == round(4 / 6, 4)
    assert report.episodes == 5  # C1 C2 C3 C7 C8
    assert report.outcomes == {"bot_resolved": 1, "agent_resolved": 2, "abandoned": 1,
                               "handed_off_unresolved": 1}  # fmt: skip
    assert report.bot_resolution_rate == 0.2
    assert report.csat_responses == 3
    assert report.csat_average == round((5 + 4 + 2) / 3, 3)
    assert report.csat_distribution == {"1": 0, "2": 1, "3": 0, "4": 1, "5": 1}
    assert (report.thumbs_up, report.thumbs_down) == (1, 1)
    # Replies after the first question: C1 2 s, C2 1 s, C3 4 s, C7 3 s, C8 2 s; C4 none.
    # Sorted 1 2 2 3 4: the median is 2; the 90th percentile lies at rank 0.9 * 4 = 3.6.
    assert report.first_response_p50_seconds == 2.0
    assert report.first_response_p90_seconds == pytest.approx(3 + 0.6 * (4 - 3))
    assert report.awaiting_first_response == 1
    # An agent's first reply after the request: C2 179 s (12:00:01 to 12:03), C3's second
    # stint 299 s (08:40:01 to 08:45), C7 60 s; Ben never answered C3. Sorted 60 179 299.
    assert report.agent_first_reply_p50_seconds == 179.0
    assert report.agent_first_reply_p90_seconds == pytest.approx(179 + 0.8 * (299 - 179))
    # Queued and claimed: C2 120 s, C3 300 s, C3 again 60 s (C7 was taken over, C8 never
    # claimed). Sorted 60 120 300: rank 0.9 * 2 = 1.8.
    assert report.queue_wait_p50_seconds == 120.0
    assert report.queue_wait_p90_seconds == pytest.approx(120 + 0.8 * (300 - 120))
    # Claimed and closed: C2 480 s, C3 180 s and 600 s, C7 240 s. Sorted 180 240 480 600.
    assert report.handling_time_p50_seconds == (240 + 480) / 2
    assert report.handling_time_p90_seconds == pytest.approx(480 + 0.7 * (600 - 480))
    # Store days: C4 asked at 00:30 on the 2nd (23:30 UTC on the 1st).
    assert report.volume_by_day == {"2026-11-02": 4, "2026-11-03": 2}
    hours = {0: 1, 10: 1, 13: 1, 16: 1, 9: 1, 11: 1}  # C4 C1 C2 C7 C3 C8
    assert report.volume_by_hour == [hours.get(h, 0) for h in range(24)]
    assert [(a.name, a.handled, a.handling_time_p50_seconds, a.csat_average, a.csat_responses)
            for a in report.agents] == [
        ("Anna", 2, (480 + 600) / 2, 3.0, 2),  # C2 and C3's second stint; rated 4 and 2
        ("Ben", 2, (180 + 240) / 2, None, 0),  # C3's first stint and C7; C7 unrated
    ]  # fmt: skip
    assert [a.agent_id for a in report.agents] == [desk.agents["Anna"], desk.agents["Ben"]]
    assert [(u.question, u.asked, u.status) for u in report.top_unanswered] == [
        ("Can I pick up my order at the warehouse?", 2, "pending")
    ]


def test_the_first_response_is_to_the_first_question_of_the_period(db: Database) -> None:
    with Session(db) as session:
        desk = Desk(session)
        desk.start("asked before", "web")
        desk.ask("asked before", at(1, 22, 59, second=50))
        desk.say(Role.BOT, at(1, 23, second=1), decision="reply")  # in the period, too early
        desk.ask("asked before", at(1, 23, 10))
        desk.say(Role.SYSTEM, at(1, 23, 10, second=1))  # an event is not a reply
        desk.say(Role.AGENT, at(1, 23, 10, second=5))
        desk.start("unanswered", "web")
        desk.ask("unanswered", at(2, 8))
        desk.start("one turn", "web")  # the engine stores the reply with the question
        desk.ask("one turn", at(2, 9))
        desk.say(Role.BOT, at(2, 9), decision="reply")
        session.commit()
    report = build_report(db, NOVEMBER)

    assert report.conversations == 3
    assert report.awaiting_first_response == 1
    assert report.first_response_p50_seconds == (0 + 5) / 2
    assert report.first_response_p90_seconds == pytest.approx(0.1 * 0 + 0.9 * 5)


def test_test_conversations_count_when_asked_for(db: Database) -> None:
    write_desk(db)
    report = build_report(db, NOVEMBER, include_test=True)

    assert report.conversations == 7  # and C5
    assert report.episodes == 6
    assert report.bot_resolution_rate == round(2 / 6, 4)
    assert report.csat_average == round((5 + 4 + 2 + 1) / 4, 3)
    assert (report.thumbs_up, report.thumbs_down) == (1, 2)
    assert report.first_response_p50_seconds == 2.0  # 1 1 2 2 3 4
    assert {u.question: u.asked for u in report.top_unanswered} == {
        "Can I pick up my order at the warehouse?": 2, "Is the grinder in stock?": 1
    }  # fmt: skip
    assert build_report(db, NOVEMBER, channels=["eval"]).conversations == 1  # named: counted


def test_one_channel(db: Database) -> None:
    write_desk(db)
    report = build_report(db, NOVEMBER, channels=["slack"])

    assert report.conversations == 1
    assert report.handoff_reasons == {"customer_asked": 1}
    assert report.handoff_rate == 1.0
    assert report.queue_wait_p50_seconds == (300 + 60) / 2
    assert (report.thumbs_up, report.thumbs_down) == (0, 1)
    assert report.top_unanswered == []


def test_an_empty_period_gives_zeros_and_nothing_to_average(db: Database) -> None:
    write_desk(db)
    empty = build_report(db, Period(at(10, 0), at(12, 0), AMSTERDAM))

    assert (empty.conversations, empty.handoffs, empty.episodes) == (0, 0, 0)
    nothing = (empty.handoff_rate, empty.bot_resolution_rate, empty.csat_average,
               empty.first_response_p50_seconds, empty.queue_wait_p90_seconds,
               empty.handling_time_p50_seconds)  # fmt: skip
    assert nothing == (None,) * 6
    assert empty.volume_by_day == {"2026-11-10": 0, "2026-11-11": 0, "2026-11-12": 0}
    assert empty.volume_by_hour == [0] * 24
    assert (empty.agents, empty.top_unanswered) == ([], [])
    json.dumps(empty.as_dict())  # and it can be written as JSON


def test_the_csv_has_one_table_per_section(db: Database) -> None:
    write_desk(db)
    report = build_report(db, NOVEMBER)
    written = to_csv(report)

    sections = [s.strip().splitlines() for s in written.split("\r\n\r\n")]
    assert [s[0] for s in sections] == [
        "# summary", "# handoff_reasons", "# outcomes", "# csat_distribution",
        "# volume_by_day", "# volume_by_hour", "# agents", "# top_unanswered",
    ]  # fmt: skip
    summary = dict(csv.reader(io.StringIO(section_csv(report, "summary"))))
    assert summary["conversations"] == "6"
    assert summary["handoff_rate"] == str(round(4 / 6, 4))
    agents = list(csv.DictReader(io.StringIO(section_csv(report, "agents"))))
    assert [(a["name"], a["handled"], a["csat_average"]) for a in agents] == [
        ("Anna", "2", "3.0"), ("Ben", "2", "")
    ]  # fmt: skip
    lines = text_lines(report)
    assert lines[0] == (
        "report 2026-11-02T00:00:00+01:00 to 2026-11-04T00:00:00+01:00 (Europe/Amsterdam), "
        "every channel"
    )
    assert ["bot_resolution_rate", "20.0%"] in [line.split() for line in lines]
    assert ["Anna", "2", "540.0", "3.0", "2"] in [line.split()[1:] for line in lines]


# -- the period ------------------------------------------------------------------------------


def test_dates_are_the_stores_days_and_until_includes_its_day() -> None:
    chosen = period("2026-11-02", "2026-11-03", AMSTERDAM, NOW)
    assert (chosen.since, chosen.until) == (at(1, 23), at(3, 23))
    moment = period("2026-11-02T09:30", "2026-11-02T10:00+00:00", AMSTERDAM, NOW)
    assert (moment.since, moment.until) == (at(2, 8, 30), at(2, 10))
    default = period(None, None, AMSTERDAM, NOW)
    assert (default.since, default.until) == (NOW - timedelta(days=30), NOW)


def test_a_period_that_cannot_be_read_says_why() -> None:
    with pytest.raises(ReportError, match="--since 'last week' is not an ISO date or time"):
        period("last week", None, AMSTERDAM, NOW)
    with pytest.raises(ReportError, match=r"--since .* must come before --until"):
        period("2026-11-05", "2026-11-04", AMSTERDAM, NOW)


# -- the command -----------------------------------------------------------------------------


def _settings(db: Database, tmp_path: Path) -> Settings:
    url = db.url.render_as_string(hide_password=False)
    return Settings(data_dir=tmp_path, database_url=url, store_timezone="Europe/Amsterdam")


def _report(settings: Settings, *args: str) -> Result:
    command = typer.Typer()
    command.command()(report)
    return runner.invoke(command, list(args), obj=CliServices(settings))


def test_the_command_prints_json_text_and_csv(db: Database, tmp_path: Path) -> None:
    write_desk(db)
    settings = _settings(db, tmp_path)
    period_args = ["--since", "2026-11-02", "--until", "2026-11-03"]

    printed = _report(settings, *period_args, "--json")
    assert printed.exit_code == 0, printed.output
    figures = json.loads(printed.stdout)
    assert {k: figures[k] for k in ("conversations", "handoffs", "handoff_rate",
                                    "bot_resolution_rate", "csat_average",
                                    "first_response_p50_seconds")} == {
        "conversations": 6, "handoffs": 4, "handoff_rate": round(4 / 6, 4),
        "bot_resolution_rate": 0.2, "csat_average": round(11 / 3, 3),
        "first_response_p50_seconds": 2.0,
    }  # fmt: skip
    with_tests = json.loads(_report(settings, *period_args, "--json", "--include-test").stdout)
    assert with_tests["conversations"] == 7
    slack = json.loads(_report(settings, *period_args, "--json", "--channel", "slack").stdout)
    assert slack["conversations"] == 1

    table = _report(settings, *period_args)
    assert ["conversations", "6"] in [line.split() for line in table.stdout.splitlines()]
    assert "Can I pick up my order at the warehouse?" in table.stdout
    assert _report(settings, *period_args, "--csv").stdout.splitlines()[:2] == [
        "# summary",
        "figure,value",
    ]


def test_the_command_names_a_bad_date(db: Database, tmp_path: Path) -> None:
    result = _report(_settings(db, tmp_path), "--since", "2026-13-01")
    assert result.exit_code == 1
    assert "error: --since '2026-13-01' is not an ISO date or time" in result.output


def test_shopclerk_report_is_a_command(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--data-dir", str(tmp_path), "report", "--help"])
    assert result.exit_code == 0
    assert "--include-test" in result.output
