"""Writes that a unique constraint may refuse."""

from __future__ import annotations

from collections.abc import Callable

from django.db import IntegrityError, transaction

from agents.refusals import RuleViolation


def save_unique[T](conflict_code: str, message: str, save: Callable[[], T]) -> T:
    """Runs ``save`` in a savepoint and turns a unique-constraint failure into a 409 naming the rule.

    Callers check for the clash first, so the usual refusal costs no failed write; the
    constraint settles the race between two requests that both passed the check."""
    try:
        with transaction.atomic():
            return save()
    except IntegrityError as exc:
        raise RuleViolation(409, conflict_code, message) from exc
