"""The Slack channel's rows: how far each conversation is posted, and the agents' threads."""

from __future__ import annotations

from sqlalchemy import Engine as Database
from sqlmodel import Session, col, select

from channels.slack.models import SlackAgentThread, SlackConversation
from engine.models import Conversation, Message


class SlackStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- customers' conversations ---------------------------------------------------------------

    def posted_seq(self, conversation_id: int, team: str, channel: str, thread: str | None) -> int:
        """How far the conversation is in Slack (its row made on first use)."""
        with Session(self._db) as session:
            row = session.get(SlackConversation, conversation_id)
            if row is None:
                row = SlackConversation(
                    conversation_id=conversation_id,
                    team_id=team,
                    channel_id=channel,
                    thread_ts=thread,
                )
                session.add(row)
                session.commit()
            return row.posted_seq

    def set_posted(self, conversation_id: int, seq: int) -> None:
        with Session(self._db) as session:
            row = session.get(SlackConversation, conversation_id)
            if row is not None and row.posted_seq < seq:
                row.posted_seq = seq
                session.add(row)
                session.commit()

    def behind(self) -> list[int]:
        """Conversations with messages not yet in Slack (for a retry after Slack failed)."""
        with Session(self._db) as session:
            query = (
                select(SlackConversation.conversation_id)
                .join(Conversation, col(Conversation.id) == col(SlackConversation.conversation_id))
                .where(col(Conversation.last_seq) > col(SlackConversation.posted_seq))
            )
            return list(session.exec(query).all())

    def message(self, message_id: int) -> Message | None:
        with Session(self._db) as session:
            return session.get(Message, message_id)

    # -- the agents channel ---------------------------------------------------------------------

    def add_thread(self, thread: SlackAgentThread) -> SlackAgentThread:
        with Session(self._db, expire_on_commit=False) as session:
            session.add(thread)
            session.commit()
            return thread

    def latest_thread(self, conversation_id: int) -> SlackAgentThread | None:
        with Session(self._db, expire_on_commit=False) as session:
            query = (
                select(SlackAgentThread)
                .where(SlackAgentThread.conversation_id == conversation_id)
                .order_by(col(SlackAgentThread.id).desc())
            )
            return session.exec(query).first()

    def thread_at(self, channel: str, ts: str) -> SlackAgentThread | None:
        with Session(self._db, expire_on_commit=False) as session:
            query = select(SlackAgentThread).where(
                SlackAgentThread.channel_id == channel, SlackAgentThread.ts == ts
            )
            return session.exec(query).first()

    def update_thread(
        self, thread_id: int, posted_seq: int | None = None, card_state: str | None = None
    ) -> None:
        with Session(self._db) as session:
            row = session.get(SlackAgentThread, thread_id)
            if row is None:
                return
            if posted_seq is not None and posted_seq > row.posted_seq:
                row.posted_seq = posted_seq
            if card_state is not None:
                row.card_state = card_state
            session.add(row)
            session.commit()
