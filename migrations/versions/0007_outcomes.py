"""conversation outcomes

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 00:57:12.075401
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "conversation_outcome",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("first_seq", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("ended_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("ended_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("satisfaction", sa.Integer(), nullable=True),
        sa.Column("satisfaction_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversation.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("conversation_outcome", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_conversation_outcome_conversation_id"), ["conversation_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_conversation_outcome_ended_at"), ["ended_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_conversation_outcome_outcome"), ["outcome"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("conversation_outcome", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversation_outcome_outcome"))
        batch_op.drop_index(batch_op.f("ix_conversation_outcome_ended_at"))
        batch_op.drop_index(batch_op.f("ix_conversation_outcome_conversation_id"))

    op.drop_table("conversation_outcome")
