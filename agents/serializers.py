"""The JSON shapes of the work domain, shared by the user API and the agent API.

Field names follow the HTTP contract exactly. Read serializers expect their querysets to
be prepared by the ``*_queryset`` / ``load_task_relations`` helpers below, so a list
costs a fixed number of queries. Write serializers only check types and shapes; the
workflow rules that decide whether a change is allowed live in ``agents.rules``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from django.db.models import Prefetch, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from agents.models import (
    ActivityEvent,
    Agent,
    Approval,
    ApprovalTask,
    Board,
    BoardMemory,
    Gateway,
    Tag,
    Task,
    TaskComment,
    TaskDependency,
    User,
)

HEX_COLOR = re.compile(r"^[0-9a-fA-F]{6}$")
# What ``Agent.status`` can say: presence, or a lifecycle operation under way.
AGENT_STATUSES = ["provisioning", "online", "offline", "updating", "deleting", "error"]


class StrictInputMixin:
    """Refuses fields the serializer does not accept (422), instead of silently dropping them,
    so a typo in a field name is reported rather than ignored."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            writable = {name for name, field in self.fields.items() if not field.read_only}  # type: ignore[attr-defined]
            unknown = sorted(set(data) - writable)
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)  # type: ignore[misc]


class StrictSerializer(StrictInputMixin, serializers.Serializer):
    pass


# --- tags -----------------------------------------------------------------------------------


class TagSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tag
        fields = ["id", "name", "slug", "color"]
        read_only_fields = fields


class TagWriteSerializer(StrictSerializer):
    name = serializers.CharField(max_length=100)
    slug = serializers.SlugField(max_length=100, required=False)
    color = serializers.CharField(max_length=6, required=False)
    organization_id = serializers.UUIDField(required=False,
                                            help_text="Needed only when you belong to several organizations.")

    def validate_color(self, value: str) -> str:
        if not HEX_COLOR.match(value):
            raise serializers.ValidationError("Use six hexadecimal digits, like 9ca3af.")
        return value.lower()


class TagUpdateSerializer(TagWriteSerializer):
    name = serializers.CharField(max_length=100, required=False)
    organization_id = None


# --- tasks ----------------------------------------------------------------------------------


def load_task_relations(tasks: list[Task], board: Board | None = None) -> list[Task]:
    """Attaches dependencies (with their status) and tags to ``tasks`` in two queries.

    With ``board`` the queries select the whole board's links instead of an ``IN`` list of
    ids, which keeps the snapshot of a very large board to two plain queries.
    """
    deps: dict[UUID, list[tuple[UUID, str]]] = defaultdict(list)
    tags: dict[UUID, list[Tag]] = defaultdict(list)
    if tasks:
        ids = [task.id for task in tasks]
        dep_rows = TaskDependency.objects.filter(task__board=board) if board else TaskDependency.objects.filter(task_id__in=ids)
        for task_id, dep_id, dep_status in dep_rows.values_list("task_id", "depends_on_id", "depends_on__status").order_by("id"):
            deps[task_id].append((dep_id, dep_status))
        through = Task.tags.through
        tag_rows = through.objects.filter(task__board=board) if board else through.objects.filter(task_id__in=ids)
        # Plain rows, one Tag object per distinct tag: a large board links thousands of
        # tasks to a handful of tags, and building a model object per link costs seconds.
        distinct: dict[UUID, Tag] = {}
        for task_id, tag_id, name, slug, color in (tag_rows.order_by("tag__name", "tag_id")
                                                   .values_list("task_id", "tag_id", "tag__name", "tag__slug", "tag__color")):
            tag = distinct.get(tag_id)
            if tag is None:
                tag = distinct[tag_id] = Tag(id=tag_id, name=name, slug=slug, color=color)
            tags[task_id].append(tag)
    for task in tasks:
        task.loaded_dependencies = deps.get(task.id, [])  # type: ignore[attr-defined]
        task.loaded_tags = tags.get(task.id, [])  # type: ignore[attr-defined]
    return tasks


def _dependencies(task: Task) -> list[tuple[UUID, str]]:
    if not hasattr(task, "loaded_dependencies"):
        load_task_relations([task])
    return task.loaded_dependencies  # type: ignore[attr-defined]


def _tags(task: Task) -> list[Tag]:
    if not hasattr(task, "loaded_tags"):
        load_task_relations([task])
    return task.loaded_tags  # type: ignore[attr-defined]


class TaskListSerializer(serializers.ListSerializer):
    """Loads dependencies and tags for a whole page at once."""

    def to_representation(self, data: Any) -> list[Any]:
        items = list(data.all() if isinstance(data, QuerySet) else data)
        if any(not hasattr(task, "loaded_dependencies") for task in items):
            load_task_relations(items)
        return [self.child.to_representation(item) for item in items]


def _datetime_text(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z``, as DRF's DateTimeField writes it (TIME_ZONE is UTC)."""
    if value is None:
        return None
    text = value.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _uuid_text(value: UUID | None) -> str | None:
    return None if value is None else str(value)


class TaskSerializer(serializers.ModelSerializer):
    """A task. The fields below describe it for the schema; ``to_representation`` writes
    them directly, because a board snapshot serializes thousands of tasks at once and
    per-field serializer machinery would cost seconds there."""

    board_id = serializers.UUIDField(read_only=True)
    assigned_agent_id = serializers.UUIDField(read_only=True, allow_null=True)
    created_by_user_id = serializers.UUIDField(read_only=True, allow_null=True)
    depends_on_task_ids = serializers.ListField(child=serializers.UUIDField(), read_only=True)
    blocked_by_task_ids = serializers.ListField(child=serializers.UUIDField(), read_only=True)
    is_blocked = serializers.BooleanField(read_only=True)
    tag_ids = serializers.ListField(child=serializers.UUIDField(), read_only=True)
    tags = TagSerializer(many=True, read_only=True)

    class Meta:
        model = Task
        list_serializer_class = TaskListSerializer
        fields = ["id", "board_id", "title", "description", "status", "priority", "due_at", "in_progress_at",
                  "assigned_agent_id", "created_by_user_id", "created_at", "updated_at", "depends_on_task_ids",
                  "blocked_by_task_ids", "is_blocked", "tag_ids", "tags"]
        read_only_fields = fields

    def to_representation(self, task: Task) -> dict[str, Any]:
        dependencies = _dependencies(task)
        blocked_by = [str(dep_id) for dep_id, status in dependencies if status != Task.Status.DONE]
        tags = _tags(task)
        return {
            "id": str(task.id),
            "board_id": str(task.board_id),
            "title": task.title,
            "description": task.description,
            "status": task.status,
            "priority": task.priority,
            "due_at": _datetime_text(task.due_at),
            "in_progress_at": _datetime_text(task.in_progress_at),
            "assigned_agent_id": _uuid_text(task.assigned_agent_id),
            "created_by_user_id": _uuid_text(task.created_by_user_id),
            "created_at": _datetime_text(task.created_at),
            "updated_at": _datetime_text(task.updated_at),
            "depends_on_task_ids": [str(dep_id) for dep_id, _ in dependencies],
            "blocked_by_task_ids": blocked_by,
            "is_blocked": bool(blocked_by),
            "tag_ids": [str(tag.id) for tag in tags],
            "tags": [{"id": str(tag.id), "name": tag.name, "slug": tag.slug, "color": tag.color} for tag in tags],
        }


class TaskWriteSerializer(StrictSerializer):
    """Create and partial update of a task. ``comment`` is accepted on update only."""

    title = serializers.CharField(max_length=500)
    description = serializers.CharField(required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=Task.Status.choices, required=False)
    priority = serializers.ChoiceField(choices=Task.Priority.choices, required=False)
    due_at = serializers.DateTimeField(required=False, allow_null=True)
    assigned_agent_id = serializers.UUIDField(required=False, allow_null=True)
    depends_on_task_ids = serializers.ListField(child=serializers.UUIDField(), required=False, max_length=200)
    tag_ids = serializers.ListField(child=serializers.UUIDField(), required=False, max_length=200)

    def validate_title(self, value: str) -> str:
        value = value.strip()
        if not value:
            raise serializers.ValidationError("Title cannot be blank.")
        return value


class TaskUpdateSerializer(TaskWriteSerializer):
    title = serializers.CharField(max_length=500, required=False)
    comment = serializers.CharField(required=False, allow_blank=False)


# --- comments -------------------------------------------------------------------------------


class CommentSerializer(serializers.ModelSerializer):
    task_id = serializers.UUIDField(read_only=True)
    agent_id = serializers.UUIDField(source="author_agent_id", read_only=True, allow_null=True)
    user_id = serializers.UUIDField(source="author_user_id", read_only=True, allow_null=True)

    class Meta:
        model = TaskComment
        fields = ["id", "message", "task_id", "agent_id", "user_id", "created_at"]
        read_only_fields = fields


class CommentWriteSerializer(StrictSerializer):
    message = serializers.CharField()

    def validate_message(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("A comment needs a message.")
        return value


# --- board memory ---------------------------------------------------------------------------


class BoardMemorySerializer(serializers.ModelSerializer):
    board_id = serializers.UUIDField(read_only=True)
    tags = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = BoardMemory
        fields = ["id", "board_id", "content", "tags", "is_chat", "source", "created_at"]
        read_only_fields = fields


class BoardMemoryWriteSerializer(StrictSerializer):
    content = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField(max_length=100), required=False, max_length=50)
    source = serializers.CharField(max_length=200, required=False, allow_blank=True)

    def validate_content(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("Memory needs content.")
        return value


# --- approvals ------------------------------------------------------------------------------


def approval_queryset(queryset: QuerySet[Approval] | None = None) -> QuerySet[Approval]:
    queryset = Approval.objects.all() if queryset is None else queryset
    links = ApprovalTask.objects.select_related("task").only("id", "approval_id", "task_id", "task__title").order_by("id")
    return queryset.prefetch_related(Prefetch("task_links", queryset=links))


class ApprovalSerializer(serializers.ModelSerializer):
    board_id = serializers.UUIDField(read_only=True)
    agent_id = serializers.UUIDField(read_only=True, allow_null=True)
    task_id = serializers.SerializerMethodField()
    task_ids = serializers.SerializerMethodField()
    task_titles = serializers.SerializerMethodField()
    rubric_scores = serializers.DictField(child=serializers.IntegerField(), read_only=True)
    payload = serializers.DictField(read_only=True)

    class Meta:
        model = Approval
        # The contract's read fields, plus the reason the agent gave (required on create).
        fields = ["id", "board_id", "action_type", "task_id", "task_ids", "task_titles", "payload", "confidence",
                  "rubric_scores", "status", "agent_id", "created_at", "resolved_at", "lead_reasoning"]
        read_only_fields = fields

    @staticmethod
    def _links(approval: Approval) -> list[ApprovalTask]:
        return list(approval.task_links.all())

    @extend_schema_field(OpenApiTypes.UUID)
    def get_task_id(self, approval: Approval) -> UUID | None:
        links = self._links(approval)
        return links[0].task_id if links else None

    @extend_schema_field(serializers.ListField(child=serializers.UUIDField()))
    def get_task_ids(self, approval: Approval) -> list[UUID]:
        return [link.task_id for link in self._links(approval)]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_task_titles(self, approval: Approval) -> list[str]:
        return [link.task.title for link in self._links(approval)]


class PercentField(serializers.FloatField):
    """A number from 0 to 100, decimals allowed (true/false are not numbers here)."""

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)


class ApprovalCreateSerializer(StrictSerializer):
    action_type = serializers.CharField(max_length=100)
    task_id = serializers.UUIDField(required=False, allow_null=True)
    task_ids = serializers.ListField(child=serializers.UUIDField(), required=False, max_length=100)
    payload = serializers.DictField(required=False)
    # Agents often send a decimal; it is stored rounded to a whole number.
    confidence = PercentField(min_value=0, max_value=100)
    rubric_scores = serializers.DictField(child=serializers.IntegerField(), required=False)
    lead_reasoning = serializers.CharField(required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=[Approval.Status.PENDING], required=False,
                                     help_text="Approvals are created pending; people resolve them.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        task_ids = list(attrs.pop("task_ids", []) or [])
        if attrs.get("task_id") and attrs["task_id"] not in task_ids:
            task_ids.insert(0, attrs["task_id"])
        attrs.pop("task_id", None)
        attrs["task_ids"] = task_ids
        return attrs


class ApprovalResolveSerializer(StrictSerializer):
    status = serializers.ChoiceField(choices=[Approval.Status.APPROVED, Approval.Status.REJECTED])


# --- agents, boards, gateways ---------------------------------------------------------------


class AgentSerializer(serializers.ModelSerializer):
    board_id = serializers.UUIDField(read_only=True, allow_null=True)
    gateway_id = serializers.UUIDField(read_only=True, allow_null=True)
    status = serializers.SerializerMethodField()
    is_gateway_main = serializers.BooleanField(read_only=True)

    class Meta:
        model = Agent
        fields = ["id", "name", "board_id", "gateway_id", "status", "is_board_lead", "is_gateway_main",
                  "last_seen_at", "created_at", "updated_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=AGENT_STATUSES))
    def get_status(self, agent: Agent) -> str:
        return agent.status


class AgentWithTokenSerializer(AgentSerializer):
    token = serializers.CharField(read_only=True, help_text="Shown once; store it now.")

    class Meta(AgentSerializer.Meta):
        fields = [*AgentSerializer.Meta.fields, "token"]
        read_only_fields = fields


class AgentCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    board_id = serializers.UUIDField(required=False, allow_null=True)
    gateway_id = serializers.UUIDField(required=False, allow_null=True)
    is_board_lead = serializers.BooleanField(required=False, default=False)

    def validate_name(self, value: str) -> str:
        value = value.strip()
        if not value:
            raise serializers.ValidationError("An agent needs a name.")
        return value


class AgentUpdateSerializer(AgentCreateSerializer):
    name = serializers.CharField(max_length=200, required=False)
    is_board_lead = serializers.BooleanField(required=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(read_only=True, help_text="Shown once; store it now.")


BOARD_RULE_FLAGS = ("require_approval_for_done", "require_review_before_done", "comment_required_for_review",
                    "block_status_changes_with_pending_approval", "only_lead_can_change_status")


class BoardSerializer(serializers.ModelSerializer):
    organization_id = serializers.UUIDField(read_only=True)
    gateway_id = serializers.UUIDField(read_only=True, allow_null=True)

    class Meta:
        model = Board
        fields = ["id", "organization_id", "name", "slug", "description", "gateway_id", "objective",
                  *BOARD_RULE_FLAGS, "max_agents", "created_at", "updated_at"]
        read_only_fields = fields


class BoardWriteSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    slug = serializers.SlugField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    objective = serializers.CharField(required=False, allow_blank=True)
    gateway_id = serializers.UUIDField(required=False, allow_null=True)
    organization_id = serializers.UUIDField(required=False,
                                            help_text="Needed only when you belong to several organizations.")
    require_approval_for_done = serializers.BooleanField(required=False)
    require_review_before_done = serializers.BooleanField(required=False)
    comment_required_for_review = serializers.BooleanField(required=False)
    block_status_changes_with_pending_approval = serializers.BooleanField(required=False)
    only_lead_can_change_status = serializers.BooleanField(required=False)
    max_agents = serializers.IntegerField(required=False, min_value=1, max_value=1000)

    def validate_name(self, value: str) -> str:
        value = value.strip()
        if not value:
            raise serializers.ValidationError("A board needs a name.")
        return value


class BoardUpdateSerializer(BoardWriteSerializer):
    name = serializers.CharField(max_length=200, required=False)
    organization_id = None  # a board does not move between organizations


class GatewaySerializer(serializers.ModelSerializer):
    """The gateway as shown to people: its token is write-only and never leaves the server."""

    organization_id = serializers.UUIDField(read_only=True)
    has_token = serializers.SerializerMethodField()

    class Meta:
        model = Gateway
        fields = ["id", "organization_id", "name", "url", "workspace_root", "allow_insecure_tls", "has_token",
                  "created_at", "updated_at"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_has_token(self, gateway: Gateway) -> bool:
        return bool(gateway.token)


class GatewayWriteSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    url = serializers.CharField(max_length=500)
    token = serializers.CharField(required=False, allow_blank=True, write_only=True)
    workspace_root = serializers.CharField(max_length=500, required=False, allow_blank=True)
    allow_insecure_tls = serializers.BooleanField(required=False)
    organization_id = serializers.UUIDField(required=False,
                                            help_text="Needed only when you belong to several organizations.")

    def validate_url(self, value: str) -> str:
        value = value.strip()
        if not re.match(r"^wss?://[^\s/]+", value):
            raise serializers.ValidationError("A gateway URL starts with ws:// or wss:// and names a host.")
        return value


class GatewayUpdateSerializer(GatewayWriteSerializer):
    name = serializers.CharField(max_length=200, required=False)
    url = serializers.CharField(max_length=500, required=False)
    organization_id = None


# --- activity and people --------------------------------------------------------------------


class ActivityEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = ActivityEvent
        fields = ["id", "event_type", "actor_type", "actor_user_id", "actor_agent_id", "actor_name", "board_id",
                  "task_id", "agent_id", "message", "data", "created_at"]
        read_only_fields = fields


class MembershipSummarySerializer(serializers.Serializer):
    id = serializers.UUIDField(source="organization.id")
    name = serializers.CharField(source="organization.name")
    slug = serializers.CharField(source="organization.slug")
    role = serializers.CharField()


class UserSerializer(serializers.ModelSerializer):
    organizations = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "email", "first_name", "last_name", "organizations"]
        read_only_fields = fields

    @extend_schema_field(MembershipSummarySerializer(many=True))
    def get_organizations(self, user: User) -> list[dict[str, Any]]:
        memberships = user.memberships.select_related("organization").order_by("organization__name")
        return MembershipSummarySerializer(memberships, many=True).data
