"""Running the engine off the event loop.

`EngineWorker` owns one thread that takes messages from a queue, answers whatever has gathered
meanwhile as one batch (`Engine.handle_many`: the embedding model sees many messages at once)
and hands each `Turn` back to the asyncio loop that asked. A slow turn never blocks the loop, so
other sockets keep being served.

Not `Engine.handle_stream`: overlapping the next batch's embedding on yet another thread was
measured slower here (bench/web_load.py, 200 sockets: p95 79 vs 44 ms, 125 vs 140 answered/s),
because the event loop needs the GIL as much as the engine does.

`run(fn)` runs other work on the same thread, in order with the turns: everything that writes a
conversation's messages or owner in this process (agent replies, handoff events) goes through
here, so a turn never sees a conversation change halfway through.

Load shedding: at most `max_queued` turns wait for the thread. Past that `handle` refuses the
message at once with `OverloadedError` (nothing was taken: the client sends it again after
`retry_after` seconds, with the same client id) rather than let every customer's wait grow
without bound; a turn that was taken is always answered. `run` calls are never refused: an
agent's reply or a handoff event has nobody to send it again.
"""

from __future__ import annotations

import asyncio
import logging
import math
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from engine.availability import unreachable
from engine.engine import Engine
from engine.types import Inbound, Turn

log = logging.getLogger(__name__)

MAX_BATCH = 64
# Turns that may wait for the engine's thread before new ones are refused. One process flat out
# answers about 155 messages/s over websockets (issue 14; the engine alone about 296/s in
# bench/engine_speed.py): 256 waiting turns drain in about 1.7 s there, so an accepted message
# is answered within about 2 s even at the back of a full queue, where an unbounded queue had
# customers waiting 16.8 s (p50) at twice the capacity. Four batches of 64 keep the model busy.
MAX_QUEUED_TURNS = 256
RATE_WINDOW = 10.0  # seconds of answered turns the retry estimate reads
MAX_RETRY_AFTER = 30  # seconds: the longest wait suggested
# Seconds suggested when nothing was answered for RATE_WINDOW (the first batches after start-up,
# or a stuck engine): sooner would only be refused again.
UNKNOWN_PACE_RETRY_AFTER = 5


class OverloadedError(Exception):
    """The engine has more turns waiting than it takes: this message was not taken. Send it
    again (the same client id) after `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many messages waiting; try again in {retry_after} s")
        self.retry_after = retry_after


def retry_after_at(waiting: int, rate: float) -> int:
    """Seconds until `waiting` turns are taken at `rate` a second (a positive rate), between 1
    and MAX_RETRY_AFTER: what a refused client is told to wait."""
    return max(1, min(MAX_RETRY_AFTER, math.ceil(waiting / rate)))


@dataclass(frozen=True)
class _Job:
    inbound: Inbound
    future: asyncio.Future[Turn]
    loop: asyncio.AbstractEventLoop


@dataclass(frozen=True)
class _Call:
    fn: Callable[[], Any]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop


_STOP = object()
T = TypeVar("T")


class EngineWorker:
    def __init__(
        self, engine: Engine, max_batch: int = MAX_BATCH, max_queued: int = MAX_QUEUED_TURNS
    ) -> None:
        self.engine = engine
        self._max_batch = max_batch
        self._max_queued = max_queued
        self._queue: queue.Queue[_Job | _Call | object] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="engine-worker", daemon=True)
        self._started = False
        self._waiting = 0  # turns queued and not yet taken by the thread
        self._lock = threading.Lock()
        self._answered: deque[tuple[float, int]] = deque()  # (when, how many) per batch

    def start(self) -> None:
        if not self._started:
            self._thread.start()
            self._started = True

    def stop(self) -> None:
        if self._started:
            self._queue.put(_STOP)
            self._thread.join()
            self._started = False

    @property
    def depth(self) -> int:
        """Turns and calls waiting for the thread (not counting the batch it is on)."""
        return self._queue.qsize()

    @property
    def turns_waiting(self) -> int:
        """Turns waiting for the thread: what `max_queued` bounds."""
        return self._waiting

    async def handle(self, inbound: Inbound) -> Turn:
        """The engine's turn for `inbound`, computed on the worker thread; `OverloadedError`
        at once, and nothing taken, when `max_queued` turns are waiting already."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Turn] = loop.create_future()
        with self._lock:
            if self._waiting >= self._max_queued:
                raise OverloadedError(self._retry_after(self._waiting))
            self._waiting += 1
        self._queue.put(_Job(inbound, future, loop))
        return await future

    async def run(self, fn: Callable[[], T]) -> T:
        """`fn()` on the worker thread, after the turns already waiting."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Call(fn, future, loop))
        return await future

    def _retry_after(self, waiting: int) -> int:
        """Seconds until the turns waiting now are answered, at the recent rate."""
        now = time.monotonic()
        while self._answered and self._answered[0][0] < now - RATE_WINDOW:
            self._answered.popleft()
        if not self._answered:
            return UNKNOWN_PACE_RETRY_AFTER
        span = max(1.0, now - self._answered[0][0])
        return retry_after_at(waiting, sum(n for _, n in self._answered) / span)

    def _run(self) -> None:
        for jobs in self._batches():
            taken = sum(isinstance(j, _Job) for j in jobs)
            with self._lock:
                self._waiting -= taken
            for run in _runs(jobs):
                if isinstance(run, _Call):
                    run.loop.call_soon_threadsafe(_settle, run.future, _called(run.fn))
                    continue
                for job, outcome in zip(run, self._answer(run), strict=True):
                    job.loop.call_soon_threadsafe(_settle, job.future, outcome)
            if taken:
                with self._lock:
                    self._answered.append((time.monotonic(), taken))

    def _answer(self, jobs: list[_Job]) -> Sequence[Turn | BaseException]:
        try:
            return self.engine.handle_many([j.inbound for j in jobs])
        except Exception as exc:  # one bad batch must not stop the worker
            if not unreachable(exc):  # an outage is logged once, by whoever answers the client
                log.exception("engine failed on a batch of %d messages", len(jobs))
            return [exc] * len(jobs)

    def _batches(self) -> Iterator[list[_Job | _Call]]:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            jobs = [first]
            while len(jobs) < self._max_batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is _STOP:
                    self._queue.put(_STOP)
                    break
                jobs.append(more)
            yield [j for j in jobs if isinstance(j, _Job | _Call)]


def _runs(jobs: list[_Job | _Call]) -> Iterator[list[_Job] | _Call]:
    """Neighbouring messages as one batch; calls one by one; the order kept."""
    batch: list[_Job] = []
    for job in jobs:
        if isinstance(job, _Job):
            batch.append(job)
            continue
        if batch:
            yield batch
            batch = []
        yield job
    if batch:
        yield batch


def _called(fn: Callable[[], Any]) -> object:
    try:
        return _Result(fn())
    except Exception as exc:  # handed to the awaiting caller, which decides
        return exc


@dataclass(frozen=True)
class _Result:
    value: Any


def _settle(future: asyncio.Future[Any], outcome: object) -> None:
    if future.done():  # the caller went away (socket closed)
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    elif isinstance(outcome, _Result):
        future.set_result(outcome.value)
    else:
        future.set_result(outcome)
