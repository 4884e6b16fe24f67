"""Reading values that clients send: each bad one is a 422 that names its field."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from django.db.models import TextChoices
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from agents.refusals import RuleViolation
from missioncontrol.lookups import parse_uuid

SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")

# The words agents use for a priority, read as one of ours. Agents were written for a
# server that stored any string (``critical``, ``P1``...); the agent API reads them this
# way, and anything it does not know as ``medium``. People's API stays strict.
PRIORITY_WORDS = {
    "urgent": ("urgent", "critical", "crit", "blocker", "blocking", "p0", "highest", "emergency", "asap",
               "immediate", "sev0", "sev1", "top"),
    "high": ("high", "important", "p1", "major", "higher", "elevated", "sev2"),
    "medium": ("medium", "normal", "default", "p2", "moderate", "standard", "med", "mid", "regular", "sev3"),
    "low": ("low", "minor", "trivial", "lowest", "p3", "p4", "lower", "someday", "sev4"),
}
_PRIORITY_OF_WORD = {word: priority for priority, words in PRIORITY_WORDS.items() for word in words}


def uuid_value(value: Any, field: str) -> uuid.UUID:
    parsed = parse_uuid(value)
    if parsed is None:
        raise RuleViolation(422, "invalid_id", f"{field} must be a UUID.", field=field)
    return parsed


def uuid_list(values: Any, field: str) -> list[uuid.UUID]:
    if values is None:
        return []
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise RuleViolation(422, "invalid_id", f"{field} must be a list of UUIDs.", field=field)
    return list(dict.fromkeys(uuid_value(value, field) for value in values))


def choice(value: Any, choices: type[TextChoices], field: str) -> str:
    if value is None:
        raise RuleViolation(422, f"{field}_required", f"{field} cannot be null.", field=field)
    if value not in choices.values:
        allowed = ", ".join(choices.values)
        raise RuleViolation(422, f"invalid_{field}", f"{field} must be one of: {allowed}.", field=field)
    return str(value)


def priority_from_word(word: str) -> str:
    """One of the four priorities for what an agent sent: the word table, case and
    surrounding space ignored (``P1``, `` Critical``), else ``medium``."""
    return _PRIORITY_OF_WORD.get(word.strip().lower(), "medium")


def aware_datetime(value: Any, field: str) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    parsed = parse_datetime(str(value))
    if parsed is None:
        raise RuleViolation(422, f"invalid_{field}", f"{field} must be an ISO 8601 date and time.", field=field)
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, UTC)


def name_text(value: Any, *, what: str, max_length: int, field: str = "name") -> str:
    """A required one-line name, trimmed: ``what`` says what it names (``A board``)."""
    if not isinstance(value, str) or not value.strip():
        raise RuleViolation(422, f"{field}_required", f"{what} needs a {field}.", field=field)
    value = value.strip()
    if len(value) > max_length:
        raise RuleViolation(422, f"{field}_too_long", f"A {field} has at most {max_length} characters.",
                            field=field)
    return value


def optional_text(value: Any, field: str, *, max_length: int | None = None) -> str:
    """Free text that may be empty (None reads as empty)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise RuleViolation(422, f"invalid_{field}", f"{field} must be text.", field=field)
    if max_length is not None and len(value) > max_length:
        raise RuleViolation(422, f"{field}_too_long", f"{field} has at most {max_length} characters.",
                            field=field)
    return value


def slug_text(value: Any, *, max_length: int, field: str = "slug") -> str:
    if not isinstance(value, str) or not SLUG.match(value):
        raise RuleViolation(422, f"invalid_{field}",
                            f"A {field} is made of letters, numbers, dashes and underscores.", field=field)
    if len(value) > max_length:
        raise RuleViolation(422, f"{field}_too_long", f"A {field} has at most {max_length} characters.",
                            field=field)
    return value


def flag(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise RuleViolation(422, f"invalid_{field}", f"{field} must be true or false.", field=field)
    return value


def unknown_fields(data: dict[str, Any], allowed: Iterable[str], what: str) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise RuleViolation(422, "unknown_field", f"Unknown {what} field: {', '.join(unknown)}.", fields=unknown)
