"""The data the intent classifier learns from and is evaluated on, split once by a fixed seed.

Bitext's 27 customer-support intents come from the CSV in `engine/data/bitext/` (CDLA-Sharing,
see its LICENSE.md); `product_info`, `smalltalk` and `out_of_scope` from the project's own
examples in `engine/data/train/` (learnt from) and `engine/data/eval/` (never learnt from).
Bitext rows are split 70/10/20 into train, validation (for choosing thresholds) and test (only
`shopclerk eval` reads it), stratified by intent.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from dataclasses import dataclass, replace
from importlib import resources
from typing import Literal

import numpy as np

BITEXT_INTENTS = (
    "cancel_order", "change_order", "change_shipping_address", "check_cancellation_fee",
    "check_invoice", "check_payment_methods", "check_refund_policy", "complaint",
    "contact_customer_service", "contact_human_agent", "create_account", "delete_account",
    "delivery_options", "delivery_period", "edit_account", "get_invoice", "get_refund",
    "newsletter_subscription", "payment_issue", "place_order", "recover_password",
    "registration_problems", "review", "set_up_shipping_address", "switch_account",
    "track_order", "track_refund",
)  # fmt: skip
STORE_INTENTS = ("product_info", "smalltalk")
OUT_OF_SCOPE = "out_of_scope"
LABELS = (*BITEXT_INTENTS, *STORE_INTENTS, OUT_OF_SCOPE)
UNSURE = "unsure"  # no label was sure enough (engine/intents.py)
# The intent model could not place the message: the bot did not help with it.
FAILED_INTENTS = frozenset({UNSURE, OUT_OF_SCOPE})
# Intents that are not something to follow up on ("and the other one?" never means these,
# and two messages with one of them do not ask the same thing).
NOT_A_TOPIC = FAILED_INTENTS | {"smalltalk", "none", "contact_human_agent"}

SPLIT_SEED = 20261123
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_REPEATED_ORDER = re.compile(
    r"\b(order|purchase|package|parcel)(?:\s+(?:number|no|nr|id))?"
    r"\s*[:#]?\s+order\b",
    re.IGNORECASE,
)
_LONG_NUMBER = re.compile(r"(?<![\w-])(?:[A-Za-z]{1,3}[- ]?)?#?\d{5,}(?![\w-])")


def model_text(text: str) -> str:
    """What the embedding model sees: the request, with order numbers and emails generalised.

    In the Bitext data order numbers occur in some intents (cancel, track) and never in others
    (refunds), so the digits themselves would pull "a refund for order HP-104419" towards
    cancelling. A number becomes the word "order" ("track HP-104419" -> "track order"); the
    slots stage reads the real values from the full text.
    """
    general = _LONG_NUMBER.sub(" order ", _EMAIL.sub(" email ", text))
    general = _REPEATED_ORDER.sub(r"\1", general)
    return re.sub(r"\s+", " ", general).strip()


Split = Literal["train", "validation", "test"]


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    typo: bool = False  # Bitext tag Z: the text has spelling errors
    weight: float = 1.0  # how much the example counts in training


def _data_file(*parts: str) -> str:
    return str(resources.files("engine").joinpath("data", *parts))


def bitext_examples() -> list[Example]:
    with open(_data_file("bitext", "bitext_customer_support_6480.csv"), encoding="utf-8") as f:
        return [
            Example(row["instruction"], row["intent"], "Z" in row["tags"])
            for row in csv.DictReader(f)
        ]


def bitext_split(split: Split) -> list[Example]:
    """One part of the Bitext rows; the same rows every time, on every machine."""
    examples = bitext_examples()
    rng = np.random.default_rng(SPLIT_SEED)
    chosen: list[Example] = []
    for intent in BITEXT_INTENTS:
        rows = [e for e in examples if e.intent == intent]
        order = rng.permutation(len(rows))
        n_train, n_valid = round(len(rows) * 0.7), round(len(rows) * 0.1)
        bounds = {
            "train": (0, n_train),
            "validation": (n_train, n_train + n_valid),
            "test": (n_train + n_valid, len(rows)),
        }[split]
        chosen.extend(rows[i] for i in order[bounds[0] : bounds[1]])
    return chosen


def store_examples(part: Literal["train", "eval"]) -> list[Example]:
    """The project's own product_info / smalltalk / out_of_scope examples."""
    return _jsonl_examples(part, "intent_extra.jsonl")


def everyday_examples() -> list[Example]:
    """The project's own everyday-worded examples for every intent (typos, slang, fragments,
    backstories), written apart from the evaluation sets in `engine/data/eval/`."""
    return [
        replace(e, weight=EVERYDAY_WEIGHT)
        for name in EVERYDAY_FILES
        for e in _jsonl_examples("train", name)
    ]


EVERYDAY_FILES = ("everyday_a.jsonl", "everyday_b.jsonl", "everyday_c.jsonl")
# Customers write like this, not like Bitext's templates (about 170 rows per intent against 50
# of these): counting them twice lifted intents_everyday_dev from 0.91 to 0.93.
EVERYDAY_WEIGHT = 2.0


def _jsonl_examples(part: Literal["train", "eval"], name: str) -> list[Example]:
    path = resources.files("engine").joinpath("data", part, name)
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    return [Example(r["text"], r["intent"]) for r in rows]


def training_examples() -> tuple[list[Example], list[Example]]:
    """(train, validation): what the classifier learns from and tunes its thresholds on."""
    own = store_examples("train") + everyday_examples()
    rng = np.random.default_rng(SPLIT_SEED)
    order = rng.permutation(len(own))
    cut = round(len(own) * 0.85)
    own_train = [own[i] for i in order[:cut]]
    own_valid = [own[i] for i in order[cut:]]
    measured = evaluation_texts()
    return (
        [e for e in bitext_split("train") + own_train if same_text(e.text) not in measured],
        [e for e in bitext_split("validation") + own_valid if same_text(e.text) not in measured],
    )


def fingerprint(examples: list[Example], kind: str) -> str:
    """Which kind of model learns from which examples, labels and weights: a changed file or a
    new kind of model means training again."""
    digest = hashlib.sha256(f"{kind}\n".encode())
    for e in examples:
        digest.update(f"{e.text}\t{e.intent}\t{e.weight}\n".encode())
    return digest.hexdigest()[:16]


def same_text(text: str) -> str:
    """A message as far as "the same message" goes: case, punctuation and spacing aside."""
    return re.sub(r"\W+", " ", text.lower()).strip()


def evaluation_texts() -> set[str]:
    """Every message `shopclerk eval` measures on: never learnt from, even where Bitext happens
    to hold the same few words ("refund status")."""
    folder = resources.files("engine").joinpath("data", "eval")
    texts = set()
    for path in folder.iterdir():
        if path.name.endswith(".jsonl"):
            for line in path.read_text(encoding="utf-8").splitlines():
                row = json.loads(line) if line.strip() else {}
                texts.add(same_text(row.get("text") or row.get("query") or ""))
    texts.discard("")
    return texts
