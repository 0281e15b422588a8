"""Reading order records."""

from __future__ import annotations

from sqlalchemy import Engine as Database
from sqlmodel import Session, col, select

from kb.models import Order


class OrderBook:
    """Order look-ups; who may see an order is the engine's decision, not this class's."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def find(self, order_id: str) -> Order | None:
        with Session(self._db) as session:
            return session.exec(select(Order).where(Order.order_id == order_id)).first()

    def recent_for(self, email: str, limit: int = 5) -> list[Order]:
        with Session(self._db) as session:
            query = (
                select(Order)
                .where(Order.customer_email == email.lower())
                .order_by(col(Order.placed_at).desc())
                .limit(limit)
            )
            return list(session.exec(query).all())

    def sample(self, limit: int) -> list[Order]:
        """The first `limit` orders by id (for evaluation and demos)."""
        with Session(self._db) as session:
            return list(session.exec(select(Order).order_by(col(Order.id)).limit(limit)).all())
