"""Frames of the widget protocol, version 1 (docs/websocket-protocol.md)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from channels.web.identity import IdentityClaim
from engine.models import Message, Role
from kb.search import Catalog

VERSION = 1
# Seqs, ids and episodes are database integers: a bigger number is a bad frame, not an
# overflow deep in a query.
MAX_INT = 2**31 - 1


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid")
    v: Literal[1]


class Hello(_Frame):
    type: Literal["hello"]
    session: str | None = Field(default=None, max_length=64)
    last_seq: int = Field(default=0, ge=0, le=MAX_INT)
    identity: IdentityClaim | None = None  # a logged-in shopper, signed by the shop


class SendMessage(_Frame):
    type: Literal["message"]
    client_id: str = Field(min_length=1, max_length=128)
    text: str


class SendFeedback(_Frame):
    type: Literal["feedback"]
    message_id: int = Field(ge=0, le=MAX_INT)
    rating: Literal["up", "down"]


class Ping(_Frame):
    type: Literal["ping"]


class Typing(_Frame):
    """The customer is typing (or stopped): shown to the agent who has the conversation."""

    type: Literal["typing"]
    on: bool


class EndChat(_Frame):
    """The customer closes the chat (the widget's "End chat"): the episode ends, and they are
    asked how it went."""

    type: Literal["end"]


class Satisfaction(_Frame):
    """The customer's answer to a `survey`: 1 (poor) to 5 (great)."""

    type: Literal["satisfaction"]
    episode: int = Field(ge=0, le=MAX_INT)
    score: int = Field(ge=1, le=5)


ClientFrame = Annotated[
    Hello | SendMessage | SendFeedback | Ping | Typing | EndChat | Satisfaction,
    Field(discriminator="type"),
]
_client_frame: TypeAdapter[ClientFrame] = TypeAdapter(ClientFrame)


class FrameError(ValueError):
    """A frame the server cannot take; `code` is the protocol's error code."""

    def __init__(self, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.code, self.message, self.extra = code, message, extra

    def frame(self) -> dict[str, Any]:
        return server_frame("error", code=self.code, message=self.message, **self.extra)


def parse(raw: str) -> ClientFrame:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise FrameError("bad_frame", f"not JSON: {exc.msg} at character {exc.pos}") from exc
    except (ValueError, RecursionError) as exc:  # a number of thousands of digits, deep nesting
        raise FrameError("bad_frame", f"not a frame: {str(exc)[:100]}") from exc
    return parse_object(data)


def parse_object(data: Any) -> ClientFrame:
    if not isinstance(data, dict):
        raise FrameError("bad_frame", "a frame is a JSON object")
    try:
        return _client_frame.validate_python(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'frame'}: {e['msg']}"
            for e in exc.errors(include_input=False, include_url=False)[:5]
        )
        raise FrameError("bad_frame", problems) from exc


def server_frame(type_: str, **fields: Any) -> dict[str, Any]:
    return {"v": VERSION, "type": type_, **fields}


def message_frame(message: Message, catalog: Catalog, product_url: str) -> dict[str, Any]:
    """A stored message as the widget shows it."""
    if message.role == Role.CUSTOMER:
        return server_frame(
            "message",
            seq=message.seq,
            id=message.id,
            role="customer",
            client_id=message.client_message_id,
            text=message.text,
        )
    if message.role == Role.AGENT:
        return server_frame(
            "message",
            seq=message.seq,
            id=message.id,
            role="agent",
            agent=message.understood.agent_name or "Support",
            text=message.text,
        )
    if message.role == Role.SYSTEM:
        return server_frame(
            "message", seq=message.seq, id=message.id, role="system", text=message.text
        )
    products = []
    for source in message.sources:
        product = (
            catalog.by_sku.get(str(source.get("id", "")))
            if source.get("kind") == ("product")
            else None
        )
        if product is not None:
            products.append(
                {
                    "sku": product.sku,
                    "name": product.name,
                    "price": product.price,
                    "in_stock": product.stock > 0,
                    "url": product_url.format(sku=product.sku),
                }
            )
    handoff = {"reason": message.handoff_reason} if message.handoff_reason else None
    understanding = message.understood
    stream = understanding.stream  # the streamed bubble this message completes
    return server_frame(
        "message",
        seq=message.seq,
        id=message.id,
        role="bot",
        text=message.text,
        quick_replies=understanding.quick_replies,
        products=products,
        handoff=handoff,
        **({"stream": stream} if stream else {}),
    )
