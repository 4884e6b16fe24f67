"""The names the console's text boxes offer after "@" (``data-mention-names``)."""

from __future__ import annotations

import html
import json
import re

import pytest
from django.urls import reverse

from agents.models import Agent
from agents.templatetags.console import mention_names
from tests.conftest import make_agent, make_task

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("console_static")]


def offered(page: str) -> list[list[str]]:
    return [json.loads(html.unescape(value)) for value in re.findall(r'data-mention-names="([^"]*)"', page)]


def test_the_names_are_the_agents_then_lead_and_in_chat_all(board, lead, worker):
    make_agent("ada", board=board)
    assert json.loads(mention_names([worker, lead, board.agents.get(name="ada")])) == ["ada", "Lead", "Worker"]
    helper, captain = Agent(name="Helper"), Agent(name="Captain", is_board_lead=True)
    assert json.loads(mention_names([helper, captain])) == ["Captain", "Helper", "lead"]
    assert json.loads(mention_names([helper], True)) == ["Helper", "all"]
    assert json.loads(mention_names([])) == []


def test_a_name_with_quotes_stays_inside_its_attribute(client, owner, board):
    make_agent('Bob "the builder" <b>', board=board)
    task = make_task(board, "Build")
    client.force_login(owner)
    page = client.get(reverse("console:task", args=[board.pk, task.pk])).content.decode()
    assert offered(page) == [['Bob "the builder" <b>']] * 2  # the comment and the change forms
    assert "<b>" not in page.split("data-mention-names=")[1].split(">")[0]


def test_board_chat_and_group_chat_offer_their_agents(client, owner, board, lead, worker):
    from agents.models import BoardGroup

    group = BoardGroup.objects.create(organization=board.organization, name="Web", slug="web")
    board.group = group
    board.save()
    client.force_login(owner)
    assert offered(client.get(reverse("console:board_memory", args=[board.pk])).content.decode()) == [
        ["Lead", "Worker"]]
    assert offered(client.get(reverse("console:group", args=[group.pk])).content.decode()) == [
        ["Lead", "Worker", "all"]]
