"""Strict reading of configuration from the environment.

Settings are read once, at import of ``missioncontrol.settings``. A bad value must not
crash the import with a traceback (``manage.py check`` could not then explain it), nor
silently fall back to a default (``DEBUG=Ture`` would quietly mean false). So every
reader records a :class:`ConfigProblem` with a stable check id and a sentence naming
the variable, returns the default, and ``ops.checks`` turns the recorded problems into
Django system check errors that stop start-up.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", ""})

# Stable ids of configuration problems; docs/configuration.md lists them.
E_BOOLEAN = "ops.E001"
E_INTEGER = "ops.E002"
E_CHOICE = "ops.E003"
E_URL = "ops.E004"
E_RATE = "ops.E005"
E_PROXY = "ops.E006"
E_SECRET_FILE = "ops.E007"
E_VERSION = "ops.E008"
E_PROD_SECRET_KEY = "ops.E010"
E_PROD_ALLOWED_HOSTS = "ops.E011"
E_PROD_BASE_URL = "ops.E012"
E_LOCAL_TOKEN = "ops.E013"
E_CLERK = "ops.E014"
E_PROD_DEBUG = "ops.E015"
E_RATE_LIMIT_REDIS_URL = "ops.E020"
E_RATE_LIMIT_REDIS_DOWN = "ops.E021"

PLACEHOLDER_WORDS = ("change-me", "changeme", "replace-me", "placeholder", "example", "your-token",
                     "xxxx", "secret-here", "todo")


@dataclass(frozen=True)
class ConfigProblem:
    id: str
    variable: str
    message: str
    hint: str = ""


@dataclass
class EnvReader:
    """Reads typed values from an environment mapping and records every problem."""

    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    problems: list[ConfigProblem] = field(default_factory=list)
    explicit: set[str] = field(default_factory=set)

    def problem(self, check_id: str, variable: str, message: str, hint: str = "") -> None:
        self.problems.append(ConfigProblem(check_id, variable, message, hint))

    def raw(self, name: str) -> str | None:
        """The value of ``name``, or the content of the file named by ``<name>_FILE``."""
        value = self.environ.get(name)
        file_name = self.environ.get(f"{name}_FILE")
        if file_name:
            if value is not None:
                self.problem(E_SECRET_FILE, name, f"Both {name} and {name}_FILE are set; set only one of them.")
                return value
            try:
                value = Path(file_name).read_text(encoding="utf-8").strip()
            except OSError as exc:
                self.problem(E_SECRET_FILE, name,
                             f"{name}_FILE points to {file_name!r}, which cannot be read: {exc.strerror}.")
                return None
        if value is not None:
            self.explicit.add(name)
        return value

    def is_set(self, name: str) -> bool:
        return name in self.explicit

    def text(self, name: str, default: str) -> str:
        value = self.raw(name)
        return default if value is None else value.strip()

    def flag(self, name: str, default: bool) -> bool:
        value = self.raw(name)
        if value is None:
            return default
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        self.problem(E_BOOLEAN, name, f"{name}={value!r} is not a boolean; use true or false.")
        return default

    def whole(self, name: str, default: int, *, minimum: int | None = None) -> int:
        value = self.raw(name)
        if value is None or value.strip() == "":
            return default
        try:
            number = int(value.strip())
        except ValueError:
            self.problem(E_INTEGER, name, f"{name}={value!r} is not a whole number.")
            return default
        if minimum is not None and number < minimum:
            self.problem(E_INTEGER, name, f"{name}={number} is below the minimum of {minimum}.")
            return default
        return number

    def number(self, name: str, default: float, *, minimum: float = 0.0) -> float:
        value = self.raw(name)
        if value is None or value.strip() == "":
            return default
        try:
            number = float(value.strip())
        except ValueError:
            self.problem(E_INTEGER, name, f"{name}={value!r} is not a number.")
            return default
        if number < minimum:
            self.problem(E_INTEGER, name, f"{name}={number} is below the minimum of {minimum}.")
            return default
        return number

    def choice(self, name: str, default: str, choices: tuple[str, ...], *, lower: bool = True) -> str:
        value = self.raw(name)
        if value is None or value.strip() == "":
            return default
        word = value.strip().lower() if lower else value.strip()
        if word not in choices:
            self.problem(E_CHOICE, name, f"{name}={value!r} is not one of {', '.join(choices)}.")
            return default
        return word

    def items(self, name: str, default: list[str] | None = None) -> list[str]:
        value = self.raw(name)
        if value is None:
            return list(default or [])
        return [part.strip() for part in value.split(",") if part.strip()]

    def url(self, name: str, default: str, schemes: tuple[str, ...]) -> str:
        value = self.raw(name)
        if value is None or value.strip() == "":
            return default
        value = value.strip()
        parts = urlsplit(value)
        if parts.scheme not in schemes or not (parts.netloc or parts.path):
            self.problem(E_URL, name, f"{name}={value!r} is not a URL with one of the schemes {', '.join(schemes)}.")
            return default
        return value

    def rate(self, name: str, default: tuple[int, int]) -> tuple[int, int]:
        """A rate written ``N/S``: N requests per S seconds."""
        value = self.raw(name)
        if value is None or value.strip() == "":
            return default
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", value)
        if not match or int(match[1]) < 1 or int(match[2]) < 1:
            self.problem(E_RATE, name, f"{name}={value!r} is not a rate; write requests/seconds, for example 20/60.")
            return default
        return int(match[1]), int(match[2])

    def networks(self, name: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        networks = []
        for item in self.items(name):
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                self.problem(E_PROXY, name, f"{name} contains {item!r}, which is not an IP address or CIDR range.")
        return networks

    def require(self, condition: bool, check_id: str, variable: str, message: str, hint: str = "") -> None:
        if not condition:
            self.problem(check_id, variable, message, hint)


def looks_like_placeholder(value: str) -> bool:
    lowered = value.lower()
    if any(word in lowered for word in PLACEHOLDER_WORDS):
        return True
    # A long run of one character ("aaaa...") is a placeholder, not a secret.
    return len(set(value)) < 8


def read_or_create_secret(path: Path, make: Callable[[], str]) -> tuple[str, bool]:
    """A development secret kept in ``var/``: made once, then reused. Returns (value, created)."""
    try:
        return path.read_text(encoding="utf-8").strip(), False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write aside, then link into place: two processes starting together (gunicorn and the
    # worker) must end up agreeing on one complete value, never reading a half-written file.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(make() + "\n", encoding="utf-8")
    temporary.chmod(0o600)
    try:
        os.link(temporary, path)
        created = True
    except FileExistsError:
        created = False
    finally:
        temporary.unlink()
    return path.read_text(encoding="utf-8").strip(), created
