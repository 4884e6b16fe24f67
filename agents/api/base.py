"""What the user API's views share beyond ``missioncontrol.api``: finding a board's objects."""

from __future__ import annotations

from typing import Any

from agents.models import Approval, Board, Task
from missioncontrol.lookups import get_or_404


def object_on_board[M: (Task, Approval)](model: type[M], board: Board, object_id: Any) -> M:
    """A task or an approval of ``board``; anything else is 404."""
    obj = get_or_404(model._default_manager.filter(board=board), object_id)
    obj.board = board  # already loaded and checked; saves a query per use
    return obj
