"""What the running server needs for learned FAQ entries: the agent console's endpoints to
review suggestions, and keeping the engine's search in line with the saved indexes.

The engine reads the FAQ through the parts in `engine.engine.Knowledge` (the hybrid search, the
spelling corrector that never corrects the FAQ's own words, the slot extractor), built at
start-up from the database and the indexes. `KnowledgeReloader` has them built again, off the
engine's thread (the spelling corrector takes seconds), by the loader the composition root hands
it (`shopclerk.wiring.load_knowledge`), and swapped in with `Engine.replace_knowledge` on the
engine's thread, between two batches of turns. It does so when the indexes changed: at once after
an accept in the console, or when it notices (`follow`) that another process, such as
`shopclerk kb suggestions accept` or `shopclerk kb import-faq`, rebuilt them.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine as Database
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from engine.owners import agent_owner
from kb.embeddings import Embedder
from kb.knowledge import KINDS, build_indexes
from kb.suggestion_models import FaqSuggestion
from learning import suggestions
from learning.suggestions import DecidedError, SuggestionError, UnknownSuggestionError

if TYPE_CHECKING:
    from engine.engine import Engine, Knowledge
    from handoff.models import Agent

log = logging.getLogger(__name__)

Runner = Callable[[Callable[[], None]], Awaitable[None]]  # EngineWorker.run
CHECK_EVERY_SECONDS = 5.0


# -- reloading the search ----------------------------------------------------------------------


def index_version(index_dir: Path) -> str:
    """Changes whenever `build_indexes` changed what an index holds (the content hashes it
    writes beside each index), and only then."""
    digest = hashlib.sha256()
    for kind in KINDS:
        meta = index_dir / f"{kind}.meta.json"
        digest.update(meta.read_bytes() if meta.exists() else b"-")
    return digest.hexdigest()


class KnowledgeReloader:
    """Keeps a running engine's search in line with the saved indexes."""

    def __init__(
        self, engine: Engine, index_dir: Path, load: Callable[[], Knowledge], run: Runner
    ) -> None:
        """`load` builds the parts from what is stored now; `run` runs a function on the
        engine's thread."""
        self._engine = engine
        self._index_dir = index_dir
        self._load = load
        self._run = run
        self._version = index_version(index_dir)
        self._lock = asyncio.Lock()

    async def reload(self) -> None:
        async with self._lock:
            # Read before loading: a change in between is seen (and loaded) at the next check.
            version = await asyncio.to_thread(index_version, self._index_dir)
            knowledge = await asyncio.to_thread(self._load)
            await self._run(partial(self._engine.replace_knowledge, knowledge))
            self._version = version
            log.info("knowledge base reloaded: %d FAQ entries", len(knowledge.search.catalog.faq))

    async def reload_if_changed(self) -> bool:
        if await asyncio.to_thread(index_version, self._index_dir) == self._version:
            return False
        await self.reload()
        return True

    async def follow(self, every: float = CHECK_EVERY_SECONDS) -> None:
        """Check every `every` seconds until cancelled."""
        while True:
            await asyncio.sleep(every)
            try:
                await self.reload_if_changed()
            except Exception:  # the next check tries again; the old search keeps answering
                log.exception("reloading the knowledge base failed")


# -- the agent console's endpoints -------------------------------------------------------------


class SuggestionEndpoints:
    """GET /agent/api/suggestions, POST .../{sid}/accept and .../{sid}/reject, for the
    console's `_agent` wrapper (which checks the login and the CSRF token). Errors answer in the
    console's shape: {"error": {"code", "message"}}."""

    def __init__(
        self,
        db: Database,
        index_dir: Path,
        encoder: Embedder,
        on_faq_changed: Callable[[], Awaitable[Any]],
    ) -> None:
        self._db = db
        self._index_dir = index_dir
        self._encoder = encoder
        self._on_faq_changed = on_faq_changed
        self._indexing = asyncio.Lock()  # two accepts must not save the index over each other

    async def pending(self, request: Request, agent: Agent) -> Response:
        pending = await asyncio.to_thread(suggestions.pending, self._db)
        return JSONResponse({"suggestions": [suggestion_json(s) for s in pending]})

    async def accept(self, request: Request, agent: Agent) -> Response:
        sid: int = request.path_params["sid"]
        body = await _body(request)
        if isinstance(body, Response):
            return body
        edits = {name: body.get(name) for name in ("question", "answer", "key", "topic")}
        alternates = body.get("alternates")
        if any(v is not None and not isinstance(v, str) for v in edits.values()) or not (
            alternates is None or _strings(alternates)
        ):
            return _error(
                400,
                "bad_request",
                "question, answer, key and topic are text; alternates a list of texts",
            )
        accept = partial(
            suggestions.accept,
            self._db,
            sid,
            question=edits["question"],
            answer=edits["answer"],
            key=edits["key"],
            topic=edits["topic"] or "",
            alternates=alternates,
            by=agent_owner(agent.id or 0),
        )
        try:
            entry = await asyncio.to_thread(accept)
        except SuggestionError as exc:
            return _refusal(exc)
        async with self._indexing:
            await asyncio.to_thread(build_indexes, self._db, self._index_dir, self._encoder)
            await self._on_faq_changed()
        suggestion = await asyncio.to_thread(suggestions.find, self._db, sid)
        faq = {
            "key": entry.key,
            "question": entry.question,
            "alternates": entry.alternates,
            "answer": entry.answer,
        }
        return JSONResponse({"suggestion": suggestion_json(suggestion), "faq": faq})

    async def reject(self, request: Request, agent: Agent) -> Response:
        reject = partial(
            suggestions.reject, self._db, request.path_params["sid"], by=agent_owner(agent.id or 0)
        )
        try:
            suggestion = await asyncio.to_thread(reject)
        except SuggestionError as exc:
            return _refusal(exc)
        return JSONResponse({"suggestion": suggestion_json(suggestion)})


def suggestion_json(suggestion: FaqSuggestion) -> dict[str, Any]:
    decided = suggestion.decided_at.isoformat() if suggestion.decided_at else None
    return {
        "id": suggestion.id,
        "question": suggestion.question,
        "alternates": suggestion.alternates,
        "answer": suggestion.answer,
        "status": suggestion.status,
        "cluster_size": suggestion.cluster_size,
        "created_at": suggestion.created_at.isoformat(),
        "decided_at": decided,
        "decided_by": suggestion.decided_by,
        "faq_key": suggestion.faq_key,
    }


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


async def _body(request: Request) -> dict[str, Any] | Response:
    try:
        body = await request.json()
    except ValueError:
        return _error(400, "bad_request", "The body is not JSON.")
    if not isinstance(body, dict):
        return _error(400, "bad_request", "The body is a JSON object.")
    return body


def _refusal(exc: SuggestionError) -> Response:
    if isinstance(exc, UnknownSuggestionError):
        return _error(404, "unknown_suggestion", str(exc))
    if isinstance(exc, DecidedError):
        return _error(409, "decided", str(exc), was=exc.status)
    return _error(400, "invalid_entry", str(exc))


def _error(status: int, code: str, message: str, **extra: Any) -> Response:
    return JSONResponse({"error": {"code": code, "message": message, **extra}}, status)
