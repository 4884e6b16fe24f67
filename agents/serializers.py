"""The JSON shapes of the work domain, shared by the user API and the agent API.

Field names follow the HTTP contract exactly. Read serializers expect their querysets to
be prepared by the helpers of ``agents.queries`` (``approval_queryset``, ``load_task_relations``), so a list
costs a fixed number of queries. Write serializers only check types and shapes; the
workflow rules that decide whether a change is allowed live in ``agents.rules``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from agents.models import (
    BOARD_RULE_FLAGS,
    ActivityEvent,
    Agent,
    Approval,
    ApprovalTask,
    Board,
    BoardGroup,
    BoardGroupMemory,
    BoardMemory,
    CustomFieldDefinition,
    Gateway,
    Invitation,
    Membership,
    Organization,
    Tag,
    Task,
    TaskComment,
    User,
)
from agents.queries import TaskRow, load_task_relations
from missioncontrol.api.serializers import StrictSerializer

ORGANIZATION_HELP = "Needed only when you belong to several organizations."
# What ``Agent.status`` can say: presence, or a lifecycle operation under way.
AGENT_STATUSES = ["provisioning", "updating", "waiting", "online", "offline", "error"]


# --- tags -----------------------------------------------------------------------------------


class TagSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tag
        fields = ["id", "name", "slug", "color"]
        read_only_fields = fields


class TagUpdateSerializer(StrictSerializer):
    """Types only: ``agents.rules.tags`` checks the values, for the API and the console alike."""

    name = serializers.CharField(required=False, allow_blank=True)
    slug = serializers.CharField(required=False, allow_blank=True, help_text="Made from the name when left out.")
    color = serializers.CharField(required=False, help_text="Six hexadecimal digits, like 9ca3af.")


class TagWriteSerializer(TagUpdateSerializer):
    name = serializers.CharField(allow_blank=True)
    organization_id = serializers.UUIDField(required=False, help_text=ORGANIZATION_HELP)


# --- custom fields --------------------------------------------------------------------------

FIELD_TYPES_HELP = ("text, number, date (YYYY-MM-DD), select (one of options), boolean (true or false) or url "
                    "(http or https). Fixed once the field exists.")


class CustomFieldSerializer(serializers.ModelSerializer):
    organization_id = serializers.UUIDField(read_only=True)
    options = serializers.ListField(child=serializers.CharField(), read_only=True,
                                    help_text="The choices of a select field; empty for other types.")
    board_ids = serializers.SerializerMethodField(help_text="The boards whose tasks carry this field.")

    class Meta:
        model = CustomFieldDefinition
        fields = ["id", "organization_id", "field_key", "label", "field_type", "required", "options",
                  "description", "board_ids", "created_at", "updated_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.UUIDField()))
    def get_board_ids(self, definition: CustomFieldDefinition) -> list[str]:
        # Reads the prefetched boards when the list prepared them (``agents.queries.custom_field_queryset``).
        return [str(board.pk) for board in definition.boards.all()]


class BoardCustomFieldSerializer(serializers.ModelSerializer):
    """A custom field as the tasks of one board use it (what agents read)."""

    options = serializers.ListField(child=serializers.CharField(), read_only=True,
                                    help_text="The choices of a select field; empty for other types.")

    class Meta:
        model = CustomFieldDefinition
        fields = ["id", "field_key", "label", "field_type", "required", "options", "description"]
        read_only_fields = fields


class CustomFieldUpdateSerializer(StrictSerializer):
    """Types only: ``agents.rules.fields`` checks the values, for the API and the console alike."""

    # ``label`` and ``required`` are names of DRF's Field attributes too; the serializer
    # metaclass moves declared fields out of the class, so only the stubs disagree.
    label = serializers.CharField(required=False, allow_blank=True)  # type: ignore[assignment]
    required = serializers.BooleanField(required=False, help_text=(  # type: ignore[assignment]
        "A required field needs a value when a task is created, and cannot be cleared afterwards."))
    options = serializers.ListField(child=serializers.CharField(allow_blank=True), required=False,
                                    max_length=100, help_text="select fields only: the choices, in order.")
    description = serializers.CharField(required=False, allow_blank=True)
    board_ids = serializers.ListField(child=serializers.UUIDField(), required=False, max_length=200, help_text=(
        "The boards of the organization whose tasks carry this field. A board left out loses the field's values "
        "on its tasks."))


class CustomFieldWriteSerializer(CustomFieldUpdateSerializer):
    field_key = serializers.CharField(max_length=64, help_text=(
        "What values are stored under on tasks: lowercase words joined by underscores, like story_points. "
        "Fixed once the field exists."))
    field_type = serializers.ChoiceField(choices=CustomFieldDefinition.FieldType.choices, required=False,
                                         help_text=FIELD_TYPES_HELP + " Default text.")
    organization_id = serializers.UUIDField(required=False, help_text=ORGANIZATION_HELP)


CUSTOM_FIELD_VALUES_HELP = (
    "Values of the custom fields attached to the task's board, by field_key: a text, a number, a date "
    "(YYYY-MM-DD), one of a select field's options, true or false, or an http(s) URL. On update the keys sent "
    "replace theirs, null clears one and keys not sent stay.")


@extend_schema_field({
    "type": "object",
    "additionalProperties": {"oneOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}],
                             "nullable": True},
    "description": CUSTOM_FIELD_VALUES_HELP,
    "example": {"story_points": 3, "release": "2026.12", "customer_facing": True},
})
class CustomFieldValuesField(serializers.DictField):
    """Types only: ``agents.rules.fields`` checks each value against its field."""


# --- tasks ----------------------------------------------------------------------------------


def _dependencies(task: Task | TaskRow) -> list[tuple[UUID, str]]:
    if not hasattr(task, "loaded_dependencies"):
        load_task_relations([task])
    return task.loaded_dependencies


def _tags(task: Task | TaskRow) -> list[Tag]:
    if not hasattr(task, "loaded_tags"):
        load_task_relations([task])
    return task.loaded_tags


class TaskListSerializer(serializers.ListSerializer):
    """Loads dependencies and tags for a whole page at once."""

    def to_representation(self, data: Any) -> list[Any]:
        items = list(data.all() if isinstance(data, QuerySet) else data)
        if any(not hasattr(task, "loaded_dependencies") for task in items):
            load_task_relations(items)
        child = self.child
        assert child is not None  # ListSerializer always has one
        return [child.to_representation(item) for item in items]


def _datetime_text(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z``, as DRF's DateTimeField writes it (TIME_ZONE is UTC)."""
    if value is None:
        return None
    if value.tzinfo is not UTC:  # the database's values already are (a snapshot formats 40,000)
        value = value.astimezone(UTC)
    text = value.isoformat()
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
    custom_field_values = CustomFieldValuesField(read_only=True)

    class Meta:
        model = Task
        list_serializer_class = TaskListSerializer
        fields = ["id", "board_id", "title", "description", "status", "priority", "due_at", "in_progress_at",
                  "assigned_agent_id", "created_by_user_id", "created_at", "updated_at", "depends_on_task_ids",
                  "blocked_by_task_ids", "is_blocked", "tag_ids", "tags", "custom_field_values"]
        read_only_fields = fields

    def to_representation(self, task: Task | TaskRow) -> dict[str, Any]:
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
            "custom_field_values": dict(task.custom_field_values or {}),
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
    custom_field_values = CustomFieldValuesField(required=False)

    def validate_title(self, value: str) -> str:
        value = value.strip()
        if not value:
            raise serializers.ValidationError("Title cannot be blank.")
        return value


class TaskUpdateSerializer(TaskWriteSerializer):
    title = serializers.CharField(max_length=500, required=False)
    comment = serializers.CharField(required=False, allow_blank=False)


# Agents were written for a server that took any priority string; the agent API reads the
# word (``agents.rules.inputs.priority_from_word``) instead of refusing it.
AGENT_PRIORITY_HELP = ("low, medium, high or urgent. Other words are read as one of these, case ignored: "
                       "critical, blocker, p0, highest as urgent; important, p1 as high; normal, default, p2 as "
                       "medium; minor, trivial, lowest, p3 as low; any other word as medium. The activity "
                       "event of the change keeps the word you sent.")


class AgentTaskWriteSerializer(TaskWriteSerializer):
    """A task as a lead creates it on the agent API: ``priority`` is any word."""

    # The serializer metaclass collects declared fields, so a subclass may declare a field of
    # another kind under the same name; the stubs see plain class attributes and disagree.
    priority = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False,  # type: ignore[assignment]
                                     help_text=AGENT_PRIORITY_HELP)


class AgentTaskUpdateSerializer(TaskUpdateSerializer):
    """A task change on the agent API: ``priority`` is any word."""

    # As above: a declared field of another kind, which the stubs cannot see is allowed.
    priority = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False,  # type: ignore[assignment]
                                     help_text=AGENT_PRIORITY_HELP)


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


class TaskReorderSerializer(StrictSerializer):
    """Move a task one place within its column (``agents.rules.move_task_within_column``)."""

    direction = serializers.ChoiceField(
        choices=[("up", "up"), ("down", "down")], help_text="up: one place towards the top of the column; down: one "
        "place towards the bottom.", error_messages={"invalid_choice": "direction must be up or down."})


class TaskPlaceSerializer(serializers.Serializer):
    """Where a task is in its column after a move."""

    task_id = serializers.UUIDField(read_only=True)
    status = serializers.ChoiceField(choices=Task.Status.choices, read_only=True,
                                     help_text="The column: the task's status.")
    position = serializers.IntegerField(read_only=True, min_value=0,
                                        help_text="The task's place in its column, 0 for the top.")


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
    # The contract names this field ``source``, like DRF's own Field.source attribute; the
    # serializer metaclass moves declared fields out of the class, so only the stubs disagree.
    source = serializers.CharField(max_length=200, required=False, allow_blank=True)  # type: ignore[assignment]

    def validate_content(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("Memory needs content.")
        return value


# --- approvals ------------------------------------------------------------------------------


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

    def to_representation(self, approval: Approval) -> dict[str, Any]:
        """The fields above written directly, each as its field would: a snapshot lists every
        pending approval of the board, and the per-field machinery cost most of its Python
        time (``tests/agents/test_approval_serializer.py`` holds the two to one answer)."""
        links = self._links(approval)
        return {
            "id": str(approval.id),
            "board_id": str(approval.board_id),
            "action_type": approval.action_type,
            "task_id": str(links[0].task_id) if links else None,
            "task_ids": [str(link.task_id) for link in links],
            "task_titles": [link.task.title for link in links],
            "payload": {str(key): value for key, value in (approval.payload or {}).items()},
            "confidence": int(approval.confidence),
            "rubric_scores": {str(key): None if value is None else int(value)
                              for key, value in (approval.rubric_scores or {}).items()},
            "status": approval.status,
            "agent_id": _uuid_text(approval.agent_id),
            "created_at": _datetime_text(approval.created_at),
            "resolved_at": _datetime_text(approval.resolved_at),
            "lead_reasoning": approval.lead_reasoning,
        }

    # The first linked task; null for an approval about the board rather than a task (agents may
    # ask without task_id), and once its tasks are deleted (the decision stays on record).
    @extend_schema_field(serializers.UUIDField(allow_null=True))
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
    # Not a partial update: the PATCH must name the decision.
    whole_on_patch = True

    status = serializers.ChoiceField(choices=[Approval.Status.APPROVED, Approval.Status.REJECTED])


# --- agents, boards, gateways ---------------------------------------------------------------


@extend_schema_field({
    "type": "object",
    "additionalProperties": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
    "description": "Who the agent is: texts or lists of texts. Known keys: role, communication_style, emoji, "
                   "purpose, personality, custom_instructions; other keys are kept as given.",
    "example": {"role": "Release notes writer", "communication_style": "direct, concise", "emoji": ":memo:"},
})
class IdentityProfileField(serializers.DictField):
    """Types only: ``agents.rules.roster`` checks each value is a text or a list of texts."""


@extend_schema_field({
    "type": "object",
    "properties": {"every": {"type": "string", "pattern": r"^\d+(ms|s|m|h|d)$", "example": "10m",
                             "description": "How often the gateway runs the agent's heartbeat."}},
    "additionalProperties": True,
    "description": "The agent's heartbeat settings on its gateway; other keys are kept as given.",
})
class HeartbeatConfigField(serializers.DictField):
    """Types only: ``agents.rules.roster`` checks ``every``."""


TEMPLATE_HELP = ("Markdown written into the agent's {file} instead of the default one; empty: the default. "
                 "Taken as it is, never evaluated as a template.")


class AgentLifecycleSerializer(serializers.Serializer):
    """Where the agent's provisioning on its gateway stands, and why."""

    state = serializers.ChoiceField(choices=Agent.Lifecycle.choices, source="lifecycle_status")
    since = serializers.DateTimeField(source="lifecycle_changed_at", allow_null=True)
    deadline = serializers.DateTimeField(source="lifecycle_deadline", allow_null=True,
                                         help_text="When a transient state ends at the latest.")
    reason = serializers.CharField(source="last_error", help_text="Why the agent is in error or offline; empty otherwise.")
    error_at = serializers.DateTimeField(source="last_error_at", allow_null=True)
    next_retry_at = serializers.DateTimeField(allow_null=True)
    wake_attempts = serializers.IntegerField()
    provisioned_at = serializers.DateTimeField(allow_null=True)
    gateway_agent_id = serializers.CharField(help_text="The agent's id on its gateway, once provisioned.")
    previous_token_valid_until = serializers.DateTimeField(source="previous_token_expires_at", allow_null=True)


class AgentSerializer(serializers.ModelSerializer):
    board_id = serializers.UUIDField(read_only=True, allow_null=True)
    gateway_id = serializers.UUIDField(read_only=True, allow_null=True)
    status = serializers.SerializerMethodField()
    is_gateway_main = serializers.BooleanField(read_only=True)
    identity_profile = IdentityProfileField(read_only=True)
    identity_template = serializers.CharField(read_only=True, help_text=TEMPLATE_HELP.format(file="IDENTITY.md"))
    soul_template = serializers.CharField(read_only=True, help_text=TEMPLATE_HELP.format(file="SOUL.md"))
    heartbeat_config = HeartbeatConfigField(read_only=True)

    class Meta:
        model = Agent
        # The contract's agent, as agents read it.
        fields = ["id", "name", "board_id", "gateway_id", "status", "is_board_lead", "is_gateway_main",
                  "identity_profile", "identity_template", "soul_template", "heartbeat_config",
                  "last_seen_at", "created_at", "updated_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=AGENT_STATUSES))
    def get_status(self, agent: Agent) -> str:
        return agent.status


class AgentDetailSerializer(AgentSerializer):
    """The agent as people see it: the contract's fields and its lifecycle on its gateway."""

    lifecycle = AgentLifecycleSerializer(source="*", read_only=True)

    class Meta(AgentSerializer.Meta):
        fields = [*AgentSerializer.Meta.fields, "lifecycle"]
        read_only_fields = fields


class AgentWithTokenSerializer(AgentSerializer):
    token = serializers.CharField(read_only=True, help_text="Shown once; store it now.")

    class Meta(AgentSerializer.Meta):
        fields = [*AgentSerializer.Meta.fields, "token"]
        read_only_fields = fields


class AgentDetailWithTokenSerializer(AgentDetailSerializer):
    token = serializers.CharField(read_only=True, help_text="Shown once; store it now.")

    class Meta(AgentDetailSerializer.Meta):
        fields = [*AgentDetailSerializer.Meta.fields, "token"]
        read_only_fields = fields


class AgentIdentityWriteSerializer(StrictSerializer):
    """The four fields that say who an agent is, as its creator writes them."""

    identity_profile = IdentityProfileField(required=False)
    identity_template = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False,
                                              help_text=TEMPLATE_HELP.format(file="IDENTITY.md"))
    soul_template = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False,
                                          help_text=TEMPLATE_HELP.format(file="SOUL.md"))
    heartbeat_config = HeartbeatConfigField(required=False)


class AgentCreateSerializer(AgentIdentityWriteSerializer):
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


class AgentWorkerCreateSerializer(AgentIdentityWriteSerializer):
    """What a lead sends to add a worker (the agent API reads it leniently: unknown keys and
    nulls are ignored; the rule checks the values)."""

    name = serializers.CharField(max_length=200)
    board_id = serializers.UUIDField(required=False, allow_null=True,
                                     help_text="Optional; when given, it must be your own board.")


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(read_only=True, help_text="Shown once; store it now.")
    previous_token_valid_until = serializers.DateTimeField(
        read_only=True, allow_null=True,
        help_text="Until when the old token still works (while the worker writes the new one into the agent's "
                  "workspace); null when it stopped at once.")


class TokenRotateSerializer(StrictSerializer):
    revoke_previous = serializers.BooleanField(
        required=False, default=False,
        help_text="End the old token at once (a leaked token), even for an agent whose workspace still holds it.")




BOARD_TYPE_HELP = ("goal: the board works towards its objective, measured by success_metrics, by target_date; "
                   "general: ongoing work without one. Default goal.")
SUCCESS_METRICS_HELP = ('How the objective is measured: metric names to their targets, like {"signups": 100, '
                        '"launch": "public beta"}; at most 50. null or {} clears them.')
TARGET_DATE_HELP = "When the goal should be reached: an ISO 8601 date and time, or a date (its midnight UTC)."
GOAL_CONFIRMED_HELP = ("A person has confirmed the goal, so the agents may rely on it. A confirmed goal board "
                       "needs an objective and at least one success metric (422 goal_incomplete).")


@extend_schema_field({"type": "object", "additionalProperties": True, "description": SUCCESS_METRICS_HELP,
                      "example": {"signups": 100, "launch": "public beta"}})
class SuccessMetricsField(serializers.DictField):
    """Types only: ``agents.rules.boards`` checks the names and the size."""


class BoardSerializer(serializers.ModelSerializer):
    organization_id = serializers.UUIDField(read_only=True)
    gateway_id = serializers.UUIDField(read_only=True, allow_null=True)
    board_group_id = serializers.UUIDField(source="group_id", read_only=True, allow_null=True,
                                           help_text="The board group the board is in; null: none.")
    board_type = serializers.ChoiceField(choices=Board.BoardType.choices, read_only=True, help_text=BOARD_TYPE_HELP)
    success_metrics = SuccessMetricsField(read_only=True)
    target_date = serializers.DateTimeField(read_only=True, allow_null=True, help_text=TARGET_DATE_HELP)
    goal_confirmed = serializers.BooleanField(read_only=True, help_text=GOAL_CONFIRMED_HELP)

    class Meta:
        model = Board
        fields = ["id", "organization_id", "name", "slug", "description", "gateway_id", "board_group_id", "objective",
                  "board_type", "success_metrics", "target_date", "goal_confirmed",
                  *BOARD_RULE_FLAGS, "max_agents", "created_at", "updated_at"]
        read_only_fields = fields


class BoardUpdateSerializer(StrictSerializer):
    """Types only: ``agents.rules.boards`` checks the values, for the API and the console alike.
    A board never moves between organizations."""

    name = serializers.CharField(required=False, allow_blank=True)
    slug = serializers.CharField(required=False, allow_blank=True, help_text="Made from the name when left out.")
    description = serializers.CharField(required=False, allow_blank=True)
    objective = serializers.CharField(required=False, allow_blank=True)
    board_type = serializers.ChoiceField(choices=Board.BoardType.choices, required=False, help_text=BOARD_TYPE_HELP)
    success_metrics = SuccessMetricsField(required=False, allow_null=True)
    target_date = serializers.DateTimeField(required=False, allow_null=True, help_text=TARGET_DATE_HELP)
    goal_confirmed = serializers.BooleanField(required=False, help_text=GOAL_CONFIRMED_HELP)
    gateway_id = serializers.UUIDField(required=False, allow_null=True)
    board_group_id = serializers.UUIDField(required=False, allow_null=True,
                                           help_text="Put the board in this group of its organization; null: no group.")
    require_approval_for_done = serializers.BooleanField(required=False)
    require_review_before_done = serializers.BooleanField(required=False)
    comment_required_for_review = serializers.BooleanField(required=False)
    block_status_changes_with_pending_approval = serializers.BooleanField(required=False)
    only_lead_can_change_status = serializers.BooleanField(required=False)
    max_agents = serializers.IntegerField(required=False, help_text="From 1 to 1000.")


class BoardWriteSerializer(BoardUpdateSerializer):
    name = serializers.CharField(allow_blank=True)
    organization_id = serializers.UUIDField(required=False, help_text=ORGANIZATION_HELP)


# --- board groups ---------------------------------------------------------------------------

HEARTBEAT_EVERY_HELP = "A duration: a number and ms, s, m, h or d, like 10m."


class BoardGroupSerializer(serializers.ModelSerializer):
    organization_id = serializers.UUIDField(read_only=True)

    class Meta:
        model = BoardGroup
        fields = ["id", "organization_id", "name", "slug", "description", "heartbeat_every",
                  "heartbeat_include_leads", "created_at", "updated_at"]
        read_only_fields = fields


class BoardGroupUpdateSerializer(StrictSerializer):
    """Types only: ``agents.rules.groups`` checks the values."""

    name = serializers.CharField(required=False, allow_blank=True)
    slug = serializers.CharField(required=False, allow_blank=True, help_text="Made from the name when left out.")
    description = serializers.CharField(required=False, allow_blank=True)
    heartbeat_every = serializers.CharField(required=False, allow_blank=True, max_length=20, help_text=(
        f"The heartbeat interval of the agents of the group's boards; empty: none. {HEARTBEAT_EVERY_HELP}"))
    heartbeat_include_leads = serializers.BooleanField(required=False,
                                                       help_text="Whether the heartbeat interval reaches leads too.")


class BoardGroupWriteSerializer(BoardGroupUpdateSerializer):
    name = serializers.CharField(allow_blank=True)
    organization_id = serializers.UUIDField(required=False, help_text=ORGANIZATION_HELP)


class BoardGroupHeartbeatSerializer(StrictSerializer):
    every = serializers.CharField(max_length=20, help_text=HEARTBEAT_EVERY_HELP)
    include_board_leads = serializers.BooleanField(required=False, default=False)


class BoardGroupHeartbeatResultSerializer(serializers.Serializer):
    board_group_id = serializers.UUIDField()
    requested = BoardGroupHeartbeatSerializer()
    updated_agent_ids = serializers.ListField(child=serializers.UUIDField(), help_text=(
        "Agents whose heartbeat setting was written; those on a gateway are provisioned with it by the worker."))
    failed_agent_ids = serializers.ListField(child=serializers.UUIDField(), help_text=(
        "Always empty: gateways are written by the worker, whose progress each agent's status shows."))


class BoardGroupMemorySerializer(serializers.ModelSerializer):
    board_group_id = serializers.UUIDField(source="group_id", read_only=True)
    board_id = serializers.UUIDField(read_only=True, allow_null=True,
                                     help_text="The board it was written from; null: from the group itself.")
    tags = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = BoardGroupMemory
        fields = ["id", "board_group_id", "board_id", "content", "tags", "is_chat", "source", "created_at"]
        read_only_fields = fields


class GroupTaskSummarySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    board_id = serializers.UUIDField()
    board_name = serializers.CharField()
    title = serializers.CharField()
    status = serializers.ChoiceField(choices=Task.Status.choices)
    priority = serializers.ChoiceField(choices=Task.Priority.choices)
    assigned_agent_id = serializers.UUIDField(allow_null=True)
    assignee = serializers.CharField(source="assignee_name", allow_null=True)
    due_at = serializers.DateTimeField(allow_null=True)
    in_progress_at = serializers.DateTimeField(allow_null=True)
    tags = TagSerializer(source="loaded_tags", many=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class GroupBoardSnapshotSerializer(serializers.Serializer):
    board = BoardSerializer()
    task_counts = serializers.DictField(child=serializers.IntegerField(),
                                        help_text="Tasks of the board by status (inbox, in_progress, review, done).")
    tasks = GroupTaskSummarySerializer(many=True)


class BoardGroupSnapshotSerializer(serializers.Serializer):
    group = BoardGroupSerializer(allow_null=True, help_text="null: the board is in no group.")
    boards = GroupBoardSnapshotSerializer(many=True)


class CheckStageSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="resolve, tcp, tls, upgrade, challenge, connect, read, features, version")
    ok = serializers.BooleanField()
    duration_ms = serializers.FloatField()
    detail = serializers.CharField(required=False)
    error = serializers.CharField(required=False, help_text="What went wrong, in words.")
    hint = serializers.CharField(required=False, help_text="The likely fix.")


class GatewayCheckSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Gateway.CheckStatus.choices, source="check_status")
    requested_at = serializers.DateTimeField(source="check_requested_at", allow_null=True)
    checked_at = serializers.DateTimeField(allow_null=True)
    failed_stage = serializers.SerializerMethodField()
    stages = serializers.SerializerMethodField()

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_failed_stage(self, gateway: Gateway) -> str | None:
        return (gateway.check_report or {}).get("failed_stage")

    @extend_schema_field(CheckStageSerializer(many=True))
    def get_stages(self, gateway: Gateway) -> list[dict[str, Any]]:
        return list((gateway.check_report or {}).get("stages", []))


class GatewaySerializer(serializers.ModelSerializer):
    """The gateway as shown to people: its token is write-only and never leaves the server."""

    organization_id = serializers.UUIDField(read_only=True)
    has_token = serializers.SerializerMethodField()
    check = GatewayCheckSerializer(source="*", read_only=True)

    class Meta:
        model = Gateway
        fields = ["id", "organization_id", "name", "url", "workspace_root", "allow_insecure_tls", "has_token",
                  "server_version", "protocol", "check", "synced_at", "created_at", "updated_at"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_has_token(self, gateway: Gateway) -> bool:
        return bool(gateway.token)


class GatewayUpdateSerializer(StrictSerializer):
    """Types only: ``agents.rules.gateways`` checks the values, for the API and the console alike."""

    name = serializers.CharField(required=False, allow_blank=True)
    url = serializers.CharField(required=False, allow_blank=True, help_text="ws:// or wss:// address of the gateway.")
    token = serializers.CharField(required=False, allow_blank=True, write_only=True)
    workspace_root = serializers.CharField(required=False, allow_blank=True)
    allow_insecure_tls = serializers.BooleanField(required=False)


class GatewayWriteSerializer(GatewayUpdateSerializer):
    name = serializers.CharField(allow_blank=True)
    url = serializers.CharField(allow_blank=True, help_text="ws:// or wss:// address of the gateway.")
    organization_id = serializers.UUIDField(required=False, help_text=ORGANIZATION_HELP)


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
    # Django keeps "no address" as ""; clients read null, so ``format: email`` always holds.
    email = serializers.SerializerMethodField()
    organizations = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "email", "first_name", "last_name", "organizations"]
        read_only_fields = fields

    @extend_schema_field(serializers.EmailField(allow_null=True))
    def get_email(self, user: User) -> str | None:
        return user.email or None

    @extend_schema_field(MembershipSummarySerializer(many=True))
    def get_organizations(self, user: User) -> list[dict[str, Any]]:
        memberships = user.memberships.select_related("organization").order_by("organization__name")
        return list(MembershipSummarySerializer(memberships, many=True).data)


# --- organizations and people ---------------------------------------------------------------

ROLES = Membership.Role.choices


class OrganizationSerializer(serializers.ModelSerializer):
    role = serializers.ChoiceField(choices=ROLES, source="caller_role", read_only=True,
                                   help_text="Your role in the organization.")

    class Meta:
        model = Organization
        fields = ["id", "name", "slug", "role", "created_at"]
        read_only_fields = fields


class OrganizationWriteSerializer(StrictSerializer):
    name = serializers.CharField(allow_blank=True)
    slug = serializers.CharField(required=False, allow_blank=True, help_text="Made from the name when left out.")


class OrganizationUpdateSerializer(StrictSerializer):
    name = serializers.CharField(required=False, allow_blank=True)


class BoardGrantSerializer(StrictSerializer):
    board_id = serializers.UUIDField()
    can_write = serializers.BooleanField(required=False, default=False,
                                         help_text="Work on the board too, not only read it.")


BOARD_REACH_HELP = ("A member's reach: every board (all_boards_write, the default), every board to read and those in "
                    "boards to work on (all_boards_read), or only the boards listed. Owners and admins reach every "
                    "board whatever these say.")


class MemberSerializer(serializers.ModelSerializer):
    user_id = serializers.UUIDField(read_only=True)
    organization_id = serializers.UUIDField(read_only=True)
    username = serializers.CharField(source="user.username", read_only=True)
    first_name = serializers.CharField(source="user.first_name", read_only=True)
    last_name = serializers.CharField(source="user.last_name", read_only=True)
    email = serializers.SerializerMethodField()
    boards = serializers.SerializerMethodField(help_text="Boards granted one by one.")

    class Meta:
        model = Membership
        fields = ["id", "organization_id", "user_id", "username", "first_name", "last_name", "email", "role",
                  "all_boards_read", "all_boards_write", "boards", "created_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.EmailField(allow_null=True))
    def get_email(self, membership: Membership) -> str | None:
        return membership.user.email or None

    @extend_schema_field(BoardGrantSerializer(many=True))
    def get_boards(self, membership: Membership) -> list[dict[str, Any]]:
        # Reads the prefetched rows when the list prepared them (``agents.queries.member_queryset``).
        return [{"board_id": str(grant.board_id), "can_write": grant.can_write}
                for grant in sorted(membership.board_access.all(), key=lambda grant: str(grant.board_id))]


class MemberUpdateSerializer(StrictSerializer):
    role = serializers.ChoiceField(choices=ROLES, help_text="Only an owner makes or changes an owner.")


class BoardReachWriteSerializer(StrictSerializer):
    __doc__ = BOARD_REACH_HELP

    all_boards_read = serializers.BooleanField(required=False, default=True)
    all_boards_write = serializers.BooleanField(required=False, default=True)
    boards = BoardGrantSerializer(many=True, required=False)


class TransferOwnershipSerializer(StrictSerializer):
    membership_id = serializers.UUIDField(help_text="The member who becomes an owner; you stay on as an admin.")


class InvitationSerializer(serializers.ModelSerializer):
    organization_id = serializers.UUIDField(read_only=True)
    status = serializers.ChoiceField(choices=Invitation.Status.choices, read_only=True)
    created_by_user_id = serializers.UUIDField(source="created_by_id", read_only=True, allow_null=True)
    accepted_by_user_id = serializers.UUIDField(source="accepted_by_id", read_only=True, allow_null=True)
    email = serializers.SerializerMethodField()
    boards = serializers.SerializerMethodField()

    class Meta:
        model = Invitation
        fields = ["id", "organization_id", "role", "email", "status", "all_boards_read", "all_boards_write",
                  "boards", "created_by_user_id", "created_at", "expires_at", "accepted_at", "accepted_by_user_id",
                  "revoked_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.EmailField(allow_null=True))
    def get_email(self, invitation: Invitation) -> str | None:
        return invitation.email or None

    @extend_schema_field(BoardGrantSerializer(many=True))
    def get_boards(self, invitation: Invitation) -> list[dict[str, Any]]:
        return [{"board_id": pk, "can_write": bool(can_write)}
                for pk, can_write in sorted(invitation.board_access.items())]


class InvitationCreatedSerializer(InvitationSerializer):
    token = serializers.CharField(read_only=True, help_text="Shown this once; only a digest is stored.")
    url = serializers.CharField(read_only=True, help_text="The link to send: opening it accepts the invitation.")

    class Meta(InvitationSerializer.Meta):
        fields = [*InvitationSerializer.Meta.fields, "token", "url"]
        read_only_fields = fields


class InvitationWriteSerializer(StrictSerializer):
    role = serializers.ChoiceField(choices=ROLES, required=False, default="member",
                                   help_text="Only an owner invites an owner.")
    email = serializers.CharField(required=False, allow_blank=True,
                                  help_text="Whom it is for, as a reminder; the link works for whoever holds it.")
    expires_in_days = serializers.IntegerField(required=False, default=7, min_value=1, max_value=30)
    all_boards_read = serializers.BooleanField(required=False, default=True, help_text=BOARD_REACH_HELP)
    all_boards_write = serializers.BooleanField(required=False, default=True)
    boards = BoardGrantSerializer(many=True, required=False)


class InvitationAcceptSerializer(StrictSerializer):
    token = serializers.CharField(help_text="The token of the invitation link.")


class ProfileSerializer(serializers.ModelSerializer):
    email = serializers.SerializerMethodField()
    active_organization_id = serializers.UUIDField(read_only=True, allow_null=True)

    class Meta:
        model = User
        fields = ["id", "username", "email", "first_name", "last_name", "timezone", "active_organization_id"]
        read_only_fields = fields

    @extend_schema_field(serializers.EmailField(allow_null=True))
    def get_email(self, user: User) -> str | None:
        return user.email or None


class ProfileUpdateSerializer(StrictSerializer):
    first_name = serializers.CharField(required=False, allow_blank=True, max_length=150)
    last_name = serializers.CharField(required=False, allow_blank=True, max_length=150)
    timezone = serializers.CharField(required=False, allow_blank=True, max_length=64,
                                     help_text="An IANA time zone name such as Europe/Paris; empty is UTC.")
    active_organization_id = serializers.UUIDField(required=False, allow_null=True,
                                                   help_text="The organization the console starts in.")


# --- agents coordinating (agent API) --------------------------------------------------------

REPLY_TAGS_HELP = "Tags your answer should carry when written to board memory."


class NudgeSerializer(StrictSerializer):
    message = serializers.CharField(help_text="What the agent should look at now.")


class SoulWriteSerializer(StrictSerializer):
    content = serializers.CharField(trim_whitespace=False, help_text="The whole new SOUL.md (Markdown).")
    reason = serializers.CharField(required=False, allow_blank=True, help_text="Why, for the activity log.")
    source_url = serializers.CharField(required=False, allow_blank=True,
                                       help_text="Where the text came from, for the activity log.")


class _AnsweredInMemorySerializer(StrictSerializer):
    """A message whose answer comes back as a board memory note."""

    correlation_id = serializers.CharField(required=False, allow_blank=True,
                                           help_text="Your id for the message; the answer should name it.")
    reply_tags = serializers.ListField(child=serializers.CharField(), required=False, help_text=REPLY_TAGS_HELP)
    reply_source = serializers.CharField(required=False, allow_blank=True,
                                         help_text="The source the answer's memory note should carry.")


class AskUserSerializer(_AnsweredInMemorySerializer):
    content = serializers.CharField(help_text="The question for the people, in full.")
    preferred_channel = serializers.CharField(required=False, allow_blank=True,
                                              help_text="Where to reach them, e.g. chat, email.")


class LeadMessageSerializer(_AnsweredInMemorySerializer):
    kind = serializers.ChoiceField(choices=["question", "handoff"], required=False, default="question")
    content = serializers.CharField(help_text="The question, or the work handed over, in full.")


class LeadBroadcastSerializer(LeadMessageSerializer):
    board_ids = serializers.ListField(child=serializers.UUIDField(), required=False,
                                      help_text="Only these boards of your organization; all of them when left out.")


class QueuedMessageSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    message_id = serializers.IntegerField(help_text="The queued message; the console shows when it was delivered.")


class AskUserResultSerializer(QueuedMessageSerializer):
    board_id = serializers.UUIDField()
    main_agent_id = serializers.UUIDField()
    main_agent_name = serializers.CharField()


class LeadMessageResultSerializer(QueuedMessageSerializer):
    board_id = serializers.UUIDField()
    lead_agent_id = serializers.UUIDField()
    lead_agent_name = serializers.CharField()
    lead_created = serializers.BooleanField(help_text="True when the board had no lead and one was created.")


class BroadcastResultItemSerializer(serializers.Serializer):
    board_id = serializers.UUIDField()
    lead_agent_id = serializers.UUIDField(allow_null=True)
    lead_agent_name = serializers.CharField(allow_null=True)
    lead_created = serializers.BooleanField()
    ok = serializers.BooleanField()
    error = serializers.CharField(allow_null=True)


class BroadcastResultSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    sent = serializers.IntegerField(help_text="Leads the message was queued for.")
    failed = serializers.IntegerField()
    results = BroadcastResultItemSerializer(many=True)
