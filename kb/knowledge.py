"""Loading and (re)building the knowledge base under a data directory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine as Database
from sqlmodel import Session, func, select

from kb.embeddings import Embedder
from kb.models import FaqEntry, Order, Product
from kb.search import Catalog, HybridSearch, SearchKind
from kb.vector_index import IndexedText, SyncReport, VectorIndex

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
    # FAQ: customers' questions are matched to the entry's question and to the other ways
    # customers ask it (question-to-question similarity is what the model was trained for);
    # the answer's words go to BM25 only (scripts/tune_faq.py compares the choices).
    return [
        IndexedText(i, f.content_hash, (f.question, *f.alternates)) for i, f in catalog.faq.items()
    ]


def build_indexes(db: Database, index_dir: Path, embedder: Embedder) -> list[SyncReport]:
    """Bring every FAISS index in line with the database, embedding only what changed."""
    catalog = load_catalog(db)
    reports = []
    for kind in KINDS:
        index = VectorIndex.load_or_empty(index_dir, kind)
        reports.append(index.sync(_dense_texts(catalog, kind), embedder.encode))
        index.save(index_dir)
    return reports


def open_search(db: Database, index_dir: Path) -> HybridSearch:
    """The search over what is in the database, with the indexes `build_indexes` saved."""
    catalog = load_catalog(db)
    return HybridSearch(catalog, {kind: VectorIndex.load(index_dir, kind) for kind in KINDS})


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
