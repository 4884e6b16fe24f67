"""The work domain: organizations, gateways, boards, agents, tasks, approvals, memory, activity.

Workflow rules do not live here: see ``agents.rules``. Models hold data, constraints the
database can enforce, and small derived properties.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils import timezone

PRESENCE_ONLINE_WINDOW = timedelta(minutes=10)
# The workflow switches of a board (``agents.rules.gates`` reads them).
BOARD_RULE_FLAGS = ("require_approval_for_done", "require_review_before_done", "comment_required_for_review",
                    "block_status_changes_with_pending_approval", "only_lead_can_change_status")


class User(AbstractUser):
    """A person (or REST client acting for one). UUID ids like every object in the API."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The Clerk user id (JWT ``sub``) in clerk mode; empty for local and password users.
    clerk_user_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    # An IANA zone name (``Europe/Paris``) the console shows times in; empty is UTC.
    timezone = models.CharField(max_length=64, blank=True, default="")
    # The organization the console's switcher last chose; its pages and forms start there.
    active_organization = models.ForeignKey("agents.Organization", on_delete=models.SET_NULL, null=True,
                                            blank=True, related_name="+")


class Organization(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True),
                                    name="one_default_organization"),
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        ADMIN = "admin", "Admin"
        MEMBER = "member", "Member"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    # What a plain member reaches of the organization's boards: all of them (read, or read
    # and write), or only those granted one by one (``BoardAccess``). Owners and admins
    # always reach every board.
    all_boards_read = models.BooleanField(default=True)
    all_boards_write = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="one_membership_per_user_and_org"),
        ]
        indexes = [models.Index(fields=["organization", "role"])]

    @property
    def is_admin(self) -> bool:
        return self.role in (self.Role.OWNER, self.Role.ADMIN)

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} ({self.role})"


class Gateway(models.Model):
    """An OpenClaw runtime that hosts agents. Its token is write-only in the API.

    The last staged check (``agents.gateway.check``) is kept with what it learnt: the
    server's version, the protocol spoken, the methods offered."""

    class CheckStatus(models.TextChoices):
        UNCHECKED = "unchecked", "Not checked yet"
        CHECKING = "checking", "Checking"
        OK = "ok", "Reachable"
        FAILED = "failed", "Check failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="gateways")
    name = models.CharField(max_length=200)
    url = models.CharField(max_length=500)
    token = models.TextField(blank=True, default="")
    workspace_root = models.CharField(max_length=500, blank=True, default="")
    allow_insecure_tls = models.BooleanField(default=False)
    check_status = models.CharField(max_length=16, choices=CheckStatus.choices, default=CheckStatus.UNCHECKED)
    check_requested_at = models.DateTimeField(null=True, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    check_report = models.JSONField(default=dict, blank=True)
    server_version = models.CharField(max_length=100, blank=True, default="")
    protocol = models.PositiveSmallIntegerField(null=True, blank=True)
    methods = models.JSONField(default=list, blank=True)
    # The last "sync templates" of all its agents: when, and what it did.
    synced_at = models.DateTimeField(null=True, blank=True)
    sync_report = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["organization", "name"])]

    def __str__(self) -> str:
        return self.name


class BoardGroup(models.Model):
    """Boards of one organization that work together: their agents share the group's memory
    and chat, and read a snapshot of the other boards of the group.

    ``heartbeat_every`` (blank: none) is the heartbeat interval the group gives the agents of
    its boards, leads included only with ``heartbeat_include_leads``; ``agents.rules.groups``
    writes it into those agents' heartbeat settings when it changes and when a board joins."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="board_groups")
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200)
    description = models.TextField(blank=True, default="")
    heartbeat_every = models.CharField(max_length=20, blank=True, default="")
    heartbeat_include_leads = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "slug"], name="board_group_slug_unique_in_org"),
        ]
        indexes = [models.Index(fields=["organization", "name"])]

    def __str__(self) -> str:
        return self.name


class Board(models.Model):
    """A board of work. A *goal* board works towards an objective measured by its success
    metrics, by a target date; a person confirming the goal says the agents may rely on it.
    A *general* board is ongoing work without one."""

    class BoardType(models.TextChoices):
        GOAL = "goal", "Goal"
        GENERAL = "general", "General"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="boards")
    gateway = models.ForeignKey(Gateway, on_delete=models.SET_NULL, null=True, blank=True, related_name="boards")
    # Deleting a group leaves its boards ungrouped.
    group = models.ForeignKey(BoardGroup, on_delete=models.SET_NULL, null=True, blank=True, related_name="boards")
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200)
    description = models.TextField(blank=True, default="")
    objective = models.TextField(blank=True, default="")
    board_type = models.CharField(max_length=16, choices=BoardType.choices, default=BoardType.GOAL)
    # How the objective is measured: names to targets, as the people or the lead wrote them.
    success_metrics = models.JSONField(default=dict, blank=True)
    target_date = models.DateTimeField(null=True, blank=True)
    goal_confirmed = models.BooleanField(default=False)
    require_approval_for_done = models.BooleanField(default=True)
    require_review_before_done = models.BooleanField(default=False)
    comment_required_for_review = models.BooleanField(default=False)
    block_status_changes_with_pending_approval = models.BooleanField(default=False)
    only_lead_can_change_status = models.BooleanField(default=False)
    max_agents = models.PositiveIntegerField(default=10)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "slug"], name="board_slug_unique_in_org"),
        ]
        indexes = [models.Index(fields=["organization", "name"])]

    def __str__(self) -> str:
        return self.name


class BoardAccess(models.Model):
    """One board a member with limited access may see (and, with ``can_write``, work on)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="board_access")
    board = models.ForeignKey(Board, on_delete=models.CASCADE, related_name="member_access")
    can_write = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["membership", "board"], name="one_board_access_per_member_and_board"),
        ]


class Invitation(models.Model):
    """A link that makes whoever opens it a member of ``organization`` once, before it expires.

    The link's token reads ``inv_<key>_<secret>``; only the key (unique, indexed) and a
    keyed digest of the whole token are stored, as for agent tokens."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        REVOKED = "revoked", "Revoked"
        EXPIRED = "expired", "Expired"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invitations")
    role = models.CharField(max_length=16, choices=Membership.Role.choices, default=Membership.Role.MEMBER)
    # Whom the inviter meant it for, as a reminder; the link works for whoever holds it.
    email = models.EmailField(blank=True, default="")
    all_boards_read = models.BooleanField(default=True)
    all_boards_write = models.BooleanField(default=True)
    # Boards granted one by one when not all: ``{board_id: true}`` for read and write, ``false`` for read.
    board_access = models.JSONField(default=dict, blank=True)
    token_key = models.CharField(max_length=32, unique=True, editable=False)
    token_digest = models.CharField(max_length=128, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "created_at"])]

    def status_at(self, now: datetime) -> str:
        if self.accepted_at is not None:
            return self.Status.ACCEPTED
        if self.revoked_at is not None:
            return self.Status.REVOKED
        if self.expires_at <= now:
            return self.Status.EXPIRED
        return self.Status.PENDING

    @property
    def status(self) -> str:
        return self.status_at(timezone.now())

    def __str__(self) -> str:
        return f"Invitation to {self.organization} as {self.role}"


class Agent(models.Model):
    """An AI agent. No board: the gateway's main agent. ``is_board_lead``: the board's lead.

    An agent on a gateway is provisioned there by the worker (``agents.gateway``); its
    lifecycle state says where that stands. Every transient state has a deadline
    (``lifecycle_deadline``) after which the reconcile job moves it on, so nothing stays
    "provisioning" forever."""

    class Lifecycle(models.TextChoices):
        ACTIVE = "active", "Active"
        PROVISIONING = "provisioning", "Provisioning"
        UPDATING = "updating", "Updating"
        WAITING = "waiting", "Waiting for check-in"
        OFFLINE = "offline", "Offline"
        ERROR = "error", "Error"

    # States a heartbeat ends: the agent's call proves it runs.
    TRANSIENT = (Lifecycle.PROVISIONING, Lifecycle.UPDATING, Lifecycle.WAITING, Lifecycle.OFFLINE)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="agents")
    board = models.ForeignKey(Board, on_delete=models.CASCADE, null=True, blank=True, related_name="agents")
    gateway = models.ForeignKey(Gateway, on_delete=models.SET_NULL, null=True, blank=True, related_name="agents")
    name = models.CharField(max_length=200)
    is_board_lead = models.BooleanField(default=False)
    # Token = "mc_<token_key>_<secret>"; only the key and a keyed digest of the whole token are stored.
    token_key = models.CharField(max_length=32, unique=True, null=True, blank=True, editable=False)
    token_digest = models.CharField(max_length=128, blank=True, default="", editable=False)
    token_rotated_at = models.DateTimeField(null=True, blank=True)
    # After a rotation the previous token keeps working until the agent first uses the new
    # one or the grace ends, so an agent never loses access while its files are rewritten.
    previous_token_key = models.CharField(max_length=32, unique=True, null=True, blank=True, editable=False)
    previous_token_digest = models.CharField(max_length=128, blank=True, default="", editable=False)
    previous_token_expires_at = models.DateTimeField(null=True, blank=True)
    # A token minted for the workspace, sealed until the provisioning job has written it there.
    pending_token = models.TextField(blank=True, default="", editable=False)
    token_confirmed_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    lifecycle_status = models.CharField(max_length=16, choices=Lifecycle.choices, default=Lifecycle.ACTIVE)
    lifecycle_changed_at = models.DateTimeField(null=True, blank=True)
    lifecycle_deadline = models.DateTimeField(null=True, blank=True)
    # Each provisioning run or wake bumps it; a job for an older generation stands down.
    lifecycle_generation = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    last_error_at = models.DateTimeField(null=True, blank=True)
    next_retry_at = models.DateTimeField(null=True, blank=True)
    provision_attempts = models.PositiveSmallIntegerField(default=0)
    wake_attempts = models.PositiveSmallIntegerField(default=0)
    last_wake_at = models.DateTimeField(null=True, blank=True)
    provisioned_at = models.DateTimeField(null=True, blank=True)
    # What the last provisioning did: files written and skipped (and why), config patched or not.
    provision_report = models.JSONField(default=dict, blank=True)
    # The agent's id on its gateway (``mc-<id>``, ``lead-<board>``, ``mc-gateway-<gateway>``),
    # fixed at the first provisioning so a later change of role does not re-key it.
    gateway_agent_id = models.CharField(max_length=100, blank=True, default="")
    # Sessions and recent chat read from the gateway by the worker, for the console.
    gateway_snapshot = models.JSONField(default=dict, blank=True)
    gateway_snapshot_at = models.DateTimeField(null=True, blank=True)
    # Who the agent is, as the lead or a person described it; the workspace files use it.
    identity_profile = models.JSONField(default=dict, blank=True)
    identity_template = models.TextField(blank=True, default="")
    soul_template = models.TextField(blank=True, default="")
    heartbeat_config = models.JSONField(default=dict, blank=True)
    last_heartbeat_logged_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["board"], condition=Q(is_board_lead=True), name="one_lead_per_board"),
            models.UniqueConstraint(fields=["board", "name"], name="agent_name_unique_on_board"),
            models.UniqueConstraint(fields=["gateway"], condition=Q(board__isnull=True),
                                    name="one_main_agent_per_gateway"),
        ]
        indexes = [
            models.Index(fields=["organization", "name"]),
            models.Index(fields=["board", "name"]),
            models.Index(fields=["last_seen_at"]),
            models.Index(fields=["gateway", "name"]),
            models.Index(fields=["lifecycle_deadline"]),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_gateway_main(self) -> bool:
        return self.board_id is None

    @property
    def role(self) -> str:
        if self.board_id is None:
            return "main"
        return "lead" if self.is_board_lead else "worker"

    def presence(self, now: datetime | None = None) -> str:
        """``provisioning`` before the first call, ``online`` within 10 minutes, else ``offline``."""
        if self.last_seen_at is None:
            return "provisioning"
        now = now or timezone.now()
        return "online" if now - self.last_seen_at <= PRESENCE_ONLINE_WINDOW else "offline"

    @property
    def status(self) -> str:
        """What the API shows: an operation in progress or an error wins over presence."""
        if self.lifecycle_status != self.Lifecycle.ACTIVE:
            return self.lifecycle_status
        return self.presence()

    @property
    def is_provisioned_by_us(self) -> bool:
        """Whether Mission Control provisions this agent on a gateway (else it is run by hand)."""
        return self.gateway_id is not None


class Tag(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100)
    color = models.CharField(max_length=6, default="9ca3af")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organization", "slug"], name="tag_slug_unique_in_org")]

    def __str__(self) -> str:
        return self.name


class CustomFieldDefinition(models.Model):
    """A typed field an organization adds to the tasks of the boards it is attached to.

    Tasks keep their values in ``Task.custom_field_values`` under ``field_key``; what a
    value may be is checked by ``agents.rules.fields``. The key and the type are fixed once
    the field exists, so stored values never change meaning."""

    class FieldType(models.TextChoices):
        TEXT = "text", "Text"
        NUMBER = "number", "Number"
        DATE = "date", "Date"
        SELECT = "select", "Choice from a list"
        BOOLEAN = "boolean", "Yes or no"
        URL = "url", "Link (URL)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="custom_fields")
    field_key = models.CharField(max_length=64)
    label = models.CharField(max_length=200)
    field_type = models.CharField(max_length=16, choices=FieldType.choices, default=FieldType.TEXT)
    required = models.BooleanField(default=False)
    # The choices of a select field, in the order people see them; empty for other types.
    options = models.JSONField(default=list, blank=True)
    description = models.TextField(blank=True, default="")
    boards = models.ManyToManyField(Board, related_name="custom_fields", blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["label"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "field_key"], name="custom_field_key_unique_in_org"),
        ]
        indexes = [models.Index(fields=["organization", "label"])]

    def __str__(self) -> str:
        return self.label


class Task(models.Model):
    class Status(models.TextChoices):
        INBOX = "inbox", "Inbox"
        IN_PROGRESS = "in_progress", "In progress"
        REVIEW = "review", "Review"
        DONE = "done", "Done"

    class Priority(models.TextChoices):
        LOW = "low", "Low"
        MEDIUM = "medium", "Medium"
        HIGH = "high", "High"
        URGENT = "urgent", "Urgent"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    board = models.ForeignKey(Board, on_delete=models.CASCADE, related_name="tasks")
    title = models.CharField(max_length=500)
    description = models.TextField(blank=True, default="")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.INBOX)
    priority = models.CharField(max_length=16, choices=Priority.choices, default=Priority.MEDIUM)
    due_at = models.DateTimeField(null=True, blank=True)
    in_progress_at = models.DateTimeField(null=True, blank=True)
    # When the task last left done or review for more work (any move out of either, except
    # review to done): an approval to finish it counts only when asked for after this.
    reopened_at = models.DateTimeField(null=True, blank=True)
    assigned_agent = models.ForeignKey(Agent, on_delete=models.SET_NULL, null=True, blank=True,
                                       related_name="assigned_tasks")
    # The worker who sent the task to review; the lead sending it back returns it to them.
    review_requested_by = models.ForeignKey(Agent, on_delete=models.SET_NULL, null=True, blank=True,
                                            related_name="+")
    created_by_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                        blank=True, related_name="created_tasks")
    created_by_agent = models.ForeignKey(Agent, on_delete=models.SET_NULL, null=True, blank=True,
                                         related_name="created_tasks")
    depends_on = models.ManyToManyField("self", symmetrical=False, through="TaskDependency",
                                        related_name="dependents", blank=True)
    tags = models.ManyToManyField(Tag, related_name="tasks", blank=True)
    # Values of the board's custom fields by field key (``agents.rules.fields`` checks them).
    custom_field_values = models.JSONField(default=dict, blank=True)
    # Place in its column once a person or the lead has ordered it (``move_task_within_column``);
    # none until then, and again whenever the task changes column: such tasks come first, the
    # latest change on top (``agents.queries.COLUMN_ORDER``).
    position = models.IntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    # Attached by the read helpers of ``agents.queries`` and ``agents.api.snapshot`` (not columns).
    loaded_dependencies: list[tuple[uuid.UUID, str]]
    loaded_tags: list[Tag]
    board_name: str
    approvals_count: int
    pending_approvals_count: int

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["board", "status", "-created_at"]),
            models.Index(fields=["board", "assigned_agent", "-created_at"]),
            models.Index(fields=["board", "-created_at"]),
            models.Index(fields=["board", "-updated_at"]),
            models.Index(fields=["board", "due_at"]),
            models.Index(fields=["board", "status", "position"]),
        ]

    def __str__(self) -> str:
        return self.title

    def is_overdue(self, now: datetime | None = None) -> bool:
        """Past its due time and not done (a done task is never overdue)."""
        return is_overdue(self.due_at, self.status, now)


def is_overdue(due_at: datetime | None, status: str, now: datetime | None = None) -> bool:
    """Whether a task with this due time and status is overdue: due in the past, not done."""
    return due_at is not None and status != Task.Status.DONE and due_at < (now or timezone.now())


class TaskDependency(models.Model):
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="dependency_links")
    depends_on = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="dependent_links")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["task", "depends_on"], name="task_dependency_unique"),
            models.CheckConstraint(condition=~Q(task=models.F("depends_on")), name="task_no_self_dependency"),
        ]


class TaskComment(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="comments")
    message = models.TextField()
    author_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="task_comments")
    author_agent = models.ForeignKey(Agent, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="task_comments")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["task", "created_at"])]


class Approval(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    # The action type of an approval to finish a task: what opens a board's done gate.
    FINISH_ACTION = "mark_done"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    board = models.ForeignKey(Board, on_delete=models.CASCADE, related_name="approvals")
    tasks = models.ManyToManyField(Task, through="ApprovalTask", related_name="approvals", blank=True)
    agent = models.ForeignKey(Agent, on_delete=models.SET_NULL, null=True, blank=True, related_name="approvals")
    requested_by_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                          blank=True, related_name="requested_approvals")
    action_type = models.CharField(max_length=100)
    payload = models.JSONField(default=dict, blank=True)
    confidence = models.PositiveSmallIntegerField(default=0)
    rubric_scores = models.JSONField(default=dict, blank=True)
    lead_reasoning = models.TextField(blank=True, default="")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="resolved_approvals")
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["board", "status", "-created_at"])]


class ApprovalTask(models.Model):
    """Links an approval to a task. ``is_pending`` mirrors the approval's status so the
    database itself refuses a second pending approval for one task."""

    approval = models.ForeignKey(Approval, on_delete=models.CASCADE, related_name="task_links")
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="approval_links")
    is_pending = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["approval", "task"], name="approval_task_unique"),
            models.UniqueConstraint(fields=["task"], condition=Q(is_pending=True), name="one_pending_approval_per_task"),
        ]


class BoardMemory(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    board = models.ForeignKey(Board, on_delete=models.CASCADE, related_name="memory")
    content = models.TextField()
    tags = models.JSONField(default=list, blank=True)
    is_chat = models.BooleanField(default=False)
    source = models.CharField(max_length=200, blank=True, default="")
    author_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")
    author_agent = models.ForeignKey(Agent, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "board memory"
        indexes = [
            models.Index(fields=["board", "-created_at"]),
            models.Index(fields=["board", "is_chat", "-created_at"]),
        ]


class BoardGroupMemory(models.Model):
    """A note or chat message of a board group, read by the agents of all its boards.
    ``board`` is the board it was written from, when it came through one."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    group = models.ForeignKey(BoardGroup, on_delete=models.CASCADE, related_name="memory")
    board = models.ForeignKey(Board, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    content = models.TextField()
    tags = models.JSONField(default=list, blank=True)
    is_chat = models.BooleanField(default=False)
    source = models.CharField(max_length=200, blank=True, default="")
    author_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")
    author_agent = models.ForeignKey(Agent, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "board group memory"
        indexes = [
            models.Index(fields=["group", "-created_at"]),
            models.Index(fields=["group", "is_chat", "-created_at"]),
        ]


class ChangeStamp(models.Model):
    """How many times a board or an organization changed (``agents.live``): open console pages
    compare it with what they last saw instead of rebuilding what they show."""

    scope = models.CharField(max_length=40, primary_key=True)
    version = models.BigIntegerField(default=0)


class ActivityEvent(models.Model):
    """Append-only audit record. Ids are plain values, not foreign keys, so deleting a
    board, task or agent leaves its history in place."""

    class ActorType(models.TextChoices):
        USER = "user", "User"
        AGENT = "agent", "Agent"
        SYSTEM = "system", "System"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event_type = models.CharField(max_length=64)
    actor_type = models.CharField(max_length=8, choices=ActorType.choices)
    actor_user_id = models.UUIDField(null=True, blank=True)
    actor_agent_id = models.UUIDField(null=True, blank=True)
    actor_name = models.CharField(max_length=200, blank=True, default="")
    organization_id = models.UUIDField(null=True, blank=True)
    board_id = models.UUIDField(null=True, blank=True)
    task_id = models.UUIDField(null=True, blank=True)
    agent_id = models.UUIDField(null=True, blank=True)
    message = models.TextField(blank=True, default="")
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["organization_id", "-created_at"]),
            models.Index(fields=["board_id", "-created_at"]),
            models.Index(fields=["event_type", "-created_at"]),
            models.Index(fields=["task_id", "-created_at"]),
            models.Index(fields=["actor_agent_id", "-created_at"]),
            models.Index(fields=["-created_at"]),
        ]


class GatewayIdentity(models.Model):
    """The Ed25519 device identity Mission Control signs gateway connections with.

    One row for the whole installation, so every web and worker process on every host
    presents the same device (a gateway pairs it once), and it survives restarts and a
    backup/restore. The key never leaves the server: no API or admin page shows it."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    private_key_pem = models.TextField(editable=False)
    device_id = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(id=1), name="one_gateway_identity")]


class GatewayCleanup(models.Model):
    """An agent to remove from its gateway after it was deleted here.

    The delete in our database never waits for the gateway: this row records what is
    left to do there, and the worker retries it (with backoff) until the gateway confirms
    or says the agent is already gone."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"
        FAILED = "failed", "Failing, retrying"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    gateway = models.ForeignKey(Gateway, on_delete=models.CASCADE, related_name="cleanups")
    gateway_agent_id = models.CharField(max_length=100)
    session_key = models.CharField(max_length=200)
    agent_name = models.CharField(max_length=200, blank=True, default="")
    agent_id = models.UUIDField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["gateway", "status", "-created_at"])]


class AgentMessage(models.Model):
    """A message Mission Control owes an agent on a gateway: the outbox.

    Written in the transaction of the change it tells about, so it exists exactly when the
    change does. The worker sends an agent's pending messages in order, several at once
    when they came close together, each batch under one idempotency key kept across its
    retries (a retry never doubles a message); failures back off, and after the last
    attempt the batch is ``dead``, shown in the console with a way to send it again."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENT = "sent", "Sent"
        DEAD = "dead", "Gave up"

    # A sequence, not a UUID: an agent's messages go out in the order they were written.
    id = models.BigAutoField(primary_key=True)
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="messages")
    board_id = models.UUIDField(null=True, blank=True)
    kind = models.CharField(max_length=40)
    text = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # Set when the message first goes out with others; a retry resends that same batch.
    batch_key = models.CharField(max_length=80, blank=True, default="")
    # While a delivery job sends the batch, no other job takes it (a dead job's claim runs out).
    claimed_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["agent", "status", "id"]),
                   models.Index(fields=["agent", "-id"])]

    def __str__(self) -> str:
        return f"{self.kind} for {self.agent_id}"

    @property
    def label(self) -> str:
        """What the message is about, for people (the text itself is written for the agent)."""
        return MESSAGE_KIND_LABELS.get(self.kind, self.kind.replace("_", " ").capitalize())


MESSAGE_KIND_LABELS = {
    "task_created": "New task to plan", "task_assigned": "Task assigned", "review_requested": "Review asked",
    "changes_requested": "Changes requested", "back_in_inbox": "Task back in the inbox", "comment": "New comment",
    "mention": "Mentioned in a comment", "chat": "Board chat", "chat_mention": "Mentioned in board chat",
    "board_paused": "Board paused", "board_resumed": "Board resumed", "approval_resolved": "Approval decided",
    "board_changed": "Board rules changed", "nudge": "Nudge from the lead", "ask_user": "Question for the people",
    "main_question": "Question from the main agent", "group_chat": "Group chat",
    "group_chat_mention": "Mentioned in group chat", "group_broadcast": "Group broadcast",
    "group_changed": "Board group changed", "main_handoff": "Work handed over by the main agent",
}
