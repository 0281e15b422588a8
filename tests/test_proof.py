"""Orders only to their owner: an email alone proves nothing, failed proofs are limited, and in
a conversation several people write in, each proves for themselves (issue 11, findings 1, 2, 7).

The engine reads orders from the built demo store but keeps its conversations and its security
log in a fresh database per test, so no test's failed attempts lock another's look-ups.
"""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest

from engine.audit import PROOF_FAILED, PROOF_LOCKED, SecurityLog
from engine.engine import Engine
from engine.proof import ProofLimits
from engine.store import ConversationStore
from engine.types import Inbound, Turn
from handoff.tickets import Tickets
from handoff.views import conversation_view
from kb.database import Database

HARRY = "harryhughes@example.org"  # two orders in the demo store
HARRY_ORDERS = ("HP-105161", "HP-105442")
HARRY_TRACKING = "1ZH7P4A26606237378"  # HP-105442's
STRANGER = "nobody.at.all@example.com"
OLIVER_ORDER = "HP-105372"


@pytest.fixture
def desk(engine: Engine, db: Database) -> Engine:
    limits = ProofLimits(failures=3, failures_per_address=5, window_seconds=900)
    return Engine(replace(engine.stages, proofs=limits), ConversationStore(db))


class Chat:
    def __init__(
        self, engine: Engine, *, email: str | None = None, address: str | None = "203.0.113.7",
        key: str | None = None, channel: str = "web",
    ) -> None:  # fmt: skip
        self.engine, self.email, self.address, self.channel = engine, email, address, channel
        self.key = key or f"proof-{uuid.uuid4().hex}"

    def say(self, text: str, sender: str | None = None, email: str | None = None) -> Turn:
        inbound = Inbound(self.key, text, self.channel, email or self.email, sender=sender,
                          client_address=self.address)  # fmt: skip
        return self.engine.handle(inbound)


def _shows_orders(turn: Turn) -> bool:
    text = turn.decision.text + " ".join(getattr(turn.decision, "quick_replies", ()))
    return turn.private or any(order in text for order in HARRY_ORDERS)


def test_an_email_alone_reads_exactly_like_an_unknown_one(desk: Engine) -> None:
    """Finding 1: "where is my order?" and a customer's email listed their orders."""
    replies = []
    for email in (HARRY, STRANGER):
        chat = Chat(desk)
        chat.say("where is my order?")
        turn = chat.say(email)
        assert not _shows_orders(turn)
        replies.append((turn.decision.text, getattr(turn.decision, "quick_replies", ())))
    assert replies[0] == replies[1]
    assert "order number" in replies[0][0]


def test_the_order_number_with_its_email_proves_it_and_then_the_email(desk: Engine) -> None:
    chat = Chat(desk)
    chat.say(f"where is my order {HARRY_ORDERS[1]}?")
    shown = chat.say(f"it's {HARRY}")
    assert HARRY_TRACKING in shown.decision.text
    assert shown.private
    other = chat.say(f"and where is my other order {HARRY_ORDERS[0]}?")  # no email asked again
    assert HARRY_ORDERS[0] in other.decision.text
    assert other.private
    assert "email" not in other.decision.text


def test_a_verified_shopper_sees_their_orders_without_proving_anything(desk: Engine) -> None:
    turn = Chat(desk, email=HARRY).say("where is my order?")
    assert _shows_orders(turn)


def test_guessing_emails_for_one_order_is_locked_and_recorded(desk: Engine, db: Database) -> None:
    """Finding 7: a script tried thousands of emails against one order number."""
    chat = Chat(desk)
    for n in range(3):
        turn = chat.say(f"where is order {HARRY_ORDERS[1]}? my email is guess{n}@example.com")
        assert HARRY_TRACKING not in turn.decision.text
    locked = chat.say(f"where is order {HARRY_ORDERS[1]}? my email is {HARRY}")
    assert HARRY_TRACKING not in locked.decision.text  # even the right email, for a while
    assert "too many" in locked.decision.text
    log = SecurityLog(db)
    assert log.count(PROOF_FAILED, desk.stages.proofs.window, order_id=HARRY_ORDERS[1]) == 3
    assert log.count(PROOF_LOCKED, desk.stages.proofs.window) == 1
    # A fresh session does not give a fresh budget: the order number is locked whoever asks.
    fresh = Chat(desk, address="198.51.100.9")
    again = fresh.say(f"where is order {HARRY_ORDERS[1]}? my email is {HARRY}")
    assert HARRY_TRACKING not in again.decision.text


def test_the_limit_holds_per_address_across_sessions(desk: Engine) -> None:
    for n in range(5):  # each session one guess at another order: per-session limits never bite
        Chat(desk).say(f"where is order HP-10{5100 + n}? my email is guess{n}@example.com")
    turn = Chat(desk).say(f"where is order {HARRY_ORDERS[1]}? my email is {HARRY}")
    assert HARRY_TRACKING not in turn.decision.text
    elsewhere = Chat(desk, address="198.51.100.10")
    assert (
        HARRY_TRACKING
        in elsewhere.say(f"where is order {HARRY_ORDERS[1]}? my email is {HARRY}").decision.text
    )


def test_a_proved_owner_is_not_locked_out_by_someone_elses_guesses(desk: Engine) -> None:
    attacker = Chat(desk, address="192.0.2.66")
    for n in range(4):
        attacker.say(f"where is order {HARRY_ORDERS[1]}? my email is guess{n}@example.com")
    owner = Chat(desk, email=HARRY, address="192.0.2.1")
    assert HARRY_TRACKING in owner.say(f"where is order {HARRY_ORDERS[1]}").decision.text


def test_in_a_shared_thread_each_author_proves_for_themselves(desk: Engine) -> None:
    """Finding 2: a second person in a channel thread got the first one's order details."""
    thread = Chat(desk, address=None, channel="slack")
    first = thread.say(f"where is order {HARRY_ORDERS[1]}?", sender="U_HARRY", email=HARRY)
    assert HARRY_TRACKING in first.decision.text
    assert first.private
    # Someone else in the same thread: no carried order, no carried identity.
    other = thread.say("where is my order?", sender="U_OTHER")
    assert not _shows_orders(other)
    follow = thread.say("what's the tracking number of that order?", sender="U_OTHER")
    assert HARRY_TRACKING not in follow.decision.text
    named = thread.say(f"where is order {HARRY_ORDERS[1]}?", sender="U_OTHER")
    assert HARRY_TRACKING not in named.decision.text
    assert not named.private
    # The first author still has theirs.
    again = thread.say("what's the tracking number?", sender="U_HARRY", email=HARRY)
    assert HARRY_TRACKING in again.decision.text


def test_someone_elses_order_is_a_failed_proof_even_for_a_verified_shopper(
    desk: Engine, db: Database
) -> None:
    chat = Chat(desk, email=HARRY)
    turn = chat.say(f"where is order {OLIVER_ORDER}?")
    assert "couldn't find" in turn.decision.text
    assert SecurityLog(db).count(PROOF_FAILED, desk.stages.proofs.window, order_id=OLIVER_ORDER)


def test_an_agent_sees_the_attempts_and_what_was_proved(desk: Engine, db: Database) -> None:
    chat = Chat(desk)
    chat.say(f"where is order {OLIVER_ORDER}? my email is {HARRY}")
    turn = chat.say(f"where is order {HARRY_ORDERS[1]}?")
    assert turn.conversation_id is not None
    tickets = Tickets(db, ConversationStore(db))
    view = conversation_view(tickets, desk.stages.lookup.orders, turn.conversation_id, False)
    assert view is not None
    assert [(e["kind"], e["order_id"], e["email"]) for e in view["security"]] == [
        (PROOF_FAILED, OLIVER_ORDER, HARRY)
    ]
    assert view["security"][0]["address"] == "203.0.113.7"
    assert view["identity"]["proved_emails"] == [HARRY]  # HP-105442 with its email
    assert view["identity"]["verified_email"] is None  # no channel vouched for anyone
