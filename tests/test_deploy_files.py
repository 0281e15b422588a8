"""The container files (Dockerfile, compose.yaml, deploy/nginx.conf) and the deploy guide say
what the code does.

No Docker here: these read the files as an operator's tools would and hold them against the
code. Every `shopclerk ...` command the image, the stack or docs/deploy.md runs is a real
command with real options (Typer parses it, as the CLI would); every variable the stack sets
is a setting shopclerk reads, and together they load as valid settings; the parts the
many-process stack depends on (one cookie key, migrations first, a websocket-capable
round-robin balancer over exactly the web processes, time to drain) are there.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
from packaging.specifiers import SpecifierSet
from packaging.version import Version
from typer.testing import CliRunner

from shopclerk.cli import DATA_DIR_OPTION, app, data_dir_first
from shopclerk.settings import Settings

try:
    import yaml
except ImportError:  # PyYAML comes with the dev tools (pre-commit); without it, skip compose
    yaml = None

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
NGINX = (ROOT / "deploy" / "nginx.conf").read_text()
CLI: Any = typer.main.get_command(app)  # a group (Typer's own click): `.commands` by name
# Being built alongside these files (issue 14); the cases that need them fail softly until then.


def _interpolate(value: Any) -> Any:
    """Compose's `${VAR:-default}` / `${VAR}` with nothing set: what a fresh checkout runs."""
    if isinstance(value, str):
        return re.sub(r"\$\{(\w+)(?::?-([^}]*))?\}", lambda m: m.group(2) or "", value)
    if isinstance(value, dict):
        return {k: _interpolate(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v) for v in value]
    return value


def _compose() -> dict[str, Any]:
    if yaml is None:
        pytest.skip("PyYAML is not installed")
    loaded = yaml.safe_load((ROOT / "compose.yaml").read_text())
    assert isinstance(loaded, dict)
    return _interpolate(loaded)


def _shopclerk_services() -> dict[str, dict[str, Any]]:
    """The services that run shopclerk's image (not PostgreSQL, Redis or the balancer)."""
    services = _compose()["services"]
    return {
        name: s for name, s in services.items() if str(s.get("image", "")).startswith("shopclerk")
    }


def _commands_in(line: list[str]) -> Iterator[list[str]]:
    """The `shopclerk ...` invocations in an exec-form command, also inside `sh -c "a && b"`."""
    if line[:2] == ["sh", "-c"]:
        for part in line[2].split("&&"):
            if part.strip().startswith("shopclerk "):
                yield from _commands_in(shlex.split(part))
    elif line and line[0] == "shopclerk":
        yield line[1:]


def _dockerfile_commands() -> Iterator[list[str]]:
    text = DOCKERFILE.replace("\\\n", " ")
    for instruction in text.splitlines():
        if instruction.startswith("CMD "):
            yield from _commands_in(json.loads(instruction.removeprefix("CMD ")))
        elif instruction.startswith("RUN "):
            yield from _commands_in(["sh", "-c", instruction.removeprefix("RUN ")])


def _guide_commands() -> Iterator[list[str]]:
    """Each `shopclerk ...` in docs/deploy.md's code: its fenced blocks, line by line (less
    comments), and its code spans (also inside `sh -c "a && b"`)."""
    guide = (ROOT / "docs" / "deploy.md").read_text()
    fence = re.compile(r"^```\w*\n(.*?)^```", re.M | re.S)
    code = [line.split(" #")[0] for block in fence.findall(guide) for line in block.splitlines()]
    code += [" ".join(span.split()) for span in re.findall(r"`([^`]+)`", fence.sub("", guide))]
    for piece in (piece for text in code for piece in re.split(r"&&|;", text)):
        found = re.search(r"\bshopclerk ((?:--data-dir|[a-z][\w-]*)\b.*)", piece)
        if found is None:  # `shopclerk` the image or the user, not the command
            continue
        rest = found.group(1)
        if rest.count('"') % 2:  # the closing quote of a `sh -c "..."`
            rest = rest.rstrip().removesuffix('"')
        args = data_dir_first(shlex.split(rest))
        yield args[2:] if args[:1] == [DATA_DIR_OPTION] else args


def _all_commands() -> list[tuple[str, list[str]]]:
    found = [("Dockerfile", args) for args in _dockerfile_commands()]
    found += [("docs/deploy.md", args) for args in _guide_commands()]
    if yaml is not None:
        for name, service in _shopclerk_services().items():
            found += [(f"compose {name}", args) for args in _commands_in(service["command"])]
    return found


def _distinct_commands() -> list[tuple[str, list[str]]]:
    """Each command line once, named by where it is first found."""
    first: dict[tuple[str, ...], str] = {}
    for where, args in _all_commands():
        first.setdefault(tuple(args), where)
    return [(where, list(args)) for args, where in first.items()]


def _command_param(where: str, args: list[str]) -> Any:
    return pytest.param(args, id=f"{where}: shopclerk {' '.join(args)}")


def _setting_names() -> set[str]:
    """The environment variables Settings reads: its aliases, or SHOPCLERK_ + the field name."""
    names = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        names.add(alias.upper() if isinstance(alias, str) else f"SHOPCLERK_{name.upper()}")
    return names


def _stack_env_vars() -> set[str]:
    found = set(re.findall(r"\b(SHOPCLERK_\w+|DATABASE_URL|REDIS_URL)=", DOCKERFILE))
    if yaml is not None:
        for spec in _shopclerk_services().values():
            found |= set(spec.get("environment", {}))
    return found


def _env_param(name: str) -> Any:
    return pytest.param(name, id=name)


@pytest.mark.parametrize("args", [_command_param(w, a) for w, a in _distinct_commands()])
def test_every_command_the_image_and_stack_run_exists(args: list[str], tmp_path: Path) -> None:
    path, command = [], CLI
    while hasattr(command, "commands") and args[len(path) :]:
        name = args[len(path)]
        assert name in command.commands, f"no command {' '.join([*path, name])!r}"
        command, path = command.commands[name], [*path, name]
    # The options and arguments parse as the CLI would parse them (an unknown one fails).
    command.make_context(" ".join(path), list(args[len(path) :]))
    # And the command answers --help (the root's settings load, here on a throwaway data dir).
    shown = CliRunner().invoke(app, [*path, "--help"], env={"SHOPCLERK_DATA_DIR": str(tmp_path)})
    assert shown.exit_code == 0, shown.output


def test_the_image_and_stack_run_the_commands_the_docs_name() -> None:
    """The cases above are not vacuous: the image builds the models, the stack serves, works
    and migrates before either."""
    commands = [" ".join(args) for _, args in _all_commands()]
    assert {"db upgrade", "kb build", "serve --host 0.0.0.0 --port 8000"} <= set(commands)
    if yaml is not None:
        assert "worker" in commands


@pytest.mark.parametrize("name", [_env_param(n) for n in sorted(_stack_env_vars())])
def test_every_variable_the_stack_sets_is_a_setting(name: str) -> None:
    assert name in _setting_names(), f"{name} is not read by shopclerk.settings.Settings"


def test_the_stack_settings_load(monkeypatch: pytest.MonkeyPatch) -> None:
    """What compose gives each process is valid as it stands (e.g. the default cookie key is
    long enough, the trusted proxy is an address)."""
    for service in _shopclerk_services().values():
        for name, value in service["environment"].items():
            monkeypatch.setenv(name, str(value))
        settings = Settings(_env_file=None)  # type: ignore[call-arg]
        assert settings.redis_url
        assert settings.sqlalchemy_url.startswith("postgresql+psycopg://")


def test_every_process_signs_console_cookies_with_one_key() -> None:
    """Without the shared key each web process would make its own, and a login made on one
    would be refused by the other."""
    keys = {s["environment"].get("SHOPCLERK_SECRET_KEY") for s in _shopclerk_services().values()}
    assert len(keys) == 1
    assert None not in keys


def test_migrations_and_indexes_come_before_any_process() -> None:
    services = _shopclerk_services()
    migrate = [" ".join(args) for args in _commands_in(services["migrate"]["command"])]
    assert migrate[0] == "db upgrade"
    assert migrate[1].startswith("kb build")
    for name, service in services.items():
        if name != "migrate":
            condition = service["depends_on"]["migrate"]["condition"]
            assert condition == "service_completed_successfully", name


def _grace_seconds(text: str) -> int:
    match = re.fullmatch(r"(?:(\d+)m)?(?:(\d+)s)?", text)
    assert match, text
    return int(match.group(1) or 0) * 60 + int(match.group(2) or 0)


def test_processes_get_time_to_drain() -> None:
    for name, service in _shopclerk_services().items():
        assert _grace_seconds(service["stop_grace_period"]) >= 30, name
    assert "STOPSIGNAL SIGTERM" in DOCKERFILE


def test_the_balancer_round_robins_over_exactly_the_web_processes() -> None:
    services = _compose()["services"]
    web = {
        f"{name}:{args[args.index('--port') + 1]}"
        for name, service in _shopclerk_services().items()
        for args in _commands_in(service["command"])
        if args[0] == "serve"
    }
    upstream = re.search(r"upstream \w+ \{(.*?)\}", NGINX, re.S)
    assert upstream
    assert set(re.findall(r"^\s*server (\S+?)[\s;]", upstream.group(1), re.M)) == web
    assert len(web) >= 2
    # No stickiness: the Redis bus joins the web processes.
    assert not re.search(r"^\s*(ip_hash|hash|sticky)\b", upstream.group(1), re.M)
    # Websockets pass through, and stay open while quiet.
    assert "proxy_set_header Upgrade $http_upgrade" in NGINX
    assert "proxy_set_header Connection $connection_upgrade" in NGINX
    timeout = re.search(r"proxy_read_timeout (\d+)s;", NGINX)
    assert timeout
    assert int(timeout.group(1)) >= 600
    # The address it forwards from is the one the web processes believe.
    lb_address = services["lb"]["networks"]["default"]["ipv4_address"]
    for service in _shopclerk_services().values():
        assert service["environment"]["SHOPCLERK_TRUSTED_PROXIES"] == lb_address
    assert "proxy_set_header X-Forwarded-For" in NGINX
    assert services["lb"]["volumes"] == ["./deploy/nginx.conf:/etc/nginx/nginx.conf:ro"]


def test_postgres_and_redis_are_checked_and_kept() -> None:
    services = _compose()["services"]
    for name in ("postgres", "redis"):
        assert services[name]["healthcheck"]["test"], name
        assert services[name]["volumes"], name
    # Accepted turns wait in a Redis stream: they survive a Redis restart.
    assert services["redis"]["command"][1:3] == ["--appendonly", "yes"]


def _final_stage() -> str:
    return DOCKERFILE.split("\nFROM ")[-1]


def test_the_image_runs_unprivileged_and_is_checked_alive() -> None:
    final = _final_stage()
    user = re.findall(r"^USER (\S+)", final, re.M)
    assert user
    assert user[-1] not in ("root", "0")
    healthcheck = re.search(r"^HEALTHCHECK.*", final.replace("\\\n", ""), re.M)
    assert healthcheck
    assert "/healthz" in healthcheck.group(0)
    # No compilers in what runs.
    assert "build-essential" not in final
    assert "apt-get install" not in final


def test_the_image_installs_every_package_and_the_cpu_torch_make_uses() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = project["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {pattern.rstrip("*") for pattern in include}
    copied = set(re.findall(r"^COPY (\w+) \./\1$", DOCKERFILE, re.M))
    assert copied == packages
    torch = re.search(r"^ARG TORCH_VERSION=(\S+)", DOCKERFILE, re.M)
    assert torch
    pin = next(d for d in project["project"]["dependencies"] if d.startswith("torch"))
    assert Version(torch.group(1)) in SpecifierSet(pin.removeprefix("torch"))
    make = re.search(r"^TORCH\s*\?=\s*torch==(\S+)", (ROOT / "Makefile").read_text(), re.M)
    assert make
    assert make.group(1) == torch.group(1)
    assert "--index-url" in DOCKERFILE
    assert "/whl/cpu" in DOCKERFILE


def test_the_build_context_leaves_out_environments_and_secrets() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", "node_modules", ".env", "**/__pycache__"} <= ignored
