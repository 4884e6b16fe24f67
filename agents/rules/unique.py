"""Writes that a unique constraint may refuse."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, models, transaction

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


def check_slug_free(model: type[models.Model], organization_id: Any, slug: str, refusal: tuple[str, str],
                    instance: models.Model | None = None) -> None:
    """A 409 with ``refusal`` (code, sentence) when another ``model`` row of the organization
    already has ``slug``; ``instance`` is the row being changed, which may keep its own. The
    refusal names the ``slug`` field, so a form shows it next to the short name."""
    clash = model._default_manager.filter(organization_id=organization_id, slug=slug)
    if instance is not None:
        clash = clash.exclude(pk=instance.pk)
    if clash.exists():
        raise RuleViolation(409, *refusal, field="slug")
