"""Answer generators: `grounded` (offline, the default) composes replies from the records.

A plain registry from name to class, as uvicorn does for its protocols.
"""

from __future__ import annotations

from typing import Literal

from engine.generators.base import Context, Generator
from engine.generators.grounded import GroundedGenerator

GeneratorName = Literal["grounded"]
GENERATORS: dict[GeneratorName, type[GroundedGenerator]] = {"grounded": GroundedGenerator}
# Every generator is built as GENERATORS[name](timezone=...).

__all__ = ["GENERATORS", "Context", "Generator", "GeneratorName", "GroundedGenerator"]
