"""message order, feedback

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("rating", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["message.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id"),
    )
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_seq", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.Integer(), nullable=False, server_default="0"))
    # Number the messages already stored, in the order they were written.
    op.execute(
        "UPDATE message SET seq = (SELECT COUNT(*) FROM message AS earlier "
        "WHERE earlier.conversation_id = message.conversation_id AND earlier.id <= message.id)"
    )
    op.execute(
        "UPDATE conversation SET last_seq = (SELECT COALESCE(MAX(seq), 0) FROM message "
        "WHERE message.conversation_id = conversation.id)"
    )
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_message_conversation_seq", ["conversation_id", "seq"])


def downgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_constraint("uq_message_conversation_seq", type_="unique")
        batch_op.drop_column("seq")
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.drop_column("last_seq")
    op.drop_table("feedback")
