"""The development figures of one built data directory, for comparing embedding models.

    PYTHONPATH=. .venv/bin/python scripts/measure_embedder.py DIR [DIR ...]

Development parts only: natural_dev.jsonl (overall, per kind, per pass), intents_everyday_dev,
the FAQ paraphrases' hit@1, Bitext's test split (the figure that must stay >= 0.98), the
imported Kaggle FAQ's dev paraphrases, and one embedding's latency. The test parts are neither
read nor measured.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"

from shopclerk import evaluation
from shopclerk.database import open_db
from shopclerk.settings import load_settings
from shopclerk.wiring import limit_threads, load_engine

evaluation.NATURAL_PARTS = {"dev": "natural_dev.jsonl"}
evaluation.EVERYDAY_PARTS = {"dev": "intents_everyday_dev.jsonl"}
KAGGLE = Path("/work/shared/data/faq/ecommerce_faq_kaggle.json")


def natural_by_pass(engine) -> dict[str, float]:
    rows = evaluation._eval_rows("natural_dev.jsonl")
    verdicts = evaluation._verdicts(engine, rows, engine.stages.lookup.catalog.by_sku)
    groups: dict[str, list[bool]] = defaultdict(list)
    for row, verdict in zip(rows, verdicts, strict=True):
        right = verdict == evaluation.RIGHT
        groups["all"].append(right)
        groups[f"kind:{row['kind']}"].append(right)
        groups[f"pass:{row['pass']}"].append(right)
        if row["pass"] == "dev-c":
            groups[f"dev-c:{row['kind']}"].append(right)
    return {k: round(sum(v) / len(v), 4) for k, v in sorted(groups.items())}


def latency_ms(engine) -> float:
    encoder = engine.stages.encoder
    times = []
    for _ in range(3):
        for text in ("where is my order", "received my yoga mat today, it has a big cut in it"):
            start = time.perf_counter()
            encoder.encode([text])
            times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 2)


def measure(data_dir: Path) -> dict[str, object]:
    settings = load_settings(data_dir)
    limit_threads(settings.threads)
    engine = load_engine(settings, open_db(settings))
    intent = evaluation.intent_figures(engine)
    kaggle_rows = [
        r for r in evaluation._eval_rows("imported_faq_paraphrases.jsonl") if r["pass"] == "dev"
    ]
    kaggle = evaluation.imported_faq_figures(settings, engine, KAGGLE, kaggle_rows)
    return {
        "natural_dev": natural_by_pass(engine),
        "everyday_dev": intent["everyday_dev_accuracy"],
        "bitext": intent["bitext_accuracy"],
        "bitext_typo": intent["bitext_typo_accuracy"],
        "oos_recall": intent["out_of_scope_recall"],
        "in_scope_false_rejection": intent["in_scope_false_rejection"],
        "faq": evaluation.faq_figures(engine),
        "kaggle_dev": {
            k: kaggle.get(k)
            for k in ("dev_messages", "dev_right", "dev_wrong_confident", "dev_refused")
        },
        "embed_one_ms": latency_ms(engine),
    }


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        print(arg, json.dumps(measure(Path(arg)), indent=1), flush=True)
