"""Console forms. They check shapes; the workflow rules are checked by ``agents.rules``."""

from __future__ import annotations

import json
import re
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.forms.utils import pretty_name
from django.utils import timezone

from agents.models import (
    Agent,
    Board,
    BoardGroup,
    CustomFieldDefinition,
    Gateway,
    Organization,
    Tag,
    Task,
)
from agents.refusals import RuleViolation

RULE_HELP = {
    "require_approval_for_done": "A task can only be marked done once a person has approved an approval "
                                 "request linked to it.",
    "require_review_before_done": "A task must pass through Review before it can be marked done.",
    "comment_required_for_review": "Moving a task to Review needs a comment explaining the work "
                                   "(in the same change, or by the assignee since the task started).",
    "block_status_changes_with_pending_approval": "While a task waits for an approval decision, "
                                                  "nobody can change its status.",
    "only_lead_can_change_status": "Only the board lead may change a task's status; workers can still "
                                   "comment.",
}


class TokenSignInForm(forms.Form):
    token = forms.CharField(
        label="Access token", strip=True, max_length=500,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
        help_text="The LOCAL_AUTH_TOKEN of this installation; the run command prints it when it starts.",
    )


class PasswordSignInForm(forms.Form):
    username = forms.CharField(label="Username", max_length=150,
                               widget=forms.TextInput(attrs={"autocomplete": "username"}))
    password = forms.CharField(label="Password", strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


RULE_LABELS = {
    "require_approval_for_done": "Require an approval before done",
    "require_review_before_done": "Require review before done",
    "comment_required_for_review": "Require a comment to send to review",
    "block_status_changes_with_pending_approval": "Freeze status while an approval is pending",
    "only_lead_can_change_status": "Only the lead changes status",
}
# Required in the domain, checked (with the API's sentence) by the rule; the browser asks too.
REQUIRED = {"required": True}


def set_choices(form: forms.Form, name: str, queryset: QuerySet[Any]) -> None:
    """The objects a model choice field of ``form`` offers (and accepts)."""
    field = form.fields[name]
    assert isinstance(field, forms.ModelChoiceField)
    field.queryset = queryset


def worded(message: str, api_name: str | None, label: str) -> str:
    """``message`` with the API's name of a field (``workspace_root must be text.``) said as
    the console labels it (``Workspace root must be text.``). Plain words that happen to be a
    field's name (``A task needs a title.``) are left as they are."""
    if not api_name:
        return message
    if message.startswith(api_name + " ") or message.startswith(api_name + "."):
        message = label + message[len(api_name):]
    if "_" in api_name:
        message = re.sub(rf"\b{re.escape(api_name)}\b", label.lower(), message)
    return message


class RuleForm(forms.Form):
    """A form whose values a rule checks: its refusal shows on the field it names (by API
    name), else above the form, in the words of the form's labels."""

    api_fields: dict[str, str] = {}

    def label_of(self, name: str) -> str:
        field = self.fields.get(name)
        return str(field.label) if field is not None and field.label else pretty_name(name)

    def add_refusal(self, exc: RuleViolation) -> None:
        name = self.api_fields.get(exc.field or "", exc.field)
        target = name if name in self.fields else None
        self.add_error(target, worded(exc.message, exc.field, self.label_of(name or "")))

    def add_api_errors(self, detail: Any) -> None:
        """A serializer's field errors on the fields they name (by API name); others above the
        form, led by the field's label rather than its API name."""
        if not isinstance(detail, dict):
            self.add_error(None, " ".join(str(item) for item in detail) if isinstance(detail, list) else str(detail))
            return
        for api_name, errors in detail.items():
            texts = [str(error) for error in errors] if isinstance(errors, list | tuple) else [str(errors)]
            name = self.api_fields.get(str(api_name), str(api_name))
            if name in self.fields:
                for text in texts:
                    self.add_error(name, worded(text, api_name, self.label_of(name)))
            elif api_name in ("non_field_errors", "detail"):
                self.add_error(None, " ".join(texts))
            else:
                self.add_error(None, f"{self.label_of(name)}: {' '.join(texts)}")


class BoardForm(RuleForm):
    """A board's fields, types only: ``agents.rules.boards`` checks the values."""

    api_fields = {"gateway_id": "gateway", "custom_field_ids": "custom_fields", "board_group_id": "group"}

    organization = forms.ModelChoiceField(queryset=Organization.objects.none(), empty_label=None,
                                          help_text="The organization that owns the board.")
    name = forms.CharField(required=False, widget=forms.TextInput(attrs=REQUIRED))
    slug = forms.CharField(required=False, label="Short name",
                           help_text="Used in links; letters, numbers and dashes. Left empty, it is made from the name.")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    objective = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}),
                                help_text="What the agents on this board are working towards; they read it every "
                                          "heartbeat.")
    board_type = forms.ChoiceField(choices=Board.BoardType.choices, initial=Board.BoardType.GOAL, label="Kind of board",
                                   required=False, widget=forms.Select(attrs=REQUIRED),
                                   help_text="A goal board works towards its objective by a date; a general board is "
                                             "ongoing work.")
    success_metrics = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}),
                                      help_text="How the objective is measured, one metric per line as name: target, "
                                                "like signups: 100.")
    target_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}),
                                  help_text="When the goal should be reached.")
    goal_confirmed = forms.BooleanField(required=False, label="Goal confirmed",
                                        help_text="The agents may rely on the objective and metrics. A confirmed goal "
                                                  "needs both.")
    gateway = forms.ModelChoiceField(queryset=Gateway.objects.none(), required=False, empty_label="No gateway",
                                     help_text="The OpenClaw runtime that hosts this board's agents (optional; register "
                                               "one on the Gateways page).")
    group = forms.ModelChoiceField(queryset=BoardGroup.objects.none(), required=False, empty_label="No group",
                                   label="Board group",
                                   help_text="Boards of a group share its memory and chat, and their agents see "
                                             "each other's work (optional; create one on the Groups page).")
    max_agents = forms.IntegerField(label="Maximum number of agents", initial=10,
                                    widget=forms.NumberInput(attrs={"min": 1, "max": 1000}),
                                    help_text="Leads cannot create more agents than this on the board.")
    require_approval_for_done = forms.BooleanField(required=False, initial=True)
    require_review_before_done = forms.BooleanField(required=False)
    comment_required_for_review = forms.BooleanField(required=False)
    block_status_changes_with_pending_approval = forms.BooleanField(required=False)
    only_lead_can_change_status = forms.BooleanField(required=False)
    custom_fields = forms.ModelMultipleChoiceField(
        queryset=CustomFieldDefinition.objects.none(), required=False, widget=forms.CheckboxSelectMultiple,
        help_text="Typed fields the board's tasks carry (defined on the Custom fields page). Unticking one removes "
                  "its values from the board's tasks.")

    def __init__(self, *args: Any, organizations: QuerySet[Organization], gateways: QuerySet[Gateway],
                 custom_fields: QuerySet[CustomFieldDefinition], groups: QuerySet[BoardGroup],
                 board: Board | None = None, **kwargs: Any) -> None:
        self.board = board
        if board is not None:
            kwargs.setdefault("initial", {
                **{name: getattr(board, name) for name in ("name", "slug", "description", "objective", "max_agents",
                                                           "board_type", "goal_confirmed", *RULE_HELP)},
                "success_metrics": metrics_text(board.success_metrics),
                "target_date": board.target_date.date() if board.target_date else None,
                "gateway": board.gateway_id, "group": board.group_id,
                "custom_fields": list(board.custom_fields.values_list("pk", flat=True))})
        super().__init__(*args, **kwargs)
        set_choices(self, "custom_fields", custom_fields)
        for name, label in RULE_LABELS.items():
            self.fields[name].label = label
            self.fields[name].help_text = RULE_HELP[name]
        set_choices(self, "organization", organizations)
        set_choices(self, "gateway", gateways)
        set_choices(self, "group", groups)
        if board is not None:
            # A board never moves between organizations.
            del self.fields["organization"]
        elif len(organizations) == 1:
            self.fields["organization"].initial = organizations[0]
            self.fields["organization"].widget = forms.HiddenInput()

    def clean_success_metrics(self) -> dict[str, Any]:
        try:
            return metrics_from_text(self.cleaned_data.get("success_metrics") or "")
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def board_data(self) -> dict[str, Any]:
        """The cleaned values under the API's field names, as ``agents.rules.boards`` takes them."""
        data = {name: value for name, value in self.cleaned_data.items()
                if name not in ("organization", "gateway", "custom_fields", "group")}
        gateway = self.cleaned_data.get("gateway")
        data["gateway_id"] = gateway.pk if gateway is not None else None
        group = self.cleaned_data.get("group")
        data["board_group_id"] = group.pk if group is not None else None
        target = self.cleaned_data.get("target_date")
        data["target_date"] = target.isoformat() if target else None
        board = self.board
        # The form shows a day and metrics as text: what reads the same as the board's own
        # values is left as it is (a target time of day, a number kept as text).
        if board is not None and board.target_date and target == board.target_date.date():
            del data["target_date"]
        if board is not None and metrics_text(data["success_metrics"]) == metrics_text(board.success_metrics):
            del data["success_metrics"]
        if not data.get("board_type"):
            data.pop("board_type", None)  # not sent: a new board is a goal board, an old one keeps its kind
        return data


def metrics_text(metrics: dict[str, Any]) -> str:
    """Success metrics as the form shows them: one ``name: target`` per line."""
    return "\n".join(f"{name}: {target if isinstance(target, str) else json.dumps(target, ensure_ascii=False)}"
                     for name, target in (metrics or {}).items())


def metrics_from_text(text: str) -> dict[str, Any]:
    """``name: target`` lines as success metrics; a target that reads as JSON (100, true, [..])
    keeps that type, any other is text. ValueError with a sentence for a line without a name."""
    metrics: dict[str, Any] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        name, colon, target = line.partition(":")
        if not colon or not name.strip():
            raise ValueError(f"Write each metric as name: target (not “{line.strip()}”).")
        target = target.strip()
        try:
            value = json.loads(target)
        except ValueError:
            value = target
        metrics[name.strip()] = target if isinstance(value, str) else value
    return metrics


class BoardGroupForm(RuleForm):
    """A board group's fields, types only: ``agents.rules.groups`` checks the values."""

    organization = forms.ModelChoiceField(queryset=Organization.objects.none(), empty_label=None)
    name = forms.CharField(required=False, widget=forms.TextInput(attrs=REQUIRED))
    slug = forms.CharField(required=False, label="Short name", help_text="Left empty, it is made from the name.")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    heartbeat_every = forms.CharField(required=False, label="Heartbeat interval", max_length=20,
                                      help_text="How often the agents of the group's boards wake up, like 10m or 1h; "
                                                "empty: each agent keeps its own.")
    heartbeat_include_leads = forms.BooleanField(required=False, label="Leads too",
                                                 help_text="Give the interval to the boards' leads as well as to "
                                                           "their workers.")

    FIELDS = ("name", "slug", "description", "heartbeat_every", "heartbeat_include_leads")

    def __init__(self, *args: Any, organizations: Any, group: BoardGroup | None = None, **kwargs: Any) -> None:
        if group is not None:
            kwargs.setdefault("initial", {name: getattr(group, name) for name in self.FIELDS})
        super().__init__(*args, **kwargs)
        set_choices(self, "organization", organizations)
        if group is not None:
            del self.fields["organization"]
        elif len(organizations) == 1:
            self.fields["organization"].initial = organizations[0]
            self.fields["organization"].widget = forms.HiddenInput()

    def group_data(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.FIELDS}


class GatewayForm(RuleForm):
    """A gateway's fields, types only: ``agents.rules.gateways`` checks the values."""

    organization = forms.ModelChoiceField(queryset=Organization.objects.none(), empty_label=None)
    name = forms.CharField(required=False, widget=forms.TextInput(attrs=REQUIRED))
    url = forms.CharField(required=False, label="Address", widget=forms.TextInput(attrs=REQUIRED),
                          help_text="ws:// or wss:// address of the gateway, as Mission Control's worker reaches it "
                                    "(from inside Docker: ws://host.docker.internal:18789).")
    token = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False),
                            help_text="The gateway's own token (OPENCLAW_GATEWAY_TOKEN or gateway.auth.token on the "
                                      "gateway host). Stored for the server's use; never shown again.")
    workspace_root = forms.CharField(required=False, label="Workspace root",
                                     help_text="Where the gateway keeps agent workspaces; empty means ~/.openclaw.")
    allow_insecure_tls = forms.BooleanField(required=False, label="Accept a self-signed certificate",
                                            help_text="Only for a gateway on your own network.")

    def __init__(self, *args: Any, organizations: Any, gateway: Gateway | None = None, **kwargs: Any) -> None:
        if gateway is not None:
            kwargs.setdefault("initial", {"name": gateway.name, "url": gateway.url,
                                          "workspace_root": gateway.workspace_root,
                                          "allow_insecure_tls": gateway.allow_insecure_tls})
        super().__init__(*args, **kwargs)
        set_choices(self, "organization", organizations)
        if gateway is not None:
            del self.fields["organization"]
            self.fields["token"].help_text = "Leave empty to keep the current token; a new value replaces it."
        elif len(organizations) == 1:
            self.fields["organization"].initial = organizations[0]
            self.fields["organization"].widget = forms.HiddenInput()

    def gateway_data(self, *, keep_token: bool = False) -> dict[str, Any]:
        """The values under the API's names; ``keep_token``: an empty token field changes nothing."""
        data = {name: self.cleaned_data[name] for name in ("name", "url", "token", "workspace_root",
                                                            "allow_insecure_tls")}
        if keep_token and not data["token"]:
            del data["token"]
        return data


class TagForm(RuleForm):
    """A tag's fields, types only: ``agents.rules.tags`` checks the values."""

    organization = forms.ModelChoiceField(queryset=Organization.objects.none(), empty_label=None)
    name = forms.CharField(required=False, widget=forms.TextInput(attrs=REQUIRED))
    slug = forms.CharField(required=False, label="Short name", help_text="Left empty, it is made from the name.")
    color = forms.CharField(required=False, initial="#9ca3af", label="Colour",
                            widget=forms.TextInput(attrs={"type": "color"}),
                            help_text="Six hexadecimal digits, like 9ca3af.")

    def __init__(self, *args: Any, organizations: Any, tag: Tag | None = None, **kwargs: Any) -> None:
        if tag is not None:
            kwargs.setdefault("initial", {"name": tag.name, "slug": tag.slug, "color": f"#{tag.color}"})
        super().__init__(*args, **kwargs)
        set_choices(self, "organization", organizations)
        if tag is not None:
            del self.fields["organization"]
        elif len(organizations) == 1:
            self.fields["organization"].initial = organizations[0]
            self.fields["organization"].widget = forms.HiddenInput()

    def tag_data(self) -> dict[str, Any]:
        # A colour input sends "#rrggbb"; the API takes the six digits.
        color = (self.cleaned_data.get("color") or "").removeprefix("#")
        data: dict[str, Any] = {"name": self.cleaned_data["name"], "slug": self.cleaned_data["slug"]}
        if color:
            data["color"] = color
        return data


def due_field() -> forms.DateTimeField:
    # Shown and read in the reader's time zone (the console activates it); the label names it.
    return forms.DateTimeField(
        required=False, label="Due (UTC)",
        widget=forms.DateTimeInput(format="%Y-%m-%dT%H:%M", attrs={"type": "datetime-local"}),
        help_text="When the task should be done; past it, an unfinished task shows as overdue.")


def name_due_zone(form: forms.Form) -> None:
    """Put the time zone the due date is read in into its label: ``Due (Asia/Tokyo)``."""
    form.fields["due_at"].label = f"Due ({timezone.get_current_timezone_name()})"


TASK_API_FIELDS = {"assigned_agent_id": "assigned_agent", "depends_on_task_ids": "depends_on", "tag_ids": "tags"}


class TaskCreateForm(RuleForm):
    api_fields = TASK_API_FIELDS

    title = forms.CharField(max_length=500)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    priority = forms.ChoiceField(choices=Task.Priority.choices, initial=Task.Priority.MEDIUM)
    assigned_agent = forms.ModelChoiceField(queryset=Agent.objects.none(), required=False,
                                            label="Assignee", empty_label="Nobody yet")
    due_at = due_field()

    def __init__(self, *args: Any, agents: QuerySet[Agent], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "assigned_agent", agents)
        name_due_zone(self)

    def offer(self, agents: list[Agent]) -> TaskCreateForm:
        """Shows ``agents``, already loaded for the page, in the assignee menu instead of
        reading them again; what is sent is still checked against the queryset."""
        field = self.fields["assigned_agent"]
        assert isinstance(field, forms.ModelChoiceField)
        field.choices = [("", field.empty_label or ""), *((agent.pk, agent.name) for agent in agents)]
        return self


class TaskMoveForm(RuleForm):
    status = forms.ChoiceField(choices=Task.Status.choices, label="Move to")
    comment = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}),
                              help_text="Optional; some boards need one to send a task to review.")


class TaskEditForm(RuleForm):
    api_fields = TASK_API_FIELDS

    title = forms.CharField(max_length=500)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}),
                                  help_text="What done looks like; the assignee reads it.")
    status = forms.ChoiceField(choices=Task.Status.choices)
    priority = forms.ChoiceField(choices=Task.Priority.choices)
    assigned_agent = forms.ModelChoiceField(queryset=Agent.objects.none(), required=False,
                                            label="Assignee", empty_label="Nobody")
    due_at = due_field()
    comment = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}),
                              help_text="Optional; some boards need one to send a task to review.")

    def __init__(self, *args: Any, agents: QuerySet[Agent], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "assigned_agent", agents)
        name_due_zone(self)


class CommentForm(RuleForm):
    message = forms.CharField(label="Comment", widget=forms.Textarea(attrs={"rows": 3}), max_length=20_000)


class ApprovalRequestForm(RuleForm):
    api_fields = {"lead_reasoning": "reasoning"}

    action_type = forms.CharField(max_length=100, initial="mark_done", label="What needs approving",
                                  help_text="A short name for the action, such as mark_done.")
    reasoning = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="Why",
                                help_text="The reason the approver reads beside the task.")
    confidence = forms.IntegerField(min_value=0, max_value=100, initial=80, label="Confidence (0-100)")


class AgentCreateForm(RuleForm):
    api_fields = {"board_id": "board", "gateway_id": "gateway"}

    name = forms.CharField(max_length=200)
    board = forms.ModelChoiceField(queryset=Board.objects.none(), required=False, empty_label="No board (gateway main agent)",
                                   help_text="A board agent works on one board; without a board it is the main "
                                             "agent of a gateway.")
    gateway = forms.ModelChoiceField(queryset=Gateway.objects.none(), required=False, empty_label="None",
                                     help_text="Needed for a main agent; a board agent uses its board's gateway.")
    is_board_lead = forms.BooleanField(required=False, label="Board lead",
                                       help_text="The lead reviews work, creates tasks and workers. One per board.")

    def __init__(self, *args: Any, boards: QuerySet[Board], gateways: QuerySet[Gateway], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "board", boards)
        set_choices(self, "gateway", gateways)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("board") is None and data.get("gateway") is None:
            self.add_error("gateway", "Choose a board, or a gateway for a main agent.")
        if data.get("board") is None and data.get("is_board_lead"):
            self.add_error("is_board_lead", "Only an agent on a board can be its lead.")
        return data


class AgentEditForm(RuleForm):
    """What a person changes about an agent, types only: ``agents.rules.roster`` checks the values."""

    api_fields = {"gateway_id": "gateway"}

    name = forms.CharField(required=False, widget=forms.TextInput(attrs=REQUIRED))
    gateway = forms.ModelChoiceField(queryset=Gateway.objects.none(), required=False, empty_label="None (run by hand)",
                                     help_text="Moving an agent to another gateway removes it from the old one and "
                                               "sets it up on the new one.")
    is_board_lead = forms.BooleanField(required=False, label="Board lead",
                                       help_text="The lead reviews work, creates tasks and workers. One per board.")
    identity_template = forms.CharField(required=False, label="IDENTITY.md", widget=forms.Textarea(attrs={"rows": 5}),
                                        help_text="Who the agent is, in Markdown; empty means the default file.")
    soul_template = forms.CharField(required=False, label="SOUL.md", widget=forms.Textarea(attrs={"rows": 5}),
                                    help_text="How the agent works and speaks, in Markdown; empty means the default "
                                              "file.")

    def __init__(self, *args: Any, agent: Agent, gateways: QuerySet[Gateway], **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"name": agent.name, "gateway": agent.gateway_id,
                                      "is_board_lead": agent.is_board_lead,
                                      "identity_template": agent.identity_template,
                                      "soul_template": agent.soul_template})
        super().__init__(*args, **kwargs)
        set_choices(self, "gateway", gateways)
        # Whitespace is kept as typed: these files are written to the workspace as they are.
        for name in ("identity_template", "soul_template"):
            field = self.fields[name]
            assert isinstance(field, forms.CharField)
            field.strip = False
        if agent.board_id is None:
            # A main agent belongs to its gateway and leads no board.
            del self.fields["is_board_lead"]
            gateway_field = self.fields["gateway"]
            assert isinstance(gateway_field, forms.ModelChoiceField)
            gateway_field.required = True
            gateway_field.empty_label = None
        self.agent = agent

    def changes(self) -> dict[str, Any]:
        """The values that differ from the agent's, under the API's names, as ``update_agent`` takes them."""
        data = self.cleaned_data
        changes: dict[str, Any] = {}
        if data["name"] != self.agent.name:
            changes["name"] = data["name"]
        gateway = data.get("gateway")
        if (gateway.pk if gateway else None) != self.agent.gateway_id:
            changes["gateway_id"] = gateway.pk if gateway else None
        if "is_board_lead" in self.fields and data["is_board_lead"] != self.agent.is_board_lead:
            changes["is_board_lead"] = data["is_board_lead"]
        for name in ("identity_template", "soul_template"):
            if data[name].replace("\r\n", "\n") != getattr(self.agent, name):
                changes[name] = data[name].replace("\r\n", "\n")
        return changes


class MemoryForm(RuleForm):
    content = forms.CharField(label="Message", widget=forms.Textarea(attrs={"rows": 3}), max_length=20_000,
                              help_text="Agents read board memory on every heartbeat: context, decisions, answers.")
    is_chat = forms.BooleanField(required=False, initial=True, label="Chat message",
                                 help_text="Chat is a conversation with the agents; otherwise it is a lasting note.")


class TaskRelationsForm(RuleForm):
    """Dependencies and tags of a task, each a list of checkboxes (``agents/_pick_list.html``;
    ``static/console/picker.js`` adds a box that filters it). Validation accepts any task of
    the board; the list offers the chosen tasks and the most recently changed ones, so it
    stays short."""

    depends_on = forms.ModelMultipleChoiceField(
        queryset=Task.objects.none(), required=False, label="Waits for", widget=forms.CheckboxSelectMultiple,
        help_text="The task stays blocked in the inbox until the ones ticked here are done.")
    tags = forms.ModelMultipleChoiceField(queryset=Tag.objects.none(), required=False,
                                          widget=forms.CheckboxSelectMultiple)

    api_fields = TASK_API_FIELDS

    def __init__(self, *args: Any, tasks: QuerySet[Task], tags: QuerySet[Tag], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "depends_on", tasks)
        set_choices(self, "tags", tags)


class CustomFieldForm(RuleForm):
    """A custom field's definition, types only: ``agents.rules.fields`` checks the values."""

    api_fields = {"board_ids": "boards"}

    organization = forms.ModelChoiceField(queryset=Organization.objects.none(), empty_label=None)
    label = forms.CharField(required=False, widget=forms.TextInput(attrs=REQUIRED),
                            help_text="What people see, like Story points.")
    field_key = forms.CharField(required=False, label="Key", widget=forms.TextInput(attrs=REQUIRED),
                                help_text="What agents and the API use, like story_points: lowercase words joined "
                                          "by underscores. Fixed once the field exists.")
    field_type = forms.ChoiceField(choices=CustomFieldDefinition.FieldType.choices, label="Type",
                                   help_text="Fixed once the field exists.")
    options = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}),
                              help_text="For a choice from a list: one option per line.")
    required = forms.BooleanField(required=False, label="Required",
                                  help_text="New tasks on its boards must have a value, and it cannot be cleared.")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}),
                                  help_text="What to put in it; agents read this too.")
    boards = forms.ModelMultipleChoiceField(queryset=Board.objects.none(), required=False,
                                            widget=forms.CheckboxSelectMultiple,
                                            help_text="The boards whose tasks carry this field. A board you untick "
                                                      "loses the field's values on its tasks.")

    def __init__(self, *args: Any, organizations: Any, boards: QuerySet[Board],
                 definition: CustomFieldDefinition | None = None, **kwargs: Any) -> None:
        if definition is not None:
            kwargs.setdefault("initial", {
                "label": definition.label, "options": "\n".join(definition.options), "required": definition.required,
                "description": definition.description, "boards": [board.pk for board in definition.boards.all()]})
        super().__init__(*args, **kwargs)
        set_choices(self, "organization", organizations)
        set_choices(self, "boards", boards)
        if definition is not None:
            for name in ("organization", "field_key", "field_type"):
                del self.fields[name]
            if definition.field_type != CustomFieldDefinition.FieldType.SELECT:
                del self.fields["options"]
        elif len(organizations) == 1:
            self.fields["organization"].initial = organizations[0]
            self.fields["organization"].widget = forms.HiddenInput()

    def definition_data(self) -> dict[str, Any]:
        """The cleaned values under the API's names, as ``agents.rules.fields`` takes them."""
        data: dict[str, Any] = {name: self.cleaned_data[name] for name in ("label", "required", "description")}
        data["board_ids"] = [board.pk for board in self.cleaned_data["boards"]]
        for name in ("field_key", "field_type"):
            if name in self.fields:
                data[name] = self.cleaned_data[name]
        if "options" in self.fields:
            options = [line.strip() for line in self.cleaned_data["options"].splitlines() if line.strip()]
            if options or data.get("field_type", CustomFieldDefinition.FieldType.SELECT) == "select":
                data["options"] = options
        return data


BOOLEAN_CHOICES = [("", "Not set"), ("true", "Yes"), ("false", "No")]


def _number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        return float(text)


class CustomFieldValuesForm(RuleForm):
    """One input per custom field of a board (``cf_<key>``); an empty input means no value.
    The typed values go to ``agents.rules.fields``, which checks them as the API's."""

    PREFIX = "cf_"

    def __init__(self, *args: Any, definitions: list[CustomFieldDefinition],
                 values: dict[str, Any] | None = None, **kwargs: Any) -> None:
        values = values or {}
        kwargs.setdefault("initial", {self.PREFIX + d.field_key: self._initial(d, values.get(d.field_key))
                                      for d in definitions})
        super().__init__(*args, **kwargs)
        self.definitions = {d.field_key: d for d in definitions}
        for definition in definitions:
            self.fields[self.PREFIX + definition.field_key] = self._field(definition)

    @staticmethod
    def _initial(definition: CustomFieldDefinition, value: Any) -> Any:
        if value is None:
            return ""
        if definition.field_type == CustomFieldDefinition.FieldType.BOOLEAN:
            return "true" if value is True else "false"
        return value

    @staticmethod
    def _field(definition: CustomFieldDefinition) -> forms.Field:
        kind = CustomFieldDefinition.FieldType
        common: dict[str, Any] = {"label": definition.label, "required": False,
                                  "help_text": definition.description}
        attrs = REQUIRED if definition.required else {}
        if definition.field_type == kind.SELECT:
            return forms.ChoiceField(choices=[("", "Not set"), *((o, o) for o in definition.options)], **common)
        if definition.field_type == kind.BOOLEAN:
            return forms.ChoiceField(choices=BOOLEAN_CHOICES, **common)
        if definition.field_type == kind.NUMBER:
            return forms.CharField(widget=forms.NumberInput(attrs={**attrs, "step": "any"}), **common)
        if definition.field_type == kind.DATE:
            return forms.CharField(widget=forms.DateInput(attrs={**attrs, "type": "date"}), **common)
        if definition.field_type == kind.URL:
            return forms.CharField(widget=forms.URLInput(attrs=attrs), **common)
        return forms.CharField(widget=forms.TextInput(attrs=attrs), strip=False, **common)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for key, definition in self.definitions.items():
            text = data.get(self.PREFIX + key)
            if definition.field_type == CustomFieldDefinition.FieldType.NUMBER and text:
                try:
                    _number(text)
                except ValueError:
                    self.add_error(self.PREFIX + key, f"{definition.label} must be a number.")
        return data

    def values(self) -> dict[str, Any]:
        """Every field's typed value, ``None`` for an empty input."""
        out: dict[str, Any] = {}
        for key, definition in self.definitions.items():
            text = self.cleaned_data.get(self.PREFIX + key)
            if text in (None, ""):
                out[key] = None
            elif definition.field_type == CustomFieldDefinition.FieldType.BOOLEAN:
                out[key] = text == "true"
            elif definition.field_type == CustomFieldDefinition.FieldType.NUMBER:
                out[key] = _number(text)
            else:
                out[key] = text
        return out

    def changes(self, current: dict[str, Any]) -> dict[str, Any]:
        """The values that differ from ``current`` (an empty input over no value is no change)."""
        return {key: value for key, value in self.values().items() if current.get(key) != value}

    def add_refusal(self, exc: RuleViolation) -> None:
        key = exc.extra.get("custom_field")
        if isinstance(key, str) and self.PREFIX + key in self.fields:
            self.add_error(self.PREFIX + key, exc.message)
        else:
            super().add_refusal(exc)


# --- organizations and people ---------------------------------------------------------------

class OrganizationForm(RuleForm):
    name = forms.CharField(required=False, max_length=200, widget=forms.TextInput(attrs=REQUIRED))


class BoardReachForm(RuleForm):
    """Which boards a member reaches; turned into the rule's ``all_boards_*`` and ``boards``."""

    REACH_CHOICES = [("write", "Every board: read and work on them"),
                     ("read", "Read every board; work only on the boards ticked below"),
                     ("chosen", "Only the boards ticked below")]

    reach = forms.ChoiceField(choices=REACH_CHOICES, initial="write", widget=forms.RadioSelect,
                              label="Board access", help_text="Owners and admins always reach every board.")
    write_boards = forms.ModelMultipleChoiceField(queryset=Board.objects.none(), required=False,
                                                  widget=forms.CheckboxSelectMultiple, label="Work on")
    read_boards = forms.ModelMultipleChoiceField(queryset=Board.objects.none(), required=False,
                                                 widget=forms.CheckboxSelectMultiple, label="Read only")

    def __init__(self, *args: Any, boards: QuerySet[Board], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "write_boards", boards)
        set_choices(self, "read_boards", boards)

    def reach_data(self) -> dict[str, Any]:
        reach = self.cleaned_data["reach"]
        write = {board.pk for board in self.cleaned_data["write_boards"]}
        read = {board.pk for board in self.cleaned_data["read_boards"]} - write
        boards = [{"board_id": pk, "can_write": True} for pk in sorted(write, key=str)]
        boards += [{"board_id": pk, "can_write": False} for pk in sorted(read, key=str)]
        return {"all_boards_write": reach == "write", "all_boards_read": reach in ("write", "read"), "boards": boards}


def reach_initial(all_boards_read: bool, all_boards_write: bool, grants: dict[Any, bool]) -> dict[str, Any]:
    reach = "write" if all_boards_write else "read" if all_boards_read else "chosen"
    return {"reach": reach, "write_boards": [pk for pk, can_write in grants.items() if can_write],
            "read_boards": [pk for pk, can_write in grants.items() if not can_write]}


class InvitationForm(BoardReachForm):
    role = forms.ChoiceField(choices=[("member", "Member"), ("admin", "Admin"), ("owner", "Owner")],
                             initial="member", help_text="Admins manage members, boards, gateways and agents; "
                                                         "only an owner invites an owner.")
    email = forms.CharField(required=False, label="For (email)", max_length=254,
                            help_text="A reminder of whom it is for; the link works for whoever opens it.")
    expires_in_days = forms.IntegerField(initial=7, min_value=1, max_value=30, label="Expires after (days)")

    field_order = ["role", "email", "expires_in_days", "reach", "write_boards", "read_boards"]

    def invitation_data(self) -> dict[str, Any]:
        return {"role": self.cleaned_data["role"], "email": self.cleaned_data["email"],
                "expires_in_days": self.cleaned_data["expires_in_days"], **self.reach_data()}


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=[("member", "Member"), ("admin", "Admin"), ("owner", "Owner")])


class TransferOwnershipForm(forms.Form):
    membership = forms.UUIDField(widget=forms.HiddenInput)


class SignUpForm(RuleForm):
    username = forms.CharField(max_length=150, widget=forms.TextInput(attrs={"autocomplete": "username", **REQUIRED}))
    first_name = forms.CharField(required=False, max_length=150, label="First name")
    last_name = forms.CharField(required=False, max_length=150, label="Last name")
    password = forms.CharField(strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password",
                                                                             **REQUIRED}))
    password_again = forms.CharField(strip=False, label="Password again",
                                     widget=forms.PasswordInput(attrs={"autocomplete": "new-password", **REQUIRED}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password") != data.get("password_again"):
            self.add_error("password_again", "The two passwords differ.")
        return data

    def sign_up_data(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in ("username", "first_name", "last_name", "password")}


class ProfileForm(RuleForm):
    first_name = forms.CharField(required=False, max_length=150, label="First name")
    last_name = forms.CharField(required=False, max_length=150, label="Last name")
    timezone = forms.CharField(required=False, max_length=64, label="Time zone",
                               help_text="An IANA name such as Europe/Paris or America/New_York; empty is UTC.")
