"""indexes for the reports: messages by role and time, handoffs by request, thumbs by time

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 17:00:00.000000

`learning/reports.py` groups a period's customer messages and replies by conversation; with
`ix_message_report` (role, created_at, conversation_id, id) that is a range scan of the index alone,
not of the messages with their recorded understanding. The others select a period's rows.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "message": ("ix_message_report", ["role", "created_at", "conversation_id", "id"]),
    "handoff": ("ix_handoff_requested_at", ["requested_at"]),
    "feedback": ("ix_feedback_created_at", ["created_at"]),
}


def upgrade() -> None:
    for table, (name, columns) in INDEXES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(name, columns, unique=False)


def downgrade() -> None:
    for table, (name, _) in INDEXES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
