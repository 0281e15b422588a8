"""The `openai` generator: the answer written by a model behind any OpenAI-compatible API
(OpenAI, Azure OpenAI, vLLM, Ollama, llama.cpp's server...), from the sources the engine found.

The engine still composes the grounded answer for every message; this rewrites it afterwards,
off the engine's thread, while the customer watches it arrive:

- The reply streams token by token. A sentence that holds something checkable (a number, a
  date, a status word, a verb of something done, a link) is held back until it is complete and
  checked against the sources (`facts.check`); the customer never sees an unchecked fact, a
  claimed action or a link to an outside host.
- If any fact is not in the sources, the stream stops and the grounded answer is stored and
  shown instead; the event is recorded with the facts that failed.
- Timeouts, and the client's own retries with back-off on rate limits and server errors; after
  repeated failures a circuit breaker skips the API for a while. Whenever the model cannot
  answer, the customer gets the grounded answer: never an error, never silence.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import openai
from openai.types.chat import ChatCompletionMessageParam

from engine.generators import prompt
from engine.generators.facts import Known, could_be_fact, leaks
from engine.generators.prompt import SYSTEM_PROMPT, Document, Said
from engine.metrics import MODEL_CALLS, MODEL_FAILURES

log = logging.getLogger(__name__)
Delta = Callable[[str], Awaitable[None]]
_SENTENCE_END = re.compile(r"[.!?](?=\s)|\n")


class Breaker:
    """Open after `failures` failures in a row: the API is skipped for `cooldown` seconds, then
    one call is let through to try it again."""

    def __init__(self, failures: int = 5, cooldown: float = 30.0) -> None:
        self.failures, self.cooldown = failures, cooldown
        self._in_a_row = 0
        self._opened_at: float | None = None

    def allow(self) -> bool:
        if self._opened_at is None:
            return True
        if time.monotonic() - self._opened_at >= self.cooldown:
            self._opened_at = time.monotonic()  # half open: this call tries; others wait again
            return True
        return False

    def succeeded(self) -> None:
        self._in_a_row, self._opened_at = 0, None

    def failed(self) -> None:
        self._in_a_row += 1
        if self._in_a_row >= self.failures:
            self._opened_at = time.monotonic()

    @property
    def open(self) -> bool:
        return self._opened_at is not None


@dataclass(frozen=True)
class Written:
    """What the customer gets, and how it came about (stored with the bot's message)."""

    text: str
    generator: str  # openai | grounded
    model: str | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    latency_ms: int = 0
    check: str = "skipped"  # passed | failed | skipped (no model answer to check)
    problem: str | None = None
    unsupported: tuple[str, ...] = ()
    draft: str | None = None  # the model's text, when it was not used

    def as_dict(self) -> dict[str, Any]:
        return {
            "generator": self.generator,
            "model": self.model,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "latency_ms": self.latency_ms,
            "check": self.check,
            "problem": self.problem,
            "unsupported": list(self.unsupported),
            "model_text": self.draft,
        }


class UnsupportedFactsError(Exception):
    def __init__(self, missing: tuple[str, ...]) -> None:
        super().__init__(", ".join(missing))
        self.missing = missing
        self.usage: Any = None


@dataclass
class _Stream:
    """The model's text so far, and how much of it the customer has been shown."""

    known: Known
    text: str = ""
    shown: int = 0
    checked: list[str] = field(default_factory=list)

    def releasable(self, final: bool = False) -> int:
        """How far the text can be shown: complete sentences whose facts check out, then the
        unfinished sentence's complete words unless one of them could be a fact."""
        if leaks(self.text, SYSTEM_PROMPT):  # stopped within a few words of the instructions
            raise UnsupportedFactsError(("the instructions",))
        start = self.shown
        begin = self._sentence_start()  # the whole sentence: "... means we've sent" is no claim
        pending = self.text[start:]
        for end in _SENTENCE_END.finditer(pending):
            self._check(self.text[begin : self.shown + end.end()])
            start = begin = self.shown + end.end()
        tail = self.text[start:]
        if final:
            self._check(self.text[begin:])
            return len(self.text)
        words = tail.split()
        if any(could_be_fact(w) for w in words):
            return start  # held: the sentence ends before its facts are shown
        cut = max(tail.rfind(" "), tail.rfind("\n"))
        return start + cut + 1 if cut >= 0 else start

    def _sentence_start(self) -> int:
        ends = [m.end() for m in _SENTENCE_END.finditer(self.text[: self.shown])]
        return ends[-1] if ends else 0

    def check_whole(self) -> None:
        """The whole answer at the end too (a fact split over two sentences), and that it does
        not repeat the instructions."""
        self._check(self.text)
        if leaks(self.text, SYSTEM_PROMPT):
            raise UnsupportedFactsError(("the instructions",))

    def _check(self, sentence: str) -> None:
        result = self.known.check(sentence)
        if not result.passed:
            raise UnsupportedFactsError(result.unsupported)


class OpenAIWriter:
    def __init__(
        self,
        client: openai.AsyncOpenAI,
        model: Callable[[], str],
        breaker: Breaker | None = None,
        max_tokens: int = 400,
        temperature: float = 0.2,
        deadline: float = 30.0,
        link_hosts: Sequence[str] = (),
    ) -> None:
        self._client = client
        self._link_hosts = tuple(link_hosts)  # besides the sources' own hosts
        self._deadline = deadline  # seconds for the whole answer, however it trickles in
        self._model = model
        self.breaker = breaker or Breaker()
        self._max_tokens = max_tokens
        self._temperature = temperature

    async def answer(
        self,
        documents: Sequence[Document],
        history: Sequence[Said],
        text: str,
        grounded: str,
        on_delta: Delta | None = None,
    ) -> Written:
        """The answer to the customer's `text`, from the records the engine found: the prompt
        (engine/generators/prompt.py), then `write`."""
        chat = prompt.messages(documents, history, text)
        sources = [d.text for d in documents]
        return await self.write(chat, sources, grounded, on_delta, prompt.policies(documents))

    async def write(
        self,
        chat: list[dict[str, str]],
        sources: Sequence[str],
        grounded: str,
        on_delta: Delta | None = None,
        policies: Sequence[str] = (),
    ) -> Written:
        """The model's answer if every fact in it is in `sources` or `grounded` (and every
        promise in `policies`), else `grounded`."""
        started, model = time.perf_counter(), self._model()

        def fallback(check: str, problem: str, **more: Any) -> Written:
            latency = round((time.perf_counter() - started) * 1000)
            return Written(
                grounded,
                "grounded",
                model,
                latency_ms=latency,
                check=check,
                problem=problem,
                **more,
            )

        if not self.breaker.allow():
            return fallback("skipped", "the model's API is failing; circuit open")
        stream = _Stream(Known.of([*sources, grounded], policies, self._link_hosts))
        MODEL_CALLS.inc()
        try:
            async with asyncio.timeout(self._deadline):
                usage = await self._stream(chat, model, stream, on_delta)
        except UnsupportedFactsError as exc:
            self.breaker.succeeded()
            MODEL_FAILURES.labels("unsupported_facts").inc()
            log.warning("model answer not in its sources (%s): grounded answer sent", exc)
            return fallback(
                "failed",
                "facts not in the sources",
                unsupported=exc.missing,
                draft=stream.text,
                **_usage(exc.usage),
            )
        except (openai.APIError, TimeoutError) as exc:
            self.breaker.failed()
            MODEL_FAILURES.labels("api_error").inc()
            log.warning("model API failed (%s): grounded answer sent", type(exc).__name__)
            return fallback("skipped", f"{type(exc).__name__}: {exc}"[:300])
        self.breaker.succeeded()
        text = stream.text.strip()
        if not text:
            return fallback("skipped", "the model answered nothing", **_usage(usage))
        latency = round((time.perf_counter() - started) * 1000)
        return Written(text, "openai", model, latency_ms=latency, check="passed", **_usage(usage))

    async def _stream(
        self, chat: list[dict[str, str]], model: str, stream: _Stream, on_delta: Delta | None
    ) -> Any:
        """Read the model's answer into `stream`, showing what checks out; its usage."""
        usage: Any = None
        chunks = await self._client.chat.completions.create(
            model=model,
            messages=cast(list[ChatCompletionMessageParam], chat),
            stream=True,
            stream_options={"include_usage": True},
            max_tokens=self._max_tokens,
            temperature=self._temperature,
        )
        try:
            async for chunk in chunks:
                usage = chunk.usage or usage
                for choice in chunk.choices:
                    stream.text += choice.delta.content or ""
                await _show(stream, stream.releasable(), on_delta)
            await _show(stream, stream.releasable(final=True), on_delta)
            stream.check_whole()
        except UnsupportedFactsError as exc:
            exc.usage = usage
            raise
        finally:
            await chunks.close()
        return usage


async def _show(stream: _Stream, upto: int, on_delta: Delta | None) -> None:
    if upto > stream.shown:
        delta = stream.text[stream.shown : upto]
        stream.shown = upto
        if on_delta is not None and delta:
            await on_delta(delta)


def _usage(usage: Any) -> dict[str, Any]:
    if usage is None:
        return {}
    return {"tokens_in": usage.prompt_tokens, "tokens_out": usage.completion_tokens}


def model_in_use(base: str, finetuned: Path) -> Callable[[], str]:
    """The fine-tuned model once `shopclerk finetune` has written it, else `base`; the file is
    read again when it changes, so a new model is used without a restart."""
    seen: dict[str, Any] = {"mtime": None, "model": base}

    def current() -> str:
        try:
            mtime = finetuned.stat().st_mtime
        except FileNotFoundError:
            return base
        if mtime != seen["mtime"]:
            try:
                seen["model"] = str(json.loads(finetuned.read_text())["model"])
            except (OSError, ValueError, KeyError, TypeError):
                log.warning("%s is not readable; answering with %s", finetuned, base)
                seen["model"] = base
            seen["mtime"] = mtime
        return str(seen["model"])

    return current
