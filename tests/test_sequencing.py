"""Many processes answering one PostgreSQL database: a conversation written by two engines (or
an agent) at once costs no turn, neither its own nor a bystander's, and no seq is taken twice.

Two `Engine`s over one database stand in for two worker processes: they share the loaded
models (read-only) and nothing else, exactly what two processes would share.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import pytest
from sqlmodel import Session, col, select

from engine.engine import Engine
from engine.models import Conversation, Message, Role
from engine.store import ConversationStore, Seen
from engine.types import Inbound, Reply, Turn
from kb.database import Database
from tests.conftest import _postgres

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg() -> Iterator[Database]:
    yield from _postgres()


class _Interleaved(ConversationStore):
    """The real store, with another writer's work landing once between computing a batch and
    recording it: the window in which another process can take a conversation's next seq."""

    def __init__(self, db: Database, meanwhile: Callable[[], object]) -> None:
        super().__init__(db)
        self.meanwhile: Callable[[], object] | None = meanwhile

    def record(
        self,
        session: Session,
        conversations: Any,
        messages: Sequence[dict[str, Any]],
        seen: Mapping[int, Seen],
    ) -> bool:
        if self.meanwhile is not None:
            meanwhile, self.meanwhile = self.meanwhile, None
            meanwhile()
        return super().record(session, conversations, messages, seen)


def _stored(db: Database, key: str) -> list[Message]:
    with Session(db) as session:
        query = (
            select(Message)
            .join(Conversation, col(Conversation.id) == col(Message.conversation_id))
            .where(Conversation.key == key)
            .order_by(col(Message.seq))
        )
        return list(session.exec(query).all())


def _key() -> str:
    return f"seq-{uuid.uuid4().hex[:10]}"


def test_a_conversation_written_elsewhere_meanwhile_costs_no_turn(
    engine: Engine, pg: Database
) -> None:
    other = Engine(engine.stages, ConversationStore(pg))
    shared, bystanders = _key(), [_key(), _key()]

    def elsewhere() -> None:  # another worker answers, then an agent's note lands
        other.handle(Inbound(shared, "which payment methods do you accept?", "web"))
        conversation = other.store.load("web", shared)
        assert conversation.id is not None
        other.store.append(conversation.id, Role.SYSTEM, "Sam is reading along")

    mine = Engine(engine.stages, _Interleaved(pg, elsewhere))
    turns = mine.handle_many(
        [
            Inbound(shared, "do you ship to norway?", "web"),
            Inbound(bystanders[0], "hello", "web"),
            Inbound(bystanders[1], "how long does a refund take?", "web"),
        ]
    )

    assert all(isinstance(t.decision, Reply) and t.decision.text for t in turns)
    assert [(m.seq, m.role) for m in _stored(pg, shared)] == [
        (1, Role.CUSTOMER), (2, Role.BOT), (3, Role.SYSTEM), (4, Role.CUSTOMER), (5, Role.BOT)
    ]  # fmt: skip
    assert _stored(pg, shared)[3].text == "do you ship to norway?"
    for key in bystanders:
        assert [m.seq for m in _stored(pg, key)] == [1, 2]


def test_one_message_delivered_to_two_engines_is_stored_and_answered_once(
    engine: Engine, pg: Database
) -> None:
    other = Engine(engine.stages, ConversationStore(pg))
    key = _key()
    message = Inbound(key, "which payment methods do you accept?", "web", client_message_id="c-1")
    answered_elsewhere: list[Turn] = []
    mine = Engine(
        engine.stages, _Interleaved(pg, lambda: answered_elsewhere.append(other.handle(message)))
    )

    turn = mine.handle(message)

    stored = _stored(pg, key)
    assert [(m.role, m.client_message_id) for m in stored] == [
        (Role.CUSTOMER, "c-1"), (Role.BOT, None)
    ]  # fmt: skip
    assert turn.decision.text == answered_elsewhere[0].decision.text == stored[1].text


def test_two_engines_and_an_agent_at_once_lose_no_turn_and_take_no_seq_twice(
    engine: Engine, pg: Database
) -> None:
    engines = [Engine(engine.stages, ConversationStore(pg)) for _ in range(2)]
    shared, rounds = _key(), 6
    shared_id = engines[0].store.load("web", shared).id
    assert shared_id is not None
    start, errors = threading.Barrier(3), list[BaseException]()
    answered: list[Turn] = []
    bystanders: list[str] = []

    def worker(n: int) -> None:
        start.wait()
        for r in range(rounds):
            mine = [_key(), _key()]
            bystanders.extend(mine)
            batch = [
                Inbound(shared, "do you ship to norway?", "web", client_message_id=f"w{n}-{r}"),
                # the same message delivered to both workers (at-least-once delivery)
                Inbound(shared, "hello", "web", client_message_id=f"both-{r}"),
                *(Inbound(k, "which payment methods do you accept?", "web") for k in mine),
            ]
            answered.extend(engines[n].handle_many(batch))

    def agent() -> None:
        start.wait()
        for r in range(rounds):
            engines[0].store.append(shared_id, Role.SYSTEM, f"note {r}")

    def guarded(fn: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                fn()
            except BaseException as exc:  # handed to the test's thread
                errors.append(exc)

        return run

    runs = [lambda: worker(0), lambda: worker(1), agent]
    threads = [threading.Thread(target=guarded(run)) for run in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(answered) == 2 * rounds * 4
    assert all(t.decision.text for t in answered)
    stored = _stored(pg, shared)
    assert [m.seq for m in stored] == list(range(1, len(stored) + 1))  # unique, no gaps
    asked = Counter(m.client_message_id for m in stored if m.role == Role.CUSTOMER)
    assert asked == Counter({f"w{n}-{r}": 1 for n in range(2) for r in range(rounds)}) + Counter(
        {f"both-{r}": 1 for r in range(rounds)}
    )
    by_seq = {m.seq: m for m in stored}
    for question in (m for m in stored if m.role == Role.CUSTOMER):
        assert by_seq[question.seq + 1].role == Role.BOT  # each answered, once
    assert len(stored) == 2 * 3 * rounds + rounds
    for key in bystanders:
        assert [m.seq for m in _stored(pg, key)] == [1, 2]
