"""Console routes of the work domain (mounted at the site root)."""

from __future__ import annotations

from django.urls import path

from agents.console import activity_views, agent_views, approvals, gateway_views, signin, views

app_name = "console"

urlpatterns = [
    path("login/", signin.sign_in, name="login"),
    path("logout/", signin.sign_out, name="logout"),
    path("", views.dashboard, name="dashboard"),
    path("live/dashboard", views.dashboard_live, name="dashboard_live"),
    path("boards/", views.boards, name="boards"),
    path("boards/new", views.board_create, name="board_create"),
    path("boards/<uuid:board_id>/", views.board_detail, name="board"),
    path("boards/<uuid:board_id>/edit", views.board_edit, name="board_edit"),
    path("boards/<uuid:board_id>/delete", views.board_delete, name="board_delete"),
    path("boards/<uuid:board_id>/live", views.board_live, name="board_live"),
    path("boards/<uuid:board_id>/memory", views.board_memory, name="board_memory"),
    path("boards/<uuid:board_id>/tasks/new", views.task_create, name="task_create"),
    path("boards/<uuid:board_id>/tasks/<uuid:task_id>/", views.task_detail, name="task"),
    path("boards/<uuid:board_id>/tasks/<uuid:task_id>/move", views.task_move, name="task_move"),
    path("boards/<uuid:board_id>/tasks/<uuid:task_id>/edit", views.task_edit, name="task_edit"),
    path("boards/<uuid:board_id>/tasks/<uuid:task_id>/delete", views.task_delete, name="task_delete"),
    path("boards/<uuid:board_id>/tasks/<uuid:task_id>/relations", views.task_relations, name="task_relations"),
    path("boards/<uuid:board_id>/tasks/<uuid:task_id>/comments", views.task_comment, name="task_comment"),
    path("boards/<uuid:board_id>/tasks/<uuid:task_id>/approval", views.task_request_approval,
         name="task_approval"),
    path("approvals/", approvals.approvals, name="approvals"),
    path("approvals/live", approvals.approvals_live, name="approvals_live"),
    path("approvals/<uuid:approval_id>/resolve", approvals.approval_resolve, name="approval_resolve"),
    path("agents/", agent_views.agents, name="agents"),
    path("agents/<uuid:agent_id>/rotate", agent_views.agent_rotate, name="agent_rotate"),
    path("gateways/", gateway_views.gateways, name="gateways"),
    path("activity/", activity_views.activity_timeline, name="activity"),
]
