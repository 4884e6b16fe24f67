"""Serializer pieces every API shares."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from rest_framework import serializers

# What each kind of field takes, as JSON types. DRF's fields coerce on their own (0 becomes
# "0", "yes" becomes true, 5 becomes a UUID, "3" becomes 3), so a client that sends the
# wrong type gets a stored value it did not mean instead of the 422 the schema promises.
_NOT_TEXT = "Not a valid string."
_NOT_BOOLEAN = "Must be true or false."
_NOT_INTEGER = "A valid integer is required."
_NOT_NUMBER = "A valid number is required."


def _type_problem(field: serializers.Field, value: Any) -> Any:
    """Why ``value`` is not of the JSON type ``field`` documents, or None (nulls and the
    field's own checks are left to the field)."""
    if value is None:
        return None
    if isinstance(field, serializers.BooleanField):
        return None if isinstance(value, bool) else _NOT_BOOLEAN
    if isinstance(value, bool):
        # true and false are not numbers, texts or ids here, although Python says 1 == True.
        if isinstance(field, serializers.IntegerField):
            return _NOT_INTEGER
        if isinstance(field, serializers.FloatField | serializers.DecimalField):
            return _NOT_NUMBER
        if isinstance(field, serializers.CharField | serializers.UUIDField | serializers.DateTimeField):
            return _NOT_TEXT
        return None
    if isinstance(field, serializers.ChoiceField):
        return None  # the choices are texts; anything else is not one of them
    if isinstance(field, serializers.UUIDField):
        # A UUID or datetime object comes from our own callers (the console's forms), never from JSON.
        return None if isinstance(value, str | uuid.UUID) else _NOT_TEXT
    if isinstance(field, serializers.DateTimeField):
        return None if isinstance(value, str | datetime) else _NOT_TEXT
    if isinstance(field, serializers.CharField):
        return None if isinstance(value, str) else _NOT_TEXT
    if isinstance(field, serializers.IntegerField):
        # 5.0 is an integer to JSON Schema too; 5.5 and "5" are not.
        return None if isinstance(value, int) or (isinstance(value, float) and value.is_integer()) else _NOT_INTEGER
    if isinstance(field, serializers.FloatField | serializers.DecimalField):
        return None if isinstance(value, int | float) else _NOT_NUMBER
    if isinstance(field, serializers.ListField) and isinstance(value, list) and field.child is not None:
        problems = {index: problem for index, item in enumerate(value)
                    if (problem := _type_problem(field.child, item)) is not None}
        return problems or None
    if isinstance(field, serializers.DictField) and isinstance(value, dict) and field.child is not None:
        problems = {key: problem for key, item in value.items()
                    if (problem := _type_problem(field.child, item)) is not None}
        return problems or None
    return None


class StrictSerializer(serializers.Serializer):
    """Refuses fields the serializer does not accept (422), instead of silently dropping them,
    so a typo in a field name is reported rather than ignored; and refuses a value of another
    JSON type than its field's (``{"message": 0}`` is a 422, not the text "0")."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            writable = {name: field for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(set(data) - set(writable))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
            mistyped = {name: problem for name, value in data.items()
                        if (problem := _type_problem(writable[name], value)) is not None}
            if mistyped:
                raise serializers.ValidationError(
                    {name: problem if isinstance(problem, dict) else [problem] for name, problem in mistyped.items()})
        return super().to_internal_value(data)
