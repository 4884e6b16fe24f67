"""Console routes of the work domain (mounted at the site root)."""

from __future__ import annotations

from django.urls import path

from agents.console import (
    activity,
    agents,
    approvals,
    boards,
    dashboard,
    gateways,
    memory,
    signin,
    tags,
    tasks,
)

app_name = "console"

urlpatterns = [
    path("login/", signin.sign_in, name="login"),
    path("logout/", signin.sign_out, name="logout"),
    path("", dashboard.dashboard_page, name="dashboard"),
    path("live/dashboard", dashboard.dashboard_live, name="dashboard_live"),
    path("boards/", boards.boards, name="boards"),
    path("boards/new", boards.board_create, name="board_create"),
    path("boards/<uuid:board_id>/", boards.board_detail, name="board"),
    path("boards/<uuid:board_id>/edit", boards.board_edit, name="board_edit"),
    path("boards/<uuid:board_id>/delete", boards.board_delete, name="board_delete"),
    path("boards/<uuid:board_id>/pause", boards.board_pause, name="board_pause"),
    path("boards/<uuid:board_id>/live", boards.board_live, name="board_live"),
    path("boards/<uuid:board_id>/memory", memory.board_memory, name="board_memory"),
    path("boards/<uuid:board_id>/tasks/new", tasks.task_create, name="task_create"),
    path("boards/<uuid:board_id>/tasks/<uuid:task_id>/", tasks.task_detail, name="task"),
    path("boards/<uuid:board_id>/tasks/<uuid:task_id>/move", tasks.task_move, name="task_move"),
    path("boards/<uuid:board_id>/tasks/<uuid:task_id>/edit", tasks.task_edit, name="task_edit"),
    path("boards/<uuid:board_id>/tasks/<uuid:task_id>/delete", tasks.task_delete, name="task_delete"),
    path("boards/<uuid:board_id>/tasks/<uuid:task_id>/relations", tasks.task_relations, name="task_relations"),
    path("boards/<uuid:board_id>/tasks/<uuid:task_id>/comments", tasks.task_comment, name="task_comment"),
    path("boards/<uuid:board_id>/tasks/<uuid:task_id>/approval", tasks.task_request_approval,
         name="task_approval"),
    path("approvals/", approvals.approvals, name="approvals"),
    path("approvals/live", approvals.approvals_live, name="approvals_live"),
    path("approvals/<uuid:approval_id>/resolve", approvals.approval_resolve, name="approval_resolve"),
    path("agents/", agents.agents, name="agents"),
    path("agents/<uuid:agent_id>/", agents.agent_detail, name="agent"),
    path("agents/<uuid:agent_id>/live", agents.agent_live, name="agent_live"),
    path("agents/<uuid:agent_id>/rotate", agents.agent_rotate, name="agent_rotate"),
    path("agents/<uuid:agent_id>/provision", agents.agent_provision, name="agent_provision"),
    path("agents/<uuid:agent_id>/refresh", agents.agent_refresh, name="agent_refresh"),
    path("agents/<uuid:agent_id>/messages/<int:message_id>/resend", agents.agent_message_resend,
         name="agent_message_resend"),
    path("gateways/", gateways.gateways, name="gateways"),
    path("gateways/<uuid:gateway_id>/", gateways.gateway_detail, name="gateway"),
    path("gateways/<uuid:gateway_id>/live", gateways.gateway_live, name="gateway_live"),
    path("gateways/<uuid:gateway_id>/edit", gateways.gateway_edit, name="gateway_edit"),
    path("gateways/<uuid:gateway_id>/delete", gateways.gateway_delete, name="gateway_delete"),
    path("gateways/<uuid:gateway_id>/check", gateways.gateway_check, name="gateway_check"),
    path("gateways/<uuid:gateway_id>/sync", gateways.gateway_sync, name="gateway_sync"),
    path("tags/", tags.tags, name="tags"),
    path("tags/<uuid:tag_id>/edit", tags.tag_edit, name="tag_edit"),
    path("tags/<uuid:tag_id>/delete", tags.tag_delete, name="tag_delete"),
    path("activity/", activity.activity_timeline, name="activity"),
]
