"""A scripted OpenAI-compatible chat API for tests: the real `openai` client talks to it over
`httpx2.MockTransport` (openai 3 is built on httpx2, httpx's successor), so requests, streaming
(server-sent events), errors and retries go through the client's own code."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx2
import openai


@dataclass
class FakeChat:
    """Answers POST /chat/completions with the next scripted reply: text (streamed in pieces
    when asked to stream), or an HTTP error status. Records every request's JSON body."""

    replies: deque[str | int] = field(default_factory=deque)
    default: str | Callable[[list[dict[str, Any]]], str] = "I can help with that."
    requests: list[dict[str, Any]] = field(default_factory=list)
    piece: int = 7  # characters per streamed chunk

    def say(self, *replies: str | int) -> FakeChat:
        self.replies.extend(replies)
        return self

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content or b"{}")
        self.requests.append(body)
        reply = self.replies.popleft() if self.replies else None
        if isinstance(reply, int):
            error = {"error": {"message": f"scripted {reply}", "type": "server_error"}}
            return httpx2.Response(reply, json=error, headers={"retry-after": "0"})
        if reply is None:
            reply = self.default if isinstance(self.default, str) else self.default(
                body.get("messages", []))  # fmt: skip
        model = body.get("model", "m")
        usage = {"prompt_tokens": 120, "completion_tokens": len(reply) // 4 + 1,
                 "total_tokens": 120 + len(reply) // 4 + 1}  # fmt: skip
        if not body.get("stream"):
            message = {"role": "assistant", "content": reply}
            return httpx2.Response(200, json={
                "id": "c1", "object": "chat.completion", "created": 1, "model": model,
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                "usage": usage})  # fmt: skip
        events = []
        for start in range(0, len(reply), self.piece):
            delta = {"content": reply[start : start + self.piece]}
            events.append({"id": "c1", "object": "chat.completion.chunk", "created": 1,
                           "model": model, "choices": [{"index": 0, "delta": delta,
                                                        "finish_reason": None}]})  # fmt: skip
        events.append({"id": "c1", "object": "chat.completion.chunk", "created": 1,
                       "model": model, "choices": [], "usage": usage})  # fmt: skip
        sse = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
        return httpx2.Response(200, content=sse.encode(),
                               headers={"content-type": "text/event-stream"})  # fmt: skip

    def client(self, max_retries: int = 2, timeout: float = 5.0) -> openai.AsyncOpenAI:
        transport = httpx2.MockTransport(self.handler)
        return openai.AsyncOpenAI(api_key="test-key", base_url="http://llm.test/v1",
                                  http_client=httpx2.AsyncClient(transport=transport),
                                  max_retries=max_retries, timeout=timeout)  # fmt: skip
