"""Building the parts from the settings: knowledge base, intent model and the engine."""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from engine.engine import Engine, Knowledge, Stages
from engine.generators import GENERATORS
from engine.guard import InputGuard
from engine.intent_data import Example, fingerprint, model_text, training_examples
from engine.intents import IntentClassifier
from engine.language import LanguageCheck
from engine.lookup import Lookup
from engine.policy import DecisionPolicy
from engine.proof import ProofLimits
from engine.slots import SlotExtractor
from engine.spelling import SpellingCorrector
from engine.store import ConversationStore
from kb.database import Database
from kb.embeddings import MODEL_NAME, Embedder, export_model
from kb.errors import ModelMissingError
from kb.importers import ImportReport, import_faq, import_orders, import_products
from kb.knowledge import build_indexes, open_search, stats
from kb.orders import OrderBook
from kb.search import Catalog
from kb.vector_index import Progress, SyncReport, no_progress
from shopclerk.settings import Settings

if TYPE_CHECKING:  # the openai client takes half a second to import: only when it is used
    import openai

    from engine.generators.openai import OpenAIWriter

INTENT_MODEL = "intent-classifier.npz"
OPENAI_RETRIES = 2  # on connection errors, 408, 429 and 5xx, with the client's own backoff


def limit_threads(threads: int) -> None:
    """Two cores are easily oversubscribed: every numeric library gets the same budget."""
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(name, str(threads))
    import faiss

    faiss.omp_set_num_threads(threads)


def demo_file(name: str) -> Path:
    return Path(str(resources.files("kb").joinpath("demo", name)))


def import_demo_store(db: Database) -> list[ImportReport]:
    return [
        import_products(db, demo_file("products.json")),
        import_faq(db, demo_file("faq.json")),
        import_orders(db, demo_file("orders.json")),
    ]


def embedder(settings: Settings) -> Embedder:
    return Embedder(export_model(settings.models_dir), threads=settings.threads)


def train_intents(
    settings: Settings, encoder: Embedder, train: list[Example] | None = None
) -> IntentClassifier:
    """Train and save the intent model, on `train` (by default the project's examples)."""
    train = training_examples()[0] if train is None else train
    vectors = encoder.encode([model_text(e.text) for e in train])
    classifier = IntentClassifier.train(train, vectors)
    classifier.save(settings.models_dir / INTENT_MODEL, fingerprint(train, IntentClassifier.KIND))
    return classifier


@dataclass(frozen=True)
class BuildReport:
    indexes: list[SyncReport]
    trained_intents: bool


# A step that may take a while runs inside `step(what it is)`; what the context gives is where
# to report how far it got (the CLI shows it, see shopclerk/steps.py).
Step = Callable[[str], AbstractContextManager[Progress]]


def _quietly(_what: str) -> AbstractContextManager[Progress]:
    return nullcontext(no_progress)


def build(
    settings: Settings, db: Database, *, retrain: bool = False, step: Step = _quietly
) -> BuildReport:
    """Export the model, bring the FAISS indexes up to date, train the intent model if needed;
    each of those runs inside `step(what it is)` (the CLI shows them as they go)."""
    exported = (settings.models_dir / MODEL_NAME / "onnx" / "model.onnx").exists()
    with step(
        "loading the embedding model"
        if exported
        else "exporting the embedding model to ONNX (the first time only)"
    ):
        encoder = embedder(settings)
    with step("embedding new and changed products and FAQ entries") as progress:
        reports = build_indexes(db, settings.index_dir, encoder, progress)
    model_file = settings.models_dir / INTENT_MODEL
    train, _validation = training_examples()
    # A model learnt from other examples (an older release's) is trained again.
    trained = (
        retrain
        or not model_file.exists()
        or IntentClassifier.learnt_from(model_file) != fingerprint(train, IntentClassifier.KIND)
    )
    if trained:
        with step(f"training the intent model on {len(train)} examples"):
            train_intents(settings, encoder, train)
    return BuildReport(reports, trained)


def load_knowledge(
    db: Database,
    index_dir: Path,
    speller: Callable[[list[str]], SpellingCorrector] = SpellingCorrector,
) -> Knowledge:
    """The engine's parts built from what `db` and the indexes hold now: at start-up and again
    whenever the FAQ or the catalog changed (`Engine.replace_knowledge`;
    learning/suggestion_server.py's `KnowledgeReloader`)."""
    search = open_search(db, index_dir)
    return Knowledge(
        search, speller(store_vocabulary(search.catalog)), SlotExtractor(search.catalog)
    )


def store_vocabulary(catalog: Catalog) -> list[str]:
    words: list[str] = []
    for p in catalog.products.values():
        words += [p.name, p.brand, p.category, *p.attributes.values()]
    for f in catalog.faq.values():
        words += [f.question, f.answer]
    return words


@dataclass(frozen=True)
class Models:
    """The engine's parts that are loaded from files and never change once loaded: the
    embedding model, the intent model and the language detector (the spelling correctors share
    one English dictionary of their own: engine/spelling.py `english`).
    Loading them takes seconds and hundreds of MB; several engines of one process may share
    them (the tests load them once per session; `create_app` takes them ready-made)."""

    encoder: Embedder
    intents: IntentClassifier
    language: LanguageCheck


def load_models(settings: Settings, encoder: Embedder | None = None) -> Models:
    """The models under `settings.models_dir` (`encoder`: one already loaded from there)."""
    intent_model = settings.models_dir / INTENT_MODEL
    if not intent_model.exists():
        raise ModelMissingError(
            f"no intent model in {settings.models_dir}: run `shopclerk kb build`"
        )
    return Models(
        encoder=encoder or embedder(settings),
        intents=IntentClassifier.load(intent_model),
        language=LanguageCheck(),
    )


def load_engine(settings: Settings, db: Database, models: Models | None = None) -> Engine:
    """The engine over what `db` and the indexes hold now, with `models` (by default loaded
    from `settings.models_dir`)."""
    models = models or load_models(settings)
    knowledge = load_knowledge(db, settings.index_dir)
    stages = Stages(
        guard=InputGuard(settings.max_message_chars),
        speller=knowledge.speller,
        language=models.language,
        encoder=models.encoder,
        intents=models.intents,
        slots=knowledge.slots,
        lookup=Lookup(OrderBook(db), knowledge.search),
        # The engine composes the grounded answer in every case; the `openai` generator
        # rewrites it afterwards, off the engine's thread (engine/generators/openai.py).
        generator=GENERATORS["grounded"](timezone=ZoneInfo(settings.store_timezone)),
        policy=DecisionPolicy(
            round(settings.refund_policy_limit_eur * 100), settings.repeated_failure_limit
        ),
        timezone=ZoneInfo(settings.store_timezone),
        proofs=proof_limits(settings),
    )
    return Engine(stages, ConversationStore(db))


def proof_limits(settings: Settings) -> ProofLimits:
    return ProofLimits(
        settings.proof_failures, settings.proof_failures_per_address, settings.proof_window_seconds
    )


def load_writer(
    settings: Settings, client: openai.AsyncOpenAI | None = None
) -> OpenAIWriter | None:
    """The `openai` generator when the settings ask for it (`client`: one made elsewhere, e.g.
    over another HTTP transport)."""
    if settings.generator != "openai":
        return None
    from engine.generators.openai import OpenAIWriter, model_in_use

    client = client or openai_client(settings)
    model = model_in_use(settings.openai_model, settings.finetuned_model_file)
    return OpenAIWriter(
        client, model, deadline=settings.openai_timeout_seconds, link_hosts=link_hosts(settings)
    )


def openai_client(settings: Settings) -> openai.AsyncOpenAI:
    """The one client for the model API, answers and fine-tuning alike: the key (a local server
    may take none), the base URL and the timeout from the settings. Its retries fit within the
    writer's deadline, after which the customer gets the grounded answer anyway."""
    import openai

    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else ""
    return openai.AsyncOpenAI(
        api_key=key or "not-needed",
        base_url=settings.openai_base_url,
        timeout=settings.openai_timeout_seconds,
        max_retries=OPENAI_RETRIES,
    )


def link_hosts(settings: Settings) -> list[str]:
    """Where a model's answer may link besides its sources' hosts: the allow-list, the product
    pages' host and this server's own."""
    from engine.generators.links import host_of

    own = [host_of(settings.product_url), host_of(settings.public_url)]
    return [*settings.allowed_link_hosts, *(h for h in own if h)]


__all__ = [
    "BuildReport",
    "Models",
    "build",
    "import_demo_store",
    "load_engine",
    "load_knowledge",
    "load_models",
    "load_writer",
    "openai_client",
    "stats",
]
