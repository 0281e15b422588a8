"""Checks on the text itself, before any model sees it.

Empty and over-long messages are refused with a clear, polite reply (and still recorded);
control characters are removed; HTML and SQL-looking text are plain text here, never markup
or queries (channels render text as text, the database is only reached with bound parameters).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
_MARKUP = re.compile(r"<[^<>]{0,200}>")

EMPTY = "Your message was empty. What can I help you with?"
TOO_LONG = (
    "Your message is longer than the {limit} characters I can read at once. Could you send "
    "a shorter version? Your full message is kept with the conversation."
)
NOT_ENGLISH = (
    "Sorry, I can only answer in English for now. I'm passing your message to a person on our team."
)


@dataclass(frozen=True)
class Checked:
    text: str  # what the models see
    refusal: str | None = None  # set when the text is not answered by the models
    reason: str | None = None  # empty | too_long


class InputGuard:
    def __init__(self, max_chars: int) -> None:
        self.max_chars = max_chars

    def check(self, raw: str) -> Checked:
        text = unicodedata.normalize("NFC", _CONTROL.sub(" ", raw))
        # Markup is noise to the models; the message is stored and shown exactly as sent.
        text = re.sub(r"\s+", " ", _MARKUP.sub(" ", text)).strip()
        if not text:
            return Checked("", EMPTY, "empty")
        if len(text) > self.max_chars:
            return Checked(
                text[: self.max_chars], TOO_LONG.format(limit=self.max_chars), "too_long"
            )
        return Checked(text)


def mostly_non_latin(text: str) -> bool:
    """True when most letters are outside the Latin script (Cyrillic, CJK, Arabic...)."""
    letters = _LETTER.findall(text)
    if len(letters) < 3:
        return False
    latin = sum(1 for ch in letters if "LATIN" in unicodedata.name(ch, ""))
    return latin / len(letters) < 0.5
