"""Requests as authenticated views see them: who ``request.user`` is, for the type checker.

The permission class of each interface guarantees it at run time (``IsPerson`` on the
user API, ``PersonOrReadingAgent`` on its few routes agents may read, ``IsAgent`` on the
agent API, ``login_required`` in the console); these
classes only tell mypy, and are never instantiated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest
from rest_framework.request import Request

from agents.models import Agent, User

if TYPE_CHECKING:
    from django_htmx.middleware import HtmxDetails

    class PersonRequest(Request):
        """A user API request: a signed-in person (or a REST client acting for one)."""

        @property
        def user(self) -> User: ...
        @user.setter
        def user(self, value: User) -> None: ...

    class AgentRequest(Request):
        """An agent API request: the agent whose token authenticated it."""

        # An agent is not a Django user; DRF keeps whatever the authentication class returned.
        @property  # type: ignore[override]
        def user(self) -> Agent: ...
        @user.setter
        def user(self, value: Agent) -> None: ...

    class PersonOrAgentRequest(Request):
        """A user API route that agents may read too: a person, or an agent within its reach."""

        @property  # type: ignore[override]  # as on AgentRequest: DRF keeps what authentication returned
        def user(self) -> User | Agent: ...
        @user.setter
        def user(self, value: User | Agent) -> None: ...

    class ConsoleRequest(HttpRequest):
        """A console page behind ``login_required``."""

        user: User
        htmx: HtmxDetails
else:
    PersonRequest = AgentRequest = PersonOrAgentRequest = Request
    ConsoleRequest = HttpRequest
