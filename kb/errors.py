"""Errors raised by the knowledge base.

KbError
 ├── SourceFileError      a file to import cannot be read or parsed at all
 ├── IndexMissingError    search was asked for before `shopclerk kb build`
 └── ModelMissingError    the packaged embedding model cannot be found
"""

from __future__ import annotations

from pathlib import Path


class KbError(Exception):
    """Base of every knowledge-base error."""


class SourceFileError(KbError):
    """A file to import cannot be read at all; nothing from it was written."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class IndexMissingError(KbError):
    """A search index has not been built yet."""

    def __init__(self, kind: str, directory: Path) -> None:
        super().__init__(f"no {kind} index in {directory}: run `shopclerk kb build` first")
        self.kind = kind
        self.directory = directory


class ModelMissingError(KbError):
    """The packaged embedding model is not installed."""
