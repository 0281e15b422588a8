"""The `shopclerk` command line (Typer)."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from typer.core import TyperGroup

from kb.errors import KbError
from learning.command_context import fail
from learning.commands import finetune_app
from learning.dataset_commands import dataset_app
from learning.report_commands import report
from learning.suggestion_commands import suggestions_app

if TYPE_CHECKING:
    import socket

    from engine.engine import Engine
    from engine.outcomes import Outcomes
    from kb.database import Database
from shopclerk.command_services import CliServices
from shopclerk.settings import Settings, load_settings
from shopclerk.steps import step

DATA_DIR_OPTION = "--data-dir"


def data_dir_first(args: list[str]) -> list[str]:
    """`args` with every `--data-dir X` (or `--data-dir=X`) moved to the front, where the root
    command reads it: `shopclerk kb build --data-dir X` means `shopclerk --data-dir X kb build`.
    Nothing after `--` is touched (it is a value, not an option)."""
    front: list[str] = []
    rest: list[str] = []
    position = 0
    while position < len(args):
        arg = args[position]
        if arg == "--":
            rest += args[position:]
            break
        if arg == DATA_DIR_OPTION and position + 1 < len(args):
            front += args[position : position + 2]
            position += 2
            continue
        (front if arg.startswith(DATA_DIR_OPTION + "=") else rest).append(arg)
        position += 1
    return front + rest


class ShopclerkGroup(TyperGroup):
    """The root command: takes `--data-dir` anywhere on the line, and turns a database that
    cannot be used (shopclerk.database.DatabaseError), from any subcommand, into one line."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:  # type: ignore[override]
        return super().parse_args(ctx, data_dir_first(args))

    def invoke(self, ctx: typer.Context) -> object:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except Exception as exc:
            from shopclerk.database import DatabaseError

            if isinstance(exc, DatabaseError):
                raise fail(str(exc)) from exc
            raise


app = typer.Typer(
    help="shopclerk: a customer-service desk for online stores.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=ShopclerkGroup,
)
kb_app = typer.Typer(
    help="The store's knowledge: catalog, FAQ, orders and search indexes.", no_args_is_help=True
)
db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
agents_app = typer.Typer(
    help="Accounts of the people who take handed-off conversations.", no_args_is_help=True
)
app.add_typer(kb_app, name="kb")
kb_app.add_typer(suggestions_app, name="suggestions")
app.add_typer(db_app, name="db")
app.add_typer(agents_app, name="agents")
app.add_typer(finetune_app, name="finetune")
app.add_typer(dataset_app, name="dataset")
app.command("report")(report)

DataDir = Annotated[
    Path | None,
    typer.Option(
        DATA_DIR_OPTION,
        help="Where shopclerk keeps its files, before or after the "
        "command (or SHOPCLERK_DATA_DIR).",
    ),
]
# A public FAQ whose licence keeps it out of the repository: measured where it lies beside it.
KAGGLE_FAQ = Path(__file__).resolve().parents[2] / "shared/data/faq/ecommerce_faq_kaggle.json"
Replace = Annotated[bool, typer.Option("--replace", help="Replace every record of this kind.")]


class _State:
    settings: Settings | None = None


state = _State()


@app.callback()
def _main(ctx: typer.Context, data_dir: DataDir = None) -> None:
    from pydantic import ValidationError

    try:
        state.settings = load_settings(data_dir)
    except ValidationError as exc:
        problems = "; ".join(_setting_problem(e) for e in exc.errors())
        raise fail(f"settings: {problems}") from exc
    except OSError as exc:  # the data directory cannot be made: a file, no permission...
        raise fail(_data_dir_problem(exc)) from exc
    from shopclerk.wiring import limit_threads

    limit_threads(state.settings.threads)
    ctx.obj = CliServices(state.settings)  # the sub-apps' settings and clients


def _data_dir_problem(exc: OSError) -> str:
    path = Path(exc.filename) if exc.filename else None
    if path is not None and path.exists() and not path.is_dir():
        problem = "is a file, not a directory"
    else:
        problem = f"cannot be created ({exc.strerror or exc})"
    return (
        f"the data directory {exc.filename} {problem}: give --data-dir (or SHOPCLERK_DATA_DIR) "
        "a directory; shopclerk creates it when it is missing"
    )


def _setting_problem(error: object) -> str:
    assert isinstance(error, dict)
    where = ".".join(str(part) for part in error.get("loc", ()))
    message = str(error.get("msg", "")).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def settings() -> Settings:
    assert state.settings is not None
    return state.settings


# -- db ----------------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database schema."""
    from shopclerk.database import masked, open_db

    open_db(settings(), migrate=True).dispose()
    typer.echo(f"database up to date: {masked(settings().sqlalchemy_url)}")


# -- agents ------------------------------------------------------------------------------------


AgentPassword = Annotated[
    str,
    typer.Option(
        envvar="SHOPCLERK_AGENT_PASSWORD",
        show_default=False,
        help="The password (10+ characters); asked for when not given.",
    ),
]


def _ask_password(prompt: str) -> str:
    """The password typed twice at the terminal (or two lines piped in); without one, say how
    else to give it rather than just "Aborted"."""
    terminal = sys.stdin.isatty()  # nothing to hide on a pipe, and getpass would warn
    try:
        return str(typer.prompt(prompt, hide_input=terminal, confirmation_prompt=True))
    except typer.Abort as exc:
        typer.echo(err=True)  # the prompt's line was left open
        if terminal:
            raise fail("no password given") from exc
        raise fail(
            "no terminal to ask for the password: set SHOPCLERK_AGENT_PASSWORD (10+ characters) "
            "in the environment and run the command again"
        ) from exc


@agents_app.command("add")
def agents_add(
    username: str,
    name: Annotated[str, typer.Option(help="The name customers see.")] = "",
    password: AgentPassword = "",
) -> None:
    """Create an agent account (asks for the password unless SHOPCLERK_AGENT_PASSWORD is set)."""
    from handoff.agents import AgentAccounts, AgentError
    from shopclerk.database import open_db

    password = password or _ask_password("Password")
    try:
        agent = AgentAccounts(open_db(settings())).add(username, name, password)
    except AgentError as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"agent {agent.username} ({agent.display_name}) added")


@agents_app.command("password")
def agents_password(
    username: str,
    password: AgentPassword = "",
) -> None:
    """Set an agent's password (asks for it unless SHOPCLERK_AGENT_PASSWORD is set); every
    login of theirs ends, and their open consoles close within half a minute."""
    from handoff.agents import AgentAccounts, AgentError
    from shopclerk.database import open_db

    password = password or _ask_password("New password")
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
        with step("importing the demo store's products, FAQ and orders"):
            reports = import_demo_store(db)
        for report in reports:
            _print_import(report)
    built = build(settings(), db, retrain=retrain, step=step)
    for sync in built.indexes:
        typer.echo(sync.summary())
    if built.trained_intents:
        typer.echo("intent model trained")


def _import(kind: str, path: Path, replace: bool) -> None:
    from kb import importers
    from shopclerk.database import open_db
    from shopclerk.wiring import build

    db = open_db(settings())
    function = {
        "products": importers.import_products,
        "faq": importers.import_faq,
        "orders": importers.import_orders,
    }[kind]
    try:
        with step(f"importing {kind} from {path}"):
            report = function(db, path, replace=replace)
    except KbError as exc:
        raise fail(str(exc)) from exc
    _print_import(report)
    if report.added + report.updated + report.unchanged == 0:
        what = f"all {len(report.errors)} rows were skipped" if report.errors else "it has none"
        raise fail(f"no {kind} imported from {path}: {what}; nothing was changed")
    if kind != "orders":
        for sync in build(settings(), db, step=step).indexes:
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


def _engine(db: Database | None = None) -> Engine:
    from shopclerk.database import open_db
    from shopclerk.wiring import load_engine

    try:
        return load_engine(settings(), db or open_db(settings()))
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
    """Talk to the bot in the terminal (Ctrl-D or 'quit' to leave; a goodbye ends the chat)."""
    from engine.generators.grounded import is_goodbye
    from engine.outcomes import Outcomes
    from engine.types import Handoff, Inbound, Reply
    from shopclerk.database import open_db

    db = open_db(settings())
    engine = _engine(db)
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
        # A goodbye ends the episode, as on every channel (handoff/desk.py): its outcome is
        # what `shopclerk dataset export` selects on.
        said_bye = isinstance(decision, Reply) and is_goodbye(text) and not turn.rejected
        if said_bye and turn.conversation_id is not None:
            _end_chat(Outcomes(db), turn.conversation_id)
            return


def _end_chat(outcomes: Outcomes, conversation_id: int) -> None:
    """End the episode and ask for its 1-5 rating (Enter or Ctrl-D: no rating)."""
    from engine.outcomes import QUESTION, SCALE

    episode = outcomes.end(conversation_id, "customer")
    if episode is None or episode.id is None:
        return
    typer.secho(f"     (chat ended: {episode.outcome})", fg="yellow")
    typer.echo(f"bot> {QUESTION}")
    try:
        answer = input("you> ").strip()
    except (EOFError, KeyboardInterrupt):
        typer.echo()
        return
    if answer.isdigit() and int(answer) in SCALE:
        outcomes.rate(conversation_id, episode.id, int(answer))
        typer.echo("bot> Thank you!")


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
    from shopclerk.serving import PortUnavailableError, bind, logging_as

    try:
        sock = bind(host, port)  # before anything slow: a busy port is said at once
    except PortUnavailableError as exc:
        raise fail(str(exc)) from exc
    with logging_as(settings()):  # the waits for the database are logged as the server logs
        _serve_on(sock, host, port, ws)


def _serve_on(sock: socket.socket, host: str, port: int, ws: str) -> None:
    from shopclerk.app import create_app
    from shopclerk.serving import serve as run

    try:
        _ready_to_serve()
    except BaseException:
        sock.close()
        raise

    typer.echo(f"shopclerk on http://{host}:{port}/  (the demo store with the chat widget)")
    typer.echo(f"agent console: http://{host}:{port}/agent/")
    if settings().slack_enabled:
        how = "Socket Mode" if settings().slack_socket_mode else "events at /slack/events"
        channel = settings().slack_agents_channel or "no agents channel"
        typer.echo(f"Slack: {how}; {channel}")
    web = create_app(settings())
    run(web, settings(), host, port, ws, sock, drain=web.state.operations.drain)


@app.command()
def worker() -> None:
    """Run an engine worker: answer the customer messages the web processes take (REDIS_URL).
    Start as many as the load needs; SIGTERM answers the turns in hand, then stops."""
    import asyncio

    from shopclerk.serving import logging_as
    from shopclerk.worker import serve_worker

    if not settings().redis_url:
        raise fail("an engine worker needs REDIS_URL: the Redis the web processes use")
    with logging_as(settings()):
        _ready_to_work()
        answered = asyncio.run(serve_worker(settings()))
    typer.echo(f"engine worker stopped after {answered} turns")


def _ready_to_work() -> None:
    """The database and Redis (waited for while they do not answer) and the built models."""
    from shopclerk.startup import NotUpError, wait_for_services
    from shopclerk.wiring import INTENT_MODEL

    try:
        wait_for_services(settings(), migrate=False)
    except NotUpError as exc:
        raise fail(str(exc)) from exc
    if not (settings().models_dir / INTENT_MODEL).is_file():
        raise fail(f"no intent model in {settings().models_dir}: run `shopclerk kb build` first")


def _ready_to_serve() -> None:
    """What would otherwise fail inside the server's start-up, as one line: the database
    (migrated here, as `serve` is one of the two commands that migrate; waited for while it
    does not answer, as is Redis) and the built models."""
    from shopclerk.startup import NotUpError, wait_for_services
    from shopclerk.wiring import INTENT_MODEL

    try:
        wait_for_services(settings())
    except NotUpError as exc:
        raise fail(str(exc)) from exc
    if not (settings().models_dir / INTENT_MODEL).is_file():
        raise fail(f"no intent model in {settings().models_dir}: run `shopclerk kb build` first")


@app.command("eval")
def evaluate(
    report: Annotated[Path | None, typer.Option(help="Where to write the JSON report.")] = None,
    generator: Annotated[
        str | None,
        typer.Option(
            help="grounded or openai (any configured OpenAI-compatible endpoint); "
            "default: SHOPCLERK_GENERATOR."
        ),
    ] = None,
    imported_faq: Annotated[
        Path | None,
        typer.Option(
            help="Another store's FAQ file to import into a throwaway store and ask "
            "paraphrases of; default: ../shared/data/faq/ecommerce_faq_kaggle.json "
            "beside the repository, when it exists."
        ),
    ] = None,
) -> None:
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
