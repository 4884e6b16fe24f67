"""Routes of the user API, mounted at /api/v1/."""

from __future__ import annotations

from django.urls import path

from agents.api import (
    activity,
    agents,
    approvals,
    boards,
    custom_fields,
    dashboard,
    gateways,
    groups,
    memory,
    tags,
    tasks,
    users,
)

urlpatterns = [
    path("users/me", users.CurrentUserView.as_view(), name="api-users-me"),
    path("gateways", gateways.GatewayListView.as_view(), name="api-gateways"),
    path("gateways/<uuid:gateway_id>", gateways.GatewayDetailView.as_view(), name="api-gateway"),
    path("gateways/<uuid:gateway_id>/check", gateways.GatewayCheckView.as_view(), name="api-gateway-check"),
    path("gateways/<uuid:gateway_id>/sync", gateways.GatewaySyncView.as_view(), name="api-gateway-sync"),
    path("boards", boards.BoardListView.as_view(), name="api-boards"),
    path("boards/<uuid:board_id>", boards.BoardDetailView.as_view(), name="api-board"),
    path("boards/<uuid:board_id>/snapshot", boards.BoardSnapshotView.as_view(), name="api-board-snapshot"),
    path("boards/<uuid:board_id>/tasks", tasks.TaskListView.as_view(), name="api-tasks"),
    path("boards/<uuid:board_id>/tasks/<uuid:task_id>", tasks.TaskDetailView.as_view(), name="api-task"),
    path("boards/<uuid:board_id>/tasks/<uuid:task_id>/comments", tasks.CommentListView.as_view(),
         name="api-task-comments"),
    path("boards/<uuid:board_id>/approvals", approvals.ApprovalListView.as_view(), name="api-approvals"),
    path("boards/<uuid:board_id>/approvals/<uuid:approval_id>", approvals.ApprovalDetailView.as_view(),
         name="api-approval"),
    path("boards/<uuid:board_id>/memory", memory.BoardMemoryListView.as_view(), name="api-board-memory"),
    path("board-groups", groups.BoardGroupListView.as_view(), name="api-board-groups"),
    path("board-groups/<uuid:group_id>", groups.BoardGroupDetailView.as_view(), name="api-board-group"),
    path("board-groups/<uuid:group_id>/memory", groups.BoardGroupMemoryView.as_view(), name="api-board-group-memory"),
    path("board-groups/<uuid:group_id>/snapshot", groups.BoardGroupSnapshotView.as_view(),
         name="api-board-group-snapshot"),
    path("board-groups/<uuid:group_id>/heartbeat", groups.BoardGroupHeartbeatView.as_view(),
         name="api-board-group-heartbeat"),
    path("agents", agents.AgentListView.as_view(), name="api-agents"),
    path("agents/<uuid:agent_id>", agents.AgentDetailView.as_view(), name="api-agent"),
    path("agents/<uuid:agent_id>/token", agents.AgentTokenView.as_view(), name="api-agent-token"),
    path("agents/<uuid:agent_id>/provision", agents.AgentProvisionView.as_view(), name="api-agent-provision"),
    path("activity", activity.ActivityListView.as_view(), name="api-activity"),
    path("tags", tags.TagListView.as_view(), name="api-tags"),
    path("tags/<uuid:tag_id>", tags.TagDetailView.as_view(), name="api-tag"),
    path("custom-fields", custom_fields.CustomFieldListView.as_view(), name="api-custom-fields"),
    path("custom-fields/<uuid:field_id>", custom_fields.CustomFieldDetailView.as_view(), name="api-custom-field"),
    path("metrics/dashboard", dashboard.DashboardView.as_view(), name="api-metrics-dashboard"),
]
