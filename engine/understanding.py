"""What a stored message carries beside its text: the `Message.understanding` contract.

The engine writes a customer message's understanding (intent candidates, slots, the records
found, the bot's draft when it does not answer) and its reply's quick replies; the handoff
writes an agent reply's author and the customer messages it answers; the desk adds what a model
wrote. Views, channels and the dataset export read them. The column stays a JSON object, so
rows written before a key existed still load: `Understanding.of` gives every missing key its
default (and drops a value of the wrong shape rather than fail), and `stored` writes back only
the keys that were set, so a row is stored exactly as before.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from typing_extensions import TypedDict


class CandidateSeen(TypedDict):
    """One intent the classifier scored, best first."""

    intent: str
    score: float


class SlotsSeen(TypedDict, total=False):
    """`Slots.as_dict()`: what the customer's words pinned down."""

    order_id: str | None
    malformed_order_id: str | None
    email: str | None
    product_skus: list[str]
    carried: list[str]


class RequestSeen(TypedDict):
    """One request of a message that held several (engine/requests.py)."""

    text: str
    intent: str


class DraftSeen(TypedDict, total=False):
    """The bot's answer when the customer did not get it (handed off or forwarded)."""

    text: str
    sources: list[dict[str, Any]]  # `Source.as_dict()`


class Understanding(BaseModel):
    """The keys a message's `understanding` holds; which ones depends on its role.

    Field order is the order the writers always used, so the stored JSON is unchanged."""

    model_config = ConfigDict(extra="allow")  # keys added later survive a read and write

    # A customer message, as the engine understood it.
    candidates: list[CandidateSeen] = Field(default_factory=list)
    slots: SlotsSeen = Field(default_factory=lambda: SlotsSeen())
    rejected: str | None = None  # why the text itself was refused
    requests: list[RequestSeen] = Field(default_factory=list)
    # What a model is given to answer the message; None for rows stored before documents were
    # kept, and when nothing was found (the export tells both from an empty list).
    documents: list[dict[str, Any]] | None = None
    # A bot reply.
    quick_replies: list[str] = Field(default_factory=list)
    # An agent's reply.
    agent_id: int | None = None
    agent_name: str | None = None
    handoff_id: int | None = None
    answers: list[int] = Field(default_factory=list)  # the customer messages it answers
    # A customer message: the bot's draft (`DraftSeen`); an agent's reply: how the agent used
    # that draft (handoff/tickets.py DRAFT_USES: "sent", "edited", "own").
    draft: DraftSeen | str | None = None
    draft_text: str | None = None  # an agent's reply: the draft it was offered
    # A bot reply a model rewrote (handoff/desk.py): what it wrote, and the streamed bubble.
    generation: dict[str, Any] | None = None
    stream: str | None = None

    @classmethod
    def of(cls, stored: dict[str, Any] | None) -> Understanding:
        """A stored row's understanding, whatever its age: a value of the wrong shape is
        dropped (its default is read) instead of failing the whole message."""
        raw = dict(stored or {})
        for _ in range(len(raw) + 1):
            try:
                return cls.model_validate(raw)
            except ValidationError as exc:
                wrong = {e["loc"][0] for e in exc.errors() if e["loc"]}
                if not wrong & raw.keys():
                    raise
                for key in wrong:
                    raw.pop(str(key), None)
        return cls()

    def stored(self) -> dict[str, Any]:
        """The JSON object to store: only the keys that were set, as the writers set them."""
        return self.model_dump(mode="json", exclude_unset=True)

    @property
    def bot_draft(self) -> DraftSeen | None:
        """A customer message's draft with text, None otherwise."""
        return self.draft if isinstance(self.draft, dict) and self.draft.get("text") else None

    @property
    def draft_sources(self) -> list[dict[str, Any]]:
        """The sources of a customer message's draft (with text or not)."""
        return list(self.draft.get("sources", [])) if isinstance(self.draft, dict) else []

    @property
    def draft_use(self) -> str | None:
        """How an agent's reply used the bot's draft."""
        return self.draft if isinstance(self.draft, str) else None
