"""Experiment (issue 12): fine-tune the packaged MiniLM contrastively, then export it to ONNX.

    PYTHONPATH=. .venv/bin/python scripts/finetune_embedder.py --data-dir DIR [--seconds 80]

DIR is a built data directory (`shopclerk kb build`); its store's FAQ and the project's intent
examples (`engine.intent_data.training_examples()`, nothing from engine/data/eval) are the
training data. The fine-tuned model replaces DIR/models/all-MiniLM-L6-v2 (exported to ONNX the
way `kb.embeddings.export_model` does); the indexes and the intent model are then rebuilt on it
(`build(..., retrain=True)` after the FAISS indexes are removed), so everything is re-embedded.

Loss: sentence-transformers' MultipleNegativesRankingLoss on (text, another text of the same
label) pairs, every batch holding distinct labels so that no in-batch "negative" is in fact of
the anchor's own label. Two kinds of batches, interleaved: intent batches (one pair per intent,
from the training examples, as the classifier sees them: `model_text`) and FAQ batches (an
entry's alternate or answer paired with its question, one entry per row), so that the
reporting-a-problem / asking-a-question split and neighbouring FAQ entries are pulled apart.

Tried for issue 12 and not adopted: no gain on the natural development messages worth its build
time; the figures are in scripts/finetune_embedder.md.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import time
from collections import defaultdict
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"

TRAIN_TOKENS = 64  # customers' messages are short; long answers are cut in training only


def intent_groups() -> dict[str, list[str]]:
    from engine.intent_data import model_text, training_examples

    groups: dict[str, list[str]] = defaultdict(list)
    for e in training_examples()[0]:
        groups[e.intent].append(model_text(e.text))
    return dict(groups)


def faq_pairs(data_dir: Path) -> list[tuple[str, str, str]]:
    """(entry key, text, question): each alternate and the answer, with the entry's question."""
    from kb.knowledge import load_catalog
    from shopclerk.database import open_db
    from shopclerk.settings import load_settings

    db = open_db(load_settings(data_dir))
    catalog = load_catalog(db)
    pairs = []
    for entry in catalog.faq.values():
        for text in (*entry.alternates, entry.answer):
            pairs.append((entry.key, text, entry.question))
    db.dispose()
    return pairs


def intent_batches(groups: dict[str, list[str]], size: int, rng: random.Random):
    """Endless batches of (anchor, positive) pairs, one label per row, labels distinct."""
    labels = sorted(groups)
    while True:
        chosen = rng.sample(labels, min(size, len(labels)))
        batch = []
        for label in chosen:
            texts = groups[label]
            a, b = rng.sample(range(len(texts)), 2)
            batch.append((texts[a], texts[b]))
        yield batch


def faq_batches(pairs: list[tuple[str, str, str]], size: int, rng: random.Random):
    """Endless batches of (alternate or answer, question), entries distinct in a batch."""
    by_key: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for key, text, question in pairs:
        by_key[key].append((text, question))
    keys = sorted(by_key)
    while True:
        chosen = rng.sample(keys, min(size, len(keys)))
        yield [rng.choice(by_key[k]) for k in chosen]


def fine_tune(
    data_dir: Path,
    out: Path,
    seconds: float,
    lr: float,
    faq_share: float,
    batch: int,
    seed: int,
    threads: int,
    max_steps: int,
) -> dict[str, float]:
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    from kb.embeddings import packaged_model_dir

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    rng = random.Random(seed)
    started = time.perf_counter()
    groups = intent_groups()
    pairs = faq_pairs(data_dir)
    model = SentenceTransformer(str(packaged_model_dir()), device="cpu")
    model.max_seq_length = TRAIN_TOKENS
    # The word-piece table is half the weights and barely moves in a few hundred steps:
    # frozen, each step's update costs half as much.
    model[0].auto_model.embeddings.word_embeddings.weight.requires_grad_(False)
    loss = MultipleNegativesRankingLoss(model)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr)
    intents, faqs = intent_batches(groups, batch, rng), faq_batches(pairs, batch, rng)
    model.train()
    steps, losses = 0, []
    train_start = time.perf_counter()
    # A constant rate after a short warm-up: the step count is set by the clock, not known.
    while time.perf_counter() - train_start < seconds and steps < max_steps:
        rows = next(faqs) if rng.random() < faq_share else next(intents)
        features = [model.preprocess([a for a, _ in rows]), model.preprocess([p for _, p in rows])]
        for param_group in optimizer.param_groups:
            param_group["lr"] = lr * min(1.0, (steps + 1) / 20)
        value = loss(features, torch.empty(0))
        value.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(float(value.detach()))
        steps += 1
        if steps % 25 == 0:
            print(
                f"step {steps} loss {sum(losses[-25:]) / 25:.3f} "
                f"{time.perf_counter() - train_start:.0f}s",
                flush=True,
            )
    trained = time.perf_counter() - train_start
    model.eval()
    model.max_seq_length = 256
    export_start = time.perf_counter()
    staging = out.parent / f".{out.name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    model.save(str(staging))
    onnx = SentenceTransformer(str(staging), device="cpu", backend="onnx")
    onnx.save_pretrained(str(staging))
    shutil.rmtree(out, ignore_errors=True)
    staging.rename(out)
    return {
        "steps": steps,
        "train_s": round(trained, 1),
        "export_s": round(time.perf_counter() - export_start, 1),
        "total_s": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--seconds", type=float, default=80.0)
    parser.add_argument("--lr", type=float, default=3e-5)
    parser.add_argument("--faq-share", type=float, default=0.3)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--no-rebuild", action="store_true")
    args = parser.parse_args()
    from kb.embeddings import MODEL_NAME
    from shopclerk.settings import load_settings

    settings = load_settings(args.data_dir)
    timing = fine_tune(
        args.data_dir,
        settings.models_dir / MODEL_NAME,
        args.seconds,
        args.lr,
        args.faq_share,
        args.batch,
        args.seed,
        args.threads,
        args.steps,
    )
    print("fine-tune", timing, flush=True)
    if args.no_rebuild:
        return
    from shopclerk.database import open_db
    from shopclerk.wiring import build, limit_threads

    limit_threads(settings.threads)
    shutil.rmtree(settings.index_dir, ignore_errors=True)
    start = time.perf_counter()
    report = build(settings, open_db(settings), retrain=True)
    print(f"rebuilt in {time.perf_counter() - start:.1f}s: {report}")


if __name__ == "__main__":
    main()
