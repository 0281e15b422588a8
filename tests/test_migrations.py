"""Migrations keep what is stored: an older database upgraded to the newest schema."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import inspect, text

from engine.store import ConversationStore
from kb.database import open_database
from shopclerk.database import alembic_config, upgrade


def test_messages_stored_before_seq_existed_are_numbered_in_order(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    config = alembic_config(url)
    command.upgrade(config, "0001")
    db = open_database(url)
    with db.begin() as connection:
        connection.execute(text(
            "INSERT INTO conversation (id, channel, key, memory, failures_in_a_row, owner, "
            "created_at, updated_at) VALUES (1, 'web', 's', '{}', 0, 'bot', "
            "'2026-11-01 10:00:00', '2026-11-01 10:00:00')"
        ))  # fmt: skip
        for n, role in enumerate(["customer", "bot", "customer", "bot"], start=1):
            connection.execute(text(
                "INSERT INTO message (id, conversation_id, role, text, understanding, sources, "
                f"created_at) VALUES ({n}, 1, '{role}', 'm{n}', '{{}}', '[]', "
                "'2026-11-01 10:00:00')"
            ))  # fmt: skip

    upgrade(db)

    store = ConversationStore(db)
    assert [(m.seq, m.text) for m in store.messages_after("web", "s", 0)] == [
        (1, "m1"), (2, "m2"), (3, "m3"), (4, "m4")
    ]  # fmt: skip
    assert store.load("web", "s").last_seq == 4
    with db.connect() as connection:
        assert connection.execute(text("PRAGMA foreign_key_check")).all() == []


def test_the_reports_indexes_come_and_go_with_their_revision(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'reports.db'}"
    config = alembic_config(url)
    command.upgrade(config, "0010")
    db = open_database(url)

    def indexes() -> set[str]:
        names = set()
        for table in ("message", "handoff", "feedback"):
            names |= {i["name"] or "" for i in inspect(db).get_indexes(table)}
        return names & {"ix_message_report", "ix_handoff_requested_at", "ix_feedback_created_at"}

    assert len(indexes()) == 3
    command.downgrade(config, "0009")
    assert indexes() == set()
    db.dispose()
