"""The `shopclerk` command line (Typer)."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kb.errors import KbError
from learning.commands import finetune_app
from learning.dataset_commands import dataset_app
from learning.suggestion_commands import suggestions_app

if TYPE_CHECKING:
    from engine.engine import Engine
from shopclerk.settings import Settings, load_settings

app = typer.Typer(help="shopclerk: a customer-service desk for online stores.",
                  no_args_is_help=True, pretty_exceptions_enable=False)  # fmt: skip
kb_app = typer.Typer(help="The store's knowledge: catalog, FAQ, orders and search indexes.",
                     no_args_is_help=True)  # fmt: skip
db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
agents_app = typer.Typer(help="Accounts of the people who take handed-off conversations.",
                         no_args_is_help=True)  # fmt: skip
app.add_typer(kb_app, name="kb")
kb_app.add_typer(suggestions_app, name="suggestions")
app.add_typer(db_app, name="db")
app.add_typer(agents_app, name="agents")
app.add_typer(finetune_app, name="finetune")
app.add_typer(dataset_app, name="dataset")

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Where shopclerk keeps its files [env: SHOPCLERK_DATA_DIR]."),
]
# A public FAQ whose licence keeps it out of the repository: measured where it lies beside it.
KAGGLE_FAQ = Path(__file__).resolve().parents[2] / "shared/data/faq/ecommerce_faq_kaggle.json"
Replace = Annotated[bool, typer.Option("--replace", help="Replace every record of this kind.")]


class _State:
    settings: Settings | None = None


state = _State()


@app.callback()
def _main(data_dir: DataDir = None) -> None:
    from pydantic import ValidationError

    try:
        state.settings = load_settings(data_dir)
    except ValidationError as exc:
        problems = "; ".join(_setting_problem(e) for e in exc.errors())
        raise fail(f"settings: {problems}") from exc
    from shopclerk.wiring import limit_threads

    limit_threads(state.settings.threads)


def _setting_problem(error: object) -> str:
    assert isinstance(error, dict)
    where = ".".join(str(part) for part in error.get("loc", ()))
    message = str(error.get("msg", "")).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def settings() -> Settings:
    assert state.settings is not None
    return state.settings


def fail(message: str) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(1)


# -- db ----------------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database schema."""
    from shopclerk.database import open_db

    open_db(settings())
    typer.echo(f"database up to date: {settings().sqlalchemy_url}")


# -- agents ------------------------------------------------------------------------------------


@agents_app.command("add")
def agents_add(
    username: str,
    name: Annotated[str, typer.Option(help="The name customers see.")] = "",
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True,
                          envvar="SHOPCLERK_AGENT_PASSWORD")
    ] = "",
) -> None:  # fmt: skip
    """Create an agent account (asks for the password unless SHOPCLERK_AGENT_PASSWORD is set)."""
    from handoff.agents import AgentAccounts, AgentError
    from shopclerk.database import open_db

    try:
        agent = AgentAccounts(open_db(settings())).add(username, name, password)
    except AgentError as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"agent {agent.username} ({agent.display_name}) added")


@agents_app.command("password")
def agents_password(
    username: str,
    password: Annotated[
        str, typer.Option(prompt="New password", hide_input=True, confirmation_prompt=True,
                          envvar="SHOPCLERK_AGENT_PASSWORD")
    ] = "",
) -> None:  # fmt: skip
    """Set an agent's password (asks for it unless SHOPCLERK_AGENT_PASSWORD is set); every
    login of theirs ends, and their open consoles close within half a minute."""
    from handoff.agents import AgentAccounts, AgentError
    from shopclerk.database import open_db

    try:
        ended = AgentAccounts(open_db(settings())).set_password(username, password)
    except AgentError as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"password of {username} changed; {len(ended)} login(s) ended")


@agents_app.command("list")
def agents_list() -> None:
    """List the agent accounts."""
    from handoff.agents import AgentAccounts
    from shopclerk.database import open_db

    for agent in AgentAccounts(open_db(settings())).all():
        slack = f"  slack:{agent.slack_user_id}" if agent.slack_user_id else ""
        typer.echo(f"{agent.username:<24} {agent.display_name}{slack}")


@agents_app.command("link")
def agents_link(
    username: str,
    slack_user: Annotated[str, typer.Argument(help="The Slack member ID (U…).")],
) -> None:
    """Link an agent to their Slack account: they claim and answer in the agents channel."""
    from handoff.agents import AgentAccounts, AgentError
    from shopclerk.database import open_db

    try:
        agent = AgentAccounts(open_db(settings())).link_slack(username, slack_user)
    except AgentError as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"agent {agent.username} is Slack user {agent.slack_user_id}")


@agents_app.command("unlink")
def agents_unlink(username: str) -> None:
    """Remove the link between an agent and their Slack account."""
    from handoff.agents import AgentAccounts, AgentError
    from shopclerk.database import open_db

    try:
        agent = AgentAccounts(open_db(settings())).unlink_slack(username)
    except AgentError as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"agent {agent.username} is no longer linked to Slack")


# -- kb ----------------------------------------------------------------------------------------


@kb_app.command("build")
def kb_build(
    demo: Annotated[
        bool, typer.Option(help="Load the demo store when the database is empty.")
    ] = True,
    retrain: Annotated[bool, typer.Option(help="Train the intent model again.")] = False,
) -> None:
    """Bring the search indexes up to date (and train the intent model the first time)."""
    from shopclerk.database import open_db
    from shopclerk.wiring import build, import_demo_store, stats

    db = open_db(settings())
    current = stats(db, settings().index_dir)
    if demo and current.products == 0 and current.faq_entries == 0:
        typer.echo("empty knowledge base: loading the demo store (Harbor & Pine)")
        for report in import_demo_store(db):
            _print_import(report)
    built = build(settings(), db, retrain=retrain)
    for sync in built.indexes:
        typer.echo(sync.summary())
    if built.trained_intents:
        typer.echo("intent model trained")


def _import(kind: str, path: Path, replace: bool) -> None:
    from kb import importers
    from shopclerk.database import open_db
    from shopclerk.wiring import build

    db = open_db(settings())
    function = {"products": importers.import_products, "faq": importers.import_faq,
                "orders": importers.import_orders}[kind]  # fmt: skip
    try:
        report = function(db, path, replace=replace)
    except KbError as exc:
        raise fail(str(exc)) from exc
    _print_import(report)
    if kind != "orders":
        for sync in build(settings(), db).indexes:
            typer.echo(sync.summary())


def _print_import(report: object) -> None:
    from kb.importers import ImportReport

    assert isinstance(report, ImportReport)
    typer.echo(report.summary())
    for error in report.errors:
        typer.secho(f"  skipped {error}", fg=typer.colors.YELLOW, err=True)


@kb_app.command("import-products")
def kb_import_products(path: Path, replace: Replace = False) -> None:
    """Import a catalog (.csv, .json or .jsonl)."""
    _import("products", path, replace)


@kb_app.command("import-faq")
def kb_import_faq(path: Path, replace: Replace = False) -> None:
    """Import FAQ entries ({"questions": [{"question", "answer"}]}, .json or .jsonl)."""
    _import("faq", path, replace)


@kb_app.command("import-orders")
def kb_import_orders(path: Path, replace: Replace = False) -> None:
    """Import order records (.json or .jsonl)."""
    _import("orders", path, replace)


@kb_app.command("stats")
def kb_stats() -> None:
    """Count what the knowledge base holds."""
    from shopclerk.database import open_db
    from shopclerk.wiring import stats

    s = stats(open_db(settings()), settings().index_dir)
    typer.echo(f"products:   {s.products} in {s.categories} categories")
    typer.echo(f"faq:        {s.faq_entries}")
    typer.echo(f"orders:     {s.orders} of {s.customers} customers")
    for kind, count in s.indexed.items():
        typer.echo(f"indexed:    {count} {kind} vectors")


# -- talking to the bot ------------------------------------------------------------------------


def _engine() -> Engine:
    from shopclerk.database import open_db
    from shopclerk.wiring import load_engine

    try:
        return load_engine(settings(), open_db(settings()))
    except KbError as exc:
        raise fail(str(exc)) from exc


Email = Annotated[
    str | None, typer.Option("--email", help="Act as the logged-in customer with this email.")
]


@app.command()
def ask(
    text: Annotated[str | None, typer.Argument(help="The customer's message.")] = None,
    jsonl: Annotated[
        bool, typer.Option("--jsonl", help="Read one message per stdin line.")
    ] = False,
    email: Email = None,
    conversation: Annotated[
        str | None, typer.Option(help="Ask every line in this one conversation.")
    ] = None,
) -> None:
    """Ask the bot; print what it understood and answered as JSON (one object per line)."""
    from engine.types import Inbound

    if (text is None) == (not jsonl):
        raise fail('give either a text or --jsonl (e.g. shopclerk ask "where is my order?")')
    engine = _engine()

    def key() -> str:
        return conversation or f"ask-{uuid.uuid4()}"

    if text is not None:
        turn = engine.handle(Inbound(key(), text, "cli", email))
        typer.echo(json.dumps(turn.as_dict(), ensure_ascii=False))
        return
    for line in sys.stdin:
        query = line.rstrip("\n")
        turn = engine.handle(Inbound(key(), query, "cli", email))
        typer.echo(json.dumps(turn.as_dict(), ensure_ascii=False), nl=True)
        sys.stdout.flush()


@app.command()
def chat(
    explain: Annotated[
        bool, typer.Option(help="Show intent, slots, sources and decision.")
    ] = False,
    email: Email = None,
    conversation: Annotated[str | None, typer.Option(help="Resume this conversation key.")] = None,
) -> None:
    """Talk to the bot in the terminal (Ctrl-D or 'quit' to leave)."""
    from engine.types import Handoff, Inbound

    engine = _engine()
    key = conversation or f"chat-{uuid.uuid4().hex[:8]}"
    typer.echo(f"conversation {key}; type 'quit' to leave.")
    while True:
        try:
            text = input("you> ")
        except (EOFError, KeyboardInterrupt):
            typer.echo()
            return
        if text.strip().lower() in ("quit", "exit"):
            return
        turn = engine.handle(Inbound(key, text, "cli", email))
        decision = turn.decision
        if decision.kind == "forwarded":
            typer.secho("     (a person has this conversation: the bot stays quiet)", fg="yellow")
            continue
        typer.echo(f"bot> {decision.text}")
        if decision.kind == "reply" and decision.quick_replies:
            typer.echo("     [" + "] [".join(decision.quick_replies) + "]")
        if isinstance(decision, Handoff):
            typer.secho(f"     (handed to a person: {decision.reason.value})", fg="yellow")
        if explain:
            _explain(turn.as_dict())


def _explain(data: dict[str, object]) -> None:
    typer.secho(
        f"     intent={data['intent']} ({data['intent_confidence']}) "
        f"corrected={data['corrected_text']!r}\n     slots={data['slots']}\n"
        f"     sources={data['sources']}\n     handoff={data['handoff']}",
        fg=typer.colors.BRIGHT_BLACK,
    )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    ws: Annotated[
        str, typer.Option(help="Websocket implementation (uvicorn): websockets-sansio, wsproto...")
    ] = "websockets-sansio",
) -> None:
    """Run the web server: the demo store page with the chat widget, its websocket and API."""
    from shopclerk.app import create_app
    from shopclerk.serving import serve as run

    typer.echo(f"shopclerk on http://{host}:{port}/  (the demo store with the chat widget)")
    typer.echo(f"agent console: http://{host}:{port}/agent/")
    if settings().slack_enabled:
        how = "Socket Mode" if settings().slack_socket_mode else "events at /slack/events"
        channel = settings().slack_agents_channel or "no agents channel"
        typer.echo(f"Slack: {how}; {channel}")
    run(create_app(settings()), settings(), host, port, ws)


@app.command("eval")
def evaluate(
    report: Annotated[Path | None, typer.Option(help="Where to write the JSON report.")] = None,
    generator: Annotated[
        str | None,
        typer.Option(help="grounded or openai (any configured OpenAI-compatible endpoint); "
                     "default: SHOPCLERK_GENERATOR."),
    ] = None,
    imported_faq: Annotated[
        Path | None,
        typer.Option(help="Another store's FAQ file to import into a throwaway store and ask "
                     "paraphrases of; default: ../shared/data/faq/ecommerce_faq_kaggle.json "
                     "beside the repository, when it exists."),
    ] = None,
) -> None:  # fmt: skip
    """Measure the bot: intents, out-of-scope, FAQ retrieval, spelling, dialogs, answers."""
    from pydantic import ValidationError

    from shopclerk.evaluation import print_table, run_evaluation

    chosen = settings()
    if generator is not None:
        try:
            chosen = type(chosen).model_validate({**chosen.model_dump(), "generator": generator})
        except ValidationError as exc:
            problems = "; ".join(_setting_problem(e) for e in exc.errors())
            raise fail(f"settings: {problems}") from exc
    results = run_evaluation(chosen, imported_faq or KAGGLE_FAQ)
    print_table(results)
    path = report or settings().reports_dir / "eval.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1) + "\n")
    typer.echo(f"report: {path}")


def main() -> None:
    app()
