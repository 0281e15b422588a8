"""Choose the FAQ search parameters on the development set (engine/data/train/faq_dev.jsonl).

Never reads the evaluation paraphrases. Prints hit@1 / hit@3 for each variant:
what the FAQ vectors hold (question, or question + answer), the dense weight of the fusion,
and the boost for entries written for the detected intent (added to the fused score; the
engine itself uses none, which is what this comparison chose).

    .venv/bin/python scripts/tune_faq.py --data-dir DIR   (a built data directory)
"""

from __future__ import annotations

import argparse
import itertools
import json
from importlib import resources
from pathlib import Path

import kb.search as search_module
from engine.intent_data import model_text
from kb.knowledge import load_catalog
from kb.search import HybridSearch
from kb.vector_index import IndexedText, VectorIndex
from shopclerk.database import open_db
from shopclerk.settings import load_settings
from shopclerk.wiring import load_engine


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, required=True)
    args = parser.parse_args()
    settings = load_settings(args.data_dir)
    db = open_db(settings)
    engine = load_engine(settings, db)
    rows = [
        json.loads(x)
        for x in resources.files("engine")
        .joinpath("data", "train", "faq_dev.jsonl")
        .read_text()
        .splitlines()
        if x.strip()
    ]
    texts = [engine.stages.speller.correct(r["query"]).corrected for r in rows]
    model_texts = [model_text(t) for t in texts]
    vectors = engine.stages.encoder.encode(model_texts)
    intents = [r.intent for r in engine.stages.intents.classify_many(vectors, model_texts)]
    catalog = load_catalog(db)
    variants = {
        "question": lambda f: (f.question,),
        "q+alternates": lambda f: (f.question, *f.alternates),
        "q+alt+answer": lambda f: (f.question, *f.alternates, f"{f.question} {f.answer}"),
    }
    for (name, text_of), weight, boost in itertools.product(
        variants.items(), (0.6, 0.75, 0.9, 1.0), (0.0, 0.08)
    ):
        index = VectorIndex.empty("faq")
        index.sync(
            [IndexedText(i, name, text_of(f)) for i, f in catalog.faq.items()],
            engine.stages.encoder.encode,
        )
        product = VectorIndex.load(settings.index_dir, "product")
        search = HybridSearch(catalog, {"faq": index, "product": product})
        search_module.DENSE_WEIGHT = weight
        hit1 = hit3 = 0
        for row, text, vector, intent in zip(rows, texts, vectors, intents, strict=True):
            hits = search.search("faq", text, vector, k=5)
            ranked = sorted(
                hits,
                key=lambda h: -(h.score + boost * (intent in catalog.faq[h.record_id].intents)),
            )
            keys = [h.key for h in ranked[:3]]
            hit1 += keys[:1] == [row["faq_id"]]
            hit3 += row["faq_id"] in keys
        print(
            f"{name:16} dense={weight:.2f} boost={boost:.2f}  "
            f"hit@1={hit1 / len(rows):.3f} hit@3={hit3 / len(rows):.3f}"
        )


if __name__ == "__main__":
    main()
