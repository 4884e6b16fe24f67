"""Custom fields: typed fields an organization adds to the tasks of some of its boards.

- **Definitions** belong to an organization; its owners and admins create, change and
  delete them and choose the boards they are attached to. The key (what the values are
  stored under) and the type are fixed once a field exists.
- **Values** live on the task, under the field's key. Only the fields attached to the
  task's board may be set, and each value must fit its type: text, a number, a date
  (``YYYY-MM-DD``), one of a select field's options, true or false, or an http(s) URL.
  A change merges into what the task holds: the keys sent replace theirs, ``null``
  clears one, keys not sent stay. A required field must have a value when a task is
  created and cannot be cleared afterwards.
- Detaching a field from a board, or deleting it, removes its values from the tasks
  concerned, so a task never carries a value no field describes.

Every refusal names the field (its label and key) in a sentence.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction
from django.db.models import QuerySet

from agents import access, activity
from agents.models import Board, CustomFieldDefinition, Organization, Task, User
from agents.refusals import RuleViolation
from agents.rules.inputs import flag, name_text, optional_text, unknown_fields, uuid_list
from agents.rules.unique import save_unique

FieldType = CustomFieldDefinition.FieldType

CREATE_FIELDS = ("field_key", "label", "field_type", "required", "options", "description", "board_ids")
UPDATE_FIELDS = ("label", "required", "options", "description", "board_ids")
FIXED_FIELDS = ("field_key", "field_type")
# Lowercase words joined by single underscores: safe in JSON paths, URLs and agents' prompts.
KEY = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
KEY_MAX_LENGTH = 64
LABEL_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 2000
TEXT_MAX_LENGTH = 2000
URL_MAX_LENGTH = 2000
OPTION_MAX_LENGTH = 100
MAX_OPTIONS = 100
# Beyond this a number loses integer precision in JavaScript clients (2**53 is about 9e15).
NUMBER_LIMIT = 10**15
VALUES_FIELD = "custom_field_values"
KEY_TAKEN = ("custom_field_key_taken", "Another custom field of this organization already uses this key.")


# --- definitions ----------------------------------------------------------------------------


def _key(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RuleViolation(422, "field_key_required", "A custom field needs a field_key.", field="field_key")
    value = value.strip()
    if len(value) > KEY_MAX_LENGTH:
        raise RuleViolation(422, "field_key_too_long", f"A field_key has at most {KEY_MAX_LENGTH} characters.",
                            field="field_key")
    if not KEY.match(value):
        raise RuleViolation(422, "invalid_field_key",
                            "A field_key is lowercase letters and digits, words joined by single underscores, "
                            "starting with a letter (like story_points).", field="field_key")
    return value


def _field_type(value: Any) -> str:
    if value not in FieldType.values:
        raise RuleViolation(422, "invalid_field_type",
                            f"field_type must be one of: {', '.join(FieldType.values)}.", field="field_type")
    return str(value)


def _options(value: Any, field_type: str) -> list[str]:
    if field_type != FieldType.SELECT:
        if value in (None, []):
            return []
        raise RuleViolation(422, "options_only_for_select", "Only a select field has options.", field="options")
    if not isinstance(value, list) or not value:
        raise RuleViolation(422, "options_required", "A select field needs a list of options to choose from.",
                            field="options")
    if len(value) > MAX_OPTIONS:
        raise RuleViolation(422, "too_many_options", f"A select field has at most {MAX_OPTIONS} options.",
                            field="options")
    options: list[str] = []
    for option in value:
        if not isinstance(option, str) or not option.strip():
            raise RuleViolation(422, "invalid_option", "Each option is a non-empty text.", field="options")
        option = option.strip()
        if len(option) > OPTION_MAX_LENGTH:
            raise RuleViolation(422, "option_too_long", f"An option has at most {OPTION_MAX_LENGTH} characters.",
                                field="options")
        if option in options:
            raise RuleViolation(422, "duplicate_option", f"The option “{option}” is listed twice.", field="options")
        options.append(option)
    return options


def _boards(value: Any, organization_id: Any) -> list[Board]:
    ids = uuid_list(value, "board_ids")
    found = {board.pk: board for board in Board.objects.filter(pk__in=ids, organization_id=organization_id)}
    missing = [str(board_id) for board_id in ids if board_id not in found]
    if missing:
        raise RuleViolation(422, "board_not_in_organization",
                            "A custom field is attached only to boards of its own organization.",
                            field="board_ids", board_ids=missing)
    return [found[board_id] for board_id in ids]


def _definition_values(data: dict[str, Any], allowed: Iterable[str], organization_id: Any,
                       field_type: str) -> dict[str, Any]:
    fixed = sorted(set(data) & set(FIXED_FIELDS) - set(allowed))
    if fixed:
        raise RuleViolation(422, "custom_field_fixed",
                            f"{' and '.join(fixed)} cannot change once a custom field exists; create another field.",
                            field=fixed[0])
    unknown_fields(data, allowed, "custom field")
    out: dict[str, Any] = {}
    if "label" in data:
        out["label"] = name_text(data["label"], what="A custom field", max_length=LABEL_MAX_LENGTH, field="label")
    if "required" in data:
        out["required"] = flag(data["required"], "required")
    if "options" in data:
        out["options"] = _options(data["options"], field_type)
    if "description" in data:
        out["description"] = optional_text(data["description"], "description", max_length=DESCRIPTION_MAX_LENGTH)
    if "board_ids" in data:
        out["boards"] = _boards(data["board_ids"], organization_id)
    return out


def _check_key_free(organization_id: Any, key: str) -> None:
    if CustomFieldDefinition.objects.filter(organization_id=organization_id, field_key=key).exists():
        raise RuleViolation(409, *KEY_TAKEN)


def create_custom_field(user: User, organization: Organization, data: dict[str, Any]) -> CustomFieldDefinition:
    access.require_admin(user, organization)
    unknown_fields(data, CREATE_FIELDS, "custom field")
    key = _key(data.get("field_key"))
    field_type = _field_type(data.get("field_type", FieldType.TEXT))
    values = _definition_values({k: v for k, v in data.items() if k not in FIXED_FIELDS}, UPDATE_FIELDS,
                                organization.pk, field_type)
    values.setdefault("label", key.replace("_", " ").capitalize())
    if field_type == FieldType.SELECT and "options" not in values:
        values["options"] = _options(None, field_type)
    boards = values.pop("boards", [])
    _check_key_free(organization.pk, key)

    def create() -> CustomFieldDefinition:
        definition = CustomFieldDefinition.objects.create(organization=organization, field_key=key,
                                                          field_type=field_type, **values)
        definition.boards.set(boards)
        activity.record("custom_field.created", actor=user, organization=organization,
                        message=f"Custom field {definition.label} created",
                        data={"custom_field_id": str(definition.pk), "field_key": key, "field_type": field_type,
                              "board_ids": [str(board.pk) for board in boards]})
        return definition

    return save_unique(*KEY_TAKEN, create)


def _tasks_with_value(definition: CustomFieldDefinition, board_ids: Iterable[Any] | None = None) -> QuerySet[Task]:
    tasks = Task.objects.filter(board__organization_id=definition.organization_id,
                                custom_field_values__has_key=definition.field_key)
    return tasks if board_ids is None else tasks.filter(board_id__in=list(board_ids))


def _clear_values(definition: CustomFieldDefinition, board_ids: Iterable[Any] | None = None) -> int:
    """Removes the field's values from tasks (of ``board_ids``, or all); how many tasks changed."""
    cleared = 0
    for task in _tasks_with_value(definition, board_ids).select_for_update().only("id", "custom_field_values"):
        values = dict(task.custom_field_values)
        values.pop(definition.field_key, None)
        task.custom_field_values = values
        task.save(update_fields=["custom_field_values"])
        cleared += 1
    return cleared


def _check_options_unused(definition: CustomFieldDefinition, options: list[str]) -> None:
    removed = set(definition.options) - set(options)
    if not removed:
        return
    stored = _tasks_with_value(definition).values_list(VALUES_FIELD, flat=True)
    in_use = sorted({values.get(definition.field_key) for values in stored} & removed)
    if in_use:
        raise RuleViolation(409, "custom_field_option_in_use",
                            f"Tasks still carry {', '.join(in_use)} in {_name(definition)}: change those tasks "
                            "before removing the option.", field="options", options=in_use)


def update_custom_field(user: User, definition: CustomFieldDefinition,
                        data: dict[str, Any]) -> CustomFieldDefinition:
    """Change a field's label, description, options, required flag or boards. A board it
    leaves loses the field's values on its tasks (the event says how many)."""
    access.require_admin(user, definition.organization_id)
    values = _definition_values(data, UPDATE_FIELDS, definition.organization_id, definition.field_type)
    boards = values.pop("boards", None)
    with transaction.atomic():
        if "options" in values:
            _check_options_unused(definition, values["options"])
        changed = sorted(name for name, value in values.items() if getattr(definition, name) != value)
        for name, value in values.items():
            setattr(definition, name, value)
        event: dict[str, Any] = {"custom_field_id": str(definition.pk), "field_key": definition.field_key}
        if boards is not None:
            current = set(definition.boards.values_list("pk", flat=True))
            wanted = {board.pk for board in boards}
            if current != wanted:
                changed.append("board_ids")
                event["cleared_task_count"] = _clear_values(definition, current - wanted)
                definition.boards.set(boards)
                event["board_ids"] = sorted(str(pk) for pk in wanted)
        if not changed:
            return definition
        definition.save()
        activity.record("custom_field.updated", actor=user, organization=definition.organization_id,
                        message=f"Custom field {definition.label} changed", data={**event, "fields": changed})
    return definition


def set_board_custom_fields(user: User, board: Board, definitions: Iterable[CustomFieldDefinition]) -> None:
    """Attach exactly ``definitions`` to ``board`` (the board form's view of the same link)."""
    access.require_admin(user, board.organization_id)
    wanted = {definition.pk: definition for definition in definitions}
    foreign = [str(pk) for pk, definition in wanted.items() if definition.organization_id != board.organization_id]
    if foreign:
        raise RuleViolation(422, "custom_field_not_in_organization",
                            "A board uses only the custom fields of its own organization.",
                            field="custom_field_ids", custom_field_ids=foreign)
    with transaction.atomic():
        current = {definition.pk: definition for definition in board.custom_fields.all()}
        added = [wanted[pk] for pk in wanted.keys() - current.keys()]
        removed = [current[pk] for pk in current.keys() - wanted.keys()]
        if not added and not removed:
            return
        cleared = sum(_clear_values(definition, [board.pk]) for definition in removed)
        board.custom_fields.add(*added)
        board.custom_fields.remove(*removed)
        activity.record("board.custom_fields_changed", actor=user, board=board,
                        message=f"Custom fields of {board.name} changed",
                        data={"added": sorted(d.field_key for d in added),
                              "removed": sorted(d.field_key for d in removed), "cleared_task_count": cleared})


def delete_custom_field(user: User, definition: CustomFieldDefinition) -> None:
    """Remove a field and its values from every task; the tasks' history stays."""
    access.require_admin(user, definition.organization_id)
    with transaction.atomic():
        cleared = _clear_values(definition)
        activity.record("custom_field.deleted", actor=user, organization=definition.organization_id,
                        message=f"Custom field {definition.label} deleted",
                        data={"custom_field_id": str(definition.pk), "field_key": definition.field_key,
                              "cleared_task_count": cleared})
        definition.delete()


# --- values ---------------------------------------------------------------------------------


def _name(definition: CustomFieldDefinition) -> str:
    return f"{definition.label} ({definition.field_key})"


def _bad_value(definition: CustomFieldDefinition, what: str) -> RuleViolation:
    return RuleViolation(422, "invalid_custom_field_value", f"{_name(definition)} {what}.", field=VALUES_FIELD,
                         custom_field=definition.field_key, field_type=definition.field_type)


def custom_field_value(definition: CustomFieldDefinition, value: Any) -> Any:
    """``value`` as stored for ``definition``, or a 422 saying what the field takes. ``None`` clears."""
    if value is None:
        return None
    kind = definition.field_type
    if kind == FieldType.TEXT:
        if not isinstance(value, str):
            raise _bad_value(definition, "must be text")
        if len(value) > TEXT_MAX_LENGTH:
            raise _bad_value(definition, f"has at most {TEXT_MAX_LENGTH} characters")
        return value
    if kind == FieldType.NUMBER:
        # JSON true/false arrive as Python bools, which are ints: refuse them by name.
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _bad_value(definition, "must be a number")
        if isinstance(value, float) and not math.isfinite(value):
            raise _bad_value(definition, "must be a finite number")
        if abs(value) > NUMBER_LIMIT:
            raise _bad_value(definition, f"must be between -{NUMBER_LIMIT:.0e} and {NUMBER_LIMIT:.0e}")
        return value
    if kind == FieldType.BOOLEAN:
        if not isinstance(value, bool):
            raise _bad_value(definition, "must be true or false (a JSON boolean, not text)")
        return value
    if kind == FieldType.DATE:
        if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise _bad_value(definition, "must be a date written YYYY-MM-DD")
        try:
            date.fromisoformat(value)
        except ValueError:
            raise _bad_value(definition, "must be a real date written YYYY-MM-DD") from None
        return value
    if kind == FieldType.SELECT:
        if not isinstance(value, str) or value not in definition.options:
            raise _bad_value(definition, f"must be one of: {', '.join(definition.options)}")
        return value
    if kind == FieldType.URL:
        return _url(definition, value)
    raise _bad_value(definition, "has a type this server does not know")  # pragma: no cover


def _url(definition: CustomFieldDefinition, value: Any) -> str:
    if not isinstance(value, str) or len(value) > URL_MAX_LENGTH:
        raise _bad_value(definition, f"must be an http or https URL of at most {URL_MAX_LENGTH} characters")
    try:
        parts = urlsplit(value)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in value):
        raise _bad_value(definition, "must be an http or https URL with a host, like https://example.com/page")
    return value


def board_custom_fields(board: Board) -> dict[str, CustomFieldDefinition]:
    """The fields attached to ``board``, by key."""
    return {definition.field_key: definition for definition in board.custom_fields.all()}


def custom_field_values(board: Board, current: dict[str, Any] | None, sent: Any) -> dict[str, Any]:
    """The task's values after merging ``sent`` into ``current``: keys sent replace theirs,
    ``null`` clears one. Unknown keys, bad values and clearing a required field are 422."""
    if not isinstance(sent, dict):
        raise RuleViolation(422, "invalid_custom_field_values",
                            "custom_field_values must be an object of field keys and values.", field=VALUES_FIELD)
    definitions = board_custom_fields(board)
    unknown = sorted(str(key) for key in sent if key not in definitions)
    if unknown:
        known = ", ".join(sorted(definitions)) or "none"
        raise RuleViolation(422, "unknown_custom_field",
                            f"This board has no custom field {', '.join(unknown)}; its fields are: {known}.",
                            field=VALUES_FIELD, custom_fields=unknown)
    merged = dict(current or {})
    for key, value in sent.items():
        definition = definitions[key]
        stored = custom_field_value(definition, value)
        if stored is None:
            if definition.required:
                raise RuleViolation(422, "custom_field_required", f"{_name(definition)} is required on this board "
                                    "and cannot be cleared.", field=VALUES_FIELD, custom_field=key)
            merged.pop(key, None)
        else:
            merged[key] = stored
    return merged


def check_required_values(board: Board, values: dict[str, Any]) -> None:
    """A new task carries a value for each required field of its board."""
    missing = [definition for key, definition in sorted(board_custom_fields(board).items())
               if definition.required and values.get(key) is None]
    if missing:
        names = ", ".join(_name(definition) for definition in missing)
        raise RuleViolation(422, "custom_field_required",
                            f"{names} {'is' if len(missing) == 1 else 'are'} required on this board: "
                            "give a value in custom_field_values.",
                            field=VALUES_FIELD, custom_fields=[definition.field_key for definition in missing])
