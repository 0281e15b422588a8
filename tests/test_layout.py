"""The layers of the design, from the bottom up; a package imports only the ones listed for it:

    kb          the store's knowledge                    imports none of the others
    engine      the message pipeline                     kb
    handoff     the human side (desk, console, tickets)  engine, kb
    learning    outcomes into data                       handoff, engine, kb
    channels    the web widget and Slack                 handoff, engine, kb
    migrations  Alembic, over every package's tables     channels, handoff, engine, kb
    shopclerk   the composition root                     all of the above

`handoff` and `learning` sit side by side in the design, but learning reads what agents did
(their replies, the handoff records), so it sits above; the console is handed learning's
endpoints by the composition root (`handoff.console.SuggestionReview`). Nothing imports
`shopclerk`: the command line hands its sub-apps their settings through Typer's context
(`learning.command_context`). `bench/`, `scripts/` and `tests/` are tools on top of it all.

Every import counts, wherever it is: inside functions and under `if TYPE_CHECKING:` too, since
a lazy import is still a dependency and a typing-only one still a cycle for the reader.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BELOW = {
    "kb": set(),
    "engine": {"kb"},
    "handoff": {"engine", "kb"},
    "learning": {"handoff", "engine", "kb"},
    "channels": {"handoff", "engine", "kb"},
    "migrations": {"channels", "handoff", "engine", "kb"},
}
TOP = {"shopclerk": set(BELOW)}
# Tools on top: they may import any layer and shopclerk, and nothing imports them (but a bench
# may use the tests' stand-ins, such as tests/slack_api.py).
TOOLS = {"tests": set(BELOW) | {"shopclerk"}, "scripts": set(BELOW) | {"shopclerk"},
         "bench": set(BELOW) | {"shopclerk", "tests"}}  # fmt: skip
ALLOWED = {**BELOW, **TOP, **TOOLS}
# Frameworks the lower layers stay free of: the engine never knows how a message arrived.
FRAMEWORKS = {"starlette", "slack_bolt", "slack_sdk", "typer", "uvicorn"}
KEPT_OUT = {"kb": FRAMEWORKS, "engine": FRAMEWORKS}


def _imports(path: Path) -> set[str]:
    """The top-level names of every module `path` imports, at any depth of its code."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


NOT_OURS = {"node_modules", "build", "dist"}  # installed or built, not the project's code


def _ours() -> set[str]:
    """The repository's top-level directories holding Python code."""
    return {
        p.name
        for p in ROOT.iterdir()
        if p.is_dir()
        and not p.name.startswith(".")
        and p.name not in NOT_OURS
        and not p.name.endswith(".egg-info")
        and any(p.rglob("*.py"))
    }


def test_every_package_has_a_place_in_the_layers() -> None:
    assert _ours() - ALLOWED.keys() == set(), "add the new package to BELOW (or to TOOLS)"


def test_the_layers_form_no_cycle() -> None:
    def reaches(start: str, seen: set[str]) -> set[str]:
        for below in ALLOWED[start] - seen:
            seen |= {below} | reaches(below, seen | {below})
        return seen

    assert [p for p in ALLOWED if p in reaches(p, set())] == []


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_the_layers_below_it(package: str) -> None:
    forbidden = (_ours() - ALLOWED[package] - {package}) | KEPT_OUT.get(package, set())
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & forbidden)
        for path in _sources(package)
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_imports_inside_functions_are_seen(tmp_path: Path) -> None:
    lazy = tmp_path / "lazy.py"
    lazy.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from handoff.models import Agent\n"
        "def settings():\n    from shopclerk.cli import settings\n    import channels.web\n"
    )
    assert _imports(lazy) == {"typing", "handoff", "shopclerk", "channels"}
