"""`shopclerk kb suggestions`: FAQ entries learned from agents' answers, for a trainer to review.

    shopclerk kb suggestions list
    shopclerk kb suggestions refresh [--since 2026-11-01]
    shopclerk kb suggestions show ID
    shopclerk kb suggestions accept ID [--question Q] [--answer A] [--alternate W]... [--key K]
                                       [--topic T] [--edit]
    shopclerk kb suggestions reject ID

The settings, the database and the embedding model come from Typer's context
(`learning.command_context`), where the composition root (`shopclerk.cli`) or a test (with the
model its session loaded) puts them.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from learning.command_context import fail, services

if TYPE_CHECKING:
    from kb.suggestion_models import FaqSuggestion

EDIT_HELP = """\
# Edit the FAQ entry, save and close. Lines starting with # are ignored; an empty answer
# cancels. One alternate wording per "- " line.
"""


def make_suggestions_app() -> typer.Typer:
    """The `kb suggestions` command group; settings, database and model come from the
    context."""
    app = typer.Typer(help="FAQ entries learned from agents' answers.", no_args_is_help=True)

    @app.command("list")
    def list_pending(ctx: typer.Context) -> None:
        """The suggestions waiting for a decision, the most asked first."""
        from learning.suggestions import pending

        waiting = pending(services(ctx).open_db())
        for suggestion in waiting:
            typer.echo(_line(suggestion))
        typer.echo(
            f"{len(waiting)} pending" + (": `show ID` for the whole of one" if waiting else "")
        )

    @app.command("refresh")
    def refresh(
        ctx: typer.Context,
        since: Annotated[
            datetime | None,
            typer.Option(
                help="Learn only from agents' answers from then on.", show_default="all time"
            ),
        ] = None,
    ) -> None:
        """Learn suggestions from what agents answered when the bot could not."""
        from learning.suggestions import suggest

        given = services(ctx)
        report = suggest(given.open_db(), given.encoder(), given.settings.index_dir, since)
        typer.echo(report.summary())
        for question, key, similarity in report.covered:
            typer.echo(
                f"  covered: {question!r} is FAQ {key} ({similarity:.2f}); add it as an "
                "alternate if the bot did not find it"
            )

    @app.command("show")
    def show(ctx: typer.Context, suggestion_id: int) -> None:
        """One suggestion in full."""
        from learning.suggestions import SuggestionError, find

        try:
            suggestion = find(services(ctx).open_db(), suggestion_id)
        except SuggestionError as exc:
            raise fail(str(exc)) from exc
        typer.echo(
            f"suggestion {suggestion.id}: {suggestion.status}, asked "
            f"{suggestion.cluster_size} times"
        )
        typer.echo(f"question:  {suggestion.question}")
        for alternate in suggestion.alternates:
            typer.echo(f"  also:    {alternate}")
        typer.echo(f"answer:    {suggestion.answer}")
        typer.echo(f"messages:  {', '.join(map(str, suggestion.source_message_ids))}")
        if suggestion.decided_at is not None:
            typer.echo(
                f"decided:   {suggestion.decided_at:%Y-%m-%d %H:%M} by {suggestion.decided_by}"
            )
        if suggestion.faq_key:
            typer.echo(f"FAQ entry: {suggestion.faq_key}")

    @app.command("accept")
    def accept(
        ctx: typer.Context,
        suggestion_id: int,
        question: Annotated[str | None, typer.Option(help="The question, as edited.")] = None,
        answer: Annotated[str | None, typer.Option(help="The answer, as edited.")] = None,
        alternate: Annotated[
            list[str] | None,
            typer.Option(
                help="Another way customers ask it (repeat; replaces the suggested ones)."
            ),
        ] = None,
        key: Annotated[
            str | None, typer.Option(help="The entry's key.", show_default="a slug of the question")
        ] = None,
        topic: Annotated[str, typer.Option(help="The entry's topic, e.g. shipping.")] = "",
        edit: Annotated[
            bool,
            typer.Option("--edit", help="Edit question, alternates and answer in $EDITOR first."),
        ] = False,
    ) -> None:
        """Add the suggestion to the FAQ (edited if asked) and index it."""
        from kb.knowledge import build_indexes
        from learning.suggestions import SuggestionError, find
        from learning.suggestions import accept as accept_suggestion

        given = services(ctx)
        db = given.open_db()
        try:
            if edit:
                question, alternate, answer = _edited(
                    find(db, suggestion_id), question, alternate, answer
                )
            entry = accept_suggestion(
                db,
                suggestion_id,
                question=question,
                answer=answer,
                alternates=alternate,
                key=key,
                topic=topic,
            )
        except SuggestionError as exc:
            raise fail(str(exc)) from exc
        typer.echo(f"FAQ entry {entry.key} added: {entry.question}")
        for sync in build_indexes(db, given.settings.index_dir, given.encoder()):
            typer.echo(sync.summary())
        typer.echo("a running server answers with it within seconds (it watches the indexes)")

    @app.command("reject")
    def reject(ctx: typer.Context, suggestion_id: int) -> None:
        """Never add this suggestion to the FAQ."""
        from learning.suggestions import SuggestionError
        from learning.suggestions import reject as reject_suggestion

        try:
            reject_suggestion(services(ctx).open_db(), suggestion_id)
        except SuggestionError as exc:
            raise fail(str(exc)) from exc
        typer.echo(f"suggestion {suggestion_id} rejected")

    return app


def _line(suggestion: FaqSuggestion) -> str:
    answer = " ".join(suggestion.answer.split())
    excerpt = answer if len(answer) <= 60 else answer[:59] + "…"
    return (
        f"{suggestion.id:>5}  ×{suggestion.cluster_size:<3} {suggestion.question}\n"
        f"{'':>12}→ {excerpt}"
    )


def _edited(
    suggestion: FaqSuggestion,
    question: str | None,
    alternates: list[str] | None,
    answer: str | None,
) -> tuple[str, list[str], str]:
    """The entry as the trainer left it in $EDITOR (starting from the options given)."""
    import click

    from learning.suggestions import EntryError, default_alternates

    text = "\n".join(
        [
            EDIT_HELP + "question:",
            question or suggestion.question,
            "",
            "alternates:",
            *[f"- {a}" for a in (alternates or default_alternates(suggestion, question))],
            "",
            "answer:",
            answer or suggestion.answer,
            "",
        ]
    )
    edited = click.edit(text, extension=".txt")
    if edited is None:  # closed without saving
        raise EntryError("not accepted: the editor was closed without saving")
    lines = [line for line in edited.splitlines() if not line.startswith("#")]
    sections: dict[str, list[str]] = {"question": [], "alternates": [], "answer": []}
    current = sections["question"]
    for line in lines:
        if re.fullmatch(r"(question|alternates|answer):\s*", line):
            current = sections[line.split(":")[0]]
        else:
            current.append(line)
    found = [a[2:].strip() for a in sections["alternates"] if a.startswith("- ") and a[2:].strip()]
    new_answer = "\n".join(sections["answer"]).strip()
    if not new_answer:
        raise EntryError("not accepted: the answer was left empty")
    return " ".join(" ".join(sections["question"]).split()), found, new_answer


suggestions_app = make_suggestions_app()
