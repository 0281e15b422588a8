"""The desk's clock: every stored moment is in UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(moment: datetime) -> datetime:
    """SQLite gives datetimes back without their zone; they are stored in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
