"""Agent accounts: created once, passwords hashed, checked without leaking who exists."""

from __future__ import annotations

from pathlib import Path

import pytest
from argon2 import PasswordHasher
from typer.testing import CliRunner

from handoff.agents import AgentAccounts, AgentError
from kb.database import Database, open_database
from shopclerk.cli import app
from shopclerk.settings import load_settings

FAST = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)  # tests only


def test_add_and_authenticate(db: Database) -> None:
    accounts = AgentAccounts(db, FAST)
    agent = accounts.add("sam", "Sam from support", "correct horse battery")
    assert agent.password_hash.startswith("$argon2id$")
    assert "correct horse" not in agent.password_hash
    assert accounts.authenticate("sam", "correct horse battery") is not None
    assert accounts.authenticate("sam", "wrong password!") is None
    assert accounts.authenticate("nobody", "correct horse battery") is None


@pytest.mark.parametrize(
    ("username", "password", "problem"),
    [("Sam Smith", "long enough password", "username"), ("sam2", "short", "at least 10")],
)
def test_bad_accounts_are_refused_clearly(
    db: Database, username: str, password: str, problem: str
) -> None:
    with pytest.raises(AgentError, match=problem):
        AgentAccounts(db, FAST).add(username, "", password)


def test_a_username_is_taken_once(db: Database) -> None:
    accounts = AgentAccounts(db, FAST)
    accounts.add("kim", "Kim", "a good long password")
    with pytest.raises(AgentError, match="already"):
        accounts.add("kim", "Kim again", "another long password")


def test_agents_add_from_the_command_line(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["--data-dir", str(tmp_path), "db", "upgrade"]).exit_code == 0
    command = ["--data-dir", str(tmp_path), "agents", "add", "lee", "--name", "Lee"]
    result = runner.invoke(app, command, input="a long password\na long password\n")
    assert result.exit_code == 0, result.output
    assert "agent lee (Lee) added" in result.output
    listed = runner.invoke(app, ["--data-dir", str(tmp_path), "agents", "list"])
    assert "lee" in listed.stdout
    again = runner.invoke(app, ["--data-dir", str(tmp_path), "agents", "add", "lee"],
                          env={"SHOPCLERK_AGENT_PASSWORD": "a long password"})  # fmt: skip
    assert again.exit_code == 1
    assert "already an agent 'lee'" in again.output


def test_linking_agents_to_slack_users(db: Database) -> None:
    accounts = AgentAccounts(db, FAST)
    accounts.add("ann", "Ann", "a good long password")
    accounts.add("bo", "Bo", "a good long password")
    assert accounts.link_slack("ann", "U0ANN1").slack_user_id == "U0ANN1"
    found = accounts.by_slack_user("U0ANN1")
    assert found is not None
    assert found.username == "ann"
    with pytest.raises(AgentError, match="already linked to 'ann'"):
        accounts.link_slack("bo", "U0ANN1")
    with pytest.raises(AgentError, match="not a Slack user ID"):
        accounts.link_slack("bo", "@bo")
    with pytest.raises(AgentError, match="no agent 'cy'"):
        accounts.link_slack("cy", "U0CY1")
    accounts.unlink_slack("ann")
    assert accounts.by_slack_user("U0ANN1") is None


def test_agents_link_from_the_command_line(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["--data-dir", str(tmp_path), "db", "upgrade"]).exit_code == 0
    base = ["--data-dir", str(tmp_path), "agents"]
    runner.invoke(app, [*base, "add", "lee"], env={"SHOPCLERK_AGENT_PASSWORD": "a long password"})
    result = runner.invoke(app, [*base, "link", "lee", "U0LEE1"])
    assert result.exit_code == 0, result.output
    assert "agent lee is Slack user U0LEE1" in result.output
    assert "slack:U0LEE1" in runner.invoke(app, [*base, "list"]).stdout
    wrong = runner.invoke(app, [*base, "link", "lee", "lee@example.com"])
    assert wrong.exit_code == 1
    assert "not a Slack user ID" in wrong.output


def test_a_missing_slack_setting_is_named_at_start(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--data-dir", str(tmp_path), "agents", "list"],
                                env={"SLACK_BOT_TOKEN": "xoxb-1"})  # fmt: skip
    assert result.exit_code == 1
    assert "Slack needs SLACK_SIGNING_SECRET" in result.output


def test_agents_password_from_the_command_line(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["--data-dir", str(tmp_path), "db", "upgrade"]).exit_code == 0
    base = ["--data-dir", str(tmp_path), "agents"]
    added = runner.invoke(
        app, [*base, "add", "mo"], env={"SHOPCLERK_AGENT_PASSWORD": "the first one"}
    )
    assert added.exit_code == 0, added.output
    changed = runner.invoke(
        app, [*base, "password", "mo"], input="the second one\nthe second one\n"
    )
    assert changed.exit_code == 0, changed.output
    assert "password of mo changed" in changed.output
    db = open_database(load_settings(tmp_path).sqlalchemy_url)
    assert AgentAccounts(db).authenticate("mo", "the second one") is not None
    assert AgentAccounts(db).authenticate("mo", "the first one") is None
    db.dispose()
    short = runner.invoke(app, [*base, "password", "mo"], input="short\nshort\n")
    assert short.exit_code == 1
    assert "at least 10" in short.output
    unknown = runner.invoke(
        app, [*base, "password", "nobody"], input="long enough pw\nlong enough pw\n"
    )
    assert unknown.exit_code == 1
    assert "no agent 'nobody'" in unknown.output
