"""Console forms. They check shapes; the workflow rules are checked by ``agents.rules``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.text import slugify

from agents.models import Agent, Board, Gateway, Organization, Tag, Task

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


class BoardForm(forms.ModelForm):
    organization = forms.ModelChoiceField(queryset=Organization.objects.none(), empty_label=None,
                                          help_text="The organization that owns the board.")

    class Meta:
        model = Board
        fields = ["organization", "name", "slug", "description", "objective", "gateway", "max_agents",
                  "require_approval_for_done", "require_review_before_done", "comment_required_for_review",
                  "block_status_changes_with_pending_approval", "only_lead_can_change_status"]
        labels = {
            "slug": "Short name",
            "max_agents": "Maximum number of agents",
            "require_approval_for_done": "Require an approval before done",
            "require_review_before_done": "Require review before done",
            "comment_required_for_review": "Require a comment to send to review",
            "block_status_changes_with_pending_approval": "Freeze status while an approval is pending",
            "only_lead_can_change_status": "Only the lead changes status",
        }
        help_texts = {
            **RULE_HELP,
            "slug": "Used in links; letters, numbers and dashes. Left empty, it is made from the name.",
            "objective": "What the agents on this board are working towards; they read it every heartbeat.",
            "gateway": "The OpenClaw runtime that hosts this board's agents (optional; register one on the "
                       "Gateways page).",
            "max_agents": "Leads cannot create more agents than this on the board.",
        }
        widgets = {"description": forms.Textarea(attrs={"rows": 3}), "objective": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, organizations: QuerySet[Organization], gateways: QuerySet[Gateway],
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["slug"].required = False
        self.fields["organization"].queryset = organizations
        self.fields["gateway"].queryset = gateways
        self.fields["gateway"].required = False
        self.fields["gateway"].empty_label = "No gateway"
        if not self.instance._state.adding:
            # A board never moves between organizations.
            del self.fields["organization"]
        elif len(organizations) == 1:
            self.fields["organization"].initial = organizations[0]
            self.fields["organization"].widget = forms.HiddenInput()

    rule_fields = tuple(RULE_HELP)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        org = data.get("organization") or (None if self.instance._state.adding else self.instance.organization)
        if not data.get("slug") and data.get("name"):
            data["slug"] = slugify(data["name"])[:200] or "board"
        if org is not None and data.get("slug"):
            clash = Board.objects.filter(organization=org, slug=data["slug"])
            if not self.instance._state.adding:
                clash = clash.exclude(pk=self.instance.pk)
            if clash.exists():
                self.add_error("slug", "Another board of this organization already uses this short name.")
        gateway = data.get("gateway")
        if gateway is not None and org is not None and gateway.organization_id != org.pk:
            self.add_error("gateway", "Choose a gateway of the board's organization.")
        return data

    def save(self, commit: bool = True) -> Board:
        board = super().save(commit=False)
        if self.cleaned_data.get("organization") is not None:
            board.organization = self.cleaned_data["organization"]
        if commit:
            board.save()
        return board


class TaskCreateForm(forms.Form):
    title = forms.CharField(max_length=500)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    priority = forms.ChoiceField(choices=Task.Priority.choices, initial=Task.Priority.MEDIUM)
    assigned_agent = forms.ModelChoiceField(queryset=Agent.objects.none(), required=False,
                                            label="Assignee", empty_label="Nobody yet")

    def __init__(self, *args: Any, agents: QuerySet[Agent], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assigned_agent"].queryset = agents


class TaskMoveForm(forms.Form):
    status = forms.ChoiceField(choices=Task.Status.choices, label="Move to")
    comment = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}),
                              help_text="Optional; some boards need one to send a task to review.")


class TaskEditForm(forms.Form):
    title = forms.CharField(max_length=500)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}),
                                  help_text="What done looks like; the assignee reads it.")
    status = forms.ChoiceField(choices=Task.Status.choices)
    priority = forms.ChoiceField(choices=Task.Priority.choices)
    assigned_agent = forms.ModelChoiceField(queryset=Agent.objects.none(), required=False,
                                            label="Assignee", empty_label="Nobody")
    comment = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}),
                              help_text="Optional; some boards need one to send a task to review.")

    def __init__(self, *args: Any, agents: QuerySet[Agent], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assigned_agent"].queryset = agents


class CommentForm(forms.Form):
    message = forms.CharField(label="Comment", widget=forms.Textarea(attrs={"rows": 3}), max_length=20_000)


class ApprovalRequestForm(forms.Form):
    action_type = forms.CharField(max_length=100, initial="mark_done", label="What needs approving",
                                  help_text="A short name for the action, such as mark_done.")
    reasoning = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="Why",
                                help_text="The reason the approver reads beside the task.")
    confidence = forms.IntegerField(min_value=0, max_value=100, initial=80, label="Confidence (0-100)")


class AgentCreateForm(forms.Form):
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
        self.fields["board"].queryset = boards
        self.fields["gateway"].queryset = gateways

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("board") is None and data.get("gateway") is None:
            self.add_error("gateway", "Choose a board, or a gateway for a main agent.")
        if data.get("board") is None and data.get("is_board_lead"):
            self.add_error("is_board_lead", "Only an agent on a board can be its lead.")
        return data


class MemoryForm(forms.Form):
    content = forms.CharField(label="Message", widget=forms.Textarea(attrs={"rows": 3}), max_length=20_000,
                              help_text="Agents read board memory on every heartbeat: context, decisions, answers.")
    is_chat = forms.BooleanField(required=False, initial=True, label="Chat message",
                                 help_text="Chat is a conversation with the agents; otherwise it is a lasting note.")


class TaskRelationsForm(forms.Form):
    """Dependencies and tags of a task. Validation accepts any task of the board; the menu
    offers the current dependencies and the most recently changed tasks, so it stays short."""

    depends_on = forms.ModelMultipleChoiceField(
        queryset=Task.objects.none(), required=False, label="Waits for",
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text="The task stays blocked in the inbox until these are done. Hold Ctrl or ⌘ to pick several.")
    tags = forms.ModelMultipleChoiceField(queryset=Tag.objects.none(), required=False,
                                          widget=forms.SelectMultiple(attrs={"size": 4}))

    def __init__(self, *args: Any, tasks: QuerySet[Task], tags: QuerySet[Tag], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["depends_on"].queryset = tasks
        self.fields["tags"].queryset = tags
