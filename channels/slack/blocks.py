"""What shopclerk posts to Slack, as Block Kit with a plain-text fallback, and what it reads
back from Slack's markup.

Every piece of text that came from a customer, an agent or a record is escaped (`&`, `<`, `>`),
so nobody's text can mention @channel, link somewhere or break the markup. Limits are Slack's
own (https://docs.slack.dev/reference/block-kit/blocks): 3000 characters in a section, 75 in a
button's label, 2000 in its value, 50 blocks in a message.
"""

from __future__ import annotations

import html
import re
from typing import Any

from engine.models import Message, Role
from engine.outcomes import QUESTION, SCALE
from engine.owners import BOT, QUEUE, Owner
from kb.search import Catalog

Block = dict[str, Any]
Posting = tuple[str, list[Block]]  # (fallback text, blocks)

SECTION_CHARS = 3000
BUTTON_LABEL = 75
BUTTON_VALUE = 2000
MAX_QUICK_REPLIES = 5
MAX_PRODUCTS = 5

REASONS = {
    "customer_asked": "Asked for a person",
    "low_confidence": "Bot unsure",
    "no_grounded_answer": "No answer found",
    "repeated_failure": "Bot kept failing",
    "negative_sentiment": "Unhappy customer",
    "complaint": "Complaint",
    "policy": "Policy",
    "agent_took_over": "Taken over",
    "agent_offline": "Agent went offline",
    "put_back": "Put back",
}
OUTCOMES = {
    "handed_back": "Handed back to the bot",
    "resolved": "Resolved",
    "unresolved": "Closed as unresolved",
    "abandoned": "Closed as abandoned",
    "put_back": "Put back in the queue",
    "agent_offline": "Agent went offline",
}

# Actions (the `action_id`s the app listens to; within a block they are unique, so quick
# replies and feedback buttons carry a suffix).
QUICK_REPLY = "quick_reply"
FEEDBACK = "feedback"
CLAIM = "handoff_claim"
HAND_BACK = "handoff_hand_back"
RESOLVE = "handoff_resolve"
MORE = "handoff_more"
SEND_DRAFT = "handoff_send_draft"
SATISFACTION = "satisfaction"


def escape(text: str) -> str:
    """Text as Slack shows it literally (its three control characters escaped)."""
    return html.escape(text, quote=False)


_LINK = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")


def plain_text(text: str, bot_user_id: str | None = None) -> str:
    """A Slack message as the customer wrote it: the bot's mention removed, other mentions,
    channels and links as their labels (`<mailto:a@b.com|a@b.com>` is `a@b.com`), entities
    unescaped."""

    def label(match: re.Match[str]) -> str:
        target, name = match.group(1), match.group(2)
        if bot_user_id and target == f"@{bot_user_id}":
            return ""
        if target.startswith(("@", "#", "!")):
            return f"@{name}" if name and target.startswith("@") else (name or target)
        if name:
            return name
        return target.removeprefix("mailto:")

    return html.unescape(_LINK.sub(label, text)).strip()


def _section(text: str) -> Block:
    if len(text) > SECTION_CHARS:
        text = text[: SECTION_CHARS - 1] + "…"
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _sections(text: str) -> list[Block]:
    """Long text over several sections, split at line ends where possible."""
    blocks, rest = [], text
    while len(rest) > SECTION_CHARS:
        cut = rest.rfind("\n", 0, SECTION_CHARS)
        cut = cut if cut > SECTION_CHARS // 2 else SECTION_CHARS
        blocks.append(_section(rest[:cut]))
        rest = rest[cut:].lstrip("\n")
    if rest:
        blocks.append(_section(rest))
    return blocks


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:SECTION_CHARS]}]}


def _button(label: str, action_id: str, value: str, style: str | None = None) -> Block:
    button: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": _label(label), "emoji": True},
        "action_id": action_id,
        "value": value[:BUTTON_VALUE],
    }
    if style:
        button["style"] = style
    return button


def _label(text: str) -> str:
    return text if len(text) <= BUTTON_LABEL else text[: BUTTON_LABEL - 1] + "…"


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" for line in escape(text).splitlines() or [""])


# -- to customers --------------------------------------------------------------------------------


def bot_message(
    message: Message, catalog: Catalog, product_url: str, where: str | None = None
) -> Posting:
    """A bot reply: its text, product cards (price, stock, link), quick replies as buttons,
    and 👍/👎 buttons (not on a handoff's "connecting you" message). `where` (a thread, see
    `block_id`) goes into the buttons' blocks of a reply Slack will not say the thread of."""
    text = escape(message.text)
    blocks = _sections(text)
    for source in message.sources[:MAX_PRODUCTS]:
        product = (
            catalog.by_sku.get(str(source.get("id", "")).upper())
            if source.get("kind") == "product"
            else None
        )
        if product is None:
            continue
        stock = "In stock" if product.stock > 0 else "Out of stock"
        url = product_url.format(sku=product.sku)
        card: Block = {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": f"*{escape(product.name)}*\n{escape(product.brand)}",
            },
            "fields": [
                {"type": "mrkdwn", "text": f"*Price*\n{escape(product.price)}"},
                {"type": "mrkdwn", "text": f"*Stock*\n{stock}"},
            ],
        }
        if url.startswith(("http://", "https://")):
            card["accessory"] = {
                "type": "button",
                "text": {"type": "plain_text", "text": "View"},
                "url": url,
                "action_id": f"product_link_{product.sku}"[:255],
            }
        blocks.append(card)
    quick = message.understood.quick_replies
    if quick:
        buttons = [
            _button(q, f"{QUICK_REPLY}_{n}", q) for n, q in enumerate(quick[:MAX_QUICK_REPLIES])
        ]
        blocks.append(
            {"type": "actions", "block_id": block_id(QUICK_REPLY, where), "elements": buttons}
        )
    if not message.handoff_reason and message.id is not None:
        blocks.append(feedback_block(message.id, where))
    return message.text, blocks


def block_id(kind: str, where: str | None = None) -> str:
    """An actions block's id, with the thread its buttons answer in (`channel:thread_ts`):
    a click on an ephemeral message or in a DM comes without the thread's ts."""
    return f"{kind}:{where}" if where else kind


def block_thread(block: str) -> tuple[str, str] | None:
    """The (channel, thread_ts) `block_id` put into a block's id, if any."""
    _, _, where = block.partition(":")
    channel, _, thread = where.partition(":")
    return (channel, thread) if channel and thread else None


def private_note(user: str, how: str) -> Posting:
    """The thread's public line for an answer sent to its author alone (no details in it)."""
    lines = {
        "ephemeral": f"I've sent the order details to <@{user}> privately.",
        "dm": f"I've sent the order details to <@{user}> in a direct message.",
        "none": f"<@{user}>, order details are shared privately only: please send me a "
        "direct message.",
        "unknown": "Order details are shared privately only: ask me again, or send me a "
        "direct message.",
    }
    text = lines[how]
    return text, [_context(f"_{text}_")]


def feedback_block(message_id: int, where: str | None = None) -> Block:
    return {
        "type": "actions",
        "block_id": block_id(FEEDBACK, where),
        "elements": [
            _button("👍 Helpful", f"{FEEDBACK}_up", f"{message_id}:up"),
            _button("👎 Not helpful", f"{FEEDBACK}_down", f"{message_id}:down"),
        ],
    }


def survey(episode: int) -> Posting:
    """How did we do? 1 to 5, as buttons (`satisfaction_<score>`, the episode as value)."""
    buttons = [_button(f"{score}", f"{SATISFACTION}_{score}", str(episode)) for score in SCALE]
    return QUESTION, [
        _section(QUESTION),
        {"type": "actions", "block_id": SATISFACTION, "elements": buttons},
    ]


def agent_message(message: Message) -> Posting:
    name = message.understood.agent_name or "Support"
    return message.text, [
        *_sections(escape(message.text)),
        _context(f"{escape(name)}, support team"),
    ]


def system_message(text: str) -> Posting:
    return text, [_context(f"_{escape(text)}_")]


def replace_block(blocks: list[Block], kind: str, text: str) -> list[Block]:
    """The message's blocks with one actions block (buttons already used) replaced by a note."""
    return [_context(text) if str(b.get("block_id")).split(":")[0] == kind else b for b in blocks]


# -- to the agents channel -----------------------------------------------------------------------


def handoff_card(view: dict[str, Any]) -> Posting:
    """The root of a handoff's thread: who, why, what the bot understood and found, its draft,
    and what can be done now."""
    item, record = view["conversation"], view.get("handoff") or {}
    cid = str(item["conversation_id"])
    customer = item.get("customer") or {}
    who = escape(customer.get("name") or "A customer")
    if customer.get("email"):
        who += f" ({escape(customer['email'])})"
    reason = REASONS.get(str(record.get("reason")), str(record.get("reason") or "handoff"))
    title = f"{who} needs a person: {reason.lower()}"
    understanding = view.get("understanding") or {}
    fields = [
        f"*Channel*\n{escape(str(item.get('channel')))}",
        f"*Intent*\n{escape(str(understanding.get('intent') or '—'))}"
        + (f" ({understanding['confidence']:.0%})" if understanding.get("confidence") else ""),
        f"*State*\n{_state(item, record)}",
    ]
    if record.get("offline"):
        email = record.get("contact_email")
        fields.append("*Offline ticket*\nanswer by email" + (f": {escape(email)}" if email else ""))
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": _plain(title, 150)}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]},
    ]
    if item.get("last_message"):
        blocks.append(_section(f"*Last message*\n{_quote(item['last_message'])}"))
    found = _found(understanding, view.get("draft"))
    if found:
        blocks.append(_section("*What the bot found*\n" + "\n".join(found)))
    draft = (view.get("draft") or {}).get("text")
    if draft:
        blocks.append(_section(f"*The bot's draft*\n{_quote(draft)}"))
    actions = _card_actions(cid, item, record)
    if actions:
        blocks.append({"type": "actions", "block_id": "handoff", "elements": actions})
    blocks.append(_context("Reply in this thread to answer the customer once you have claimed it."))
    return title, blocks


def card_state(view: dict[str, Any]) -> str:
    """What the card shows that can change (to update it only when that changes)."""
    item, record = view["conversation"], view.get("handoff") or {}
    shown = (
        item.get("owner"),
        record.get("outcome"),
        record.get("flagged"),
        record.get("contact_email"),
    )
    return "|".join(str(x) for x in shown)


def _state(item: dict[str, Any], record: dict[str, Any]) -> str:
    if record.get("closed_at"):
        outcome = OUTCOMES.get(str(record.get("outcome")), str(record.get("outcome")))
        return f"{outcome}" + (f" by {escape(record['agent'])}" if record.get("agent") else "")
    owner = Owner.parse(str(item.get("owner")))
    if owner.is_agent:
        return f"With {escape(str(item.get('owner_name') or 'an agent'))}"
    flagged = " :warning: waiting long" if record.get("flagged") else ""
    return ("Waiting in the queue" if owner.kind == QUEUE else "With the bot") + flagged


def _card_actions(cid: str, item: dict[str, Any], record: dict[str, Any]) -> list[Block]:
    owner = Owner.parse(str(item.get("owner")))
    if record.get("closed_at") and owner.kind == BOT:
        return []
    actions = []
    if not owner.is_agent:
        actions.append(_button("Claim", CLAIM, cid, "primary"))
    actions += [_button("Hand back to bot", HAND_BACK, cid), _button("Resolve", RESOLVE, cid)]
    options = [
        ("unresolved", "Close as unresolved"),
        ("abandoned", "Close as abandoned"),
        ("put_back", "Put back in the queue"),
    ]
    actions.append(
        {
            "type": "overflow",
            "action_id": MORE,
            "options": [
                {"text": {"type": "plain_text", "text": label}, "value": f"{cid}:{value}"}
                for value, label in options
            ],
        }
    )
    return actions


def _found(understanding: dict[str, Any], draft: dict[str, Any] | None) -> list[str]:
    """What the bot established over the conversation (the customer, the order it looked up
    last, the products discussed) and the sources of its draft."""
    lines = []
    over = understanding.get("conversation") or {}
    customer = over.get("customer") or {}
    if customer.get("email"):
        lines.append(f"• Customer: {escape(str(customer['email']))}")
    order = understanding.get("order")
    if order:
        proved = " (proved by the customer)" if over.get("order_proved") else ""
        lines.append(
            f"• Order {escape(order['order_id'])}: {escape(str(order['status']))}, "
            f"{escape(str(order['total']))}, {escape(str(order.get('customer_name') or ''))}"
            + proved
        )
    products = [f"{p.get('name')} ({p.get('sku')})" for p in over.get("products", [])[:5]]
    if products:
        lines.append(f"• Products discussed: {escape(', '.join(products))}")
    for source in (draft or {}).get("sources", [])[:5]:
        lines.append(f"• {escape(str(source.get('kind')))}: {escape(str(source.get('title')))}")
    return lines


def _plain(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def mirrored(message: Message, customer: str) -> Posting:
    """A message of the conversation, shown in its agents thread."""
    if message.role == Role.CUSTOMER:
        text = f"*{escape(customer)}:* {escape(message.text)}"
        blocks = _sections(text)
        draft = message.understood.bot_draft
        if draft is not None:
            blocks.append(_context(f"Bot's draft: {escape(str(draft['text']))}"))
            button = _button("Send the bot's draft", SEND_DRAFT, str(message.id))
            blocks.append({"type": "actions", "block_id": SEND_DRAFT, "elements": [button]})
        return f"{customer}: {message.text}", blocks
    if message.role == Role.AGENT:
        name = message.understood.agent_name or "Agent"
        return f"{name}: {message.text}", _sections(f"*{escape(name)}:* {escape(message.text)}")
    if message.role == Role.BOT:
        return f"Bot: {message.text}", _sections(f"*Bot:* {escape(message.text)}")
    return system_message(message.text)


def history(messages: list[Message], customer: str) -> Posting:
    """The conversation so far, as the first reply in a new agents thread."""
    lines = []
    for m in messages:
        who = {"customer": customer, "bot": "Bot", "system": "—"}.get(
            m.role, m.understood.agent_name or "Agent"
        )
        lines.append(f"*{escape(who)}:* {escape(' '.join(m.text.split()))}")
    text = "*The conversation so far*\n" + ("\n".join(lines) or "_(nothing yet)_")
    return "The conversation so far", _sections(text)


def announcement(why: str, minutes: int) -> str:
    if why == "flagged":
        return f":warning: Still waiting for someone after {minutes} min."
    return "Back in the queue." if why == "requeued" else "Waiting in the queue."
