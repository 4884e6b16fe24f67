"""What agents were told (the outbox), and making the call each message says to answer with,
as its recipient, in a savepoint that is rolled back."""

from __future__ import annotations

import json
import re
from typing import Any

from django.conf import settings
from django.db import transaction

from agents.models import AgentMessage

GROUP_ROUTE = re.compile(r"^/api/v1/boards/[0-9a-f-]{36}/group-(memory|snapshot)$")
ANSWER = re.compile(r"^Answer with: (GET|POST|PATCH|PUT|DELETE) (\S+)(?: (\{.*\}))?$")


def told(since: int = 0) -> dict[str, list[AgentMessage]]:
    """The messages written after message id ``since``, by recipient name."""
    found: dict[str, list[AgentMessage]] = {}
    for message in AgentMessage.objects.filter(id__gt=since).select_related("agent").order_by("id"):
        found.setdefault(message.agent.name, []).append(message)
    return found


def last_id() -> int:
    return AgentMessage.objects.order_by("-id").values_list("id", flat=True).first() or 0


def kinds(since: int = 0) -> dict[str, list[str]]:
    return {name: [m.kind for m in messages] for name, messages in told(since).items()}


def fill(value: Any, ids: dict[str, str]) -> Any:
    """A recipient's values for the placeholders: ids it knows, else a sentence of its own."""
    if isinstance(value, dict):
        return {key: fill(item, ids) for key, item in value.items()}
    if isinstance(value, str) and value.startswith("<") and value.endswith(">"):
        return ids.get(value, "Done as asked.")
    return value


def answer_of(message: AgentMessage, ids: dict[str, str]) -> tuple[str, str, dict[str, Any] | None]:
    last = message.text.splitlines()[-1]
    match = ANSWER.match(last)
    assert match, f"{message.kind}: the last line is not an answer call: {last!r}"
    method, url, body = match.groups()
    base = settings.BASE_URL.rstrip("/")
    # Group messages are answered on the group routes the earlier server's workspace files name.
    assert url.startswith(base + "/api/v1/agent/") or GROUP_ROUTE.match(url[len(base):]), url
    return method, url[len(base):], fill(json.loads(body), ids) if body else None


def run_answer(as_agent, message: AgentMessage, ids: dict[str, str]) -> int:
    """Makes the message's answer call as its recipient; the board is left as it was."""
    method, path, body = answer_of(message, ids)
    client = as_agent(message.agent)
    with transaction.atomic():
        response = getattr(client, method.lower())(path, body, format="json") if body is not None \
            else getattr(client, method.lower())(path)
        transaction.set_rollback(True)
    assert response.status_code < 300, (message.kind, method, path, body, response.content)
    return response.status_code


def answer_all(as_agent, since: int, ids: dict[str, str]) -> list[str]:
    done = []
    for messages in told(since).values():
        for message in messages:
            run_answer(as_agent, message, ids)
            done.append(message.kind)
    return done
