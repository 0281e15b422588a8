"""`shopclerk eval`'s imported-FAQ section: another store's FAQ, with no alternates and no
intent labels, imported into a throwaway store and asked in customers' own words."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.engine import Engine
from kb.records import FaqRecord
from shopclerk.evaluation import imported_faq_figures
from shopclerk.settings import Settings

OTHER_STORE_FAQ = [
    {"question": "Do you sell gift cards?",
     "answer": "Yes: digital gift cards from 10 to 200 euros, sent by email within minutes."},
    {"question": "Can I pick up my order at your warehouse?",
     "answer": "Yes, click and collect at our Leiden warehouse is free, weekdays 9 to 17."},
    {"question": "Do you plant a tree for every order?",
     "answer": "We plant one tree for every order over 50 euros with our forestry partner."},
]  # fmt: skip


def _faq_file(tmp_path: Path) -> Path:
    path = tmp_path / "other-store-faq.json"
    path.write_text(json.dumps({"questions": OTHER_STORE_FAQ}))
    return path


def _key(number: int) -> str:
    return FaqRecord.model_validate(OTHER_STORE_FAQ[number]).key()


@pytest.mark.slow
def test_a_paraphrase_is_answered_from_the_imported_entry(
    built_settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    paraphrases = [
        {"text": "can i collect my parcel myself from ur warehouse", "accept": [_key(1)],
         "pass": "dev"},
        {"text": "can i buy a gift voucher from you", "accept": [_key(0)], "pass": "test"},
    ]  # fmt: skip
    figures = imported_faq_figures(built_settings, engine, _faq_file(tmp_path), paraphrases)
    assert figures["entries"] == 3
    assert (figures["dev_messages"], figures["test_messages"]) == (1, 1)
    assert figures["dev_right"] == 1.0, figures["failures"]
    assert figures["test_right"] == 1.0


@pytest.mark.slow
def test_a_wrong_answer_is_counted_and_shown_as_a_dev_failure(
    built_settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    # Judged against an entry that does not answer it: the answer from the right entry is wrong.
    paraphrases = [{"text": "do you plant trees when i order", "accept": [_key(0)], "pass": "dev"}]
    figures = imported_faq_figures(built_settings, engine, _faq_file(tmp_path), paraphrases)
    assert figures["dev_right"] == 0.0
    assert figures["dev_wrong_confident"] == 1.0
    assert figures["failures"] == [
        "'do you plant trees when i order': answered from the wrong record"
    ]


def test_the_section_says_why_it_was_skipped(built_settings: Settings, engine: Engine,
                                              tmp_path: Path) -> None:  # fmt: skip
    missing = tmp_path / "nowhere.json"
    assert imported_faq_figures(built_settings, engine, missing) == {
        "skipped": f"no FAQ file at {missing}"
    }
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert "broken JSON" in imported_faq_figures(built_settings, engine, broken)["skipped"]


def test_imported_entries_keep_their_ids_from_one_import_to_the_next() -> None:
    # The paraphrase sets name entries by these ids: a slug of the question and its hash.
    assert _key(0) == FaqRecord.model_validate(dict(OTHER_STORE_FAQ[0])).key()
    assert _key(0).startswith("do-you-sell-gift-cards-")
