"""What the user API's views share beyond ``missioncontrol.api``: finding a board's objects,
and the few routes an agent's token may read as well."""

from __future__ import annotations

from typing import Any, ClassVar

from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from agents import access
from agents.authentication import AgentTokenAuthentication
from agents.models import Agent, Approval, Board, Task
from agents.refusals import RuleViolation
from missioncontrol.api.views import IsPerson, PersonView
from missioncontrol.lookups import get_or_404


def object_on_board[M: (Task, Approval)](model: type[M], board: Board, object_id: Any) -> M:
    """A task or an approval of ``board``; anything else is 404."""
    obj = get_or_404(model._default_manager.filter(board=board), object_id)
    obj.board = board  # already loaded and checked; saves a query per use
    return obj


# The description of each operation an agent's token may read.
AGENT_READ_NOTE = ("People and agents: an agent's token (X-Agent-Token or Authorization: Bearer) reads this "
                   "route too, within the agent's reach (a board agent its own board, the main agent the boards "
                   "of its organization; elsewhere 403 `board_out_of_reach`).")


class PersonOrReadingAgent(BasePermission):
    """People as on every user route; an agent only for the view's ``agent_methods`` (reads).
    An agent trying anything else here is told where its own routes are."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if isinstance(request.user, Agent):
            if request.method in view.agent_methods:
                return True
            raise RuleViolation(403, "people_only",
                                "An agent's token only reads this route; changes go through the agent API "
                                "under /api/v1/agent/.")
        return IsPerson().has_permission(request, view)


class AgentReadableView(PersonView):
    """A user API route whose reads an agent's token opens too, limited to the agent's reach:
    its own board for a board agent, the boards of its organization for the main agent.

    The people's authentication classes come first (their 401 challenge is the route's),
    then the one agent class; the OpenAPI document lists the agent schemes on
    ``agent_methods`` only."""

    permission_classes = [PersonOrReadingAgent]
    agent_methods: ClassVar[tuple[str, ...]] = ("GET", "HEAD", "OPTIONS")

    def get_authenticators(self) -> list[BaseAuthentication]:
        return [*super().get_authenticators(), AgentTokenAuthentication()]


def board_for_caller(caller: Any, board_id: Any) -> Board:
    """The board as a person (404 outside their organizations) or an agent (404 unknown,
    403 ``board_out_of_reach``) may see it."""
    if isinstance(caller, Agent):
        return access.get_board_for_agent(caller, board_id)
    return access.get_board_for(caller, board_id)
