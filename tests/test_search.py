"""Hybrid search and the FAISS indexes: real model, real FAISS, real BM25."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.engine import Engine
from kb.faq_matcher import FaqMatcher
from kb.importers import import_faq, import_products
from kb.knowledge import build_indexes, open_search
from kb.search import Filters
from kb.vector_index import PROGRESS_CHUNK, VectorIndex
from shopclerk.database import open_db
from shopclerk.settings import Settings
from shopclerk.wiring import Models


def _vector(engine: Engine, text: str):  # type: ignore[no-untyped-def]
    return engine.stages.encoder.encode([text])[0]


def test_faq_search_finds_the_answer_with_scores_and_ids(engine: Engine) -> None:
    search = engine.stages.lookup._search
    query = "can I pay later with Klarna"
    hits = search.search("faq", query, _vector(engine, query), k=3)
    assert hits[0].key == "payment-klarna"
    assert hits[0].record_id > 0
    assert hits[0].score >= hits[1].score
    assert 0 < hits[0].dense_score <= 1
    assert hits[0].keyword_score > 0


@pytest.mark.parametrize(
    ("query", "faq_id"),
    [
        ("can I pay the courier when the package arrives", "payment-cash-on-delivery"),
        ("is it possible to order without making a profile?", "guest-checkout"),
        ("how can I get your weekly emails", "newsletter-subscribe"),
    ],
)
def test_the_faq_matcher_tells_neighbouring_entries_apart(
    engine: Engine, query: str, faq_id: str
) -> None:
    """Entries on neighbouring topics ("pay on delivery" / "cancel after shipping") match such
    questions alike by their closest text; the matcher learnt from the store's FAQ decides."""
    hits = engine.stages.lookup._search.search("faq", query, _vector(engine, query), k=3)
    assert hits[0].key == faq_id


def test_product_filters_hold_for_every_hit(engine: Engine) -> None:
    search = engine.stages.lookup._search
    query = "warm waterproof jacket"
    filters = Filters(category="Clothing", max_price_cents=15000, in_stock=True)
    hits = search.search("product", query, _vector(engine, query), k=10, filters=filters)
    assert hits
    for hit in hits:
        product = search.catalog.products[hit.record_id]
        assert product.category == "Clothing"
        assert product.price_cents <= 15000
        assert product.stock > 0


def test_a_filter_nothing_matches_finds_nothing(engine: Engine) -> None:
    search = engine.stages.lookup._search
    filters = Filters(min_price_cents=10_000_000)
    assert search.search("product", "tent", _vector(engine, "tent"), filters=filters) == []


def test_indexes_are_rebuilt_only_for_what_changed(tmp_path: Path, models: Models) -> None:
    settings = Settings(data_dir=tmp_path)
    db = open_db(settings, migrate=True)
    faq = tmp_path / "faq.json"
    entries = [{"id": f"q{n}", "question": f"Question number {n}?", "answer": "Yes."}
               for n in range(5)]  # fmt: skip
    faq.write_text(json.dumps({"questions": entries}))
    import_faq(db, faq)
    embedder = models.encoder  # the session's (tests/test_embeddings.py tests the export)
    calls: list[int] = []

    class CountingEmbedder:
        def encode(self, texts, batch_size=64):  # type: ignore[no-untyped-def]
            calls.append(len(texts))
            return embedder.encode(texts, batch_size)

    build_indexes(db, settings.index_dir, CountingEmbedder())  # type: ignore[arg-type]
    entries[0]["question"] = "A changed question?"
    faq.write_text(json.dumps({"questions": entries[:4]}))
    import_faq(db, faq, replace=True)
    reports = build_indexes(db, settings.index_dir, CountingEmbedder())  # type: ignore[arg-type]
    faq_report = next(r for r in reports if r.kind == "faq")
    # Two texts an entry (its question and its answer): first all five, then the changed one.
    assert calls == [10, 2]
    assert (faq_report.updated, faq_report.removed, faq_report.unchanged) == (1, 1, 3)
    search = open_search(db, settings.index_dir)
    query = "A changed question?"
    assert search.search("faq", query, embedder.encode([query])[0], k=1)[0].key == "q0"
    # The matcher was learnt again from what the index holds now: the four entries left.
    matcher = FaqMatcher.load(settings.index_dir, VectorIndex.load(settings.index_dir, "faq"))
    assert matcher is not None
    assert sorted(matcher.record_ids) == sorted(search.catalog.faq)


def test_building_tells_how_many_texts_are_embedded_out_of_all(
    tmp_path: Path, models: Models
) -> None:
    """What `kb build` shows while it embeds: counts over products and FAQ together, growing
    chunk by chunk to the total; nothing when nothing changed."""
    settings = Settings(data_dir=tmp_path)
    db = open_db(settings, migrate=True)
    products = [{"sku": f"OUT-{n}", "name": f"Trail Pack {n}", "brand": "Fjellstad",
                 "category": "Outdoor", "price": 60 + n, "currency": "EUR", "stock": 3}
                for n in range(3)]  # fmt: skip
    (tmp_path / "products.json").write_text(json.dumps(products))
    import_products(db, tmp_path / "products.json")
    entries = [{"id": f"q{n}", "question": f"Question number {n}?", "answer": "Yes."}
               for n in range(70)]  # fmt: skip
    (tmp_path / "faq.json").write_text(json.dumps({"questions": entries}))
    import_faq(db, tmp_path / "faq.json")
    heard: list[tuple[int, int]] = []

    build_indexes(db, settings.index_dir, models.encoder, lambda *seen: heard.append(seen))
    # A text a product, two an FAQ entry (question and answer), in chunks of PROGRESS_CHUNK.
    total = 3 + 2 * 70
    assert PROGRESS_CHUNK < 2 * 70
    assert heard == [(3, total), (3 + PROGRESS_CHUNK, total), (total, total)]
    heard.clear()
    build_indexes(db, settings.index_dir, models.encoder, lambda *seen: heard.append(seen))
    assert heard == []


def test_a_faq_of_one_entry_is_searched_without_a_matcher(tmp_path: Path, models: Models) -> None:
    settings = Settings(data_dir=tmp_path)
    db = open_db(settings, migrate=True)
    faq = tmp_path / "faq.json"
    faq.write_text(json.dumps({"questions": [{"question": "Do you ship to Mars?",
                                              "answer": "Not yet."}]}))  # fmt: skip
    import_faq(db, faq)
    embedder = models.encoder
    build_indexes(db, settings.index_dir, embedder)
    assert FaqMatcher.load(settings.index_dir, VectorIndex.load(settings.index_dir, "faq")) is None
    search = open_search(db, settings.index_dir)
    query = "shipping to mars?"
    assert search.search("faq", query, embedder.encode([query])[0], k=1)[0].title == (
        "Do you ship to Mars?"
    )
