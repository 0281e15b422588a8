"""`shopclerk dataset export`, on a small store written here: the prompts are exactly the ones
the model is given in production, only the answers that helped become targets, personal data is
replaced, and the files pass `shopclerk finetune`'s own check."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from engine.generators.prompt import SYSTEM_PROMPT, Document, Said, messages
from engine.models import Conversation, Feedback, Message
from engine.outcomes import Episode
from engine.store import ConversationStore
from handoff.models import Agent, HandoffRecord
from kb.database import Database, open_database
from kb.importers import import_faq, import_products
from kb.models import Order
from learning.dataset import (
    Example,
    NothingToExportError,
    Selection,
    Source,
    Summary,
    collect,
    export,
    split,
    store_words,
    validate_chat_line,
)
from learning.dataset_commands import dataset_app
from learning.finetune import check_dataset
from learning.privacy import luhn, scrub
from shopclerk.command_services import CliServices
from shopclerk.database import upgrade
from shopclerk.settings import Settings, load_settings
from shopclerk.wiring import demo_file

runner = CliRunner()

ORDER_DOC = {"id": "order:HP-104381", "text": (
    "order id: HP-104381\nstatus: delivered\ntotal: EUR 89.95\nitems: 1 x Tarnvik Vidde 1 Tent\n"
    "delivered: 5 August 2026\ncarrier: PostNL\ntracking number: 3SHRPN719579457")}  # fmt: skip
GIFT_DOC = {"id": "faq:gift-cards", "text": "Q: Do you sell gift cards?\nA: Yes, from EUR 25.00."}
SHIP_DOC = {"id": "faq:shipping", "text": "Q: Where do you ship?\nA: NL, BE and DE; 2-3 days."}
PII = ("Hi, I'm Anna de Vries (anna.devries@example.com, +31 6 12345678). My card "
       "4111 1111 1111 1111 was charged EUR 89.95 for HP-104381 on 2026-08-01, and tracking "
       "3SHRPN719579457 shows nothing. I live at Dorpsstraat 5, 1234 AB Haarlem.")  # fmt: skip
PII_REPLY = (
    "Hi Anna, HP-104381 (EUR 89.95) was delivered on 5 August 2026, tracking number "
    "3SHRPN719579457. We will call you on 06-12345678 if it does not turn up."
)


# -- a small store -----------------------------------------------------------------------------


@dataclass
class Store:
    """What `populate` wrote: conversation ids by key, messages by (key, seq)."""

    conversations: dict[str, int] = field(default_factory=dict)
    messages: dict[tuple[str, int], Message] = field(default_factory=dict)

    def key(self, conversation_id: int) -> str:
        return next(k for k, i in self.conversations.items() if i == conversation_id)

    def seq(self, message_id: int) -> int:
        return next(m.seq for m in self.messages.values() if m.id == message_id)


class Writer:
    """Writes conversations the way the engine and the desk store them."""

    def __init__(self, session: Session, store: Store) -> None:
        self.session, self.store = session, store
        self.key, self.day, self.seq = "", datetime(2026, 3, 1, 10, tzinfo=UTC), 0

    def conversation(self, key: str, day: str, channel: str = "web", **more: Any) -> None:
        conversation = Conversation(channel=channel, key=key, **more)
        self.session.add(conversation)
        self.session.flush()
        assert conversation.id is not None
        self.store.conversations[key] = conversation.id
        self.key, self.seq = key, 0
        self.day = datetime.fromisoformat(day).replace(hour=10, tzinfo=UTC)

    def say(self, role: str, text: str, documents: list[dict[str, str]] | None = None,
            **more: Any) -> Message:  # fmt: skip
        self.seq += 1
        understanding = dict(more.pop("understanding", {}))
        if documents is not None:
            understanding["documents"] = documents
        message = Message(conversation_id=self.store.conversations[self.key], seq=self.seq,
                          role=role, text=text, understanding=understanding,
                          client_message_id=f"{self.key}-{self.seq}" if role == "customer"
                          else None, created_at=self.day + timedelta(minutes=self.seq),
                          **more)  # fmt: skip
        self.session.add(message)
        self.session.flush()
        self.store.messages[(self.key, self.seq)] = message
        return message

    def reply(self, text: str, **more: Any) -> Message:
        return self.say("bot", text, decision="reply", **more)

    def rate(self, message: Message, rating: str) -> None:
        self.session.add(Feedback(message_id=message.id or 0, rating=rating))

    def end(self, outcome: str, satisfaction: int | None = None) -> None:
        self.session.add(Episode(conversation_id=self.store.conversations[self.key],
                                 first_seq=1, last_seq=self.seq, outcome=outcome,
                                 ended_by="customer", satisfaction=satisfaction))  # fmt: skip
        conversation = self.session.get(Conversation, self.store.conversations[self.key])
        assert conversation is not None
        conversation.last_seq = self.seq


def populate(db: Database) -> Store:
    store = Store()
    with Session(db, expire_on_commit=False) as session:
        w = Writer(session, store)
        session.add(Order(order_id="HP-104381", customer_name="Anna de Vries",
                          customer_email="anna.devries@example.com", status="delivered",
                          placed_at=datetime(2026, 8, 1, tzinfo=UTC)))  # fmt: skip
        agent = Agent(username="sam", display_name="Sam Jansen", password_hash="x")
        session.add(agent)
        session.flush()

        w.conversation("resolved", "2026-03-02")  # history, a system line, then the question
        w.say("customer", "hi", [{"id": "draft", "text": "Hello! How can I help?"}],
              intent="smalltalk")  # fmt: skip
        w.reply("Hello! How can I help?")
        w.say("system", "The chat was opened from the order page.")
        w.say("customer", "Where is my order HP-104381?",
              [ORDER_DOC, {"id": "draft", "text": "HP-104381 was delivered on 5 August."}],
              intent="track_order")  # fmt: skip
        liked = w.reply("HP-104381 was delivered on 5 August 2026 (PostNL, 3SHRPN719579457).",
                        understanding={"generation": {"generator": "openai",
                                                      "check": "passed"}})  # fmt: skip
        w.rate(liked, "up")
        w.end("bot_resolved", 5)

        # The outcome is what the episode says; a thumbs down still takes that reply out.
        w.conversation("thumbs-down", "2026-03-05")
        w.say("customer", "Do you sell gift cards?", [GIFT_DOC], intent="gift_cards")
        w.reply("Yes, gift cards start at EUR 25.00.")
        w.say("customer", "How long can I return shoes?", [SHIP_DOC], intent="returns")
        w.rate(w.reply("Returns? We ship to NL, BE and DE."), "down")
        w.end("bot_resolved", 2)

        w.conversation("agent", "2026-03-10", channel="slack", customer_name="Wout Vermeulen")
        draft = {"draft": {"text": "-", "sources": []}}
        first = w.say("customer", "Can you send HP-104381 to my new address?", [ORDER_DOC],
                      intent="change_address", understanding=draft)  # fmt: skip
        w.say("bot", "A person from the team takes this over.", decision="handoff",
              handoff_reason="policy")  # fmt: skip
        w.say("system", "Sam took the conversation.")
        second = w.say("customer", "<@U0BOT123> It is Keizersgracht 123, 1015 CJ Amsterdam. "
                       "Thanks, Wout", [ORDER_DOC], intent="change_address")  # fmt: skip
        session.add(HandoffRecord(conversation_id=store.conversations["agent"],
                                  reason="policy", requested_by="bot", agent_id=agent.id,
                                  outcome="resolved"))  # fmt: skip
        w.say("agent", "Done, Wout: HP-104381 now goes to Keizersgracht 123, 1015 CJ Amsterdam. "
              "It arrives on 14 March. Sam", understanding={
                  "agent_id": agent.id, "agent_name": "Sam Jansen", "handoff_id": 1,
                  "answers": [first.id, second.id], "draft": "own"})  # fmt: skip
        w.end("agent_resolved")

        w.conversation("retried", "2026-03-12")
        w.say("customer", "do u ship 2 belgium", [{"id": "draft", "text": "Not sure."}],
              intent="unsure")  # fmt: skip
        w.reply("Sorry, I'm not sure what you mean. Could you say it in other words?")
        w.say("customer", "Do you ship to Belgium?", [SHIP_DOC], intent="shipping")
        w.reply("Yes, we ship to Belgium; it takes 2-3 days.")
        w.end("bot_resolved", 4)

        w.conversation("open", "2026-03-15")  # no episode yet
        w.say("customer", "Do you sell gift cards?", [GIFT_DOC], intent="gift_cards")
        w.rate(w.reply("We do: from EUR 25.00, in the shop."), "up")

        w.conversation("old", "2026-02-20")  # from before documents were stored
        w.say("customer", "Is the Tarnvik tent in stock?", intent="product_info")
        w.reply("Yes, 12 in stock.", sources=[{"kind": "product", "id": "OUT-1064"}])
        w.end("bot_resolved", 5)

        w.conversation("duplicate", "2026-03-20", channel="slack")
        w.say("customer", "Do you sell gift cards?", [GIFT_DOC], intent="gift_cards")
        w.reply("Yes, gift cards start at EUR 25.00.")
        w.end("bot_resolved", 3)

        w.conversation("personal", "2026-03-25")  # the name comes from the order only
        w.say("customer", PII, [ORDER_DOC, {"id": "draft", "text": "Hi Anna, it was delivered."}],
              intent="track_order")  # fmt: skip
        w.reply(PII_REPLY)
        w.end("bot_resolved", 5)

        w.conversation("unresolved", "2026-03-26")
        asked = w.say("customer", "I want my money back for HP-104381", [ORDER_DOC],
                      intent="get_refund")  # fmt: skip
        w.say("bot", "A person takes this over.", decision="handoff", handoff_reason="policy")
        w.say("agent", "I'm sorry: we cannot refund a delivered order after 30 days.",
              understanding={"agent_name": "Sam Jansen", "answers": [asked.id]})  # fmt: skip
        w.end("handed_off_unresolved")
        session.commit()
    return store


PLAIN_FIELDS = ["id", "source", "intent", "channel", "conversation_id", "context", "sources",
                "question", "answer", "outcome", "feedback", "satisfaction", "created_at",
                "generation"]  # fmt: skip
DEFAULT = {("resolved", "bot", 2), ("resolved", "bot", 5), ("thumbs-down", "bot", 2),
           ("agent", "agent", 5), ("retried", "bot", 4), ("retried", "retried", 4),
           ("personal", "bot", 2)}  # fmt: skip


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return load_settings(tmp_path_factory.mktemp("dataset-data"))


@pytest.fixture(scope="module")
def shop(settings: Settings) -> Iterator[tuple[Database, Store]]:
    """The store above in the data directory's SQLite database (read-only for the tests)."""
    db = open_database(settings.sqlalchemy_url)
    upgrade(db)
    store = populate(db)
    yield db, store
    db.dispose()


def taken(examples: list[Example], store: Store) -> set[tuple[str, str, int]]:
    """(conversation, source, the target's seq) of each example."""
    return {(store.key(e.conversation_id), e.source.value, store.seq(int(e.id.split(":")[-1])))
            for e in examples}  # fmt: skip


def by_id(examples: list[Example], store: Store, key: str, source: str) -> Example:
    return next(e for e in examples if store.key(e.conversation_id) == key
                and e.source.value == source)  # fmt: skip


# -- what becomes an example -------------------------------------------------------------------


def test_the_prompt_is_exactly_the_one_the_model_is_given(shop: tuple[Database, Store]) -> None:
    db, store = shop
    examples = collect(db, Selection())
    assert taken(examples, store) == DEFAULT
    # As the desk builds it for the openai generator (engine/generators/writer.py `AnswerWriter`).
    found = ConversationStore(db).answered(store.conversations["resolved"], "resolved-4")
    assert found is not None
    customer, bot, earlier = found
    docs = [Document.from_dict(d) for d in customer.understanding.get("documents", [])]
    inference = messages(docs, [Said(m.role, m.text) for m in earlier], customer.text)
    example = next(e for e in examples if e.id == f"bot:{bot.id}")
    assert example.chat()["messages"] == [*inference, {"role": "assistant", "content": bot.text}]
    assert [m["role"] for m in inference] == ["system", "user", "assistant", "user"]
    assert example.plain()["generation"] == {"generator": "openai", "check": "passed"}
    assert (example.outcome, example.feedback, example.satisfaction) == ("bot_resolved", "up", 5)


def test_what_is_left_out_is_counted_by_filter(shop: tuple[Database, Store]) -> None:
    summary = Summary()
    collect(shop[0], Selection(), summary)
    assert summary.candidates == 13
    assert dict(summary.dropped) == {"thumbs down": 1, "not ended": 1, "no documents": 1,
                                     "outcome": 1, "superseded": 1, "duplicate": 1}  # fmt: skip


def test_an_agent_reply_is_the_target_for_what_it_answers(shop: tuple[Database, Store]) -> None:
    db, store = shop
    example = by_id(collect(db, Selection()), store, "agent", "agent")
    assert example.question == (
        "Can you send HP-104381 to my new address?\n"
        "[NAME] It is [ADDRESS], [ADDRESS] Amsterdam. Thanks, [NAME]"
    )
    assert example.answer == ("Done, [NAME]: HP-104381 now goes to [ADDRESS], [ADDRESS] "
                              "Amsterdam. It arrives on 14 March. [NAME]")  # fmt: skip
    assert example.context == ()  # what came before the first message it answers
    assert [d.id for d in example.documents] == ["order:HP-104381"]
    assert (example.channel, example.intent, example.outcome) == ("slack", "change_address",
                                                                  "agent_resolved")  # fmt: skip


def test_a_retried_question_learns_the_answer_that_helped(shop: tuple[Database, Store]) -> None:
    db, store = shop
    examples = collect(db, Selection())
    retried = by_id(examples, store, "retried", "retried")
    assert retried.question == "do u ship 2 belgium"
    assert retried.answer == "Yes, we ship to Belgium; it takes 2-3 days."
    assert retried.documents == (Document("draft", "Not sure."),)  # the attempt's own
    assert retried.intent == "shipping"
    # The bot's failed reply to that attempt is not a target as well.
    assert ("retried", "bot", 2) not in taken(examples, store)
    assert ("retried", "bot", 2) in taken(collect(db, Selection(sources=frozenset({Source.BOT}))),
                                          store)  # fmt: skip


@pytest.mark.parametrize(
    ("selection", "expected"),
    [
        pytest.param(Selection(outcomes=frozenset({"agent_resolved", "handed_off_unresolved"})),
                     {("agent", "agent", 5), ("unresolved", "agent", 3)}, id="outcome"),
        pytest.param(Selection(channels=frozenset({"slack"})),
                     {("agent", "agent", 5), ("duplicate", "bot", 2)}, id="channel"),
        pytest.param(Selection(since=date(2026, 3, 10), until=date(2026, 3, 12)),
                     {("agent", "agent", 5), ("retried", "bot", 4), ("retried", "retried", 4)},
                     id="dates"),
        pytest.param(Selection(min_satisfaction=4),
                     {("resolved", "bot", 2), ("resolved", "bot", 5), ("retried", "bot", 4),
                      ("retried", "retried", 4), ("personal", "bot", 2)}, id="min-satisfaction"),
        pytest.param(Selection(feedback="up"), {("resolved", "bot", 5), ("agent", "agent", 5)},
                     id="feedback-up"),
        pytest.param(Selection(include_open=True), DEFAULT | {("open", "bot", 2)},
                     id="include-open"),
        pytest.param(Selection(sources=frozenset({Source.AGENT})), {("agent", "agent", 5)},
                     id="source"),
        pytest.param(Selection(grounded_only=True), DEFAULT - {("agent", "agent", 5)},
                     id="grounded-only"),  # "arrives on 14 March": no source says so
    ],
)  # fmt: skip
def test_selection(
    shop: tuple[Database, Store], selection: Selection, expected: set[tuple[str, str, int]]
) -> None:
    db, store = shop
    assert taken(collect(db, selection), store) == expected


def test_duplicates_are_removed(shop: tuple[Database, Store]) -> None:
    db, store = shop
    examples = collect(db, Selection())
    assert ("duplicate", "bot", 2) not in taken(examples, store)
    assert len({e.key() for e in examples}) == len(examples)


# -- personal data -----------------------------------------------------------------------------


def test_personal_data_is_replaced_in_every_message(shop: tuple[Database, Store]) -> None:
    db, store = shop
    example = by_id(collect(db, Selection()), store, "personal", "bot")
    chat = example.chat()["messages"]
    assert chat[0] == {"role": "system", "content": SYSTEM_PROMPT}
    text = json.dumps([chat[1:], example.plain()], ensure_ascii=False)
    for personal in ("Anna", "Vries", "anna.devries", "12345678", "4111", "Dorpsstraat",
                     "1234 AB"):  # fmt: skip
        assert personal not in text
    for placeholder in ("[NAME]", "[EMAIL]", "[PHONE]", "[CARD]", "[ADDRESS]"):
        assert placeholder in chat[-2]["content"]
    for fact in ("HP-104381", "EUR 89.95", "2026-08-01", "5 August 2026", "3SHRPN719579457"):
        assert fact in chat[-2]["content"]  # the question and its sources
    for fact in ("HP-104381", "EUR 89.95", "5 August 2026", "3SHRPN719579457"):
        assert fact in chat[-1]["content"]  # the answer
    assert example.answer.startswith("Hi [NAME], HP-104381")
    assert "[NAME], it was delivered." in chat[-2]["content"]  # the sources too
    assert example.scrubbed == {"name": 3, "email": 1, "phone": 2, "card": 1, "address": 2}


@pytest.mark.parametrize(
    "fact",
    ["HP-123456", "EUR 89.95", "€1,299.00", "2026-03-12", "12-03-2026", "05.08.2026",
     "5 August 2026", "3SHRPN719579457", "INV-2026-012407", "00340434161094015902",
     "1000 ML", "3 tents on the way"],
)  # fmt: skip
def test_order_ids_prices_dates_and_tracking_numbers_stay(fact: str) -> None:
    assert scrub(f"about {fact}, thanks", ["Anna de Vries"]) == (f"about {fact}, thanks", {})


@pytest.mark.parametrize(
    ("text", "kind"),
    [("+31 6 12345678", "phone"), ("06-12345678", "phone"), ("0612345678", "phone"),
     ("(020) 123 4567", "phone"), ("+44 20 7946 0958", "phone"),
     ("anna.devries@example.com", "email"), ("<@U0123ABC>", "name"), ("<@U1|sam>", "name"),
     ("Anna de Vries", "name"), ("anna de vries", "name"), ("Vries", "name"),
     ("Keizersgracht 123-2", "address"), ("221B Baker Street", "address"),
     ("12 baker street", "address"), ("1015 CJ", "address"), ("SW1A 1AA", "address"),
     ("4111 1111 1111 1111", "card"), ("4111-1111-1111-1111", "card"),
     ("4111111111111111", "card"), ("1234 5678 9012 3456", "card")],
)  # fmt: skip
def test_personal_data_becomes_a_placeholder(text: str, kind: str) -> None:
    scrubbed, counts = scrub(f"it is {text}.", ["Anna de Vries"])
    assert scrubbed == f"it is [{kind.upper()}]."
    assert counts == {kind: 1}


def test_numbers_from_the_records_stay_and_names_need_a_capital() -> None:
    assert scrub("tracking 4111111111111111", keep=["4111111111111111"])[0] == \
        "tracking 4111111111111111"  # fmt: skip
    assert scrub("Will it arrive? It will.", ["Will Jones"])[0] == "[NAME] it arrive? It will."
    assert scrub("this is will jones", ["Will Jones"])[0] == "this is [NAME]"
    assert scrub("Mark here: mark the parcel", ["Mark"])[0] == "[NAME] here: mark the parcel"
    assert scrub("a run 1234567890123456 that fails Luhn")[1] == {}
    assert luhn("4111111111111111")
    assert not luhn("4111111111111112")


# -- the files ---------------------------------------------------------------------------------


def test_every_line_is_chat_format_and_passes_finetunes_check(
    shop: tuple[Database, Store], tmp_path: Path
) -> None:
    summary = export(shop[0], tmp_path, Selection(), validation_share=0.3, seed=7)
    assert summary.conversations == {"train": 3, "validation": 2}  # 30% of 5 conversations
    assert summary.examples == 7
    for name in ("train", "validation"):
        assert check_dataset(tmp_path / f"{name}.jsonl", minimum=1).examples == summary.sizes[name]
        for line in (tmp_path / f"{name}.jsonl").read_text().splitlines():
            validate_chat_line(json.loads(line))
        plain = [json.loads(line) for line in (tmp_path / f"{name}.plain.jsonl").open()]
        assert len(plain) == summary.sizes[name]
        assert list(plain[0]) == PLAIN_FIELDS
    written = json.loads((tmp_path / "summary.json").read_text())
    assert written["by_source"] == {"bot": 5, "agent": 1, "retried": 1}
    assert written["duplicates"] == 1
    assert written["dropped"]["thumbs down"] == 1
    assert written["scrubbed"]["name"] >= 3


def test_the_split_is_fixed_by_the_seed_and_keeps_conversations_whole(
    shop: tuple[Database, Store],
) -> None:
    examples = collect(shop[0], Selection())
    train, validation = split(examples, 0.4, seed=3)
    assert (train, validation) == split(examples, 0.4, seed=3)
    assert not {e.conversation_id for e in train} & {e.conversation_id for e in validation}
    assert len({e.conversation_id for e in validation}) == 2  # 40% of 5 conversations
    splits = {tuple(e.id for e in split(examples, 0.4, seed=s)[1]) for s in range(10)}
    assert len(splits) > 1  # the seed decides


def test_no_validation_removes_an_old_validation_file(
    shop: tuple[Database, Store], tmp_path: Path
) -> None:
    (tmp_path / "validation.jsonl").write_text("old\n")
    summary = export(shop[0], tmp_path, Selection(), validation_share=0)
    assert summary.sizes == {"train": 7, "validation": 0}
    assert not (tmp_path / "validation.jsonl").exists()  # `finetune` would pick it up


@pytest.mark.parametrize(
    ("line", "problem"),
    [({"messages": []}, "non-empty list"),
     ({"messages": [{"role": "user", "content": "hi"}]}, "assistant"),
     ({"messages": [{"role": "assistant", "content": "hi"}]}, "no user message"),
     ({"messages": [{"role": "customer", "content": "hi"},
                    {"role": "assistant", "content": "hello"}]}, "role 'customer'"),
     ({"messages": [{"role": "user", "content": ["hi"]},
                    {"role": "assistant", "content": "hello"}]}, "not a string"),
     ({"messages": [{"role": "user", "content": "hi"}, {"role": "system", "content": "x"},
                    {"role": "assistant", "content": "hello"}]}, "only come first"),
     ({"prompt": "hi", "completion": "hello"}, '"messages"')],
)  # fmt: skip
def test_a_line_not_in_chat_format_is_refused(line: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        validate_chat_line(line)


def test_nothing_left_says_which_filter_took_what(shop: tuple[Database, Store]) -> None:
    with pytest.raises(NothingToExportError, match=r"of 13 answers.*channel 13"):
        export(shop[0], Path("unused"), Selection(channels=frozenset({"telegram"})))


def test_postgresql_gives_the_same_examples(db: Database) -> None:
    store = populate(db)
    assert taken(collect(db, Selection()), store) == DEFAULT


# -- the command -------------------------------------------------------------------------------


def test_the_command_writes_the_files_and_prints_a_summary(
    shop: tuple[Database, Store], settings: Settings
) -> None:
    result = runner.invoke(dataset_app, ["export", "--validation-share", "0.2", "--seed", "1"],
                           obj=CliServices(settings))  # fmt: skip
    assert result.exit_code == 0, result.output
    out = settings.data_dir / "datasets"
    assert f"examples written to {out}" in result.output
    assert "  train                        6  (4 conversations)" in result.output
    assert "  retried                      1" in result.output
    assert "  duplicate                    1" in result.output
    assert "answers stating facts their sources do not have: 1 (kept" in result.output
    assert check_dataset(out / "train.jsonl", minimum=1).examples == 6
    assert json.loads((out / "summary.json").read_text())["validation"] == 1


def test_the_command_with_flags(shop: tuple[Database, Store], settings: Settings,
                                tmp_path: Path) -> None:  # fmt: skip
    result = runner.invoke(dataset_app, [
        "export", "--out", str(tmp_path), "--outcome", "agent_resolved", "--outcome",
        "handed_off_unresolved", "--source", "agent", "--channel", "web", "--since", "2026-03-01",
    ], obj=CliServices(settings))  # fmt: skip
    assert result.exit_code == 0, result.output
    plain = [json.loads(line) for line in (tmp_path / "train.plain.jsonl").open()]
    assert [(p["source"], p["outcome"]) for p in plain] == [("agent", "handed_off_unresolved")]


def test_the_command_fails_plainly_when_nothing_matches(
    shop: tuple[Database, Store], settings: Settings
) -> None:
    args = ["export", "--min-satisfaction", "5", "--feedback", "up", "--source", "agent"]
    result = runner.invoke(dataset_app, args, obj=CliServices(settings))
    assert result.exit_code == 1
    assert "error: no example left: of 13 answers" in result.output
    assert "source 11, " in result.output
    assert "satisfaction 1" in result.output


def test_the_command_without_a_database_names_it(tmp_path: Path) -> None:
    bare = load_settings(tmp_path / "empty")
    result = runner.invoke(dataset_app, ["export"], obj=CliServices(bare))
    assert result.exit_code == 1
    assert f"error: no database at {tmp_path / 'empty' / 'shopclerk.db'}" in result.output


# -- the store's own words ---------------------------------------------------------------------

MOORING = "Harbor & Pine Mooring 35 Travel Backpack"
MOORING_DOC = {"id": "product:BAG-1080", "text": (
    f"{MOORING} (BAG-1080), EUR 129.00, 14 in stock. A 35 L travel backpack measuring "
    "55 x 35 x 20 cm.")}  # fmt: skip
ANSWER = (f"Yes: the {MOORING} measures 55 x 35 x 20 cm. Questions? Call +31 30 555 0142 or "
          "email support@harborandpine.example.")  # fmt: skip


def test_the_store_vocabulary_survives_redaction(tmp_path: Path) -> None:
    """Product names, brands, SKUs and the FAQ's phone number are the store's, never a
    customer's, though "Mooring 35" reads like a German "-ring" street and its number."""
    db = open_database(f"sqlite:///{tmp_path / 'shop.db'}")
    upgrade(db)
    import_products(db, demo_file("products.json"))
    import_faq(db, demo_file("faq.json"))
    with Session(db, expire_on_commit=False) as session:
        w = Writer(session, Store())
        w.conversation("mooring", "2026-03-02", customer_name="Sam Pine")
        w.say("customer", "Is the mooring 35 backpack (BAG-1080) cabin size? Send it to "
              "Kaiserring 12, I'm Sam Pine, +31 6 12345678.", [MOORING_DOC],
              intent="product_info")  # fmt: skip
        w.reply(ANSWER)
        w.end("bot_resolved", 5)
        session.commit()

    [example] = collect(db, Selection())
    with Session(db) as session:
        store = store_words(session)
    db.dispose()

    assert "the mooring 35 backpack (BAG-1080)" in example.question
    assert "Send it to [ADDRESS], I'm [NAME], [PHONE]." in example.question
    assert example.answer == ANSWER
    assert example.documents[0].text == MOORING_DOC["text"]
    assert example.scrubbed == {"address": 1, "name": 1, "phone": 1}
    alone, _ = scrub("Pine here, about my Harbor & Pine bag", ["Sam Pine"], store=store)
    assert alone == "[NAME] here, about my Harbor & Pine bag"
