"""The desk's reports: how many conversations the bot resolved, why the rest went to people, how
long customers waited and how happy they were, for a period, a channel or all of them.

    period + channels -> narrow queries (learning/report_queries.py: the database filters,
        groups and counts) -> numpy (percentiles, days and hours in the store's time zone)
        -> `Report` -> text, JSON or CSV (learning/report_tables.py)

Every figure, as the docs (docs/reports.md) define it:

- `conversations`: conversations with at least one customer message in the period.
- `handoffs`: handoff records requested in the period, by the bot, the customer or an agent
  taking over (`agent_took_over`); a conversation an agent puts back in the queue or leaves
  going offline continues its handoff and is not counted again (`REQUEUED`).
  `handoff_reasons` counts them by reason.
- `handoff_rate`: the share of `conversations` with a handoff in the period.
- `bot_resolution_rate` (containment): of the episodes (engine/outcomes.py) that ended in the
  period, the share whose outcome is `bot_resolved`: the bot answered, nobody was handed the
  conversation, no answer got a thumbs down and the last answer was not a failure. Episodes
  still going on are not counted; `outcomes` counts every ended episode by outcome.
- `csat_average` and `csat_distribution`: the customers' 1-5 ratings of episodes that ended in
  the period (each episode's latest rating).
- `thumbs_up` / `thumbs_down`: ratings of the bot's answers given in the period.
- `first_response_*_seconds`: per conversation, from its first customer message in the period
  to the first message after it written by the bot or a person (events such as "Sam joined"
  are not replies); conversations without one yet are counted in `awaiting_first_response`.
  The engine stores a turn's messages at one moment, so the bot's replies count 0 s: the figure
  shows the waits for people (conversations a person has, messages the bot passed on).
- `agent_first_reply_*_seconds`: for handoffs requested in the period that an agent answered,
  from the request to the agent's first reply.
- `queue_wait_*_seconds`: for handoffs requested in the period that went through the queue
  (not taken over) and were claimed, `claimed_at - requested_at`.
- `handling_time_*_seconds`: for handoffs requested in the period that were claimed and closed,
  `closed_at - claimed_at`.
- `volume_by_day` / `volume_by_hour`: `conversations` by the store's day and hour of their first
  customer message in the period (they add up to `conversations`).
- `agents`: per agent, the handoffs requested in the period that they claimed and closed
  (`handled`), the median handling time of those, and the ratings of the episodes they ended.
- `top_unanswered`: FAQ suggestions (learning/suggestions.py clusters the questions agents
  answered because the bot could not), ranked by how many of their customer questions were
  asked in the period.

Percentiles interpolate linearly between the closest ranks (numpy's default, PostgreSQL's
`percentile_cont`). Channels `eval` and `cli` (evaluations, `shopclerk chat` and `ask`) are test
conversations, left out unless asked for (`include_test`, or naming the channel).

Errors: `ReportError` (one line, for the CLI and the page), raised for a period that cannot be
read or is empty.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Connection
from sqlalchemy import Engine as Database

from engine.outcomes import OUTCOMES, SCALE
from learning.report_queries import (
    QUARTER_HOUR,
    REQUEUED,
    HandoffTimes,
    Where,
    agent_names,
    conversation_counts,
    episode_counts,
    handoff_times,
    questions_asked,
    read,
    reading,
    suggestion_sources,
    thumb_counts,
)

DEFAULT_DAYS = 30
TAKEN_OVER = "agent_took_over"  # an agent took it from the bot: it never waited in the queue
TOP_UNANSWERED = 10


class ReportError(Exception):
    """A report cannot be made as asked; the message says why in one line."""


# -- the period --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """From `since` (included) to `until` (excluded), both aware; days are `timezone`'s."""

    since: datetime
    until: datetime
    timezone: ZoneInfo

    def days(self) -> list[date]:
        """Every day of the store's calendar the period touches."""
        first = self.since.astimezone(self.timezone).date()
        last = (self.until - timedelta(microseconds=1)).astimezone(self.timezone).date()
        return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def period(since: str | None, until: str | None, timezone: ZoneInfo, now: datetime) -> Period:
    """The period `--since` and `--until` name, as ISO dates or times (`2026-11-01`,
    `2026-11-01T09:00`, `2026-11-01T09:00+01:00`); without an offset in the store's time.
    A date `until` includes that day. By default the last `DEFAULT_DAYS` days up to `now`."""
    end = _moment(until, "--until", timezone, whole_day=True) if until else now
    start = (
        _moment(since, "--since", timezone, whole_day=False)
        if since
        else end - timedelta(days=DEFAULT_DAYS)
    )
    if start >= end:
        raise ReportError(
            f"--since ({start.isoformat()}) must come before --until ({end.isoformat()})"
        )
    return Period(start, end, timezone)


def _moment(text: str, option: str, timezone: ZoneInfo, whole_day: bool) -> datetime:
    try:
        if len(text.strip()) == len("2026-11-01"):
            day = date.fromisoformat(text.strip())
            moment = datetime.combine(day + timedelta(days=1 if whole_day else 0), time())
        else:
            moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ReportError(
            f"{option} {text!r} is not an ISO date or time "
            "(2026-11-01, 2026-11-01T09:00 or 2026-11-01T09:00+01:00)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone)


# -- the report --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentFigures:
    agent_id: int
    name: str
    handled: int
    handling_time_p50_seconds: float | None
    csat_average: float | None
    csat_responses: int


@dataclass(frozen=True)
class Unanswered:
    suggestion_id: int
    question: str
    status: str  # pending | accepted | rejected | covered (kb/suggestion_models.py)
    asked: int  # its customers' questions asked in the period


@dataclass
class Report:
    """Every figure of one period; `as_dict` is the JSON the CLI prints and the page reads."""

    since: str
    until: str
    timezone: str
    channels: list[str]  # the ones asked for; empty: every channel
    include_test: bool
    conversations: int = 0
    handed_off_conversations: int = 0
    handoffs: int = 0
    handoff_rate: float | None = None
    handoff_reasons: dict[str, int] = field(default_factory=dict)
    episodes: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    bot_resolution_rate: float | None = None
    csat_average: float | None = None
    csat_responses: int = 0
    csat_distribution: dict[str, int] = field(default_factory=dict)
    thumbs_up: int = 0
    thumbs_down: int = 0
    first_response_p50_seconds: float | None = None
    first_response_p90_seconds: float | None = None
    awaiting_first_response: int = 0
    agent_first_reply_p50_seconds: float | None = None
    agent_first_reply_p90_seconds: float | None = None
    queue_wait_p50_seconds: float | None = None
    queue_wait_p90_seconds: float | None = None
    handling_time_p50_seconds: float | None = None
    handling_time_p90_seconds: float | None = None
    volume_by_day: dict[str, int] = field(default_factory=dict)  # ISO day -> conversations
    volume_by_hour: list[int] = field(default_factory=lambda: [0] * 24)
    agents: list[AgentFigures] = field(default_factory=list)
    top_unanswered: list[Unanswered] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def build_report(
    db: Database,
    when: Period,
    channels: Sequence[str] = (),
    include_test: bool = False,
) -> Report:
    """The report of `when` for `channels` (every channel when empty; test channels only when
    named or `include_test`)."""
    where = Where(when.since, when.until, tuple(channels), include_test)
    report = Report(
        since=when.since.astimezone(when.timezone).isoformat(),
        until=when.until.astimezone(when.timezone).isoformat(),
        timezone=str(when.timezone),
        channels=sorted(channels),
        include_test=include_test,
    )
    # The conversations' pass is the longest: it runs on a connection of its own meanwhile.
    with ThreadPoolExecutor(max_workers=1) as pool:
        firsts = pool.submit(read, db, conversation_counts(where))
        with reading(db) as connection:
            handoffs = handoff_times(connection, where)
            episodes = connection.execute(episode_counts(where)).all()
            thumbs = dict(connection.execute(thumb_counts(where)).all())
            report.agents = _agents(connection, handoffs, episodes)
            report.top_unanswered = _top_unanswered(connection, where)
        conversations = firsts.result()
    _conversation_figures(report, conversations, when)
    _handoff_figures(report, handoffs)
    _episode_figures(report, episodes)
    report.thumbs_up, report.thumbs_down = thumbs.get("up", 0), thumbs.get("down", 0)
    return report


# -- figures -----------------------------------------------------------------------------------


def percentile(values: Sequence[float] | np.ndarray, share: float) -> float | None:
    """The `share` (0-100) percentile, interpolated linearly; None for no values."""
    if len(values) == 0:
        return None
    return round(float(np.percentile(np.asarray(values, dtype=float), share)), 3)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _conversation_figures(report: Report, rows: Sequence[Any], when: Period) -> None:
    counted: dict[str, dict[int | None, int]] = defaultdict(dict)
    for kind, value, count in rows:
        counted[kind][value] = count
    quarters, replies = counted["quarter"], counted["reply_ms"]
    report.conversations = sum(quarters.values())
    report.handed_off_conversations = counted["handed"].get(1, 0)
    report.awaiting_first_response = replies.pop(None, 0)
    waits = np.repeat(np.array(list(replies), dtype=float) / 1000, list(replies.values()))
    report.first_response_p50_seconds = percentile(waits, 50)
    report.first_response_p90_seconds = percentile(waits, 90)
    report.volume_by_day = {day.isoformat(): 0 for day in when.days()}
    for quarter, count in quarters.items():
        moment = datetime.fromtimestamp((quarter or 0) * QUARTER_HOUR, when.timezone)
        day = moment.date().isoformat()
        report.volume_by_day[day] = report.volume_by_day.get(day, 0) + count
        report.volume_by_hour[moment.hour] += count


def _handoff_figures(report: Report, rows: Sequence[HandoffTimes]) -> None:
    new = [row for row in rows if row.reason not in REQUEUED]
    report.handoffs = len(new)
    report.handoff_reasons = dict(Counter(row.reason for row in new).most_common())
    report.handoff_rate = _rate(report.handed_off_conversations, report.conversations)
    waits = [row.claimed - row.requested for row in rows
             if row.reason != TAKEN_OVER and row.claimed is not None]  # fmt: skip
    report.queue_wait_p50_seconds = percentile(waits, 50)
    report.queue_wait_p90_seconds = percentile(waits, 90)
    answered = [row.replied - row.requested for row in rows if row.replied is not None]
    report.agent_first_reply_p50_seconds = percentile(answered, 50)
    report.agent_first_reply_p90_seconds = percentile(answered, 90)
    handling = _handling(rows)
    report.handling_time_p50_seconds = percentile(handling, 50)
    report.handling_time_p90_seconds = percentile(handling, 90)


def _handling(rows: Iterable[HandoffTimes]) -> list[float]:
    return [row.closed - row.claimed for row in rows
            if row.claimed is not None and row.closed is not None]  # fmt: skip


def _episode_figures(report: Report, rows: Sequence[Any]) -> None:
    outcomes: Counter[str] = Counter()
    ratings: Counter[int] = Counter()
    for outcome, satisfaction, _, count in rows:
        outcomes[outcome] += count
        if satisfaction is not None:
            ratings[satisfaction] += count
    report.episodes = sum(outcomes.values())
    report.outcomes = {name: outcomes[name] for name in (*OUTCOMES, *sorted(outcomes))}
    report.bot_resolution_rate = _rate(outcomes["bot_resolved"], report.episodes)
    report.csat_distribution = {str(score): ratings[score] for score in SCALE}
    report.csat_responses, report.csat_average = _csat(ratings)


def _csat(ratings: Counter[int]) -> tuple[int, float | None]:
    responses = sum(ratings.values())
    total = sum(score * count for score, count in ratings.items())
    return responses, round(total / responses, 3) if responses else None


def _agents(
    connection: Connection, handoffs: Sequence[HandoffTimes], episodes: Sequence[Any]
) -> list[AgentFigures]:
    handled: dict[int, list[HandoffTimes]] = defaultdict(list)
    for row in handoffs:
        if row.agent_id is not None and row.claimed is not None and row.closed is not None:
            handled[row.agent_id].append(row)
    ratings: dict[int, Counter[int]] = defaultdict(Counter)
    for _, satisfaction, ended_by, count in episodes:
        kind, _, number = ended_by.partition(":")
        if kind == "agent" and number.isdigit() and satisfaction is not None:
            ratings[int(number)][satisfaction] += count
    ids = sorted(set(handled) | set(ratings))
    names = agent_names(connection, ids)
    figures = []
    for agent_id in ids:
        responses, average = _csat(ratings[agent_id])
        figures.append(
            AgentFigures(
                agent_id=agent_id,
                name=names.get(agent_id, f"agent {agent_id}"),
                handled=len(handled[agent_id]),
                handling_time_p50_seconds=percentile(_handling(handled[agent_id]), 50),
                csat_average=average,
                csat_responses=responses,
            )
        )
    return sorted(figures, key=lambda f: (-f.handled, f.name))


def _top_unanswered(connection: Connection, where: Where) -> list[Unanswered]:
    """Suggestions ranked by their customers' questions asked in the period."""
    known = {row.id: row for row in suggestion_sources(connection)}
    owner = {i: row.id for row in known.values() for i in row.source_message_ids or ()}
    counts = Counter(owner[m] for m in questions_asked(connection, where, list(owner)))
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:TOP_UNANSWERED]
    return [
        Unanswered(suggestion_id=i, question=known[i].question, status=known[i].status, asked=n)
        for i, n in ranked
    ]
