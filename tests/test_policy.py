"""The decision rules, each alone: Reply or Handoff(reason)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine.lookup import Findings
from engine.policy import DecisionPolicy, TurnFacts
from engine.types import Answer, Handoff, IntentResult, IntentScore, Reply
from kb.models import Order


@pytest.fixture(scope="module")
def policy() -> DecisionPolicy:
    return DecisionPolicy(refund_limit_cents=25_000, repeated_failure_limit=3)


def _facts(intent: str, *, text: str = "hello", order: Order | None = None,
           failures: int = 0, unsure_before: bool = False) -> TurnFacts:  # fmt: skip
    result = IntentResult(intent, 0.9, (IntentScore(intent, 0.9),))
    return TurnFacts(text, result, Findings(order=order), failures, unsure_before)


def _order(total_cents: int) -> Order:
    return Order(order_id="HP-100001", customer_email="a@example.com", status="delivered",
                 placed_at=datetime(2026, 11, 1, tzinfo=UTC), total_cents=total_cents)  # fmt: skip


ANSWER = Answer("Here you go.")


def test_a_good_answer_is_a_reply_with_its_sources(policy: DecisionPolicy) -> None:
    decision = policy.decide(_facts("track_order"), ANSWER)
    assert decision == Reply("Here you go.")


def test_unsure_twice_in_a_row_is_low_confidence(policy: DecisionPolicy) -> None:
    unsure = Answer("Did you mean?", failed=True)
    assert isinstance(policy.decide(_facts("unsure"), unsure), Reply)
    second = policy.decide(_facts("unsure", unsure_before=True), unsure)
    assert isinstance(second, Handoff)
    assert second.reason.value == "low_confidence"
    assert second.draft == unsure  # the agent sees what the bot would have said


def test_nothing_to_answer_from_is_no_grounded_answer(policy: DecisionPolicy) -> None:
    decision = policy.decide(_facts("review"), Answer("", grounded=False, failed=True))
    assert isinstance(decision, Handoff)
    assert decision.reason.value == "no_grounded_answer"


def test_refunds_over_the_limit_go_to_a_person(policy: DecisionPolicy) -> None:
    small = policy.decide(_facts("get_refund", order=_order(24_999)), ANSWER)
    large = policy.decide(_facts("get_refund", order=_order(25_001)), ANSWER)
    assert isinstance(small, Reply)
    assert isinstance(large, Handoff)
    assert large.reason.value == "policy"


def test_the_limit_of_failures_is_counted_per_conversation(policy: DecisionPolicy) -> None:
    failed = Answer("I can only help with the shop.", failed=True)
    assert isinstance(policy.decide(_facts("out_of_scope", failures=1), failed), Reply)
    last = policy.decide(_facts("out_of_scope", failures=2), failed)
    assert isinstance(last, Handoff)
    assert last.reason.value == "repeated_failure"


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        DecisionPolicy(refund_limit_cents=0, repeated_failure_limit=0)
