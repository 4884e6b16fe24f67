"""Signals ops sends so other apps can react without ops importing them."""

from __future__ import annotations

from django.dispatch import Signal

# Sent after an operator operation (backup, restore, upgrade) with the keyword
# arguments ``event_type``, ``message`` and ``data``; the agents app records it as activity.
operation_recorded = Signal()
