"""Who owns a conversation, on SQLite and PostgreSQL: transitions and race-safe claims."""

from __future__ import annotations

import threading

import pytest

from engine.owners import BOT, QUEUE, Owner, agent_owner
from engine.store import ConversationStore
from handoff.ownership import Ownership
from kb.database import Database


def _conversation(db: Database, key: str = "c") -> int:
    conversation = ConversationStore(db).load("web", key)
    assert conversation.id is not None
    return conversation.id


def test_bot_to_queue_to_agent_and_back_with_who_when_why(db: Database) -> None:
    ownership, cid = Ownership(db), _conversation(db)
    assert ownership.queue(cid, "customer_asked", "customer").owner == QUEUE
    assert ownership.claim(cid, 7).owner == agent_owner(7)
    assert ownership.release(cid, 7, BOT, "handed_back").owner == BOT
    trail = [(c.from_owner, c.to_owner, c.actor, c.reason) for c in ownership.history(cid)]
    assert trail == [
        ("bot", "queue", "customer", "customer_asked"),
        ("queue", "agent:7", "agent:7", "claimed"),
        ("agent:7", "bot", "agent:7", "handed_back"),
    ]
    assert all(c.at is not None for c in ownership.history(cid))


def test_only_the_owner_can_release_and_a_claimed_one_cannot_be_claimed(db: Database) -> None:
    ownership, cid = Ownership(db), _conversation(db)
    ownership.queue(cid, "low_confidence", "bot")
    assert ownership.claim(cid, 1).done
    lost = ownership.claim(cid, 2)
    assert (lost.done, lost.owner) == (False, agent_owner(1))  # the loser is told who has it
    assert not ownership.release(cid, 2, BOT, "handed_back").done
    assert not ownership.queue(cid, "again", "bot").done  # a person has it: the bot keeps out
    assert ownership.owner(cid) == agent_owner(1)
    with pytest.raises(ValueError, match="goes back to"):
        ownership.release(cid, 1, "agent:3", "transfer")


def test_an_agent_may_take_over_from_the_bot_proactively(db: Database) -> None:
    ownership, cid = Ownership(db), _conversation(db)
    assert ownership.claim(cid, 4).owner == agent_owner(4)


def test_unknown_conversations_change_nothing(db: Database) -> None:
    change = Ownership(db).claim(999_999, 1)
    assert (change.done, change.owner) == (False, None)


def test_two_agents_claiming_at_the_same_moment_exactly_one_wins(db: Database) -> None:
    ownership = Ownership(db)
    for round_ in range(5):
        cid = _conversation(db, f"race-{round_}")
        ownership.queue(cid, "customer_asked", "customer")
        start = threading.Barrier(2)
        results: dict[int, bool] = {}

        def claim(
            agent_id: int,
            cid: int = cid,
            start: threading.Barrier = start,
            results: dict[int, bool] = results,
        ) -> None:
            start.wait()
            results[agent_id] = ownership.claim(cid, agent_id).done

        threads = [threading.Thread(target=claim, args=(agent,)) for agent in (1, 2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(results.values()) == [False, True]
        winner = next(agent for agent, won in results.items() if won)
        assert ownership.owner(cid) == agent_owner(winner)
        assert [c.to_owner for c in ownership.history(cid)] == ["queue", agent_owner(winner)]


def test_an_owner_reads_back_as_it_is_stored() -> None:
    for text in (BOT, QUEUE, "agent:12"):
        assert str(Owner.parse(text)) == text
    assert Owner.parse("agent:12") == Owner.agent(12)
    assert Owner.parse("agent:12").is_agent
    assert Owner.parse(QUEUE).agent_id is None
    for wrong in ("agent:", "agent:x", "person:3", ""):
        with pytest.raises(ValueError, match="not a conversation owner"):
            Owner.parse(wrong)
