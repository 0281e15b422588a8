"""Who may see an order: proof of ownership, per author, and the limits on failing to prove it.

An order's details, and whether an email belongs to a customer at all, go only to someone who
proved it (docs/security.md):

- the channel's own verified identity of this message's author (a signed shop login in the
  widget, the author's Slack profile email): `Inbound.customer_email`;
- an order number together with the email it was placed with; that proves the email too, so
  the author's other orders may be listed afterwards.

An email typed alone proves nothing: it is kept to pair with an order number later, and the
reply to it is the same whether it is a customer's or not.

What an author proved is theirs alone: in a shared Slack thread, everyone who writes has their
own entry in the conversation's memory (`memory["authors"][sender]`); a conversation that is
one person's (a widget session, a DM) keeps it at the top of its memory, as it always did.

Failed proofs (an order number with an email that is not its email, or an order number that
does not exist) are written to the security log and counted per conversation, per client
address, per order number and per email within a window; past the limit, look-ups are locked
for that window, whoever asks. Counting rows in the database makes the limits hold across
sessions, processes and restarts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlmodel import Session

from engine.audit import PROOF_FAILED, PROOF_LOCKED, count, event
from engine.types import Inbound


@dataclass(frozen=True)
class ProofLimits:
    failures: int = 5  # per conversation, per order number, per email
    failures_per_address: int = 10
    window_seconds: int = 900

    @property
    def window(self) -> timedelta:
        return timedelta(seconds=self.window_seconds)


@dataclass(frozen=True)
class Asker:
    """This message's author as far as orders go: what they proved and what they typed."""

    proved: frozenset[str]  # emails whose orders they may see
    given: frozenset[str]  # emails they typed, to pair with an order number
    locked: bool = False  # too many failed proofs: no order look-ups now

    @property
    def emails(self) -> frozenset[str]:
        return self.proved | self.given

    def tried_with(self, email: str | None) -> str | None:
        """The email a failed proof is counted against: this turn's, or the only one given."""
        if email:
            return email.lower()
        return next(iter(self.given)) if len(self.given) == 1 else None


# What is each author's own in a memory (the last answer may show their order).
AUTHOR_KEYS = ("emails", "proved", "order_id", "last_answer")


def author_memory(memory: dict[str, Any], sender: str | None) -> dict[str, Any]:
    """The part of a conversation's memory that is this author's (a copy)."""
    if sender is None:
        mine = {k: memory[k] for k in AUTHOR_KEYS if k in memory}
        legacy = memory.get("verified_email")  # stored before proofs were per author
        if isinstance(legacy, str):
            mine["proved"] = sorted({*mine.get("proved", []), legacy})
        return mine
    authors = memory.get("authors")
    entry = authors.get(sender) if isinstance(authors, dict) else None
    return dict(entry) if isinstance(entry, dict) else {}


def store_author_memory(
    memory: dict[str, Any], sender: str | None, entry: dict[str, Any]
) -> dict[str, Any]:
    """`memory` with this author's part replaced by `entry`."""
    if sender is None:
        return {**memory, **entry}
    authors = dict(memory.get("authors") or {})
    authors[sender] = entry
    return {**memory, "authors": authors}


def asker(
    inbound: Inbound, mine: dict[str, Any], conversation_email: str | None, email: str | None
) -> Asker:
    """Who asks: `mine` is their part of the memory, `email` one they typed this turn."""
    proved = {e.lower() for e in mine.get("proved", [])}
    if inbound.customer_email:
        proved.add(inbound.customer_email.lower())
    if inbound.sender is None and conversation_email:  # one person's conversation
        proved.add(conversation_email.lower())
    given = {e.lower() for e in mine.get("emails", [])}
    if email:
        given.add(email.lower())
    return Asker(frozenset(proved), frozenset(given - proved))


class ProofLedger:
    """Counts failed proofs in the security log and adds new rows to the turn's session."""

    def __init__(self, limits: ProofLimits) -> None:
        self.limits = limits

    def locked(
        self,
        session: Session,
        conversation_id: int | None,
        address: str | None,
        order_id: str | None,
        emails: Iterable[str],
    ) -> bool:
        """Past a limit: per conversation, address, this order number or one of these emails."""
        limits, since = self.limits, self.limits.window
        checks: list[tuple[str, str | int | None, int]] = [
            ("conversation_id", conversation_id, limits.failures),
            ("address", address, limits.failures_per_address),
            ("order_id", order_id, limits.failures),
            *(("email", e, limits.failures) for e in sorted(emails)),
        ]
        return any(
            count(session, PROOF_FAILED, since, **{column: value}) >= limit
            for column, value, limit in checks
            if value is not None
        )

    @staticmethod
    def failed(
        session: Session,
        inbound: Inbound,
        conversation_id: int | None,
        order_id: str,
        email: str | None,
    ) -> None:
        """An order number that is not the email's (or does not exist): one failed proof."""
        session.add(_row(PROOF_FAILED, inbound, conversation_id, order_id, email))
        session.flush()  # the next message in this batch counts it

    @staticmethod
    def refused(
        session: Session, inbound: Inbound, conversation_id: int | None, order_id: str | None
    ) -> None:
        session.add(_row(PROOF_LOCKED, inbound, conversation_id, order_id, None))
        session.flush()


def _row(
    kind: str,
    inbound: Inbound,
    conversation_id: int | None,
    order_id: str | None,
    email: str | None,
) -> Any:
    detail = f"by {inbound.sender}" if inbound.sender else ""
    return event(
        kind,
        channel=inbound.channel,
        conversation_id=conversation_id,
        address=inbound.client_address,
        order_id=order_id,
        email=email,
        detail=detail,
    )
