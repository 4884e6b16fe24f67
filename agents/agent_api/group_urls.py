"""The board-group routes agents call from their board, mounted at ``/api/v1/`` before the
user API: the paths the earlier server's workspace files name."""

from __future__ import annotations

from django.urls import path

from agents.agent_api import groups

app_name = "agent_api_groups"

urlpatterns = [
    path("boards/<uuid:board_id>/group-memory", groups.BoardGroupMemoryView.as_view(), name="group-memory"),
    path("boards/<uuid:board_id>/group-snapshot", groups.BoardGroupSnapshotView.as_view(), name="group-snapshot"),
]
