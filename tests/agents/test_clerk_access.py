"""A Clerk account reaches nothing until an operator grants it a role (``grant_role``)."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from agents.authentication import ClerkJWTAuthentication, SessionAuthentication
from agents.models import Approval, Task
from missioncontrol.api.views import PersonView
from tests.agents.api_helpers import assert_refused, pending_approval
from tests.agents.clerk_keys import session_token
from tests.conftest import make_task

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_keys", "clerk")]


@pytest.fixture(autouse=True)
def clerk_views(monkeypatch):
    """The user API as a clerk-mode server builds it (the classes are chosen when settings load)."""
    monkeypatch.setattr(PersonView, "authentication_classes", [ClerkJWTAuthentication, SessionAuthentication])


@pytest.fixture
def stranger(request) -> APIClient:
    """A Clerk account signing in for the first time."""
    key = request.getfixturevalue("keys")["current"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {session_token(key, sub='user_stranger')}")
    return client


def test_a_first_clerk_sign_in_sees_itself_and_no_organization(stranger, org, board):
    client = stranger

    me = client.get("/api/v1/users/me")
    boards = client.get("/api/v1/boards")

    assert me.status_code == 200
    assert me.json()["organizations"] == []
    assert boards.status_code == 200 and boards.json()["items"] == []


def test_a_clerk_user_without_a_role_cannot_touch_a_board(stranger, org, board):
    task = make_task(board)
    approval = pending_approval(board, task)
    client = stranger

    assert_refused(client.get(f"/api/v1/boards/{board.pk}"), 404)
    assert_refused(client.post(f"/api/v1/boards/{board.pk}/tasks", {"title": "Mine"}, format="json"), 404)
    assert_refused(client.patch(f"/api/v1/boards/{board.pk}/approvals/{approval.pk}", {"status": "approved"},
                                format="json"), 404)
    assert Approval.objects.get(pk=approval.pk).status == "pending"
    assert Task.objects.filter(board=board).count() == 1


def test_a_granted_clerk_user_works_on_the_boards(stranger, org, board):
    client = stranger
    client.get("/api/v1/users/me")  # the first sign-in creates the user

    call_command("grant_role", "user_stranger", "--role", "member", stdout=open("/dev/null", "w"))

    assert client.get("/api/v1/users/me").json()["organizations"][0]["role"] == "member"
    assert client.post(f"/api/v1/boards/{board.pk}/tasks", {"title": "Mine"}, format="json").status_code == 201
