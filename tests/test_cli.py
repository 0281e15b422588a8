"""The command line, as a trainer or store owner uses it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from engine.models import Conversation
from engine.outcomes import Episode
from kb.database import Database
from shopclerk import wiring
from shopclerk.cli import app
from shopclerk.settings import Settings
from shopclerk.wiring import Models

runner = CliRunner()


@pytest.fixture
def session_models(models: Models, monkeypatch: pytest.MonkeyPatch) -> None:
    """The commands run in this process: they get the session's loaded models (read-only)
    instead of loading their own (`load_models` itself is what the `models` fixture used)."""
    monkeypatch.setattr(wiring, "load_models", lambda settings, encoder=None: models)


def _run(settings: Settings, *args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["--data-dir", str(settings.data_dir), *args], input=stdin)


@pytest.mark.usefixtures("session_models")
def test_ask_prints_what_the_bot_understood_and_answered(built_settings: Settings) -> None:
    result = _run(built_settings, "ask", "which payment methds do you accept?")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["text"] == "which payment methds do you accept?"
    assert answer["corrected_text"] == "which payment methods do you accept?"
    assert answer["intent"] == "check_payment_methods"
    assert answer["intent_confidence"] > 0.5
    assert answer["sources"][0]["kind"] == "faq"
    assert {"kind", "id", "title", "score"} <= set(answer["sources"][0])
    assert "Klarna" in answer["answer"]
    assert answer["handoff"] == {"needed": False, "reason": None}
    assert set(answer["slots"]) >= {"order_id", "email", "product_skus"}


@pytest.mark.usefixtures("session_models")
def test_ask_jsonl_answers_one_line_per_line(built_settings: Settings) -> None:
    lines = "hello\nI want to speak to a human\n\n"
    result = _run(built_settings, "ask", "--jsonl", stdin=lines)
    assert result.exit_code == 0, result.output
    answers = [json.loads(x) for x in result.stdout.splitlines() if x.startswith("{")]
    assert [a["text"] for a in answers] == ["hello", "I want to speak to a human", ""]
    assert answers[1]["handoff"] == {"needed": True, "reason": "customer_asked"}
    assert answers[2]["rejected"] == "empty"


def test_ask_needs_a_text_or_jsonl(built_settings: Settings) -> None:
    result = _run(built_settings, "ask")
    assert result.exit_code == 1
    assert "give either a text or --jsonl" in result.output


@pytest.mark.usefixtures("session_models")
def test_chat_shows_explanations(built_settings: Settings) -> None:
    result = _run(built_settings, "chat", "--explain", stdin="do you ship to Norway?\nquit\n")
    assert result.exit_code == 0, result.output
    assert "bot> " in result.stdout
    assert "intent=delivery_options" in result.stdout or "intent=" in result.stdout
    assert "sources=[" in result.stdout


def test_goodbye_in_chat_ends_the_episode_and_asks_for_a_rating(
    built_settings: Settings, built_db: Database
) -> None:
    """As on every channel: `shopclerk dataset export` takes ended episodes only."""
    chat = "how much is the Mooring 35 travel backpack?\nbye\n5\nnot read: the chat is over\n"
    result = _run(built_settings, "chat", "--conversation", "cli-goodbye", stdin=chat)
    assert result.exit_code == 0, result.output
    assert "bot> Goodbye" in result.stdout
    assert "(chat ended: bot_resolved)" in result.stdout
    assert "Rate this chat from 1 (poor) to 5 (great)" in result.stdout
    with Session(built_db) as session:
        conversation = session.exec(
            select(Conversation).where(Conversation.key == "cli-goodbye")
        ).one()
        episodes = session.exec(
            select(Episode).where(Episode.conversation_id == conversation.id)
        ).all()
    assert [(e.outcome, e.ended_by, e.satisfaction) for e in episodes] == [
        ("bot_resolved", "customer", 5)
    ]
    assert conversation.last_seq == 4  # two questions, two answers: nothing after the goodbye


def test_stats_and_a_bad_import(built_settings: Settings, tmp_path: Path) -> None:
    stats = _run(built_settings, "kb", "stats")
    assert stats.exit_code == 0
    assert "products:   182 in 9 categories" in stats.stdout
    broken = tmp_path / "broken.json"
    broken.write_text("[{")
    result = _run(built_settings, "kb", "import-products", str(broken))
    assert result.exit_code == 1
    assert "broken JSON" in result.output


@pytest.mark.slow
@pytest.mark.usefixtures("session_models")
def test_eval_reports_every_figure_and_meets_the_targets(
    built_settings: Settings, tmp_path: Path
) -> None:
    report = tmp_path / "eval.json"
    result = _run(built_settings, "eval", "--report", str(report))
    assert result.exit_code == 0, result.output
    assert "bitext_accuracy" in result.stdout  # the table on screen
    figures = json.loads(report.read_text())
    intent, faq, spelling = figures["intent"], figures["faq"], figures["spelling"]
    assert intent["bitext_accuracy"] >= 0.95
    assert intent["bitext_typo_accuracy"] >= 0.92
    assert intent["out_of_scope_recall"] >= 0.85
    assert intent["in_scope_false_rejection"] <= 0.05
    assert faq["hit_at_1"] >= 0.85
    assert faq["hit_at_3"] >= 0.95
    assert spelling["vocabulary_untouched"] >= 0.99
    assert figures["dialogs"]["turns"] >= 20
    natural = figures["natural"]  # first: the end-to-end figure on everyday wording
    assert next(iter(figures)) == "natural"
    assert natural["dev_messages"] >= 300
    assert natural["test_messages"] >= 300
    assert 0 < natural["dev_right"] <= 1


def test_asking_before_a_build_says_what_to_do(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--data-dir", str(tmp_path), "ask", "hello"])
    assert result.exit_code == 1
    assert "run `shopclerk db upgrade`" in result.output
    assert runner.invoke(app, ["--data-dir", str(tmp_path), "db", "upgrade"]).exit_code == 0
    result = runner.invoke(app, ["--data-dir", str(tmp_path), "ask", "hello"])
    assert result.exit_code == 1
    assert "run `shopclerk kb build`" in result.output
