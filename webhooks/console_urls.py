"""Console routes of webhooks (mounted at the site root, beside the board pages)."""

from __future__ import annotations

from django.urls import path

from webhooks import console

app_name = "webhooks_console"

urlpatterns = [
    path("boards/<uuid:board_id>/webhooks/", console.webhooks, name="webhooks"),
    path("boards/<uuid:board_id>/webhooks/<uuid:webhook_id>/", console.webhook_detail, name="webhook"),
    path("boards/<uuid:board_id>/webhooks/<uuid:webhook_id>/edit", console.webhook_edit, name="edit"),
    path("boards/<uuid:board_id>/webhooks/<uuid:webhook_id>/delete", console.webhook_delete, name="delete"),
    path("boards/<uuid:board_id>/webhooks/<uuid:webhook_id>/toggle", console.webhook_toggle, name="toggle"),
    path("boards/<uuid:board_id>/webhooks/<uuid:webhook_id>/secret", console.webhook_new_secret, name="secret"),
    path("boards/<uuid:board_id>/webhooks/<uuid:webhook_id>/payloads/<uuid:payload_id>/replay",
         console.payload_replay, name="replay"),
]
