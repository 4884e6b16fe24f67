"""Other apps hear of roster changes that concern them, inside the change's transaction.

``agents`` imports no other app, so an app that cares registers a listener at start-up
(in its ``AppConfig.ready``). Listeners run in the transaction of the change, after the
board's row lock is taken, so what they write or enqueue commits or rolls back with it.
"""

from __future__ import annotations

from collections.abc import Callable

from agents.models import Board

LeadListener = Callable[[Board], None]

_lead_appointed: list[LeadListener] = []


def on_lead_appointed(listener: LeadListener) -> None:
    """Call ``listener(board)`` whenever a board gets a lead (a new lead, or an agent made lead)."""
    if listener not in _lead_appointed:
        _lead_appointed.append(listener)


def lead_appointed(board: Board) -> None:
    for listener in _lead_appointed:
        listener(board)
