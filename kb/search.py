"""Hybrid search over the catalog and the FAQ: FAISS (dense) and BM25 (keyword), fused.

Each hit carries its fused score, both component scores and the record id. Fusion is a weighted
sum of the cosine similarity and a saturated BM25 score (`bm25 / (bm25 + BM25_HALF[kind])`), so a
score means the same thing from one query to the next and can be compared with a threshold.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Literal

from kb.embeddings import Vectors
from kb.faq_matcher import FaqMatcher
from kb.keyword import KeywordIndex
from kb.models import FaqEntry, Product
from kb.vector_index import VectorIndex

SearchKind = Literal["product", "faq"]

DENSE_WEIGHT = 0.75
# The BM25 score that counts as half a keyword match. FAQ entries are short and a customer's
# question shares few words with them, so a smaller score counts there: with 4 (the catalog's)
# an FAQ without alternates had its right entries scored under the engine's thresholds
# (imported-FAQ paraphrases right 0.73 -> 0.78 with 2; the demo store's FAQ hit@1 unchanged).
BM25_HALF: dict[SearchKind, float] = {"product": 4.0, "faq": 2.0}
QUESTION_WEIGHT = 2  # an FAQ entry's question counts this many times in its keyword text
CANDIDATES = 30  # per retriever, before fusion
# FAQ candidates are ordered by their fused score plus this much of the matcher's probability
# (kb/faq_matcher.py): a sure matcher decides between entries that match alike, while an entry
# that matches far better keeps its place.
MATCHER_WEIGHT = 0.5
# How much better another FAQ entry must match to win over a preferred one (the entries the
# store tagged with the intent the model is sure of): "what is your return policy?" matched the
# "return requested" status entry 0.03 better than the return window's, tagged with it. 0.03 and
# 0.06 changed nothing else on the natural development set; 0.1 did (two right, three wrong).
PREFERRED_MARGIN = 0.05


@dataclass(frozen=True)
class Filters:
    """Catalog filters; prices in cents, bounds inclusive."""

    category: str | None = None
    min_price_cents: int | None = None
    max_price_cents: int | None = None
    in_stock: bool = False

    def admits(self, product: Product) -> bool:
        if self.category and product.category.lower() != self.category.lower():
            return False
        if self.min_price_cents is not None and product.price_cents < self.min_price_cents:
            return False
        if self.max_price_cents is not None and product.price_cents > self.max_price_cents:
            return False
        return not (self.in_stock and product.stock <= 0)

    @property
    def active(self) -> bool:
        return self != Filters()


@dataclass(frozen=True)
class Hit:
    """One search result."""

    kind: SearchKind
    record_id: int
    key: str  # the SKU or the FAQ entry's id
    title: str
    score: float
    dense_score: float
    keyword_score: float


class Catalog:
    """The products and FAQ entries in memory: small, read on every turn, changed rarely."""

    def __init__(self, products: Sequence[Product], faq: Sequence[FaqEntry]) -> None:
        self.products = {p.id: p for p in products if p.id is not None}
        self.faq = {f.id: f for f in faq if f.id is not None}
        self.by_sku = {p.sku.upper(): p for p in products}
        self.by_faq_key = {f.key: f for f in faq}
        # What each product is, by the last word of its name ("tent", "skillet"): its kind.
        self.of_kind: dict[str, list[int]] = {}
        for i, p in self.products.items():
            words = re.findall(r"[a-z]+", p.name.lower())
            if words:
                self.of_kind.setdefault(words[-1], []).append(i)


class HybridSearch:
    """Dense plus keyword search over one `Catalog`."""

    def __init__(
        self,
        catalog: Catalog,
        dense: dict[SearchKind, VectorIndex],
        matcher: FaqMatcher | None = None,
    ) -> None:
        self.catalog = catalog
        self._dense = dense
        self._matcher = matcher
        self._keyword: dict[SearchKind, KeywordIndex] = {
            "product": KeywordIndex(
                list(catalog.products), [p.search_text() for p in catalog.products.values()]
            ),
            "faq": KeywordIndex(
                list(catalog.faq), [_keyword_text(f) for f in catalog.faq.values()]
            ),
        }

    def search(
        self,
        kind: SearchKind,
        query: str,
        vector: Vectors,
        k: int = 5,
        filters: Filters | None = None,
        preferred: Collection[int] = (),
        among: Collection[int] | None = None,
    ) -> list[Hit]:
        """The k best records, of `among` (record ids) if given. `preferred`: FAQ entries (by
        id) that win over others matching about as well (PREFERRED_MARGIN); scores are left as
        they are."""
        allowed = None if among is None else list(among)
        if kind == "product" and filters is not None and filters.active:
            allowed = [
                i
                for i, p in self.catalog.products.items()
                if filters.admits(p) and (among is None or i in among)
            ]
        dense = dict(self._dense[kind].search(vector, CANDIDATES, allowed))
        keyword = dict(self._keyword[kind].search(query, CANDIDATES, allowed))
        fused = []
        known = self.catalog.products if kind == "product" else self.catalog.faq
        half = BM25_HALF[kind]
        for record_id in dense.keys() | keyword.keys():
            if record_id not in known:  # indexed, then deleted before the next build
                continue
            cosine = dense.get(record_id, 0.0)
            bm25 = keyword.get(record_id, 0.0)
            score = DENSE_WEIGHT * cosine + (1 - DENSE_WEIGHT) * bm25 / (bm25 + half)
            fused.append((score, cosine, bm25, record_id))
        fused.sort(reverse=True)
        if kind == "faq" and (self._matcher is not None or preferred):
            likely = self._matcher.probabilities(vector) if self._matcher is not None else {}
            fused.sort(
                key=lambda row: (
                    row[0]
                    + MATCHER_WEIGHT * likely.get(row[3], 0.0)
                    + (PREFERRED_MARGIN if row[3] in preferred else 0.0)
                ),
                reverse=True,
            )
        return [self._hit(kind, *row) for row in fused[:k]]

    def _hit(self, kind: SearchKind, score: float, cosine: float, bm25: float, rid: int) -> Hit:
        if kind == "product":
            product = self.catalog.products[rid]
            key, title = product.sku, product.name
        else:
            entry = self.catalog.faq[rid]
            key, title = entry.key, entry.question
        return Hit(kind, rid, key, title, round(score, 4), round(cosine, 4), round(bm25, 4))


def _keyword_text(entry: FaqEntry) -> str:
    """What BM25 matches an FAQ entry on: its question counts more than the answer's many
    incidental words (a field weight, as BM25F gives a title); imported-FAQ paraphrases right
    0.70 -> 0.73, the demo store's FAQ hit@1 0.9145 -> 0.9182."""
    return " ".join([*[entry.question] * QUESTION_WEIGHT, *entry.alternates, entry.answer])
