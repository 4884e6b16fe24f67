"""Tags: an organization's labels for tasks, managed by its owners and admins."""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction
from django.utils.text import slugify

from agents import access, activity, live
from agents.models import Organization, Tag, Task, User
from agents.refusals import RuleViolation
from agents.rules.inputs import name_text, slug_text, unknown_fields
from agents.rules.unique import check_slug_free, save_unique

TAG_FIELDS = ("name", "slug", "color")
HEX_COLOR = re.compile(r"^[0-9a-fA-F]{6}$")
NAME_MAX_LENGTH = 100
SLUG_TAKEN = ("tag_slug_taken", "Another tag of this organization already uses this short name (slug).")


def _color(value: Any) -> str:
    if not isinstance(value, str) or not HEX_COLOR.match(value):
        raise RuleViolation(422, "invalid_color", "Use six hexadecimal digits, like 9ca3af.", field="color")
    return value.lower()


def _values(data: dict[str, Any]) -> dict[str, Any]:
    unknown_fields(data, TAG_FIELDS, "tag")
    out: dict[str, Any] = {}
    if "name" in data:
        out["name"] = name_text(data["name"], what="A tag", max_length=NAME_MAX_LENGTH)
    if data.get("slug") not in (None, ""):
        out["slug"] = slug_text(data["slug"], max_length=NAME_MAX_LENGTH)
    if "color" in data:
        out["color"] = _color(data["color"])
    return out


def create_tag(user: User, organization: Organization, data: dict[str, Any]) -> Tag:
    access.require_admin(user, organization)
    values = _values({"name": None, **data})
    values.setdefault("slug", slugify(values["name"])[:NAME_MAX_LENGTH] or "tag")
    check_slug_free(Tag, organization.pk, values["slug"], SLUG_TAKEN)

    def create() -> Tag:
        tag = Tag.objects.create(organization=organization, **values)
        activity.record("tag.created", actor=user, organization=organization, message=f"Tag {tag.name} created",
                        data={"tag_id": str(tag.pk)})
        return tag

    return save_unique(*SLUG_TAKEN, create)


def update_tag(user: User, tag: Tag, data: dict[str, Any]) -> Tag:
    access.require_admin(user, tag.organization_id)
    values = _values(data)
    if "slug" in values:
        check_slug_free(Tag, tag.organization_id, values["slug"], SLUG_TAKEN, tag)
    changed = sorted(name for name, value in values.items() if getattr(tag, name) != value)
    for name, value in values.items():
        setattr(tag, name, value)

    def save() -> None:
        tag.save()
        activity.record("tag.updated", actor=user, organization=tag.organization_id,
                        message=f"Tag {tag.name} changed", data={"tag_id": str(tag.pk), "fields": changed})
        _boards_showing(tag)

    if changed:
        save_unique(*SLUG_TAKEN, save)
    return tag


def delete_tag(user: User, tag: Tag) -> None:
    """Remove a tag; tasks lose the label, their history stays."""
    access.require_admin(user, tag.organization_id)
    with transaction.atomic():
        activity.record("tag.deleted", actor=user, organization=tag.organization_id,
                        message=f"Tag {tag.name} deleted", data={"tag_id": str(tag.pk)})
        _boards_showing(tag)
        tag.delete()


def _boards_showing(tag: Tag) -> None:
    """A tag's event is the organization's; the boards whose cards show the tag learn of it
    too (``agents.live``), so their open pages show the new name or colour."""
    boards = Task.tags.through.objects.filter(tag_id=tag.pk).values_list("task__board_id", flat=True).distinct()
    live.bump(live.board_scope(board_id) for board_id in boards)
