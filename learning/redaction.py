"""FAQ text from one customer's exchange with an agent: the same answer for everyone, so
nothing of that customer may stay in it.

Not `learning/privacy.py`: training data keeps order ids, tracking numbers and prices (a model
learns to copy them) behind placeholders for people; an FAQ entry drops them all and reads as
plain prose ("your order", "your email address"), without greetings or sign-offs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from engine.slots import EMAIL

_LINK = re.compile(  # a link with a query or a long token in it: a label, a reset link
    r"(?:https?://|www\.)\S*?(?:\?|[A-Za-z0-9_-]{16,})\S*?(?=[.,!?;:)]*(?:\s|$))"
)
_OWNER = r"(?:\b(?:my|your|the|this|that)\s+)?"
_ORDER = re.compile(
    _OWNER + r"(?:\border\s*(?:number|no\.?|nr\.?|id)?\s*[:#]?\s*)?(?:\bhp[\s#-]?\d{6}\b|#\d{6}\b)"
    r"|" + _OWNER + r"\border\s*(?:number|no\.?|nr\.?|id)?\s*[:#]?\s*\d{6}\b",
    re.IGNORECASE,
)
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){2,7}(?:\s?[A-Z0-9]{1,4})?\b")
_TRACKING = re.compile(
    _OWNER + r"(?:\btracking\s*(?:number|code|no\.?)?\s*[:#]?\s*)?"
    r"\b(?=[A-Z0-9]*\d)(?=[A-Z0-9]*[A-Z])[A-Z0-9]{10,}\b|\b\d{10,}\b",
    re.IGNORECASE,
)
# Starts like a phone number (+31..., 020..., (020)...): not a time range or a date.
_PHONE = re.compile(r"(?<![\w+])(?:\+|\(?0)[\d\s().-]{7,}\d(?!\w)")
_SELF_NAMED = re.compile(
    r"\b(?i:my name is|name's)\s+[A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)?"
    r"|(?:^|(?<=[.!?]\s))(?i:this is|I'm|I am)\s+[A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)?(?=\s*[,.!-])"
)
_GREETING = re.compile(  # "Hi!", "Hello there,", "Hi Anna,", "Dear Mr. Smith,", "hey " (then words)
    r"^\s*(?i:hi|hello|hey|hiya|dear|good (?:morning|afternoon|evening))\b"
    r"(?:(?:\s+(?i:there|all|team|guys|everyone))?(?:\s+(?i:mr|mrs|ms|dr)\.?)?"
    r"(?:\s+[A-Z][\w'-]*){0,2}\s*[,.!]+|\s+(?=\w))\s*"
)
_SIGN_OFF = re.compile(  # "Best, Anna", "Kind regards,\nAnna de Vries", "– Anna", "Cheers!"
    r"(?:(?<=[.!?])\s*|\s*\n\s*)"
    r"(?:(?:[-–—]+\s*)?(?i:(?:kind |best |warm )?regards|best(?: wishes)?|cheers|thanks|thank you)"
    r"[\s,!.]*|[-–—]+\s*)(?:[A-Z][\w'-]*(?:\s+(?:de |van |von )?[A-Z][\w'-]*)?)?[\s,!.]*$"
)
_THANKS_ONLY = re.compile(
    r"^(?:hi|hello|hey|hiya|thanks?|thank you|thx|ok(?:ay)?|great|perfect|cheers|bye|"
    r"good (?:morning|afternoon|evening)|there|so much|very much|[\s,.!?:)(])*$",
    re.IGNORECASE,
)
_HOLDING = re.compile(  # a whole short reply that only holds the line
    r"\b(?:let me (?:check|look|see)|one (?:moment|sec)|just a (?:sec|second|moment|minute)|"
    r"bear with me|give me a (?:sec|second|moment|minute)|i'?ll (?:check|look into))\b",
    re.IGNORECASE,
)
_CLOSER = re.compile(  # a last sentence that ends the chat, not part of the answer
    r"(?:(?<=[.!?\n])|^)\s*(?i:(?:is there )?anything else|let me know if|hope (?:this|that) helps|"
    r"have a (?:nice|great|good|lovely) (?:day|evening|weekend)|you're welcome)[^.!?\n]*[.!?]*\s*$"
)
ORDER_DIGITS = re.compile(r"(?i)(?:\bhp[\s#-]?|#|\border\s*)(\d{6})\b")
_SPACE_BEFORE = re.compile(r"\s+([,.!?;:])")
_DOUBLE = re.compile(r"([,.!?;:])[,;:]+|\s{2,}")


def scrub(text: str, names: Iterable[str] = ()) -> str:
    """`text` with nothing that belongs to one customer: details become generic words and the
    given names (and whoever introduces themselves) go."""
    text = EMAIL.sub("your email address", text)
    text = _LINK.sub("the link we sent you", text)
    text = _ORDER.sub("your order", text)
    text = _IBAN.sub("your bank account", text)
    text = _TRACKING.sub("your tracking number", text)
    text = _PHONE.sub(_phone, text)
    text = _SELF_NAMED.sub("", text)
    for name in sorted(_name_parts(names), key=len, reverse=True):
        text = re.sub(rf"(?<!\w){re.escape(name)}(?:'s)?(?!\w)", "", text)
    return _tidy(text)


def _phone(match: re.Match[str]) -> str:
    number = match.group()
    return "your phone number" if sum(c.isdigit() for c in number) >= 9 else number


def _name_parts(names: Iterable[str]) -> set[str]:
    """Full names and each part of them (a customer may be "Ann" in one message)."""
    parts: set[str] = set()
    for name in names:
        name = name.strip()
        if len(name) >= 2:
            parts.add(name)
            parts.update(p for p in re.split(r"[\s.]+", name) if len(p) >= 2 and p[0].isupper())
    return parts


def _tidy(text: str) -> str:
    text = _SPACE_BEFORE.sub(r"\1", text)
    text = re.sub(r"[,;:]+(?=[.!?])", "", text)
    text = _DOUBLE.sub(lambda m: m.group(1) or " ", text)
    return text.lstrip(" ,;:.!?-–—\n\t").rstrip(" ,;:-–—\n\t")


def question_text(texts: Sequence[str], names: Iterable[str] = ()) -> str:
    """One customer question from the messages an agent answered: greetings, thanks and
    personal details out; empty when nothing is left to ask."""
    kept = []
    for text in texts:
        cleaned = scrub(_GREETING.sub("", text), names)
        if cleaned and not _THANKS_ONLY.match(cleaned):
            kept.append(cleaned)
    return _capital(_tidy(" ".join(kept)))


def answer_text(replies: Sequence[str], names: Iterable[str] = ()) -> str:
    """An agent's answer without the salutation, "let me check" messages, closing words or
    names."""
    kept = [r for r in replies if not (_HOLDING.search(r) and len(r) < 80)]
    text, before = scrub(_GREETING.sub("", "\n".join(kept)), names), ""
    while text != before:  # "Hope this helps! Have a nice day. Best, Anna"
        before, text = text, _CLOSER.sub("", _SIGN_OFF.sub("", text))
    return _capital(_tidy(text))


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]
