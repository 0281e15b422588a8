"""The engine: one customer message in, one `Turn` (understanding + decision) out.

    guard -> requests -> spelling -> embed -> intent -> slots -> look-ups -> answer -> decision
          -> record

Every stage is injected and usable alone. `handle_many` runs a batch of messages (from many
conversations) through the embedding model in one call, which is where the time goes. A message
holding several requests ("where is HP-105442 and can I pay with Klarna?") is split before
embedding (engine/requests.py), each request is one more text in the batch, and its turn answers
them all in one reply. At a handoff the agent's draft answers the customer's problem from the
conversation, or is empty (engine/drafts.py).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, tzinfo
from typing import Any, Protocol

from sqlmodel import Session

from engine.clock import utcnow
from engine.drafts import last_answer, own_draft, problem_intent, remembered
from engine.generators.base import Context, Generator
from engine.generators.prompt import documents
from engine.guard import NOT_ENGLISH, Checked, InputGuard
from engine.intent_data import FAILED_INTENTS, NOT_A_TOPIC, model_text
from engine.intents import IntentClassifier
from engine.language import LanguageCheck
from engine.lookup import FAQ_GENERAL_SCORE, Findings, Lookup
from engine.models import Conversation, Message, Role
from engine.owners import BOT
from engine.places import Places
from engine.policy import (
    COMPLAINT,
    COMPLAINTS,
    IS_QUESTION,
    POLICY_INTENTS,
    DecisionPolicy,
    TurnFacts,
)
from engine.proof import Asker, ProofLedger, ProofLimits, asker, author_memory, store_author_memory
from engine.references import meant_by_pronoun, pointed_at, remember_products
from engine.requests import combined, split_requests
from engine.slots import ORDER_INTENTS, SlotExtractor
from engine.spelling import SpellingCorrector, spell_out
from engine.store import ConversationStore, Seen, SeqConflictError
from engine.types import (
    Answer,
    Correction,
    Decision,
    Forwarded,
    Handoff,
    HandoffReason,
    Inbound,
    IntentResult,
    Reply,
    Slots,
    Turn,
)
from engine.understanding import DraftSeen, Understanding
from kb.embeddings import Vectors
from kb.search import HybridSearch

log = logging.getLogger(__name__)

# Tries to record a batch whose conversations other processes keep writing. From the second on
# its rows are locked while it is computed (PostgreSQL), so a second try does not lose.
RECORD_TRIES = 5


class Encoder(Protocol):
    def encode(self, texts: Sequence[str], batch_size: int = 64) -> Vectors: ...


@dataclass
class Stages:
    guard: InputGuard
    speller: SpellingCorrector
    language: LanguageCheck
    encoder: Encoder
    intents: IntentClassifier
    slots: SlotExtractor
    lookup: Lookup
    generator: Generator
    policy: DecisionPolicy
    timezone: tzinfo = UTC  # the store's: dates in the sources a model is given
    # Places read as countries, for the search and the embedding ("to oslo (Norway)").
    places: Places = field(default_factory=Places.from_geonames)
    proofs: ProofLimits = field(default_factory=ProofLimits)  # failed proofs of an order

    def searched(self, corrected: str) -> str:
        """What is searched for and embedded: the corrected text with the countries it names
        and what its shorthands stand for added."""
        return self.places.note(spell_out(corrected))


@dataclass(frozen=True)
class Knowledge:
    """The stages built from what the store holds (its FAQ and catalog): the search, the
    spelling corrector that never corrects the store's own words, and the slot extractor that
    knows its products. They change together, when the FAQ or the catalog does."""

    search: HybridSearch
    speller: SpellingCorrector
    slots: SlotExtractor


@dataclass(frozen=True)
class _Batch:
    """Messages checked, split into their requests and spell-corrected, ready to embed: one
    text per request, `requests[n]` of them for the n-th message."""

    inbounds: Sequence[Inbound]
    checked: list[Checked]
    corrections: list[Correction]
    searched: list[str]  # what is searched and embedded: corrected, with the places it names
    requests: list[int]

    def of(self, n: int) -> range:
        """Where the n-th message's requests are in `checked`, `corrections`, `searched` and
        the vectors."""
        start = sum(self.requests[:n])
        return range(start, start + self.requests[n])

    @property
    def model_texts(self) -> list[str]:
        return [model_text(t) for t in self.searched]


class Engine:
    def __init__(self, stages: Stages, store: ConversationStore) -> None:
        self.stages = stages
        self.store = store
        self.ledger = ProofLedger(stages.proofs)

    def replace_knowledge(self, knowledge: Knowledge) -> None:
        """Answer from `knowledge` from the next turn on (the FAQ or the catalog changed). Call
        it on the engine's thread, between two batches of turns: a turn sees all old parts or
        all new ones."""
        s = self.stages
        s.lookup = Lookup(s.lookup.orders, knowledge.search)
        s.speller, s.slots = knowledge.speller, knowledge.slots

    def handle(self, inbound: Inbound) -> Turn:
        return self.handle_many([inbound])[0]

    def handle_many(self, inbounds: Sequence[Inbound]) -> list[Turn]:
        batch = self._prepare(inbounds)
        return self._answer(batch, self.stages.encoder.encode(batch.model_texts))

    def handle_stream(self, batches: Iterable[Sequence[Inbound]]) -> Iterator[list[Turn]]:
        """Answer batch after batch, embedding the next batch while this one is answered.

        The answers to a batch are yielded once the next batch has been taken: a caller with
        nothing more yet passes an empty batch, which lets the last one through.

        ONNX Runtime releases the GIL while it runs, so with one core for the model and the
        caller's thread for everything else, a stream costs about what embedding it costs.
        Embedding depends on the text alone; all conversation state stays on this thread.
        """
        with ThreadPoolExecutor(1, thread_name_prefix="embedding") as model:
            waiting: tuple[_Batch, Future[Vectors]] | None = None
            for inbounds in batches:
                batch = self._prepare(inbounds)
                embedding = model.submit(self.stages.encoder.encode, batch.model_texts)
                if waiting is not None:
                    yield self._answer(waiting[0], waiting[1].result())
                waiting = (batch, embedding)
            if waiting is not None:
                yield self._answer(waiting[0], waiting[1].result())

    def _prepare(self, inbounds: Sequence[Inbound]) -> _Batch:
        s = self.stages
        checked, requests = [], []
        for inbound in inbounds:
            whole = s.guard.check(inbound.text)
            parts = [whole] if whole.refusal else [Checked(r) for r in split_requests(whole.text)]
            checked += parts
            requests.append(len(parts))
        corrections = [
            s.speller.correct(c.text) if c.refusal is None else Correction(c.text, c.text)
            for c in checked
        ]
        searched = [s.searched(c.corrected) for c in corrections]
        return _Batch(inbounds, checked, corrections, searched, requests)

    def _answer(self, batch: _Batch, vectors: Vectors) -> list[Turn]:
        """The batch's turns, recorded. If another process wrote one of its conversations
        meanwhile, the whole batch is computed again from a fresh load (its security log rows
        were in the rolled-back transaction too), with its rows locked from the second try on:
        the conflict costs the batch a few milliseconds, never a turn."""
        if not batch.inbounds:  # a stream may pass an empty batch to flush the previous one
            return []
        for attempt in range(RECORD_TRIES):
            with self.store.session() as session:
                turns = self._recorded(session, batch, vectors, lock=attempt > 0)
            if turns is not None:
                return turns
        raise SeqConflictError(f"a batch of {len(batch.inbounds)} lost {RECORD_TRIES} times")

    def _recorded(
        self, session: Session, batch: _Batch, vectors: Vectors, *, lock: bool
    ) -> list[Turn] | None:
        """The batch's turns, computed and recorded in one transaction; None if one of its
        conversations was written meanwhile (nothing recorded then)."""
        keys = [(i.channel, i.conversation_key) for i in batch.inbounds]
        turns, rows, of_turn = [], [], []
        seen: set[tuple[int, str]] = set()
        conversations = self.store.load_many(session, keys, lock=lock)
        as_read = {c.id or 0: Seen.of(c) for c in conversations.values()}
        asked = self.store.asked_before(
            session,
            {
                (conversations[keys[n]].id or 0, i.client_message_id)
                for n, i in enumerate(batch.inbounds)
                if i.client_message_id and conversations[keys[n]].last_seq > 0
            },
        )
        for n, inbound in enumerate(batch.inbounds):
            conversation = conversations[keys[n]]
            resent = self._resent(session, conversation, inbound, seen, asked)
            if resent is not None:  # answered once already: not again, not stored twice
                turns.append(resent)
                continue
            turn = self._requests(session, inbound, conversation, batch, vectors, n)
            turn = replace(turn, conversation_id=conversation.id)
            turns.append(turn)
            mine = _message_rows(turn, conversation)
            of_turn.append((len(turns) - 1, mine))
            rows += mine
        if self.store.record(session, conversations.values(), rows, as_read):
            for n, mine in of_turn:  # with their ids now
                turns[n] = replace(turns[n], stored=tuple(Message(**row) for row in mine))
            return turns
        written = self.store.changed(session, as_read)
        log.info("conversations %s written meanwhile: a batch of %d again", written, len(keys))
        return None

    def _requests(
        self,
        session: Session,
        inbound: Inbound,
        conversation: Conversation,
        batch: _Batch,
        vectors: Vectors,
        n: int,
    ) -> Turn:
        """The n-th message's turn: one request's, or one answering each of its requests in
        turn (each sees what the ones before it established, the product or order named)."""
        where = batch.of(n)

        def request(k: int) -> Turn:
            return self._turn(
                session,
                inbound,
                conversation,
                batch.checked[k],
                batch.corrections[k],
                batch.searched[k],
                vectors[k],
            )

        if len(where) == 1:
            return request(where[0])
        failures, parts, awaited = conversation.failures_in_a_row, [], {}
        for k in where:
            conversation.failures_in_a_row = failures  # one message: one failure at most
            parts.append(request(k))
            if conversation.memory.get("awaiting"):  # a question of ours the reply answers
                awaited = {key: conversation.memory.get(key) for key in ("awaiting", "last_intent")}
        conversation.memory = {**conversation.memory, **awaited}
        turn = combined(parts)
        if conversation.owner == BOT:
            conversation.failures_in_a_row = failures + 1 if turn.failed else 0
        return turn

    def _resent(
        self,
        session: Session,
        conversation: Conversation,
        inbound: Inbound,
        seen: set[tuple[int, str]],
        asked: set[tuple[int, str]],
    ) -> Turn | None:
        """A duplicate of a message received before (`asked`: stored already) or earlier in
        this batch (`seen`): its earlier reply, marked "duplicate", not a new turn."""
        client_id, conversation_id = inbound.client_message_id, conversation.id or 0
        if client_id is None:
            return None
        if (conversation_id, client_id) in seen:
            earlier: str | None = ""
        else:
            seen.add((conversation_id, client_id))
            earlier = None
            if (conversation_id, client_id) in asked:
                earlier = self.store.earlier_reply(session, conversation_id, client_id)
        if earlier is None:
            return None
        same = Correction(inbound.text, inbound.text)
        return Turn(
            inbound,
            same,
            _NO_INTENT,
            Slots(),
            Reply(earlier),
            rejected="duplicate",
            conversation_id=conversation.id,
        )

    def _turn(
        self,
        session: Session,
        inbound: Inbound,
        conversation: Conversation,
        checked: Checked,
        correction: Correction,
        searched: str,
        vector: Vectors,
    ) -> Turn:
        """Understand the message and decide; while a person owns the conversation, the
        decision is always `Forwarded` (with the bot's draft): the bot never answers then."""
        s, owner = self.stages, conversation.owner
        _remember_customer(conversation, inbound)
        if checked.refusal is not None:
            refused = Reply(checked.refusal)
            return Turn(
                inbound,
                correction,
                _NO_INTENT,
                Slots(),
                _unless_owned(owner, refused),
                rejected=checked.reason,
            )
        english_share = s.speller.known_share(checked.text)
        if s.language.other_language(checked.text, english_share) is not None:
            if owner == BOT:
                conversation.failures_in_a_row += 1
            handoff = Handoff(HandoffReason.NO_GROUNDED_ANSWER, NOT_ENGLISH)
            return Turn(inbound, correction, _NO_INTENT, Slots(), _unless_owned(owner, handoff))
        text, memory = correction.corrected, conversation.memory
        mine = author_memory(memory, inbound.sender)  # what this message's author proved
        slots = s.slots.extract(text)
        intent = _follow_up(s.intents.classify(vector, model_text(searched)), slots, memory, text)
        intent = _referred(intent, slots, text, memory)
        # What earlier turns established; the order and last answer only if they are this author's.
        earlier = {**memory, **{k: mine.get(k) for k in ("order_id", "last_answer")}}
        slots = s.slots.carry(slots, intent.intent, earlier)
        who = self._asker(session, inbound, conversation, mine, slots)
        intent = self.settle_intent(intent, slots, text)
        findings = s.lookup.find(searched, vector, intent, slots, who)
        if findings.evidence is not None:  # the FAQ answers it: not "not sure", not off-topic
            findings.faq = [findings.evidence]
            intent = IntentResult(FAQ_ANSWER, findings.evidence.score, intent.candidates)
        elif intent.intent in FAILED_INTENTS and findings.products:  # the catalog does
            intent = IntentResult("product_info", findings.products[0].score, intent.candidates)
        elif (
            intent.unsure
            and intent.candidates[0].intent in COMPLAINTS
            and not IS_QUESTION.search(text)
        ):  # nothing in the store answers it and it tells of a problem ("my item is
            # defective"): a person, not a list of guesses; a question gets the guesses.
            intent = IntentResult(COMPLAINT, intent.confidence, intent.candidates)
        elif _faq_answers_instead(intent, findings, text):
            intent = IntentResult(FAQ_ANSWER, findings.faq[0].score, intent.candidates)
        if findings.tried is not None:
            self.ledger.failed(session, inbound, conversation.id, *findings.tried)
        elif findings.order_access == "locked":
            self.ledger.refused(session, inbound, conversation.id, slots.order_id)
        known = bool(who.proved)
        answer = s.generator.answer(Context(text, intent, slots, findings, known))
        facts = TurnFacts(
            text,
            intent,
            findings,
            conversation.failures_in_a_row,
            bool(memory.get("asked_to_clarify")),
        )
        decision = s.policy.decide(facts, answer) if owner == BOT else Forwarded(owner, answer)
        if not isinstance(decision, Reply):
            draft = self._agents_draft(decision, text, vector, intent, slots, who, earlier, answer)
            decision = replace(decision, draft=draft)
        _remember(conversation, inbound.sender, intent, slots, findings, answer)
        sources = documents(findings, answer.text if answer.grounded else None, s.timezone)
        return Turn(
            inbound,
            correction,
            intent,
            slots,
            decision,
            documents=tuple(d.as_dict() for d in sources),
            failed=answer.failed,
        )

    @staticmethod
    def settle_intent(intent: IntentResult, slots: Slots, text: str) -> IntentResult:
        """What the words themselves settle, whatever the intent model says: someone who asks
        for a person gets one, and so does a charge they never made or a lawyer; another shop's
        order is not this shop's; an order number makes an order question, a product the
        customer named a product question."""
        if ASKS_FOR_PERSON.search(text):
            return IntentResult("contact_human_agent", 1.0, intent.candidates)
        if SERIOUS_MATTER.search(text):
            return IntentResult(COMPLAINT, 1.0, intent.candidates)
        if ANOTHER_SHOP.search(text) and not slots.order_id:
            return IntentResult("out_of_scope", 1.0, intent.candidates)
        if intent.intent in COMPLAINTS and intent.confidence < COMPLAINT_SURE:
            # A person is called in for a problem the model is sure of; "says delivered but
            # what does that mean" is not one, and what the store knows answers it.
            intent = IntentResult("unsure", intent.confidence, intent.candidates)
        if intent.intent in FAILED_INTENTS and slots.order_id:
            # An order number settles what it is about: the likeliest thing to do with an order.
            likeliest = next(
                (
                    c
                    for c in intent.candidates
                    if c.intent in ORDER_INTENTS and c.intent not in COMPLAINTS
                ),
                None,
            )
            chosen = likeliest.intent if likeliest else "track_order"
            return IntentResult(chosen, intent.confidence, intent.candidates)
        if slots.product_skus and intent.intent in FAILED_INTENTS | {"place_order"}:
            # "i want to buy the vidde tent": its price, stock and page, not how ordering works
            return IntentResult("product_info", intent.confidence, intent.candidates)
        return intent

    def _agents_draft(
        self,
        decision: Handoff | Forwarded,
        text: str,
        vector: Vectors,
        intent: IntentResult,
        slots: Slots,
        who: Asker,
        earlier: dict[str, Any],
        answer: Answer,
    ) -> Answer | None:
        """What the agent is offered to send: an answer to the customer's actual problem,
        from this message or the conversation, or nothing (engine/drafts.py)."""
        draft = own_draft(intent, answer)
        if draft is None and intent.intent == "contact_human_agent":
            draft = self._problem_answer(text, vector, intent, slots, who, earlier)
        if draft is None and isinstance(decision, Handoff) and intent.intent != "smalltalk":
            draft = last_answer(earlier)
        return draft

    def _problem_answer(
        self,
        text: str,
        vector: Vectors,
        intent: IntentResult,
        slots: Slots,
        who: Asker,
        earlier: dict[str, Any],
    ) -> Answer | None:
        """The answer to what a message asking for a person is about besides ("... my parcel
        never came"), when it says more."""
        topic = problem_intent(intent, ASKS_FOR_PERSON.sub(" ", text))
        if topic is None:
            return None
        s = self.stages
        slots = s.slots.carry(replace(slots, carried=list(slots.carried)), topic.intent, earlier)
        findings = s.lookup.find(text, vector, topic, slots, who)
        return own_draft(
            topic, s.generator.answer(Context(text, topic, slots, findings, bool(who.proved)))
        )

    def _asker(
        self,
        session: Session,
        inbound: Inbound,
        conversation: Conversation,
        mine: dict[str, Any],
        slots: Slots,
    ) -> Asker:
        who = asker(inbound, mine, conversation.customer_email, slots.email)
        if slots.order_id is None or not who.given:
            return who  # nothing to prove by a typed email this turn
        locked = self.ledger.locked(
            session, conversation.id, inbound.client_address, slots.order_id, who.given
        )
        return replace(who, locked=locked)


# The complaint probability from which a message is taken as a problem for a person to put
# right. Chosen on natural_dev.jsonl (0.65, 0.75 and none tried): unsure complaints were
# mostly questions the FAQ answers ("says delivered but what does that actually mean": 0.55).
COMPLAINT_SURE = 0.75
FAQ_ANSWER = "faq"  # the intent of a message answered from the FAQ on the match alone
_PERSON = (
    r"(human|person|agent|operator|manager|supervisor|representative|customer service|someone real"
    r"|someone|somebody|(an? )?employee|(a |your )?staff|(a |your )?colleague|a real one)"
)
ASKS_FOR_PERSON = re.compile(
    rf"^\W*{_PERSON}\W*(please|pls|plz|now)?\W*$"  # "agent pls", "operator"
    rf"|\b(talk|speak|chat|connect|put|get|transfer)\b[^.?!]{{0,25}}\b(to|me|with)\b"
    rf"[^.?!]{{0,12}}\b{_PERSON}\b"  # "let me talk to a human", "get me someone who can help"
    rf"|\bpass me\b[^.?!]{{0,12}}\b{_PERSON}\b"  # "can you pass me to a colleague"
    r"|\b(real|actual|live)\s+(person|human|agent)\b"  # "i want a real person, not a bot"
    # "i'd like a human to look at my case", "need an agent"
    r"|\b(want|need|like|get|have)\s+(a|an|some)\s+(human|person|agent)\b"
    r"|\bescalat(e|ed|ion)\b"  # "escalate to a supervisor", "i want to escalate this"
    # "can someone from customer care call me back?"
    r"|\b(someone|somebody|an? (agent|person|human|colleague))\b[^.?!]{0,25}"
    r"\b(call|ring|phone) me\b"
    r"|\bcall me back\b",
    re.IGNORECASE,
)


def _faq_answers_instead(intent: IntentResult, findings: Findings, text: str) -> bool:
    """A person is called in for complaints and for what a person must do (deleting an
    account), unless the message asks what an FAQ entry answers well: a grievance that asks
    ("earbuds died, can they be repaired?") or a question about how it is done ("how can I
    delete my account?", where "please delete my account" still goes to a person)."""
    if not findings.faq or findings.faq[0].score < FAQ_GENERAL_SCORE:
        return False
    if intent.intent in COMPLAINTS:
        return True
    return intent.intent in POLICY_INTENTS and IS_QUESTION.search(text) is not None


# Matters a person must take up whatever else the message asks: a charge or an order the
# customer never made, a bank dispute, legal steps.
SERIOUS_MATTER = re.compile(
    r"\b(fraud|fraudulent|scam(med)?|unauthori[sz]ed|chargeback|charge-back|legal action"
    r"|sue you|small claims|consumer (authority|protection)|ombudsman|trading standards)\b"
    r"|\b((my|our) |(go(ing)?|went) to (a |my )?|(contact|involve|get|call|hire) (a |my ))"
    r"(lawyer|solicitor|attorney)\b"
    r"|\b(disputed?|contested?) (the |this |a )?(payment|charge|transaction)\b"
    r"|\b(never|didn'?t|did not) (make|made|place|placed|order|ordered|authori[sz]e)\b"
    r"[^.?!]{0,30}\b(this|that|it|order|payment|charge|purchase)\b(?!\s+yet\b)"
    r"|\b(charge|payment|order|purchase)\b[^?!]{0,60}\b(i|we) (never|didn'?t|did not) "
    r"(make|made|place|placed|order|ordered|authori[sz]e)\b"
    r"|\b(it )?(was ?n'?t|was not|wasnt) me\b",
    re.IGNORECASE,
)
# Other shops customers mix up with this one ("my amazon package is late"): not ours to answer.
ANOTHER_SHOP = re.compile(
    r"\b(amazon|ebay|etsy|aliexpress|alibaba|temu|shein|wish\.com|walmart|target\.com|ikea"
    r"|decathlon|zalando|bol\.com|coolblue|mediamarkt|asos|argos|john lewis|costco"
    r"|best buy|home depot)\b",
    re.IGNORECASE,
)


def _unless_owned(owner: str, decision: Reply | Handoff) -> Decision:
    return decision if owner == BOT else Forwarded(owner)


_NO_INTENT = IntentResult("none", 0.0, ())


def _remember_customer(conversation: Conversation, inbound: Inbound) -> None:
    if inbound.customer_email and not conversation.customer_email:
        conversation.customer_email = inbound.customer_email.lower()
    if inbound.customer_name and not conversation.customer_name:
        conversation.customer_name = inbound.customer_name


# Nothing but an order number or email and filler words: "and HP-105372?", "what about order
# #105372", "ok, and for anna@example.org". (Order numbers and emails, as slots.py reads them.)
_ONLY_A_REFERENCE = re.compile(
    r"^\W*(?:ok\W+|okay\W+)?(?:and|also|what about|how about|same for|now)?\W*(?:for\W+)?"
    r"(?:(?:the|my|this|that)\s+)?(?:other\s+)?(?:order|one|parcel|package|email)?\W*"
    r"(?:(?:number|no|nr|id)\W*)?(?:#?\s*[A-Za-z]{0,3}[- ]?\d{5,}|[\w.+-]+@[\w-]+(?:\.[\w-]+)+)"
    r"\W*(?:too|as well|then|please|pls)?\W*$",
    re.IGNORECASE,
)


def _follow_up(
    intent: IntentResult, slots: Slots, memory: dict[str, object], text: str = ""
) -> IntentResult:
    """Short answers to our own questions, and a bare next reference ("and order HP-105372?"),
    continue the previous topic."""
    previous = memory.get("last_intent")
    if not isinstance(previous, str):
        return intent
    awaited = memory.get("awaiting")
    gave_awaited = (awaited == "email" and slots.email) or (
        awaited == "order_id" and (slots.order_id or slots.malformed_order_id)
    )
    vague = intent.intent in FAILED_INTENTS
    gave_something = slots.order_id or slots.email or slots.product_skus
    bare = bool(slots.order_id or slots.email) and _ONLY_A_REFERENCE.match(text) is not None
    if gave_awaited or (gave_something and (vague or bare)):
        slots.carried.append("intent")
        return IntentResult(previous, intent.confidence, intent.candidates)
    return intent


def _referred(
    intent: IntentResult, slots: Slots, text: str, memory: dict[str, object]
) -> IntentResult:
    """Products pointed at, not named: "no, the other one", "the second one", and "it" in
    a short message the intent model cannot place ("how much is it?")."""
    if slots.product_skus or intent.intent not in NOT_A_TOPIC | {"product_info"}:
        return intent
    skus = pointed_at(text, memory)
    if not skus and intent.intent in FAILED_INTENTS:
        skus = meant_by_pronoun(text, memory)
    if not skus:
        return intent
    slots.product_skus = skus
    slots.carried.append("product_skus")
    return IntentResult("product_info", intent.confidence, intent.candidates)


def _remember(
    conversation: Conversation,
    sender: str | None,
    intent: IntentResult,
    slots: Slots,
    findings: Findings,
    answer: Answer,
) -> None:
    memory = dict(conversation.memory)
    if intent.intent not in NOT_A_TOPIC:
        memory["last_intent"] = intent.intent
    mine = author_memory(memory, sender)
    if slots.email:
        mine["emails"] = sorted({*mine.get("emails", []), slots.email.lower()})
    if slots.order_id:
        mine["order_id"] = slots.order_id
    elif findings.order is not None:
        mine["order_id"] = findings.order.order_id
    if findings.order is not None and findings.order_access == "shown":
        # Order id and email matched: from now on this author is that order's customer.
        email = findings.order.customer_email.lower()
        mine["proved"] = sorted({*mine.get("proved", []), email})
        if sender is None:  # one person's conversation: it is this customer's
            memory.setdefault("verified_email", email)
            conversation.customer_name = conversation.customer_name or findings.order.customer_name
    if answer.sources and own_draft(intent, answer) is not None:  # an agent's draft later
        mine["last_answer"] = remembered(answer)  # the author's own: it may show their order
    memory = store_author_memory(memory, sender, mine)
    found = [p.record.sku for p in findings.products] if intent.intent == "product_info" else []
    remember_products(memory, slots.product_skus, found)
    awaiting = None
    if findings.order_access == "needs_email":
        awaiting = "email"
    elif (
        intent.intent not in NOT_A_TOPIC | {"product_info"}
        and findings.order_access in ("none_given", "malformed")
        and findings.order is None
        and not findings.faq
    ):
        awaiting = "order_id"
    memory["awaiting"] = awaiting
    memory["asked_to_clarify"] = intent.unsure
    conversation.memory = memory
    if conversation.owner == BOT:
        conversation.failures_in_a_row = conversation.failures_in_a_row + 1 if answer.failed else 0
    else:  # a person answers now: the bot starts afresh when it is handed back
        conversation.failures_in_a_row = 0


def _message_rows(turn: Turn, conversation: Conversation) -> list[dict[str, Any]]:
    """The customer's message (exactly as sent, even when too long to answer) and the bot's
    reply, unless a person owns the conversation: then only the message, with the bot's draft
    kept beside it for the agent."""
    data, decision, now = turn.as_dict(), turn.decision, utcnow()
    conversation_id, seq = conversation.id or 0, conversation.last_seq
    understanding = Understanding(
        candidates=data["candidates"], slots=data["slots"], rejected=turn.rejected
    )
    if turn.requests:  # a message with several requests: what each was understood as
        understanding.requests = data["requests"]
    if turn.documents:  # what a model is given to answer this message (and trained on)
        understanding.documents = list(turn.documents)
    if turn.draft is not None:
        understanding.draft = DraftSeen(
            text=turn.draft.text, sources=[s.as_dict() for s in turn.draft.sources]
        )
    customer = {
        "conversation_id": conversation_id,
        "seq": seq + 1,
        "role": Role.CUSTOMER,
        "text": turn.inbound.text,
        "corrected_text": turn.correction.corrected,
        "client_message_id": turn.inbound.client_message_id,
        "intent": turn.intent.intent,
        "intent_confidence": turn.intent.confidence,
        "decision": None,
        "handoff_reason": None,
        "understanding": understanding.stored(),
        "sources": [],
        "created_at": now,
    }
    if isinstance(decision, Forwarded):
        conversation.last_seq += 1
        return [customer]
    conversation.last_seq += 2
    bot = {
        "conversation_id": conversation_id,
        "seq": seq + 2,
        "role": Role.BOT,
        "text": decision.text,
        "corrected_text": None,
        "client_message_id": None,
        "intent": None,
        "intent_confidence": None,
        "decision": "rejected" if turn.rejected else decision.kind,
        "handoff_reason": decision.reason.value if isinstance(decision, Handoff) else None,
        "understanding": Understanding(quick_replies=data["quick_replies"]).stored(),
        "sources": data["sources"],
        "created_at": now,
    }
    return [customer, bot]


__all__ = ["Encoder", "Engine", "Stages"]
