"""Running the engine off the event loop.

`EngineWorker` owns one thread that takes messages from a queue, answers whatever has gathered
meanwhile as one batch (`Engine.handle_many`: the embedding model sees many messages at once)
and hands each `Turn` back to the asyncio loop that asked. A slow turn never blocks the loop, so
other sockets keep being served.

Not `Engine.handle_stream`: overlapping the next batch's embedding on yet another thread was
measured slower here (bench/web_load.py, 200 sockets: p95 79 vs 44 ms, 125 vs 140 answered/s),
because the event loop needs the GIL as much as the engine does.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from engine.engine import Engine
from engine.types import Inbound, Turn

log = logging.getLogger(__name__)

MAX_BATCH = 64


@dataclass(frozen=True)
class _Job:
    inbound: Inbound
    future: asyncio.Future[Turn]
    loop: asyncio.AbstractEventLoop


_STOP = object()


class EngineWorker:
    def __init__(self, engine: Engine, max_batch: int = MAX_BATCH) -> None:
        self.engine = engine
        self._max_batch = max_batch
        self._queue: queue.Queue[_Job | object] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="engine-worker", daemon=True)
        self._started = False

    def start(self) -> None:
        if not self._started:
            self._thread.start()
            self._started = True

    def stop(self) -> None:
        if self._started:
            self._queue.put(_STOP)
            self._thread.join()
            self._started = False

    async def handle(self, inbound: Inbound) -> Turn:
        """The engine's turn for `inbound`, computed on the worker thread."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Turn] = loop.create_future()
        self._queue.put(_Job(inbound, future, loop))
        return await future

    def _run(self) -> None:
        for jobs, turns in self._answered():
            for job, outcome in zip(jobs, turns, strict=True):
                job.loop.call_soon_threadsafe(_settle, job.future, outcome)

    def _answered(self) -> Iterator[tuple[list[_Job], Sequence[Turn | BaseException]]]:
        for jobs in self._batches():
            outcomes: Sequence[Turn | BaseException]
            try:
                outcomes = self.engine.handle_many([j.inbound for j in jobs])
            except Exception as exc:  # one bad batch must not stop the worker
                log.exception("engine failed on a batch of %d messages", len(jobs))
                outcomes = [exc] * len(jobs)
            yield jobs, outcomes

    def _batches(self) -> Iterator[list[_Job]]:
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
            yield [j for j in jobs if isinstance(j, _Job)]


def _settle(future: asyncio.Future[Turn], outcome: object) -> None:
    if future.done():  # the caller went away (socket closed)
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    elif isinstance(outcome, Turn):
        future.set_result(outcome)
