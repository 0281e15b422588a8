"""Loading and (re)building the knowledge base under a data directory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine as Database
from sqlmodel import Session, func, select

from kb.embeddings import Embedder
from kb.faq_matcher import FaqMatcher, sync_matcher
from kb.models import FaqEntry, Order, Product
from kb.records import content_hash
from kb.search import Catalog, HybridSearch, SearchKind
from kb.vector_index import (
    MAX_TEXTS,
    IndexedText,
    Progress,
    SyncReport,
    VectorIndex,
    no_progress,
)

KINDS: tuple[SearchKind, ...] = ("product", "faq")


def load_catalog(db: Database) -> Catalog:
    with Session(db) as session:
        products = session.exec(select(Product).order_by(Product.id)).all()  # type: ignore[arg-type]
        faq = session.exec(select(FaqEntry).order_by(FaqEntry.id)).all()  # type: ignore[arg-type]
        return Catalog(products, faq)


def _dense_texts(catalog: Catalog, kind: SearchKind) -> list[IndexedText]:
    if kind == "product":
        return [
            IndexedText(i, p.content_hash, (p.search_text(),)) for i, p in catalog.products.items()
        ]
    return [_faq_texts(i, f) for i, f in catalog.faq.items()]


def _faq_texts(record_id: int, entry: FaqEntry) -> IndexedText:
    """Customers' questions are matched to the entry's question, to the other ways customers
    ask it and to its answer, each a vector of its own (an entry scores as its best one). The
    answer is there for FAQs that come without alternates: it often words the question the
    way customers do ("you can check out as a guest"); imported-FAQ paraphrases right 0.67 ->
    0.70, the demo store's unchanged. The hash covers the texts, so a change of recipe
    re-embeds."""
    texts = (entry.question, *entry.alternates[: MAX_TEXTS - 2], entry.answer)
    return IndexedText(record_id, content_hash("\x1f".join(texts)), texts)


def build_indexes(
    db: Database, index_dir: Path, embedder: Embedder, progress: Progress = no_progress
) -> list[SyncReport]:
    """Bring every FAISS index in line with the database, embedding only what changed;
    `progress` hears how many texts of all kinds are embedded so far, out of how many."""
    catalog = load_catalog(db)
    texts = {kind: _dense_texts(catalog, kind) for kind in KINDS}
    indexes = {kind: VectorIndex.load_or_empty(index_dir, kind) for kind in KINDS}
    counts = {kind: indexes[kind].to_embed(texts[kind]) for kind in KINDS}
    total, before = sum(counts.values()), 0
    reports = []
    for kind in KINDS:
        index = indexes[kind]
        reports.append(index.sync(texts[kind], embedder.encode, _offset(progress, before, total)))
        before += counts[kind]
        index.save(index_dir)
        if kind == "faq":
            sync_matcher(index, index_dir)
    return reports


def _offset(progress: Progress, before: int, total: int) -> Progress:
    """One index's progress as part of all of them."""

    def report(done: int, _of: int) -> None:
        progress(before + done, total)

    return report


def open_search(db: Database, index_dir: Path) -> HybridSearch:
    """The search over what is in the database, with the indexes `build_indexes` saved."""
    catalog = load_catalog(db)
    indexes = {kind: VectorIndex.load(index_dir, kind) for kind in KINDS}
    return HybridSearch(catalog, indexes, FaqMatcher.load(index_dir, indexes["faq"]))


@dataclass(frozen=True)
class KbStats:
    products: int
    categories: int
    faq_entries: int
    orders: int
    customers: int
    indexed: dict[str, int]


def stats(db: Database, index_dir: Path) -> KbStats:
    with Session(db) as session:
        products = session.exec(select(func.count()).select_from(Product)).one()
        categories = session.exec(select(func.count(func.distinct(Product.category)))).one()
        faq = session.exec(select(func.count()).select_from(FaqEntry)).one()
        orders = session.exec(select(func.count()).select_from(Order)).one()
        customers = session.exec(select(func.count(func.distinct(Order.customer_email)))).one()
    indexed: dict[str, int] = {
        kind: len(VectorIndex.load_or_empty(index_dir, kind)) for kind in KINDS
    }
    return KbStats(products, categories, faq, orders, customers, indexed)
