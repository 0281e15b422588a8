"""Running the engine off the event loop.

`EngineWorker` owns one thread that takes messages from a queue, answers whatever has gathered
meanwhile as one batch, and hands each `Turn` back to the asyncio loop that asked. A slow turn
never blocks the loop, so other sockets keep being served. Batches go through
`Engine.handle_stream`: while one batch is answered, the next one (if messages are waiting)
is already being embedded.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections import deque
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
        while True:
            taken: deque[list[_Job]] = deque()
            try:
                for turns in self.engine.handle_stream(self._batches(taken)):
                    _deliver(taken.popleft(), turns)
                return  # stopped
            except Exception as exc:  # a failed batch must not stop the worker
                log.exception("engine failed; %d batches affected", len(taken))
                while taken:
                    jobs = taken.popleft()
                    _deliver(jobs, [exc] * len(jobs))

    def _batches(self, taken: deque[list[_Job]]) -> Iterator[list[Inbound]]:
        """Batches of waiting messages. After a non-empty batch, one that does not wait:
        an empty one when nothing came meanwhile, so the stream answers without delay."""
        last_was_empty = True
        while True:
            jobs = self._take(block=last_was_empty)
            if jobs is None:
                return
            taken.append(jobs)
            last_was_empty = not jobs
            yield [job.inbound for job in jobs]

    def _take(self, block: bool) -> list[_Job] | None:
        """Up to `max_batch` waiting jobs (None when asked to stop)."""
        jobs: list[_Job] = []
        while len(jobs) < self._max_batch:
            try:
                item = self._queue.get(block=block and not jobs)
            except queue.Empty:
                break
            if item is _STOP:
                if jobs:
                    self._queue.put(_STOP)  # answer these first, stop next time
                    break
                return None
            if isinstance(item, _Job):
                jobs.append(item)
        return jobs


def _deliver(jobs: list[_Job], outcomes: Sequence[Turn | BaseException]) -> None:
    for job, outcome in zip(jobs, outcomes, strict=True):
        job.loop.call_soon_threadsafe(_settle, job.future, outcome)


def _settle(future: asyncio.Future[Turn], outcome: object) -> None:
    if future.done():  # the caller went away (socket closed)
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    elif isinstance(outcome, Turn):
        future.set_result(outcome)
