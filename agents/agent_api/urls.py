"""Routes of the agent API, mounted at ``/api/v1/agent/``."""

from __future__ import annotations

from django.urls import path

from agents.agent_api import coordination, views

app_name = "agent_api"

urlpatterns = [
    path("healthz", views.AgentHealthView.as_view(), name="healthz"),
    path("heartbeat", views.HeartbeatView.as_view(), name="heartbeat"),
    path("boards", views.BoardListView.as_view(), name="boards"),
    path("boards/<uuid:board_id>", views.BoardDetailView.as_view(), name="board"),
    path("boards/<uuid:board_id>/tags", views.TagListView.as_view(), name="tags"),
    path("boards/<uuid:board_id>/custom-fields", views.CustomFieldListView.as_view(), name="custom-fields"),
    path("boards/<uuid:board_id>/tasks", views.TaskListView.as_view(), name="tasks"),
    path("boards/<uuid:board_id>/tasks/<uuid:task_id>", views.TaskDetailView.as_view(), name="task"),
    path("boards/<uuid:board_id>/tasks/<uuid:task_id>/comments", views.CommentListView.as_view(), name="comments"),
    path("boards/<uuid:board_id>/memory", views.MemoryListView.as_view(), name="memory"),
    path("boards/<uuid:board_id>/approvals", views.ApprovalListView.as_view(), name="approvals"),
    path("agents", views.AgentListView.as_view(), name="agents"),
    path("boards/<uuid:board_id>/agents/<uuid:agent_id>", coordination.BoardAgentView.as_view(), name="board-agent"),
    path("boards/<uuid:board_id>/agents/<uuid:agent_id>/nudge", coordination.NudgeView.as_view(), name="nudge"),
    path("boards/<uuid:board_id>/agents/<uuid:agent_id>/soul", coordination.SoulView.as_view(), name="soul"),
    path("boards/<uuid:board_id>/gateway/main/ask-user", coordination.AskUserView.as_view(), name="ask-user"),
    path("gateway/boards/<uuid:board_id>/lead/message", coordination.LeadMessageView.as_view(),
         name="lead-message"),
    path("gateway/leads/broadcast", coordination.LeadBroadcastView.as_view(), name="lead-broadcast"),
]
