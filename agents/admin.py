"""Django admin for the work domain: a superuser's view of every table.

Regular work happens in the console and the API, where the workflow rules apply; the
admin is for repairs, so it is open to superusers only.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpRequest

from agents import models


class SuperuserOnly:
    """Staff who are not superusers see none of these tables."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return self.has_module_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)


class DomainAdmin(SuperuserOnly, admin.ModelAdmin):
    pass


@admin.register(models.User)
class UserAdmin(SuperuserOnly, DjangoUserAdmin):
    fieldsets = (*(DjangoUserAdmin.fieldsets or ()), ("Clerk", {"fields": ("clerk_user_id",)}),
                 ("Profile", {"fields": ("timezone", "active_organization")}))
    list_display = ("username", "email", "clerk_user_id", "is_staff", "is_superuser")


class MembershipInline(SuperuserOnly, admin.TabularInline):
    model = models.Membership
    extra = 0
    autocomplete_fields = ("user",)


@admin.register(models.Organization)
class OrganizationAdmin(DomainAdmin):
    list_display = ("name", "slug", "is_default", "created_at")
    search_fields = ("name", "slug")
    inlines = [MembershipInline]


class BoardAccessInline(SuperuserOnly, admin.TabularInline):
    model = models.BoardAccess
    extra = 0


@admin.register(models.Membership)
class MembershipAdmin(DomainAdmin):
    list_display = ("user", "organization", "role", "all_boards_read", "all_boards_write", "created_at")
    list_filter = ("role",)
    list_select_related = ("user", "organization")
    inlines = [BoardAccessInline]


@admin.register(models.Invitation)
class InvitationAdmin(DomainAdmin):
    """For withdrawing or inspecting an invitation; links are made in the console or the API."""

    list_display = ("organization", "role", "email", "created_at", "expires_at", "accepted_at", "revoked_at")
    list_select_related = ("organization",)
    list_filter = ("role",)
    readonly_fields = ("token_key", "created_by", "accepted_by", "accepted_at")
    exclude = ("token_digest",)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False  # a link's token exists only when the rule makes it


@admin.register(models.Gateway)
class GatewayAdmin(DomainAdmin):
    list_display = ("name", "organization", "url", "allow_insecure_tls", "updated_at")
    list_select_related = ("organization",)
    search_fields = ("name", "url")
    # The token is a secret: it can be replaced here, never read back.
    exclude = ("token",)


@admin.register(models.Board)
class BoardAdmin(DomainAdmin):
    list_display = ("name", "organization", "gateway", "max_agents", "require_approval_for_done", "updated_at")
    list_select_related = ("organization", "gateway")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}


# What agents.rules.roster decides: one lead per board, room under max_agents, names unique
# on a board, the agent provisioned again on its gateway, an activity event. The admin
# shows these; changing them here would skip all of that.
AGENT_ROSTER_FIELDS = ("organization", "board", "gateway", "name", "is_board_lead", "identity_profile",
                       "identity_template", "soul_template", "heartbeat_config")


@admin.register(models.Agent)
class AgentAdmin(DomainAdmin):
    """Agents are created, changed and deleted in the console or the API, through the
    roster rules; here a superuser reads them and repairs only their lifecycle state."""

    list_display = ("name", "organization", "board", "is_board_lead", "lifecycle_status", "last_seen_at")
    list_filter = ("is_board_lead", "lifecycle_status")
    list_select_related = ("organization", "board")
    search_fields = ("name",)
    readonly_fields = (*AGENT_ROSTER_FIELDS, "token_key", "token_rotated_at", "last_seen_at",
                       "last_heartbeat_logged_at")

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False  # a new agent needs a token and provisioning (agents.rules.add_agent)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # deleting also removes it from its gateway (agents.rules.delete_agent)


@admin.register(models.BoardGroup)
class BoardGroupAdmin(DomainAdmin):
    list_display = ("name", "slug", "organization", "heartbeat_every", "updated_at")
    list_select_related = ("organization",)
    search_fields = ("name", "slug")


@admin.register(models.Tag)
class TagAdmin(DomainAdmin):
    list_display = ("name", "slug", "color", "organization")
    list_select_related = ("organization",)
    search_fields = ("name", "slug")


@admin.register(models.CustomFieldDefinition)
class CustomFieldDefinitionAdmin(DomainAdmin):
    list_display = ("label", "field_key", "field_type", "required", "organization")
    list_filter = ("field_type", "required")
    list_select_related = ("organization",)
    search_fields = ("label", "field_key")
    filter_horizontal = ("boards",)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # deleting also removes its values from tasks (agents.rules.delete_custom_field)


@admin.register(models.Task)
class TaskAdmin(DomainAdmin):
    list_display = ("title", "board", "status", "priority", "assigned_agent", "updated_at")
    list_filter = ("status", "priority")
    list_select_related = ("board", "assigned_agent")
    search_fields = ("title",)
    raw_id_fields = ("board", "assigned_agent", "review_requested_by", "created_by_user", "created_by_agent")
    filter_horizontal = ("tags",)


@admin.register(models.TaskDependency)
class TaskDependencyAdmin(DomainAdmin):
    list_display = ("task", "depends_on")
    raw_id_fields = ("task", "depends_on")


@admin.register(models.TaskComment)
class TaskCommentAdmin(DomainAdmin):
    list_display = ("task", "author_user", "author_agent", "created_at")
    raw_id_fields = ("task", "author_user", "author_agent")


class ApprovalTaskInline(SuperuserOnly, admin.TabularInline):
    model = models.ApprovalTask
    extra = 0
    raw_id_fields = ("task",)


@admin.register(models.Approval)
class ApprovalAdmin(DomainAdmin):
    list_display = ("action_type", "board", "status", "confidence", "agent", "resolved_by", "created_at")
    list_filter = ("status",)
    list_select_related = ("board", "agent", "resolved_by")
    raw_id_fields = ("board", "agent", "requested_by_user", "resolved_by")
    inlines = [ApprovalTaskInline]


@admin.register(models.BoardMemory)
class BoardMemoryAdmin(DomainAdmin):
    list_display = ("board", "is_chat", "source", "created_at")
    list_filter = ("is_chat",)
    list_select_related = ("board",)
    raw_id_fields = ("board", "author_user", "author_agent")


@admin.register(models.BoardGroupMemory)
class BoardGroupMemoryAdmin(DomainAdmin):
    list_display = ("group", "board", "is_chat", "source", "created_at")
    list_filter = ("is_chat",)
    list_select_related = ("group", "board")
    raw_id_fields = ("group", "board", "author_user", "author_agent")


@admin.register(models.ActivityEvent)
class ActivityEventAdmin(DomainAdmin):
    """Append-only: readable here, never edited or removed."""

    list_display = ("created_at", "event_type", "actor_type", "actor_name", "message")
    list_filter = ("event_type", "actor_type")
    search_fields = ("message", "actor_name")

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
