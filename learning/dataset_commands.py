"""`shopclerk dataset export`: the dialogs that went well, written as fine-tuning data.

    shopclerk dataset export [--out DIR] [--outcome OUTCOME]... [--source bot|agent|retried]...
                             [--feedback any|up] [--min-satisfaction 1-5] [--channel NAME]...
                             [--since YYYY-MM-DD] [--until YYYY-MM-DD] [--validation-share 0.1]
                             [--seed 42] [--include-open] [--grounded-only]

The settings and the database come from Typer's context (`learning.command_context`), where
the composition root (`shopclerk.cli`) or a test puts them; `learning.dataset` is imported only
when the command runs, to keep every other command's start-up quick.
"""

from __future__ import annotations

import time
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from learning.command_context import CommandServices, fail, services

if TYPE_CHECKING:
    from learning.dataset import Selection, Summary

DEFAULT_SEED = 42  # the same data and seed give the same split
DAY = ["%Y-%m-%d"]


class Outcome(StrEnum):
    BOT_RESOLVED = "bot_resolved"
    AGENT_RESOLVED = "agent_resolved"
    ABANDONED = "abandoned"
    HANDED_OFF_UNRESOLVED = "handed_off_unresolved"


class SourceName(StrEnum):  # learning.dataset.Source, without importing it at start-up
    BOT = "bot"
    AGENT = "agent"
    RETRIED = "retried"


class Feedback(StrEnum):
    ANY = "any"
    UP = "up"


def make_dataset_app() -> typer.Typer:
    """The `dataset` command group; settings and database come from the context."""
    app = typer.Typer(
        help="Fine-tuning data from the store's own conversations.", no_args_is_help=True
    )

    @app.callback()
    def group() -> None:
        """A group even with one command: `shopclerk dataset export`, never `shopclerk dataset`."""

    @app.command("export")
    def export(
        ctx: typer.Context,
        out: Annotated[
            Path | None,
            typer.Option(
                "--out", help="Where to write the files.", show_default="DATA_DIR/datasets"
            ),
        ] = None,
        outcome: Annotated[
            list[Outcome] | None,
            typer.Option(
                "--outcome",
                help="Episodes ended this way (repeat for more); bot replies are "
                "taken from bot_resolved ones only.",
                show_default="bot_resolved, agent_resolved",
            ),
        ] = None,
        source: Annotated[
            list[SourceName] | None,
            typer.Option(
                "--source", help="Where targets come from (repeat for more).", show_default="all"
            ),
        ] = None,
        feedback: Annotated[
            Feedback,
            typer.Option(
                help="up: bot replies only if the customer gave them a thumbs up (thumbs down are "
                "always left out)."
            ),
        ] = Feedback.ANY,
        min_satisfaction: Annotated[
            int | None,
            typer.Option(
                "--min-satisfaction",
                min=1,
                max=5,
                help="Only episodes the customer rated this or higher (1-5).",
            ),
        ] = None,
        channel: Annotated[
            list[str] | None,
            typer.Option(
                "--channel",
                help="Only conversations on this channel: web, slack... (repeat for more).",
                show_default="all",
            ),
        ] = None,
        since: Annotated[
            datetime | None,
            typer.Option(
                formats=DAY, help="Answers written on or after this day (the store's time)."
            ),
        ] = None,
        until: Annotated[
            datetime | None,
            typer.Option(formats=DAY, help="Answers written on or before this day."),
        ] = None,
        validation_share: Annotated[
            float,
            typer.Option(
                "--validation-share",
                min=0.0,
                max=0.9,
                help="Share of the conversations held out for validation.",
            ),
        ] = 0.1,
        seed: Annotated[
            int, typer.Option(help="The same seed gives the same split.")
        ] = DEFAULT_SEED,
        include_open: Annotated[
            bool,
            typer.Option(
                "--include-open",
                help="Also thumbed-up bot replies in conversations that have not ended yet.",
            ),
        ] = False,
        grounded_only: Annotated[
            bool,
            typer.Option(
                "--grounded-only",
                help="Leave out answers stating facts (prices, dates, order "
                "ids...) their sources do not have.",
            ),
        ] = False,
    ) -> None:
        """Write the dialogs that went well as training and validation data.

        Writes train.jsonl and validation.jsonl for `shopclerk finetune`, *.plain.jsonl for
        other trainers, and summary.json. Personal data is replaced by placeholders.
        """
        from zoneinfo import ZoneInfo

        from learning.dataset import DEFAULT_OUTCOMES, Selection, Source

        given = services(ctx)
        current = given.settings
        selection = Selection(
            outcomes=frozenset(o.value for o in outcome) if outcome else DEFAULT_OUTCOMES,
            sources=frozenset(Source(s.value) for s in source) if source else frozenset(Source),
            feedback="up" if feedback is Feedback.UP else "any",
            min_satisfaction=min_satisfaction,
            channels=frozenset(channel or ()),
            since=since.date() if since else None,
            until=until.date() if until else None,
            timezone=ZoneInfo(current.store_timezone),
            include_open=include_open,
            grounded_only=grounded_only,
        )
        target = out or current.data_dir / "datasets"
        # Progress on stderr (stdout keeps the summary): redaction takes a while on big desks.
        typer.echo("exporting: reading the conversations, redacting personal data ...", err=True)
        started = time.monotonic()
        summary = _export(given, selection, target, validation_share, seed)
        typer.echo(f"exported in {time.monotonic() - started:.1f} s", err=True)
        for line in summary_lines(summary, target):
            typer.echo(line)

    return app


def _export(
    given: CommandServices, selection: Selection, out: Path, validation_share: float, seed: int
) -> Summary:
    """Run the export on the configured database; every failure is one `error:` line."""
    from learning.dataset import ExportError, export

    db = given.open_db()
    try:
        return export(db, out, selection, validation_share=validation_share, seed=seed)
    except ExportError as exc:
        raise fail(str(exc)) from exc
    finally:
        db.dispose()


def summary_lines(summary: Summary, out: Path) -> list[str]:
    """The summary as a small table: sizes, where examples come from, what was left out."""
    lines = [f"examples written to {out}"]
    for name in ("train", "validation"):
        size, conversations = summary.sizes[name], summary.conversations[name]
        lines.append(
            _row(name, size, f"({conversations} conversation{'' if conversations == 1 else 's'})")
        )
    counts = summary.as_dict()  # in summary.json's order: the filters as they are applied
    for title, key in (
        ("by source", "by_source"),
        ("by intent", "by_intent"),
        ("dropped", "dropped"),
        ("personal data replaced", "scrubbed"),
    ):
        if counts[key]:
            lines.append(title)
            lines += [_row(name, count) for name, count in counts[key].items()]
    if summary.unsupported:
        dropped = summary.dropped["facts not in sources"]
        what = "dropped" if dropped else "kept; --grounded-only leaves them out"
        lines.append(
            f"answers stating facts their sources do not have: {summary.unsupported} ({what})"
        )
    return lines


def _row(name: str, count: int, note: str = "") -> str:
    return f"  {name:<24}{count:>6}  {note}".rstrip()


dataset_app = make_dataset_app()
