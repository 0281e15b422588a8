"""Steps that may take a while, shown on stderr as they go (stdout keeps the results).

A step is one line: what it is, then how long it took. A step that reports progress (how many
texts are embedded, out of how many) updates its line in place on a terminal,

    embedding new and changed products and FAQ entries ... 256 of 611 texts

and elsewhere (a log, CI, a test) adds a mark at each quarter to the same line, so that the
output stays one line a step whatever the size of the store:

    embedding new and changed products and FAQ entries ... 25% 50% 75% 100% done (9.4 s)
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import typer

MARKS = 4  # progress marks a step may add to its line when stderr is not a terminal


class StepLine:
    """The line of one step; `progress` is a `kb.vector_index.Progress`."""

    def __init__(self, what: str, terminal: bool) -> None:
        self.what = what
        self._terminal = terminal
        self._marks = 0

    def start(self) -> None:
        typer.echo(f"{self.what} ...", err=True, nl=False)

    def progress(self, done: int, total: int) -> None:
        if self._terminal:
            typer.echo(f"\r{self.what} ... {done} of {total} texts", err=True, nl=False)
            return
        marks = done * MARKS // total if total else MARKS
        for mark in range(self._marks + 1, marks + 1):
            typer.echo(f" {mark * 100 // MARKS}%", err=True, nl=False)
        self._marks = max(self._marks, marks)

    def end(self, outcome: str) -> None:
        typer.echo(f" {outcome}", err=True)


@contextmanager
def step(what: str) -> Iterator[Callable[[int, int], None]]:
    """One line on stderr for a step that may take a while: what it is, how far it got if it
    says, then how long it took (or that it failed)."""
    line = StepLine(what, sys.stderr.isatty())
    line.start()
    started = time.monotonic()
    try:
        yield line.progress
    except BaseException:
        line.end("failed")
        raise
    line.end(f"done ({time.monotonic() - started:.1f} s)")
