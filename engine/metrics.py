"""What an operator reads at `/metrics` (Prometheus): the metric objects, in one place.

They live in the lowest layer that observes them, so every layer above increments them with
one line at the site that sees the event (the engine never imports starlette: only
prometheus-client's own objects are here; `shopclerk.health` serves them). They register on
prometheus-client's process-wide registry, as a process serves one app: tests that start many
apps in one process read differences, never absolute values.

    shopclerk_messages_received_total{channel}   customer messages handed to the desk
    shopclerk_turn_seconds                        arrival at the desk -> answer stored
    shopclerk_queue_depth                         turns and calls waiting for the engine thread
    shopclerk_open_sockets{kind}                  widget sockets and agent consoles open
    shopclerk_handoffs_total{reason}              conversations handed to a person
    shopclerk_model_calls_total                   answers asked of the model (openai writer)
    shopclerk_model_failures_total{reason}        ... that failed: api_error, unsupported_facts
    shopclerk_error_frames_total{code}            unavailable / overloaded frames sent
"""

from __future__ import annotations

from typing import Final

from prometheus_client import Counter, Gauge, Histogram

from engine.types import HandoffReason

PREFIX: Final = "shopclerk"

MESSAGES_RECEIVED = Counter(
    f"{PREFIX}_messages_received", "Customer messages handed to the desk.", ["channel"]
)
# From 10 ms (one batched turn on an idle engine) to 30 s (a deep queue or a slow database).
TURN_SECONDS = Histogram(
    f"{PREFIX}_turn_seconds",
    "Seconds from a message's arrival at the desk to its stored answer.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
QUEUE_DEPTH = Gauge(f"{PREFIX}_queue_depth", "Turns and calls waiting for the engine thread.")
OPEN_SOCKETS = Gauge(
    f"{PREFIX}_open_sockets", "Open websockets: widget (customers) and console (agents).", ["kind"]
)
HANDOFFS = Counter(f"{PREFIX}_handoffs", "Conversations handed to a person.", ["reason"])
MODEL_CALLS = Counter(f"{PREFIX}_model_calls", "Answers asked of the model (openai writer).")
MODEL_FAILURES = Counter(
    f"{PREFIX}_model_failures",
    "Model answers not used: api_error (API or timeout), unsupported_facts (failed the check).",
    ["reason"],
)
ERROR_FRAMES = Counter(
    f"{PREFIX}_error_frames",
    "Error frames that ask the client to resend later: unavailable, overloaded.",
    ["code"],
)

# Known label values start at 0, so a dashboard shows them before the first event.
for _kind in ("widget", "console"):
    OPEN_SOCKETS.labels(_kind)
for _reason in HandoffReason:
    HANDOFFS.labels(_reason.value)
for _code in ("unavailable", "overloaded"):
    ERROR_FRAMES.labels(_code)
for _failure in ("api_error", "unsupported_facts"):
    MODEL_FAILURES.labels(_failure)
