"""The JSON parser of the API: every body it cannot read or store is a 400, never a 500.

``loads`` is the one strict reading of JSON text, shared with the webhook ingest: what it
returns can be stored in a JSON column of SQLite or Postgres and written back out as
UTF-8, whatever the client sent.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError

# Real clients nest a handful of levels. SQLite's JSON functions (the check constraint on
# JSON columns) stop at 1000 and Postgres at its stack depth, so a payload the parser
# accepted could still fail on save with a database error.
MAX_DEPTH = 100
# Postgres text and jsonb cannot hold U+0000, and a lone surrogate is not a character:
# Python keeps it in a str, but it cannot be encoded as UTF-8 when the value is written out.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

TOO_DEEP = f"the document is nested more than {MAX_DEPTH} levels deep."
NOT_FINITE = "NaN, Infinity and numbers too large for a double are not accepted."
NUL_CHARACTER = "the document contains a NUL character (\\u0000), which cannot be stored."
LONE_SURROGATE = "the document contains a lone surrogate (\\ud800-\\udfff), which is not a character."


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


def _string_problem(text: str) -> str | None:
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    return NUL_CHARACTER if found.group() == "\x00" else LONE_SURROGATE


def storage_problem(value: Any) -> str | None:
    """Why decoded JSON could not be stored and written back out, or None; without recursion."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            problem = _string_problem(item)
            if problem:
                return problem
        elif isinstance(item, dict | list):
            if depth + 1 > MAX_DEPTH:
                return TOO_DEEP
            if isinstance(item, dict):
                for key in item:
                    problem = _string_problem(key)
                    if problem:
                        return problem
                stack.extend((child, depth + 1) for child in item.values())
            else:
                stack.extend((child, depth + 1) for child in item)
    return None


def _refuse_constant(name: str) -> Any:
    raise ValueError(NOT_FINITE)


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):  # 1e999 reads as inf
        raise ValueError(NOT_FINITE)
    return number


def loads(text: str) -> Any:
    """JSON text as Python data, or ``ValueError`` saying why it is not acceptable.

    Refuses, besides bad syntax: the NaN/Infinity constants and numbers that overflow to
    them, NUL characters and lone surrogates in strings or keys, and nesting deeper than
    ``MAX_DEPTH`` (including documents so deep the decoder itself gives up)."""
    try:
        data = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError as exc:
        raise ValueError("the document is too deeply nested.") from exc
    problem = storage_problem(data)
    if problem:
        raise ValueError(problem)
    return data


class JSONParser(parsers.JSONParser):
    """DRF's parser turns only ``ValueError`` (bad syntax, bad UTF-8) into a ``ParseError``
    and lets through what the database or the response renderer then fails on: a body
    nested thousands of levels deep (``RecursionError``), NaN, lone surrogates, NUL
    characters. Those would be 500s on every JSON route, some after a row was saved; all
    of them are refused here as unreadable bodies (see ``loads``)."""

    def parse(self, stream: IO[bytes], media_type: str | None = None,
              parser_context: Mapping[str, Any] | None = None) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return loads(stream.read().decode(encoding))
        except ValueError as exc:  # UnicodeDecodeError is one too
            raise ParseError(f"JSON parse error - {exc}") from exc
