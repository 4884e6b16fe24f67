"""The JSON parser of the API: every body it cannot read or store is a 400, never a 500."""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

# Real clients nest a handful of levels. SQLite's JSON functions (the check constraint on
# JSON columns) stop at 1000 and Postgres at its stack depth, so a payload the parser
# accepted could still fail on save with a database error.
MAX_DEPTH = 100


def nesting_depth(value: Any) -> int:
    """How many arrays and objects deep ``value`` goes, without recursion."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest


class JSONParser(parsers.JSONParser):
    """DRF's parser turns only ``ValueError`` (bad syntax, bad UTF-8) into a
    ``ParseError``. A body nested some thousands of levels deep makes the decoder raise
    ``RecursionError``, which would escape as a 500 on every JSON route for a 10 KB
    request; it is refused like any other unreadable body, and so is one that decodes
    but is nested deeper than any store of ours keeps."""

    def parse(self, stream: IO[bytes], media_type: str | None = None,
              parser_context: Mapping[str, Any] | None = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - the document is too deeply nested.") from exc
        if nesting_depth(data) > MAX_DEPTH:
            raise ParseError(f"JSON parse error - the document is nested more than {MAX_DEPTH} levels deep.")
        return data
