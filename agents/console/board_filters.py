"""The board page's search, filters, view and sort, read from its query string.

Every filter is a GET parameter, so a filtered board is a link to share and works without
JavaScript. A value the board cannot use is left out with a note saying so (never an
error page): ``notes`` holds those sentences, and the page shows them above the tasks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db.models import F, Q, QuerySet
from django.http import QueryDict
from django.utils import timezone

from agents import queries
from agents.models import Agent, CustomFieldDefinition, Tag, Task

VIEWS = ("kanban", "list")
# ``?due=``: its choices and the words of each.
DUE_FILTERS = [("", "Any time"), ("overdue", "Overdue"), ("week", "Due in the next 7 days"),
               ("none", "No due date")]
UNASSIGNED = "unassigned"
# The list view's sort keys (``?sort=key`` ascending, ``?sort=-key`` descending) and the header of each.
SORTS = {"title": "Title", "status": "Status", "priority": "Priority", "due": "Due", "updated": "Updated"}
SEARCH_LIMIT = 200
# Every parameter that narrows the tasks (``view``, ``sort`` and ``page`` do not).
FILTER_PARAMS = ("q", "assignee", "tag", "priority", "status", "due", "field", "value")


@dataclass
class BoardFilters:
    """What the query string asks for, checked against the board."""

    view: str = "kanban"
    text: str = ""
    assignee: Agent | None = None
    unassigned: bool = False
    tag: Tag | None = None
    priority: str = ""
    status: str = ""
    due: str = ""
    custom_field: CustomFieldDefinition | None = None
    field_text: str = ""
    field_value: Any = None
    # The sentence under the custom field's value when it cannot be one of the field's.
    field_error: str = ""
    sort: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def active(self) -> bool:
        """Whether any filter narrows the tasks."""
        return bool(self.text or self.assignee or self.unassigned or self.tag or self.priority or self.status
                    or self.due or (self.custom_field is not None and not self.field_error))

    @property
    def sort_key(self) -> str:
        return self.sort.lstrip("-")

    @property
    def descending(self) -> bool:
        return self.sort.startswith("-")

    def apply(self, tasks: QuerySet[Task]) -> QuerySet[Task]:
        """``tasks`` narrowed by every filter at once (they combine: all must hold)."""
        if self.text:
            tasks = tasks.filter(Q(title__icontains=self.text) | Q(description__icontains=self.text))
        if self.assignee is not None:
            tasks = tasks.filter(assigned_agent_id=self.assignee.pk)
        elif self.unassigned:
            tasks = tasks.filter(assigned_agent__isnull=True)
        if self.tag is not None:
            tasks = tasks.filter(pk__in=Task.tags.through.objects.filter(tag_id=self.tag.pk).values("task_id"))
        if self.priority:
            tasks = tasks.filter(priority=self.priority)
        if self.status:
            tasks = tasks.filter(status=self.status)
        if self.due:
            tasks = _due(tasks, self.due)
        if self.custom_field is not None and not self.field_error:
            tasks = queries.filter_by_custom_field(tasks, self.custom_field, self.field_value)
        return tasks

    def ordered(self, tasks: QuerySet[Task]) -> QuerySet[Task]:
        """The list view's order: the chosen column's, else the board's (columns left to
        right, each in its own order)."""
        key, desc = self.sort_key, self.descending
        if key == "title":
            order: list[Any] = [F("title").desc() if desc else F("title").asc()]
        elif key == "status":
            order = [queries.status_rank().desc() if desc else queries.status_rank().asc()]
        elif key == "priority":
            # Ascending: the most pressing first.
            order = [queries.priority_rank().desc() if desc else queries.priority_rank().asc()]
        elif key == "due":
            # Tasks without a due date come last either way.
            order = [F("due_at").desc(nulls_last=True) if desc else F("due_at").asc(nulls_last=True)]
        elif key == "updated":
            order = [F("updated_at").desc() if desc else F("updated_at").asc()]
        else:
            order = [queries.status_rank().asc()]
        return tasks.order_by(*order, *queries.COLUMN_ORDER)

    def headings(self) -> list[str]:
        """Each filter in words, for the list's heading."""
        words = []
        if self.text:
            words.append(f"“{self.text}”")
        if self.status:
            words.append(Task.Status(self.status).label)
        if self.priority:
            words.append(f"{Task.Priority(self.priority).label} priority")
        if self.assignee is not None:
            words.append(f"Assigned to {self.assignee.name}")
        elif self.unassigned:
            words.append("Unassigned")
        if self.tag is not None:
            words.append(f"Tagged {self.tag.name}")
        if self.due:
            words.append(dict(DUE_FILTERS)[self.due])
        if self.custom_field is not None and not self.field_error:
            words.append(f"{self.custom_field.label}: {self.field_text.strip()}")
        return words

    def empty_sentence(self) -> str:
        """What an empty list says: the one filter in words, or that none matched them all."""
        if self.custom_field is not None and not self.field_error and len(self.headings()) == 1:
            return f"No task has {self.custom_field.label}: {self.field_text.strip()}."
        if self.due and len(self.headings()) == 1:
            return f"No task is {dict(DUE_FILTERS)[self.due].lower()}."
        if self.status and len(self.headings()) == 1:
            return f"No tasks in {Task.Status(self.status).label.lower()}."
        if self.active:
            return "No task matches every filter."
        return "No tasks on this board yet."


def _due(tasks: QuerySet[Task], choice: str) -> QuerySet[Task]:
    now = timezone.now()
    if choice == "overdue":
        return tasks.filter(queries.overdue_condition(now))
    if choice == "week":
        return tasks.filter(due_at__gte=now, due_at__lt=now + timedelta(days=7)).exclude(status=Task.Status.DONE)
    return tasks.filter(due_at__isnull=True)


def read_filters(params: QueryDict, *, agents: list[Agent], tags: list[Tag],
                 definitions: list[CustomFieldDefinition]) -> BoardFilters:
    """The filters of ``params`` for a board with these agents, tags (of its organization)
    and custom fields; what cannot apply is left out with a note."""
    found = BoardFilters()
    notes = found.notes

    text = params.get("q", "").strip()
    if len(text) > SEARCH_LIMIT:
        notes.append(f"The search was cut to its first {SEARCH_LIMIT} characters.")
        text = text[:SEARCH_LIMIT]
    found.text = text

    assignee = params.get("assignee", "").strip()
    if assignee == UNASSIGNED:
        found.unassigned = True
    elif assignee:
        found.assignee = next((agent for agent in agents if str(agent.pk) == assignee), None)
        if found.assignee is None:
            notes.append("The assignee filter names no agent of this board, so it was left out.")

    tag = params.get("tag", "").strip()
    if tag:
        found.tag = next((t for t in tags if t.slug == tag), None)
        if found.tag is None:
            notes.append(f"There is no tag “{tag}” in this organization, so the tag filter was left out.")

    found.priority = _choice(params, "priority", Task.Priority.values, "priority", notes)
    found.status = _choice(params, "status", Task.Status.values, "status", notes)
    found.due = _choice(params, "due", [value for value, _ in DUE_FILTERS if value], "due date", notes)

    key = params.get("field", "").strip()
    if key:
        found.custom_field = next((d for d in definitions if d.field_key == key), None)
        if found.custom_field is None:
            notes.append(f"This board has no custom field “{key}”, so that filter was left out.")
        else:
            found.field_text = params.get("value", "")
            try:
                found.field_value = queries.custom_field_filter_value(found.custom_field, found.field_text)
            except ValueError as exc:
                found.field_error = str(exc)

    sort = params.get("sort", "").strip()
    if sort and sort.lstrip("-") in SORTS and sort.count("-") <= 1:
        found.sort = sort
    elif sort:
        notes.append(f"The list cannot be sorted by “{sort}”; it is shown in the board's order.")

    view = params.get("view", "").strip()
    if view in VIEWS:
        found.view = view
    else:
        if view:
            notes.append(f"There is no “{view}” view; the board shows the {'list' if found.active else 'kanban'}.")
        # Links made before the list view (a column in full, a due date or custom field
        # filter) open as a list, as they did then.
        found.view = "list" if found.active else "kanban"
    return found


def _choice(params: QueryDict, name: str, values: list[str], words: str, notes: list[str]) -> str:
    value = params.get(name, "").strip()
    if value and value not in values:
        notes.append(f"“{value}” is not a {words} this board knows, so the {words} filter was left out.")
        return ""
    return value


def sort_links(filters: BoardFilters) -> dict[str, dict[str, Any]]:
    """Each sortable header of the list by key: its link's sort value and its ``aria-sort``."""
    links = {}
    for key, label in SORTS.items():
        current = filters.sort_key == key
        # A second click on the active header reverses it.
        value = key if not current or filters.descending else f"-{key}"
        aria = ("descending" if filters.descending else "ascending") if current else ""
        links[key] = {"label": label, "value": value, "aria_sort": aria}
    return links


def view_urls(params: QueryDict) -> dict[str, str]:
    """The query string of each view with the same filters (a sort only the list has)."""
    urls = {}
    for view in VIEWS:
        kept = params.copy()
        for name in ("page", "view", *(("sort",) if view == "kanban" else ())):
            kept.pop(name, None)
        kept["view"] = view
        urls[view] = f"?{kept.urlencode()}"
    return urls
