"""The heartbeat paths of older agent workspaces, mounted at ``/api/v1/`` before the user API.

They take these two exact paths, for POST, and nothing else of the user API's
``agents/...`` routes (``agents/<id>`` and ``agents/<id>/token`` stay people's).
"""

from __future__ import annotations

from django.urls import path

from agents.agent_api import legacy

app_name = "agent_api_legacy"

urlpatterns = [
    path("agents/heartbeat", legacy.LegacyHeartbeatView.as_view(), name="heartbeat"),
    path("agents/<uuid:agent_id>/heartbeat", legacy.LegacyAgentHeartbeatView.as_view(), name="agent-heartbeat"),
]
