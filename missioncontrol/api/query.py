"""Query-string filters: each bad value is a 422 naming the parameter, never ignored."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable

from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from missioncontrol.lookups import parse_uuid


def query_uuid(request: Request, name: str) -> uuid.UUID | None:
    # An empty value (``?board_id=``) is not a UUID either: it is refused, not read as "all".
    raw = request.query_params.get(name)
    if raw is None:
        return None
    value = parse_uuid(raw)
    if value is None:
        raise ValidationError({name: [f"{name} must be a UUID."]})
    return value


def query_bool(request: Request, name: str) -> bool | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    value = raw.strip().lower()
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no"):
        return False
    raise ValidationError({name: [f"{name} must be true or false."]})


def choices_schema(allowed: Iterable[str]) -> dict[str, str]:
    """The OpenAPI schema of a ``query_choices`` parameter: exactly the texts it accepts (comma
    separated values from ``allowed``, blanks around them and empty items ignored)."""
    word = "(" + "|".join(re.escape(value) for value in allowed) + ")?"
    return {"type": "string", "pattern": rf"^\s*{word}\s*(,\s*{word}\s*)*$"}


def query_choices(request: Request, name: str, allowed: Iterable[str]) -> list[str] | None:
    """A comma list of values from ``allowed``; any other value is 422."""
    raw = request.query_params.get(name)
    if raw is None or raw.strip() == "":
        return None
    allowed = list(allowed)
    values = [part.strip() for part in raw.split(",") if part.strip()]
    unknown = [value for value in values if value not in allowed]
    if unknown:
        raise ValidationError({name: [f"Unknown {name}: {', '.join(unknown)}. Use {', '.join(allowed)}."]})
    return values
