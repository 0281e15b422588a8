"""`shopclerk report`: the desk's figures for a period, as a table, JSON or CSV.

    shopclerk report [--since ISO] [--until ISO] [--channel C]... [--include-test] [--json|--csv]

The settings and the database come from Typer's context (`learning.command_context`), where the
composition root (`shopclerk.cli`) or a test puts them; `learning.reports` (numpy) is imported
only when the command runs, to keep every other command's start-up quick.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from learning.command_context import fail, services


def report(
    ctx: typer.Context,
    since: Annotated[
        str | None,
        typer.Option(
            help="From this day or moment (ISO: 2026-11-01, 2026-11-01T09:00), in the store's "
            "time zone unless it names an offset.",
            show_default="30 days before --until",
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(help="Up to this moment, or to the end of this day.", show_default="now"),
    ] = None,
    channel: Annotated[
        list[str] | None,
        typer.Option(
            "--channel",
            help="Only this channel: web, slack... (repeat for more).",
            show_default="every channel",
        ),
    ] = None,
    include_test: Annotated[
        bool,
        typer.Option(
            "--include-test",
            help="Count test conversations too (channels eval and cli: evaluations, "
            "`shopclerk chat` and `ask`).",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    as_csv: Annotated[
        bool, typer.Option("--csv", help="Print the report as CSV, one table per section.")
    ] = False,
) -> None:
    """How the desk did: bot resolution, handoffs and their reasons, ratings, response and
    waiting times, volume, agents and the top unanswered questions (docs/reports.md)."""
    from zoneinfo import ZoneInfo

    from engine.clock import utcnow
    from learning.report_tables import text_lines, to_csv
    from learning.reports import ReportError, build_report, period

    if as_json and as_csv:
        raise fail("--json and --csv: choose one")
    given = services(ctx)
    try:
        when = period(since, until, ZoneInfo(given.settings.store_timezone), utcnow())
    except ReportError as exc:
        raise fail(str(exc)) from exc
    db = given.open_db()
    try:
        made = build_report(db, when, channel or (), include_test)
    finally:
        db.dispose()
    if as_json:
        typer.echo(json.dumps(made.as_dict(), indent=2))
    elif as_csv:
        typer.echo(to_csv(made), nl=False)
    else:
        for line in text_lines(made):
            typer.echo(line)
