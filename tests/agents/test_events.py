"""Who is told what when a board changes, and every call a message says to answer with
works when the recipient makes it with its own token.

Changes are made through the HTTP APIs (a person's session, agents' tokens); what the
agents are told is read from the outbox. Each answer call runs in a savepoint that is
rolled back, so each is tried against the board as the message found it.
"""

from __future__ import annotations

import pytest

from agents.gateway import events
from agents.models import Agent, Task
from tests.agents.answers import answer_all, kinds, last_id, run_answer, told
from tests.agents.api_helpers import pending_approval
from tests.conftest import make_agent, make_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def lifted_rate_limits() -> tuple[str, ...]:
    return ("agent_auth", "agent_requests")


@pytest.fixture
def bob(board) -> Agent:
    return make_agent("Bob", board=board)


@pytest.fixture
def person(client_for, owner):
    return client_for(owner)


def test_a_new_task_for_a_worker_tells_the_lead_and_the_worker_and_their_answers_work(
        person, board, lead, worker, as_agent):
    response = person.post(f"/api/v1/boards/{board.pk}/tasks",
                           {"title": "Ship the docs", "description": "Write them.",
                            "assigned_agent_id": str(worker.pk)}, format="json")
    assert response.status_code == 201, response.content
    assert kinds() == {"Lead": ["task_created"], "Worker": ["task_assigned"]}
    [assigned] = told()["Worker"]
    assert "Ship the docs" in assigned.text and str(board.pk) in assigned.text and "Write them." in assigned.text
    assert sorted(answer_all(as_agent, 0, {})) == ["task_assigned", "task_created"]
    # An unassigned task asks the lead to plan it, with the worker ids to choose from.
    since = last_id()
    assert person.post(f"/api/v1/boards/{board.pk}/tasks", {"title": "Unplanned"}, format="json").status_code == 201
    assert kinds(since) == {"Lead": ["task_created"]}
    assert answer_all(as_agent, since, {"<worker id>": str(worker.pk)}) == ["task_created"]


def test_review_goes_to_the_lead_and_changes_requested_back_to_the_worker(board, lead, worker, as_agent):
    task = make_task(board, "Fix the login", assigned_agent=worker, status=Task.Status.IN_PROGRESS)
    since = last_id()
    response = as_agent(worker).patch(f"/api/v1/agent/boards/{board.pk}/tasks/{task.pk}",
                                      {"status": "review", "comment": "Fixed, tests pass."}, format="json")
    assert response.status_code == 200, response.content
    # The worker is not told about its own move, nor its own comment.
    assert kinds(since) == {"Lead": ["review_requested"]}
    assert answer_all(as_agent, since, {}) == ["review_requested"]

    since = last_id()
    response = as_agent(lead).patch(f"/api/v1/agent/boards/{board.pk}/tasks/{task.pk}",
                                    {"status": "inbox", "comment": "The error message is still raw."}, format="json")
    assert response.status_code == 200, response.content
    assert kinds(since) == {"Worker": ["changes_requested"]}
    [changes] = told(since)["Worker"]
    assert "The error message is still raw." in changes.text
    assert answer_all(as_agent, since, {}) == ["changes_requested"]


def test_on_a_board_that_asks_for_approval_the_review_message_asks_for_the_done_approval(
        board, lead, worker, as_agent):
    board.require_approval_for_done = True
    board.save()
    task = make_task(board, "Release", assigned_agent=worker, status=Task.Status.IN_PROGRESS)
    since = last_id()
    assert as_agent(worker).patch(f"/api/v1/agent/boards/{board.pk}/tasks/{task.pk}", {"status": "review"},
                                  format="json").status_code == 200
    [review] = told(since)["Lead"]
    assert f'"action_type": "{events.DONE_ACTION}"' in review.text
    assert run_answer(as_agent, review, {}) == 201


def test_a_task_back_in_the_inbox_unassigned_goes_to_the_lead(person, board, lead, worker, as_agent):
    task = make_task(board, "Triage", assigned_agent=worker, status=Task.Status.IN_PROGRESS)
    since = last_id()
    response = person.patch(f"/api/v1/boards/{board.pk}/tasks/{task.pk}",
                            {"status": "inbox", "assigned_agent_id": None}, format="json")
    assert response.status_code == 200, response.content
    assert kinds(since) == {"Lead": ["back_in_inbox"]}
    assert answer_all(as_agent, since, {"<worker id>": str(worker.pk)}) == ["back_in_inbox"]


def test_a_comment_reaches_the_assignee_and_the_agents_it_mentions_never_its_author(
        person, board, lead, worker, bob, as_agent):
    task = make_task(board, "Review copy", assigned_agent=worker, status=Task.Status.IN_PROGRESS)
    since = last_id()
    response = person.post(f"/api/v1/boards/{board.pk}/tasks/{task.pk}/comments",
                           {"message": "@Bob can you help? @lead please check."}, format="json")
    assert response.status_code == 201, response.content
    assert kinds(since) == {"Bob": ["mention"], "Lead": ["mention"], "Worker": ["comment"]}
    assert sorted(answer_all(as_agent, since, {})) == ["comment", "mention", "mention"]

    since = last_id()
    response = as_agent(worker).post(f"/api/v1/agent/boards/{board.pk}/tasks/{task.pk}/comments",
                                     {"message": "On it. @Bob thanks."}, format="json")
    assert response.status_code == 201, response.content
    assert kinds(since) == {"Bob": ["mention"]}


def test_pause_and_resume_in_board_chat_reach_every_agent_of_the_board(person, board, lead, worker, bob, as_agent):
    for command, kind in (("/pause", "board_paused"), ("/resume", "board_resumed")):
        since = last_id()
        response = person.post(f"/api/v1/boards/{board.pk}/memory", {"content": command, "tags": ["chat"]},
                               format="json")
        assert response.status_code == 201, response.content
        assert kinds(since) == {"Bob": [kind], "Lead": [kind], "Worker": [kind]}
        assert len(answer_all(as_agent, since, {})) == 3


def test_a_persons_chat_goes_to_the_lead_and_to_whoever_it_mentions(person, board, lead, worker, as_agent):
    response = person.post(f"/api/v1/boards/{board.pk}/memory",
                           {"content": "Morning! @Worker how is the login fix?", "tags": ["chat"]}, format="json")
    assert response.status_code == 201, response.content
    assert kinds() == {"Lead": ["chat"], "Worker": ["chat_mention"]}
    assert len(answer_all(as_agent, 0, {})) == 2
    # A note that is not chat tells nobody.
    since = last_id()
    person.post(f"/api/v1/boards/{board.pk}/memory", {"content": "Decision: ship Friday. @Worker"},
                format="json")
    assert kinds(since) == {}


def test_a_resolved_approval_goes_to_the_lead(person, board, lead, worker, as_agent):
    task = make_task(board, "Deploy", assigned_agent=worker, status=Task.Status.REVIEW)
    approval = pending_approval(board, task)
    since = last_id()
    response = person.patch(f"/api/v1/boards/{board.pk}/approvals/{approval.pk}", {"status": "approved"},
                            format="json")
    assert response.status_code == 200, response.content
    assert kinds(since) == {"Lead": ["approval_resolved"]}
    [resolved] = told(since)["Lead"]
    assert "APPROVAL APPROVED" in resolved.text and str(task.pk) in resolved.text
    assert answer_all(as_agent, since, {}) == ["approval_resolved"]


def test_changed_board_rules_go_to_the_lead(person, board, lead, worker, as_agent):
    response = person.patch(f"/api/v1/boards/{board.pk}", {"objective": "Ship v2 by March."}, format="json")
    assert response.status_code == 200, response.content
    assert kinds() == {"Lead": ["board_changed"]}
    [changed] = told()["Lead"]
    assert "objective" in changed.text
    assert answer_all(as_agent, 0, {}) == ["board_changed"]


def test_the_lead_is_not_told_of_its_own_task_and_agents_off_a_gateway_are_never_queued(
        board, lead, worker, as_agent, org):
    response = as_agent(lead).post(f"/api/v1/agent/boards/{board.pk}/tasks",
                                   {"title": "Plan the week", "assigned_agent_id": str(worker.pk)}, format="json")
    assert response.status_code == 201, response.content
    assert kinds() == {"Worker": ["task_assigned"]}
    worker.gateway = None
    worker.save()
    since = last_id()
    response = as_agent(lead).post(f"/api/v1/agent/boards/{board.pk}/tasks",
                                   {"title": "Another", "assigned_agent_id": str(worker.pk)}, format="json")
    assert response.status_code == 201, response.content
    assert kinds(since) == {}


def test_group_chat_tells_each_boards_lead_and_the_agents_it_mentions_and_their_answers_work(
        person, org, board, lead, worker, gateway, as_agent):
    from agents.models import BoardGroup
    from tests.conftest import make_board

    group = BoardGroup.objects.create(organization=org, name="Web", slug="web")
    board.group = group
    board.save()
    sibling = make_board(org, "Docs", gateway=gateway, group=group)
    make_agent("Docs lead", board=sibling, lead=True)
    make_agent("Writer", board=sibling)

    since = last_id()
    response = person.post(f"/api/v1/board-groups/{group.pk}/memory",
                           {"content": "@Writer please align the docs with v2", "tags": ["chat"]}, format="json")
    assert response.status_code == 201, response.content
    assert kinds(since) == {"Docs lead": ["group_chat"], "Lead": ["group_chat"], "Writer": ["group_chat_mention"]}
    [mention] = told(since)["Writer"]
    assert "align the docs" in mention.text and str(group.pk) in mention.text and str(sibling.pk) in mention.text
    assert sorted(answer_all(as_agent, since, {})) == ["group_chat", "group_chat", "group_chat_mention"]

    # An agent's broadcast reaches every agent of the group but itself; a note tells nobody.
    since = last_id()
    response = as_agent(worker).post(f"/api/v1/boards/{board.pk}/group-memory",
                                     {"content": "Freeze at five", "tags": ["chat", "broadcast"]}, format="json")
    assert response.status_code == 201, response.content
    assert {name: kinds_ for name, kinds_ in kinds(since).items()} == {
        "Docs lead": ["group_broadcast"], "Lead": ["group_broadcast"], "Writer": ["group_broadcast"]}
    since = last_id()
    assert person.post(f"/api/v1/board-groups/{group.pk}/memory", {"content": "A note"},
                       format="json").status_code == 201
    assert kinds(since) == {}


def test_a_board_joining_or_leaving_a_group_tells_the_leads_of_the_group_and_their_answers_work(
        person, org, board, lead, gateway, as_agent):
    from agents.models import BoardGroup
    from tests.conftest import make_board

    group = BoardGroup.objects.create(organization=org, name="Web", slug="web")
    sibling = make_board(org, "Docs", gateway=gateway, group=group)
    make_agent("Docs lead", board=sibling, lead=True)
    make_agent("Writer", board=sibling)

    since = last_id()
    response = person.patch(f"/api/v1/boards/{board.pk}", {"board_group_id": str(group.pk)}, format="json")
    assert response.status_code == 200, response.content
    # One message each: the move is not told again as a change of the board's fields.
    assert kinds(since) == {"Docs lead": ["group_changed"], "Lead": ["group_changed"]}
    [notice] = told(since)["Docs lead"]
    assert "Launch" in notice.text and "joined the group Web" in notice.text
    assert answer_all(as_agent, since, {}) == ["group_changed", "group_changed"]

    since = last_id()
    assert person.patch(f"/api/v1/boards/{board.pk}", {"board_group_id": None}, format="json").status_code == 200
    assert kinds(since) == {"Docs lead": ["group_changed"], "Lead": ["group_changed"]}
    assert "YOUR BOARD LEFT THE GROUP Web" in told(since)["Lead"][0].text
    assert answer_all(as_agent, since, {}) == ["group_changed", "group_changed"]


def test_deleting_a_group_tells_the_lead_of_each_of_its_boards(person, org, board, lead, gateway, as_agent):
    from agents.models import BoardGroup
    from tests.conftest import make_board

    group = BoardGroup.objects.create(organization=org, name="Web", slug="web")
    board.group = group
    board.save()
    sibling = make_board(org, "Docs", gateway=gateway, group=group)
    make_agent("Docs lead", board=sibling, lead=True)

    since = last_id()
    assert person.delete(f"/api/v1/board-groups/{group.pk}").status_code == 204
    assert kinds(since) == {"Docs lead": ["group_changed"], "Lead": ["group_changed"]}
    assert "BOARD GROUP DELETED: Web" in told(since)["Lead"][0].text
    assert answer_all(as_agent, since, {}) == ["group_changed", "group_changed"]


def test_a_changed_goal_goes_to_the_lead(person, board, lead, worker, as_agent):
    response = person.patch(f"/api/v1/boards/{board.pk}", {"success_metrics": {"signups": 100},
                                                           "target_date": "2027-03-31"}, format="json")
    assert response.status_code == 200, response.content
    assert kinds() == {"Lead": ["board_changed"]}
    [changed] = told()["Lead"]
    assert "success_metrics, target_date" in changed.text
