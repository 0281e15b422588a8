"""A report (learning/reports.py) as tables: one per section, for CSV (the page's export, the
command's `--csv`) and for the command's readable text.

    summary           figure, value
    handoff_reasons   reason, handoffs
    outcomes          outcome, episodes
    csat_distribution rating, episodes
    volume_by_day     day, conversations
    volume_by_hour    hour, conversations
    agents            agent_id, agent, handled, handling_time_p50_seconds, csat_average, ...
    top_unanswered    suggestion_id, question, status, asked

The CSV holds the tables one after another, each under a `# name` line and its header row, a
blank line between them (spreadsheets open it as it is; `section_csv` gives one table alone).
"""

from __future__ import annotations

import csv
import io
from dataclasses import astuple, dataclass, fields
from typing import Any

from learning.reports import AgentFigures, Report, Unanswered

SUMMARY = (
    "conversations", "handed_off_conversations", "handoffs", "handoff_rate", "episodes",
    "bot_resolution_rate", "csat_average", "csat_responses", "thumbs_up", "thumbs_down",
    "first_response_p50_seconds", "first_response_p90_seconds", "awaiting_first_response",
    "agent_first_reply_p50_seconds", "agent_first_reply_p90_seconds",
    "queue_wait_p50_seconds", "queue_wait_p90_seconds", "handling_time_p50_seconds",
    "handling_time_p90_seconds",
)  # fmt: skip
RATES = frozenset({"handoff_rate", "bot_resolution_rate"})


@dataclass(frozen=True)
class Table:
    name: str
    header: tuple[str, ...]
    rows: list[tuple[Any, ...]]


def tables(report: Report) -> list[Table]:
    """Every section of the report as a table, in the order above."""
    return [
        Table("summary", ("figure", "value"), [(n, getattr(report, n)) for n in SUMMARY]),
        Table("handoff_reasons", ("reason", "handoffs"), list(report.handoff_reasons.items())),
        Table("outcomes", ("outcome", "episodes"), list(report.outcomes.items())),
        Table("csat_distribution", ("rating", "episodes"), list(report.csat_distribution.items())),
        Table("volume_by_day", ("day", "conversations"), list(report.volume_by_day.items())),
        Table("volume_by_hour", ("hour", "conversations"), list(enumerate(report.volume_by_hour))),
        Table("agents", _names(AgentFigures), [astuple(a) for a in report.agents]),
        Table("top_unanswered", _names(Unanswered), [astuple(u) for u in report.top_unanswered]),
    ]


def _names(kind: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(kind))


def to_csv(report: Report) -> str:
    """Every table, each under a `# name` line."""
    out = io.StringIO()
    for number, table in enumerate(tables(report)):
        if number:
            out.write("\r\n")
        out.write(f"# {table.name}\r\n")
        _write(out, table)
    return out.getvalue()


def section_csv(report: Report, name: str) -> str:
    """One table as a CSV file of its own (KeyError for a name `tables` does not make)."""
    found = {t.name: t for t in tables(report)}[name]
    out = io.StringIO()
    _write(out, found)
    return out.getvalue()


def _write(out: io.StringIO, table: Table) -> None:
    writer = csv.writer(out)
    writer.writerow(table.header)
    writer.writerows(tuple("" if v is None else v for v in row) for row in table.rows)


# -- text --------------------------------------------------------------------------------------


def text_lines(report: Report) -> list[str]:
    """The report as aligned tables for a terminal (empty tables left out)."""
    channels = ", ".join(report.channels) or "every channel"
    tests = " (test conversations included)" if report.include_test else ""
    lines = [f"report {report.since} to {report.until} ({report.timezone}), {channels}{tests}"]
    for table in tables(report):
        if not table.rows:
            continue
        cells = [list(table.header)] + [_shown(table, row) for row in table.rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(table.header))]
        lines += ["", table.name.replace("_", " ")]
        left = [
            i == 0 or not all(_numeric(row[i]) for row in cells[1:]) for i in range(len(widths))
        ]
        lines += ["  " + "  ".join(_aligned(row, widths, left)).rstrip() for row in cells]
    return lines


def _shown(table: Table, row: tuple[Any, ...]) -> list[str]:
    if table.name == "summary" and row[0] in RATES and row[1] is not None:
        return [row[0], f"{row[1]:.1%}"]
    return ["-" if value is None else str(value) for value in row]


def _numeric(cell: str) -> bool:
    return cell == "-" or cell.rstrip("%").replace(".", "", 1).isdigit()


def _aligned(row: list[str], widths: list[int], left: list[bool]) -> list[str]:
    """Text to the left, numbers to the right."""
    return [c.ljust(w) if lt else c.rjust(w) for c, w, lt in zip(row, widths, left, strict=True)]
