"""A newcomer's first hour on the command line: every mistake they can make is one line that
says what to do, and long steps say what they are doing."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from typer.testing import CliRunner, Result

from kb.database import Database, open_database
from shopclerk.cli import app, data_dir_first
from shopclerk.database import SchemaBehindError, alembic_config, open_db
from shopclerk.settings import Settings
from shopclerk.wiring import INTENT_MODEL

runner = CliRunner()
ROOT = Path(__file__).resolve().parent.parent


def shopclerk(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> Result:
    return runner.invoke(app, list(args), env=env, input=stdin)


def one_error_line(result: Result) -> str:
    """The one `error:` line a failed command printed, and no traceback."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def upgraded(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    assert shopclerk("--data-dir", str(data), "db", "upgrade").exit_code == 0
    return data


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- the data directory --------------------------------------------------------------------


def test_a_data_dir_that_is_a_file_is_named(tmp_path: Path) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("")
    line = one_error_line(shopclerk("--data-dir", str(a_file), "kb", "stats"))
    assert f"the data directory {a_file} is a file, not a directory" in line
    assert "--data-dir" in line


def test_data_dir_before_or_after_the_command(tmp_path: Path) -> None:
    data = upgraded(tmp_path)
    shopclerk("--data-dir", str(data), "agents", "add", "lee",
              env={"SHOPCLERK_AGENT_PASSWORD": "a long password"})  # fmt: skip
    before = shopclerk("--data-dir", str(data), "agents", "list")
    after = shopclerk("agents", "list", "--data-dir", str(data))
    joined = shopclerk("agents", "--data-dir=" + str(data), "list")
    assert before.exit_code == after.exit_code == joined.exit_code == 0, after.output
    assert before.stdout == after.stdout == joined.stdout
    assert before.stdout.startswith("lee ")


def test_only_options_move_to_the_front() -> None:
    assert data_dir_first(["kb", "stats", "--data-dir", "d"]) == ["--data-dir", "d", "kb", "stats"]
    # After `--` it is a value: `shopclerk ask -- --data-dir` asks about the words themselves.
    assert data_dir_first(["ask", "--", "--data-dir", "x"]) == ["ask", "--", "--data-dir", "x"]


# -- the database --------------------------------------------------------------------------


def test_a_malformed_database_url_is_named_with_its_password_hidden(tmp_path: Path) -> None:
    env = {"DATABASE_URL": "postgresql+psycopg://shop:hunter2@db.local:port/shop"}
    line = one_error_line(shopclerk("--data-dir", str(tmp_path), "kb", "stats", env=env))
    assert (
        "DATABASE_URL postgresql+psycopg://shop:***@db.local:port/shop is not a database URL"
        in line
    )
    assert "hunter2" not in line
    assert "postgresql+psycopg://USER:PASSWORD@HOST:5432/DATABASE" in line


def test_an_unreachable_postgresql_is_named_with_what_to_check(tmp_path: Path) -> None:
    port = free_port()  # nobody listens there
    env = {"DATABASE_URL": f"postgresql+psycopg://postgres:hunter2@127.0.0.1:{port}/test"}
    line = one_error_line(shopclerk("--data-dir", str(tmp_path), "agents", "list", env=env))
    assert (
        f"cannot open the database at postgresql+psycopg://postgres:***@127.0.0.1:{port}/test"
        in line
    )
    assert "hunter2" not in line
    assert "check that the server is running there" in line


def test_only_db_upgrade_migrates(tmp_path: Path) -> None:
    data = tmp_path / "data"
    fresh = one_error_line(shopclerk("--data-dir", str(data), "kb", "stats"))
    assert fresh.endswith("yet: run `shopclerk db upgrade` to create it")
    assert not (data / "shopclerk.db").exists()  # looking did not create it

    url = f"sqlite:///{data / 'shopclerk.db'}"
    command.upgrade(alembic_config(url), "0008")  # an older release's schema
    behind = one_error_line(shopclerk("--data-dir", str(data), "agents", "list"))
    assert "is at revision 0008, this shopclerk needs 0010: run `shopclerk db upgrade`" in behind
    assert _revision(url) == "0008"  # the command did not migrate it

    assert shopclerk("--data-dir", str(data), "db", "upgrade").exit_code == 0
    assert _revision(url) == "0010"
    assert shopclerk("--data-dir", str(data), "agents", "list").exit_code == 0


def test_commands_open_a_migrated_database_without_migrating_it(db: Database) -> None:
    """On SQLite and PostgreSQL alike: the revision check reads the schema the URL points at."""
    settings = Settings(database_url=db.url.render_as_string(hide_password=False))
    open_db(settings).dispose()  # at the head: opened as it is
    with db.begin() as connection:  # as if an older release had made it
        connection.execute(text("UPDATE alembic_version SET version_num = '0008'"))
    with pytest.raises(SchemaBehindError, match="at revision 0008, this shopclerk needs 0010"):
        open_db(settings)


def _revision(url: str) -> str | None:
    db = open_database(url)
    try:
        with db.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        db.dispose()


# -- agents ----------------------------------------------------------------------------------


def test_agents_add_without_a_terminal_says_how_to_give_the_password(tmp_path: Path) -> None:
    data = upgraded(tmp_path)
    result = shopclerk("--data-dir", str(data), "agents", "add", "lee", stdin="")
    line = one_error_line(result)
    assert "no terminal to ask for the password: set SHOPCLERK_AGENT_PASSWORD" in line
    assert "Aborted" not in result.output


# -- imports ---------------------------------------------------------------------------------


def test_a_csv_with_an_unclosed_quote_is_reported_as_such(tmp_path: Path) -> None:
    data = upgraded(tmp_path)
    catalog = tmp_path / "catalog.csv"
    catalog.write_text('sku,name,price\nA-1,Tent,10\nA-2,"Big tent,20\nA-3,Mat,5\n')
    line = one_error_line(shopclerk("--data-dir", str(data), "kb", "import-products",
                                    str(catalog)))  # fmt: skip
    assert f"{catalog}: broken CSV at line 3: a quoted cell is never closed" in line
    assert "missing" not in line
    stats = shopclerk("--data-dir", str(data), "kb", "stats")
    assert "products:   0 in 0 categories" in stats.stdout  # nothing of it was written


ORDER = {"order_id": "HP-100001", "customer_email": "ann@example.org", "status": "paid",
         "placed_at": "2026-01-05T10:00:00+01:00", "subtotal": 10, "shipping_cost": 0,
         "total": 10, "items": [{"sku": "A-1", "name": "Tent", "quantity": 1,
                                 "unit_price": 10, "line_total": 10}]}  # fmt: skip


def test_an_import_that_skips_every_row_fails_and_changes_nothing(tmp_path: Path) -> None:
    data = upgraded(tmp_path)
    good, bad = tmp_path / "good.jsonl", tmp_path / "bad.jsonl"
    good.write_text(json.dumps(ORDER) + "\n")
    wrong = [{**ORDER, "status": "lost"}, {**ORDER, "order_id": "12"}]
    bad.write_text("".join(json.dumps(order) + "\n" for order in wrong))
    imported = shopclerk("--data-dir", str(data), "kb", "import-orders", str(good))
    assert imported.exit_code == 0
    assert imported.stderr.startswith(f"importing orders from {good} ... done (")  # progress

    result = shopclerk("--data-dir", str(data), "kb", "import-orders", str(bad), "--replace")
    line = one_error_line(result)
    assert line == (f"error: no orders imported from {bad}: all 2 rows were skipped; "
                    "nothing was changed")  # fmt: skip
    assert "0 added, 0 updated, 0 unchanged, 0 removed, 2 rows skipped" in result.stdout
    assert f"skipped {bad}:1: status: Value error, unknown status 'lost'" in result.stderr
    stats = shopclerk("--data-dir", str(data), "kb", "stats")
    assert "orders:     1 of 1 customers" in stats.stdout  # --replace removed nothing


# -- serve -----------------------------------------------------------------------------------


def test_serve_on_a_busy_port_says_so_before_loading_anything(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        # A data directory with nothing in it: the port is checked before the database.
        result = shopclerk("--data-dir", str(tmp_path / "empty"), "serve", "--port", str(port))
    line = one_error_line(result)
    assert line == (f"error: port {port} on 127.0.0.1 is already in use (another shopclerk "
                    "serve?): stop what holds it, or pick another with --port")  # fmt: skip
    assert "startup complete" not in result.output


def test_serve_with_an_unreachable_database_says_so_in_one_line(tmp_path: Path) -> None:
    env = {
        "DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test",
        "SHOPCLERK_STARTUP_WAIT_SECONDS": "0",
    }  # no waiting for it (test_operations.py)
    result = shopclerk("--data-dir", str(tmp_path), "serve", "--port", str(free_port()), env=env)
    assert "cannot open the database at postgresql+psycopg://" in one_error_line(result)


def test_serve_before_a_build_says_to_build(tmp_path: Path) -> None:
    data = upgraded(tmp_path)
    result = shopclerk("--data-dir", str(data), "serve", "--port", str(free_port()))
    assert one_error_line(result).endswith("run `shopclerk kb build` first")


def test_make_demo_takes_a_port() -> None:
    dry_run = subprocess.run(["make", "-n", "demo", "PORT=8123"], cwd=ROOT, capture_output=True,
                             text=True, check=True)  # fmt: skip
    lines = dry_run.stdout.splitlines()
    upgrade = next(i for i, x in enumerate(lines) if x.endswith("shopclerk db upgrade"))
    build = next(i for i, x in enumerate(lines) if x.endswith("shopclerk kb build"))
    serve = next(i for i, x in enumerate(lines) if "shopclerk serve" in x)
    assert upgrade < build < serve
    assert lines[serve].endswith("--port 8123")
    default = subprocess.run(["make", "-n", "demo"], cwd=ROOT, capture_output=True, text=True)
    assert any(x.endswith("--port 8000") for x in default.stdout.splitlines())


# -- kb build --------------------------------------------------------------------------------


@pytest.mark.slow
def test_kb_build_shows_its_steps_and_no_library_noise(
    built_settings: Settings, tmp_path: Path
) -> None:
    """The first build, as a newcomer runs it (the intent model taken from the session's build
    to spare its training): each step on a line, and none of the libraries' chatter."""
    data = upgraded(tmp_path)
    (data / "models").mkdir()
    shutil.copy(built_settings.models_dir / INTENT_MODEL, data / "models" / INTENT_MODEL)
    build = subprocess.run(
        [sys.executable, "-c", "from shopclerk.cli import main; main()", "kb", "build",
         "--data-dir", str(data)],
        capture_output=True, text=True, timeout=600,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert build.returncode == 0, build.stderr
    steps = build.stderr.splitlines()
    assert steps[0].startswith("importing the demo store's products, FAQ and orders ... done (")
    assert steps[1].startswith("exporting the embedding model to ONNX (the first time only) ...")
    # Not a terminal: the long step marks its quarters on its own line.
    assert steps[2].startswith(
        "embedding new and changed products and FAQ entries ... 25% 50% 75% 100% done ("
    )
    assert len(steps) == 3, build.stderr  # nothing else: no warnings, no deprecations
    assert "product index: 182 added" in build.stdout


# -- the import formats' documentation -------------------------------------------------------


def test_every_example_in_the_import_formats_doc_imports(tmp_path: Path) -> None:
    from kb.importers import import_faq, import_orders, import_products

    doc = (ROOT / "docs" / "import-formats.md").read_text()
    examples = re.findall(r"```(csv|json|jsonl)\n(.*?)```", doc, re.S)
    importers = [import_products, import_products, import_faq, import_faq, import_orders]
    assert len(examples) == len(importers)
    db = open_db(Settings(data_dir=tmp_path), migrate=True)
    for number, ((suffix, example), function) in enumerate(zip(examples, importers, strict=True)):
        path = tmp_path / f"example{number}.{suffix}"
        path.write_text(example)
        report = function(db, path)
        assert report.errors == [], report.errors
        assert report.added + report.unchanged == 1
    db.dispose()


def test_dataset_export_says_what_it_is_doing(tmp_path: Path) -> None:
    data = upgraded(tmp_path)
    result = shopclerk("--data-dir", str(data), "dataset", "export")
    progress, error = result.stderr.splitlines()
    assert progress == "exporting: reading the conversations, redacting personal data ..."
    assert error.startswith("error: no answers to learn from yet")
    assert result.exit_code == 1
