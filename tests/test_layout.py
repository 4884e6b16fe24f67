"""The direction of imports between the project's packages (docs/development.md).

Every module of the applications is parsed, not imported, and each import it makes
(at the top or inside a function) is checked against the arrows:

- ``missioncontrol`` and ``ops`` import no app;
- ``agents`` does not import ``webhooks``;
- the domain (models, rules, queries, ...) imports no interface;
- an interface (people's API, the agent API, the console) never imports another one;
  URL modules, which mount interfaces, may import any.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("agents", "webhooks", "ops", "missioncontrol")
APPS = ("agents", "webhooks")

# Modules that make up each interface, by dotted prefix.
INTERFACES = {
    "people_api": ("agents.api", "webhooks.api"),
    "agent_api": ("agents.agent_api", "webhooks.agent_api"),
    "console": ("agents.console", "webhooks.console", "ops.console", "agents.templatetags"),
}
ROUTING = ("missioncontrol.urls", "webhooks.urls", "webhooks.console_urls")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> Iterator[tuple[str, Path]]:
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield module_name(path), path


def imported(path: Path, name: str) -> set[str]:
    """Every module ``path`` imports; ``from a import b`` counts ``a`` and ``a.b``."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def interface_of(name: str) -> str | None:
    for interface, prefixes in INTERFACES.items():
        if within(name, prefixes):
            return interface
    return None


def broken_arrows(name: str, targets: set[str]) -> list[str]:
    problems = []
    ours = {target for target in targets if within(target, PACKAGES)}
    top = name.split(".")[0]
    if top in ("missioncontrol", "ops"):
        problems += [f"{name} imports the app module {t}" for t in ours if within(t, APPS)]
    if top == "agents":
        problems += [f"{name} imports {t} (agents must not import webhooks)" for t in ours if within(t, ("webhooks",))]
    if within(name, ROUTING):
        return problems
    mine = interface_of(name)
    for target in ours:
        theirs = interface_of(target)
        if theirs is None or theirs == mine:
            continue
        if mine is None:
            problems.append(f"{name} (domain) imports the {theirs} module {target}")
        else:
            problems.append(f"{name} ({mine}) imports the {theirs} module {target}")
    return problems


def test_every_import_follows_the_arrows():
    problems = [problem for name, path in modules() for problem in broken_arrows(name, imported(path, name))]
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize(("name", "targets", "expected"), [
    ("missioncontrol.api.views", {"agents.models"}, "missioncontrol.api.views imports the app module agents.models"),
    ("ops.probes", {"webhooks"}, "ops.probes imports the app module webhooks"),
    ("agents.metrics", {"webhooks.models"}, "agents must not import webhooks"),
    ("agents.agent_api.views", {"agents.api.tasks"}, "(agent_api) imports the people_api module agents.api.tasks"),
    ("agents.console.tasks", {"agents.agent_api.base"}, "(console) imports the agent_api module"),
    ("agents.rules.tasks", {"agents.console.common"}, "(domain) imports the console module"),
    ("webhooks.api", {"agents.agent_api.base"}, "(people_api) imports the agent_api module"),
])
def test_a_wrong_arrow_is_reported(name, targets, expected):
    problems = broken_arrows(name, targets)
    assert any(expected in problem for problem in problems), problems


@pytest.mark.parametrize(("name", "targets"), [
    ("webhooks.api", {"agents.rules", "missioncontrol.api.views", "webhooks.services"}),
    ("webhooks.console", {"agents.console.common"}),
    ("missioncontrol.urls", {"ops.urls", "missioncontrol.api.errors"}),
    ("webhooks.urls", {"webhooks.api", "webhooks.agent_api"}),
    ("agents.console.boards", {"agents.rules", "agents.queries", "missioncontrol.lookups", "ops.throttle"}),
])
def test_allowed_arrows_pass(name, targets):
    assert broken_arrows(name, targets) == []


def test_relative_imports_are_resolved(tmp_path):
    module = tmp_path / "probe.py"
    module.write_text("from .common import page\nfrom ..rules import tasks\n")
    assert {"agents.console.common", "agents.console.common.page", "agents.rules", "agents.rules.tasks"} \
        <= imported(module, "agents.console.probe")
