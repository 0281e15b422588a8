"""Engine speed on this machine: start-up, one message at a time, and many at once.

    .venv/bin/python bench/engine_speed.py [--data-dir DIR] [--messages 640] [--threads 1]
                                           [--build]

Needs a built data directory (`shopclerk db upgrade`, then `kb build`); uses its own
conversations (channel "bench"). Prints medians and ratios measured in this one run:
- start-up: a fresh process from `import` to the engine's first answer (median of 3);
- single: one message through the whole engine (warm, grounded generator), p50/p95;
- batch: messages/s through `handle_stream` (batches of 64 conversations; the next batch is
  embedded while one is answered), next to what the embedding model alone manages on the same
  texts with the same batches, and their ratio. Both use the same model thread count;
- with --build: `shopclerk kb build` of the demo store into a new, empty data directory (model
  export, both indexes, the intent model's training), in a fresh process.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from serving import percentile

QUERIES = [
    "where is my order HP-105442?", "which payment methods do you accept", "hello",
    "how much is the Harbor & Pine Mooring 35 Travel Backpack?", "do you ship to switzerland",
    "I want to cancel my order", "how long does a refund take with paypal", "is it in stock",
    "I forgot my password", "can I get an invoice with my company VAT number",
    "what's the weather tomorrow", "I want to talk to a person", "do you have waterproof boots",
    "my parcel is late, it was due on monday", "how do I return a jacket that is too small",
    "is there a fee for cancelling", "can i change the delivery address", "thanks, bye",
]  # fmt: skip


def startup(data_dir: Path, threads: int) -> float:
    code = (
        "import time; t=time.perf_counter();"
        "from shopclerk.settings import load_settings; from shopclerk.wiring import "
        "load_engine, limit_threads; from shopclerk.database import open_db;"
        "from engine.types import Inbound;"
        f"s=load_settings(__import__('pathlib').Path({str(data_dir)!r}));"
        f"s=s.model_copy(update={{'threads': {threads}}}); limit_threads({threads});"
        "e=load_engine(s, open_db(s)); e.handle(Inbound('bench-start', 'hello', 'bench'));"
        "print(time.perf_counter()-t)"
    )
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def build_time() -> float:
    """Seconds for `shopclerk kb build` of the demo store into an empty data directory (its
    database made first by `db upgrade`, not timed: `kb build` no longer migrates)."""
    shopclerk = Path(sys.executable).with_name("shopclerk")
    with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp:
        subprocess.run(
            [str(shopclerk), "--data-dir", tmp, "db", "upgrade"], check=True, capture_output=True
        )
        started = time.perf_counter()
        subprocess.run(
            [str(shopclerk), "--data-dir", tmp, "kb", "build"], check=True, capture_output=True
        )
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default_dir = os.environ.get("SHOPCLERK_DATA_DIR")
    parser.add_argument("--data-dir", type=Path, default=Path(default_dir) if default_dir else None)
    parser.add_argument("--messages", type=int, default=640)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--build", action="store_true", help="also time a fresh kb build")
    args = parser.parse_args()

    from engine.intent_data import model_text
    from engine.types import Inbound
    from shopclerk.database import open_db
    from shopclerk.settings import load_settings
    from shopclerk.wiring import limit_threads, load_engine

    limit_threads(args.threads)
    settings = load_settings(args.data_dir).model_copy(update={"threads": args.threads})
    print(f"data dir {settings.data_dir}, {args.threads} thread(s), {os.cpu_count()} cores")
    print(
        f"start-up to first answer (fresh process, median of 3): "
        f"{startup(settings.data_dir, args.threads):.2f} s"
    )

    engine = load_engine(settings, open_db(settings))
    texts = [QUERIES[n % len(QUERIES)] for n in range(args.messages)]
    for text in texts[:20]:  # warm-up
        engine.handle(Inbound(f"bench-{uuid.uuid4()}", text, "bench"))
    latencies = []
    for n, text in enumerate(texts):
        key = f"bench-single-{n % 50}"  # 50 conversations, each continuing
        started = time.perf_counter()
        engine.handle(Inbound(key, text, "bench"))
        latencies.append((time.perf_counter() - started) * 1000)
    print(
        f"single message: p50 {percentile(latencies, 0.5):.1f} ms, "
        f"p95 {percentile(latencies, 0.95):.1f} ms over {len(texts)} messages"
    )

    batches = [texts[i : i + args.batch] for i in range(0, len(texts), args.batch)]
    rounds_engine, rounds_model = [], []
    for _ in range(3):
        started = time.perf_counter()
        for batch in batches:
            engine.stages.encoder.encode([model_text(t) for t in batch], batch_size=args.batch)
        rounds_model.append(len(texts) / (time.perf_counter() - started))
        started = time.perf_counter()
        stream = (
            [Inbound(f"bench-many-{n}", t, "bench") for n, t in enumerate(batch)]
            for batch in batches
        )
        for _turns in engine.handle_stream(stream):
            pass
        rounds_engine.append(len(texts) / (time.perf_counter() - started))
    model, whole = statistics.median(rounds_model), statistics.median(rounds_engine)
    print(
        f"many conversations, {args.batch} per batch: engine {whole:.0f} msg/s, "
        f"embedding model alone {model:.0f} texts/s, ratio {whole / model:.2f}"
    )
    if args.build:
        print(f"kb build of the demo store into an empty data dir: {build_time():.0f} s")


if __name__ == "__main__":
    main()
