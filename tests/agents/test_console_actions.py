"""Console actions go through the same rules as the API, and refuse with the same sentences."""

from __future__ import annotations

import re

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils.html import escape

from agents import rules, tokens
from agents.models import ActivityEvent, Agent, Approval, Board, Task, TaskComment
from tests.conftest import make_task

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("console_static")]


def flash(response) -> list[str]:
    """The message this request added (earlier, unread ones are still queued in the session)."""
    return [str(message) for message in get_messages(response.wsgi_request)][-1:]


def test_moving_a_task_to_done_without_approval_shows_the_apis_refusal(client, client_for, owner, board):
    task = make_task(board, "Ship it", status="in_progress")
    api = client_for(owner).patch(f"/api/v1/boards/{board.pk}/tasks/{task.pk}", {"status": "done"}, format="json")
    assert api.status_code == 409
    assert api.json()["detail"]["code"] == "approval_required_for_done"

    client.force_login(owner)
    response = client.post(reverse("console:task_move", args=[board.pk, task.pk]), {"status": "done"})
    assert response.status_code == 302
    assert flash(response) == [api.json()["detail"]["message"]]
    task.refresh_from_db()
    assert task.status == "in_progress"


def test_a_task_moves_to_done_once_its_approval_is_approved(client, owner, board, worker):
    task = make_task(board, "Ship it", status="in_progress", assigned_agent=worker)
    approval = rules.request_approval(worker, board, {"action_type": "mark_done", "task_id": str(task.pk),
                                                      "lead_reasoning": "Finished.", "confidence": 95})
    client.force_login(owner)
    response = client.post(reverse("console:approval_resolve", args=[approval.pk]), {"status": "approved"})
    assert response.status_code == 302
    approval.refresh_from_db()
    assert approval.status == "approved" and approval.resolved_by == owner

    client.post(reverse("console:task_move", args=[board.pk, task.pk]), {"status": "done"})
    task.refresh_from_db()
    assert task.status == "done"
    assert ActivityEvent.objects.filter(event_type="task.status_changed", task_id=task.pk,
                                        actor_user_id=owner.pk).exists()


def test_a_member_creates_and_moves_tasks(client, member, board):
    task = make_task(board, "Theirs")
    client.force_login(member)
    response = client.post(reverse("console:task_create", args=[board.pk]), {"title": "Mine", "priority": "low"})
    assert response.status_code == 302
    assert Task.objects.filter(title="Mine", created_by_user=member).exists()

    client.post(reverse("console:task_move", args=[board.pk, task.pk]), {"status": "in_progress"})
    task.refresh_from_db()
    assert task.status == "in_progress"


def test_a_member_changes_a_task_and_its_tags_from_the_task_page(client, member, org, board, worker):
    from agents.models import Tag

    task = make_task(board, "Draft")
    tag = Tag.objects.create(organization=org, name="Docs", slug="docs")
    client.force_login(member)
    client.post(reverse("console:task_edit", args=[board.pk, task.pk]), {
        "title": "Draft the post", "description": "", "status": "in_progress", "priority": "high",
        "assigned_agent": str(worker.pk), "comment": "Starting now."})
    client.post(reverse("console:task_relations", args=[board.pk, task.pk]), {"tags": [str(tag.pk)]})
    task.refresh_from_db()
    assert (task.title, task.status, task.priority, task.assigned_agent) == (
        "Draft the post", "in_progress", "high", worker)
    assert list(task.tags.all()) == [tag]
    assert ActivityEvent.objects.filter(event_type="task.updated", task_id=task.pk, actor_user_id=member.pk).exists()


def test_a_member_asks_for_approval_and_another_member_resolves_it_in_the_queue(client, member, org, board):
    from tests.conftest import make_user

    task = make_task(board, "Publish", status="in_progress")
    client.force_login(member)
    client.post(reverse("console:task_approval", args=[board.pk, task.pk]),
                {"action_type": "mark_done", "reasoning": "Proofread twice.", "confidence": 90})
    approval = Approval.objects.get(board=board)
    assert approval.requested_by_user == member and approval.status == "pending"

    colleague = make_user("colleague", org, "member")
    client.force_login(colleague)
    queue = client.get(reverse("console:approvals")).content.decode()
    assert "Proofread twice." in queue and ">Approve</button>" in queue
    response = client.post(reverse("console:approval_resolve", args=[approval.pk]),
                           {"status": "rejected", "back": "/approvals/"})
    assert response.status_code == 302 and response["Location"] == "/approvals/"
    approval.refresh_from_db()
    assert approval.status == "rejected" and approval.resolved_by == colleague


def test_a_member_may_comment_on_a_task(client, member, board):
    task = make_task(board, "Discuss")
    client.force_login(member)
    response = client.post(reverse("console:task_comment", args=[board.pk, task.pk]), {"message": "Looks good"})
    assert response.status_code == 302
    comment = TaskComment.objects.get(task=task)
    assert comment.message == "Looks good" and comment.author_user == member


def test_a_member_resolves_an_approval(client, member, board, worker):
    task = make_task(board, "Ship it", assigned_agent=worker)
    approval = rules.request_approval(worker, board, {"action_type": "mark_done", "task_id": str(task.pk),
                                                      "lead_reasoning": "Done.", "confidence": 50})
    client.force_login(member)
    client.post(reverse("console:approval_resolve", args=[approval.pk]), {"status": "approved"})
    approval.refresh_from_db()
    assert approval.status == "approved" and approval.resolved_by == member


def test_resolving_an_approval_twice_says_it_is_already_resolved(client, owner, board, worker):
    task = make_task(board, "Ship it", assigned_agent=worker)
    approval = rules.request_approval(worker, board, {"action_type": "mark_done", "task_id": str(task.pk),
                                                      "lead_reasoning": "Done.", "confidence": 50})
    client.force_login(owner)
    client.post(reverse("console:approval_resolve", args=[approval.pk]), {"status": "rejected"})
    response = client.post(reverse("console:approval_resolve", args=[approval.pk]), {"status": "approved"})
    assert flash(response) == ["This approval is already rejected."]


def test_an_outsider_cannot_resolve_an_approval_of_another_organization(client, outsider, board, worker):
    task = make_task(board, "Ship it", assigned_agent=worker)
    approval = rules.request_approval(worker, board, {"action_type": "mark_done", "task_id": str(task.pk),
                                                      "lead_reasoning": "Done.", "confidence": 50})
    client.force_login(outsider)
    response = client.post(reverse("console:approval_resolve", args=[approval.pk]), {"status": "approved"})
    assert response.status_code == 404
    approval.refresh_from_db()
    assert approval.status == "pending"


def test_the_approvals_queue_shows_the_task_and_the_agents_reasoning(client, owner, board, worker):
    task = make_task(board, "Publish the post", description="Final copy in the doc.", assigned_agent=worker)
    rules.request_approval(worker, board, {"action_type": "mark_done", "task_id": str(task.pk),
                                           "lead_reasoning": "Proofread twice; links checked.", "confidence": 87})
    client.force_login(owner)
    html = client.get(reverse("console:approvals")).content.decode()
    assert "Publish the post" in html and "Proofread twice; links checked." in html
    assert "87%" in html and "w-90" in html and ">Approve</button>" in html and ">Reject</button>" in html


def test_an_admin_creates_a_task_from_the_board(client, owner, board, worker):
    client.force_login(owner)
    response = client.post(reverse("console:task_create", args=[board.pk]),
                           {"title": "Write changelog", "priority": "high", "assigned_agent": str(worker.pk)})
    assert response.status_code == 302
    task = Task.objects.get(title="Write changelog")
    assert task.priority == "high" and task.assigned_agent == worker and task.created_by_user == owner


def test_a_blocked_task_cannot_start_and_the_console_says_so(client, owner, board):
    first = make_task(board, "First")
    second = make_task(board, "Second")
    rules.update_task(owner, second, {"depends_on_task_ids": [str(first.pk)]})
    client.force_login(owner)
    response = client.post(reverse("console:task_move", args=[board.pk, second.pk]), {"status": "in_progress"})
    with pytest.raises(Exception) as refusal:
        rules.update_task(owner, second, {"status": "in_progress"})
    assert flash(response) == [refusal.value.message]
    second.refresh_from_db()
    assert second.status == "inbox"


def test_review_needs_a_comment_when_the_board_says_so_and_the_move_form_carries_one(client, owner, board):
    board.comment_required_for_review = True
    board.save()
    task = make_task(board, "Needs words", status="in_progress")
    client.force_login(owner)
    refused = client.post(reverse("console:task_move", args=[board.pk, task.pk]), {"status": "review"})
    assert "comment" in flash(refused)[0].lower()
    client.post(reverse("console:task_edit", args=[board.pk, task.pk]),
                {"title": task.title, "description": "", "status": "review", "priority": task.priority,
                 "assigned_agent": "", "comment": "All done."})
    task.refresh_from_db()
    assert task.status == "review"
    assert TaskComment.objects.filter(task=task, message="All done.").exists()


def test_an_admin_asks_for_approval_from_the_task_page(client, owner, board):
    task = make_task(board, "Ship it")
    client.force_login(owner)
    client.post(reverse("console:task_approval", args=[board.pk, task.pk]),
                {"action_type": "mark_done", "reasoning": "Ready.", "confidence": 80})
    approval = Approval.objects.get(board=board)
    assert approval.requested_by_user == owner and list(approval.tasks.all()) == [task]
    again = client.post(reverse("console:task_approval", args=[board.pk, task.pk]),
                        {"action_type": "mark_done", "reasoning": "Again.", "confidence": 80})
    assert again.status_code == 422
    html = again.content.decode()
    assert "A task may have only one pending approval." in html
    assert "Again.</textarea>" in html


def test_an_admin_creates_a_board_with_its_rules(client, owner, org):
    client.force_login(owner)
    response = client.post(reverse("console:board_create"), {
        "organization": str(org.pk), "name": "Docs sprint", "slug": "", "max_agents": 5,
        "require_review_before_done": "on", "only_lead_can_change_status": "on"})
    board = Board.objects.get(name="Docs sprint")
    assert response.status_code == 302 and response["Location"] == reverse("console:board", args=[board.pk])
    assert board.slug == "docs-sprint" and board.organization == org
    assert board.require_review_before_done and board.only_lead_can_change_status
    assert not board.require_approval_for_done
    assert ActivityEvent.objects.filter(event_type="board.created", board_id=board.pk).exists()


def test_the_board_form_explains_each_rule_in_plain_words(client, owner, board):
    client.force_login(owner)
    html = client.get(reverse("console:board_edit", args=[board.pk])).content.decode()
    assert "A task must pass through Review before it can be marked done." in html
    assert "While a task waits for an approval decision, nobody can change its status." in html


def test_a_board_short_name_must_be_unique_in_its_organization(client, owner, org, board):
    client.force_login(owner)
    response = client.post(reverse("console:board_create"), {
        "organization": str(org.pk), "name": "Launch", "slug": board.slug, "max_agents": 5})
    assert response.status_code == 422
    assert b"already uses this short name" in response.content


def test_a_member_cannot_change_a_board(client, member, board):
    client.force_login(member)
    response = client.post(reverse("console:board_edit", args=[board.pk]), {"name": "Hijacked", "max_agents": 3})
    assert response.status_code == 403
    board.refresh_from_db()
    assert board.name == "Launch"


def test_creating_an_agent_shows_its_token_once_and_the_token_works(client, owner, board):
    client.force_login(owner)
    response = client.post(reverse("console:agents"), {"name": "Scout", "board": str(board.pk)})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    token = response.context["token"]
    assert token in response.content.decode() and 'data-copy="agent-token"' in response.content.decode()
    agent = Agent.objects.get(name="Scout")
    assert tokens.authenticate_token(token) == agent
    assert token not in client.get(reverse("console:agents")).content.decode()


def test_rotating_a_token_shows_the_new_one_and_the_old_one_stops_working(client, owner, worker):
    old = tokens.mint_token(worker)
    client.force_login(owner)
    response = client.post(reverse("console:agent_rotate", args=[worker.pk]))
    new = response.context["token"]
    assert new != old and new in response.content.decode()
    assert tokens.authenticate_token(old) is None
    assert tokens.authenticate_token(new) == worker


def test_a_member_cannot_create_agents_or_rotate_tokens(client, member, board, worker):
    old = tokens.mint_token(worker)
    client.force_login(member)
    assert client.post(reverse("console:agents"), {"name": "Sneaky", "board": str(board.pk)}).status_code == 403
    assert not Agent.objects.filter(name="Sneaky").exists()
    assert client.post(reverse("console:agent_rotate", args=[worker.pk])).status_code == 403
    assert tokens.authenticate_token(old) == worker


def test_a_member_sees_agents_without_the_new_agent_form_or_token_rotation(client, member, worker):
    client.force_login(member)
    html = client.get(reverse("console:agents")).content.decode()
    assert worker.name in html
    assert "Create agent" not in html and "Rotate token" not in html


def test_an_admin_of_one_organization_rotates_only_that_organizations_tokens(client, outsider, org, worker,
                                                                              foreign_agent):
    from agents.models import Membership

    Membership.objects.create(user=outsider, organization=org, role="member")
    client.force_login(outsider)
    html = client.get(reverse("console:agents")).content.decode()
    assert reverse("console:agent_rotate", args=[foreign_agent.pk]) in html
    assert worker.name in html and reverse("console:agent_rotate", args=[worker.pk]) not in html
    response = client.post(reverse("console:agent_rotate", args=[worker.pk]))
    assert response.status_code == 403 and b"Only an owner or admin" in response.content


def test_an_outsider_cannot_rotate_a_token_of_another_organization(client, outsider, worker):
    client.force_login(outsider)
    assert client.post(reverse("console:agent_rotate", args=[worker.pk])).status_code == 404


def test_a_second_lead_is_refused_with_the_apis_sentence(client, owner, board, lead):
    client.force_login(owner)
    response = client.post(reverse("console:agents"), {"name": "Another lead", "board": str(board.pk),
                                                        "is_board_lead": "on"})
    assert response.status_code == 422
    assert b"The board already has a lead." in response.content


def test_a_full_board_and_a_taken_name_are_refused_with_the_rules_sentences(client, owner, board, lead):
    client.force_login(owner)
    taken = client.post(reverse("console:agents"), {"name": lead.name.upper(), "board": str(board.pk)})
    assert taken.status_code == 422
    assert escape(f"The board already has an agent named {lead.name.upper()!r}.") in taken.content.decode()
    board.max_agents = 1
    board.save()
    full = client.post(reverse("console:agents"), {"name": "One too many", "board": str(board.pk)})
    assert full.status_code == 422
    assert b"The board already has 1 agents, its maximum of 1." in full.content
    assert list(Agent.objects.filter(board=board)) == [lead]
    assert not ActivityEvent.objects.filter(event_type="agent.created").exists()


def test_an_admin_deletes_a_task_and_its_history_stays(client, owner, board):
    task = make_task(board, "Obsolete")
    client.force_login(owner)
    response = client.post(reverse("console:task_delete", args=[board.pk, task.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("console:board", args=[board.pk])
    assert not Task.objects.filter(pk=task.pk).exists()
    assert ActivityEvent.objects.filter(event_type="task.deleted", task_id=task.pk).exists()


def test_a_member_deletes_a_task(client, member, board):
    task = make_task(board, "Remove me")
    client.force_login(member)
    client.post(reverse("console:task_delete", args=[board.pk, task.pk]))
    assert not Task.objects.filter(pk=task.pk).exists()


def test_a_member_writes_to_the_agents_in_board_memory(client, member, board):
    from agents.models import BoardMemory

    client.force_login(member)
    response = client.post(reverse("console:board_memory", args=[board.pk]),
                           {"content": "Please prioritise the docs.", "is_chat": "on"})
    assert response.status_code == 302
    note = BoardMemory.objects.get(board=board)
    assert note.is_chat and note.tags == ["chat"] and note.author_user == member and note.source == "console"
    html = client.get(reverse("console:board_memory", args=[board.pk])).content.decode()
    assert "Please prioritise the docs." in html


def test_a_long_note_opens_with_its_first_line_and_keeps_the_rest_one_click_away(client, owner, board):
    rules.create_memory(owner, board, {"content": "Webhook event received.\n" + "payload line\n" * 60})
    rules.create_memory(owner, board, {"content": "Short note.\nSecond line."})
    client.force_login(owner)
    html = client.get(reverse("console:board_memory", args=[board.pk])).content.decode()
    assert '<details class="note"><summary class="body">Webhook event received.</summary>' in html
    assert html.count("payload line") == 60
    assert '<div class="body">Short note.\nSecond line.</div>' in html


def test_an_outsider_cannot_read_or_write_board_memory(client, outsider, board):
    client.force_login(outsider)
    assert client.get(reverse("console:board_memory", args=[board.pk])).status_code == 404
    assert client.post(reverse("console:board_memory", args=[board.pk]), {"content": "hi"}).status_code == 404


def test_an_admin_edits_a_tasks_title_description_priority_and_assignee(client, owner, board, worker):
    task = make_task(board, "Draft")
    client.force_login(owner)
    client.post(reverse("console:task_edit", args=[board.pk, task.pk]), {
        "title": "Draft the post", "description": "About 800 words.", "status": "inbox", "priority": "urgent",
        "assigned_agent": str(worker.pk), "comment": ""})
    task.refresh_from_db()
    assert (task.title, task.description, task.priority, task.assigned_agent) == (
        "Draft the post", "About 800 words.", "urgent", worker)
    event = ActivityEvent.objects.get(event_type="task.updated", task_id=task.pk)
    assert set(event.data["changes"]) >= {"title", "description", "priority"}


def test_the_queue_shows_a_reason_given_only_in_the_payload(client, owner, board, worker):
    task = make_task(board, "Merge", assigned_agent=worker)
    rules.request_approval(worker, board, {"action_type": "merge", "task_id": str(task.pk), "confidence": 70,
                                           "payload": {"decision": {"reason": "CI is green on main."}}})
    client.force_login(owner)
    html = client.get(reverse("console:approvals")).content.decode()
    assert '<div class="reason">CI is green on main.</div>' in html


def test_the_queue_shows_the_reason_once_and_only_what_else_the_payload_carries(client, owner, board, worker):
    plain = make_task(board, "Plain", assigned_agent=worker)
    rich = make_task(board, "Rich", assigned_agent=worker)
    rules.request_approval(worker, board, {"action_type": "mark_done", "task_id": str(plain.pk), "confidence": 70,
                                           "lead_reasoning": "Tests pass."})
    rules.request_approval(worker, board, {"action_type": "deploy", "task_id": str(rich.pk), "confidence": 70,
                                           "lead_reasoning": "Staging is green.",
                                           "payload": {"environment": "production"}})
    client.force_login(owner)
    html = client.get(reverse("console:approvals")).content.decode()
    assert html.count("Tests pass.") == 1 and html.count("Staging is green.") == 1
    assert html.count("Details the agent attached") == 1 and "&quot;environment&quot;: &quot;production&quot;" in html


def test_dependencies_and_tags_are_set_from_the_task_page(client, owner, org, board):
    from agents.models import Tag

    first = make_task(board, "Write")
    second = make_task(board, "Publish")
    tag = Tag.objects.create(organization=org, name="Docs", slug="docs")
    client.force_login(owner)
    client.post(reverse("console:task_relations", args=[board.pk, second.pk]),
                {"depends_on": [str(first.pk)], "tags": [str(tag.pk)]})
    assert list(second.depends_on.all()) == [first]
    assert list(second.tags.all()) == [tag]
    html = client.get(reverse("console:task", args=[board.pk, second.pk])).content.decode()
    assert "Blocked" in html
    # The tag shows among the task's tags (in its colour), and both choices are ticked in the lists.
    assert re.search(r'<p class="small"><span class="badge tag">.*?</svg> Docs</span>', html, re.S)
    for name, chosen in (("depends_on", first), ("tags", tag)):
        assert re.search(rf'<input type="checkbox" name="{name}" value="{chosen.pk}"[^>]*\schecked', html), name


def test_a_dependency_cycle_is_refused_with_the_rules_sentence(client, owner, board):
    first = make_task(board, "Write")
    second = make_task(board, "Publish")
    rules.update_task(owner, second, {"depends_on_task_ids": [str(first.pk)]})
    client.force_login(owner)
    response = client.post(reverse("console:task_relations", args=[board.pk, first.pk]),
                           {"depends_on": [str(second.pk)]})
    with pytest.raises(Exception) as refusal:
        rules.update_task(owner, first, {"depends_on_task_ids": [str(second.pk)]})
    assert response.status_code == 422
    assert escape(refusal.value.message) in response.content.decode()
    assert list(first.depends_on.all()) == []


def test_a_task_of_another_board_cannot_become_a_dependency(client, owner, org, board):
    from tests.conftest import make_board

    foreign = make_task(make_board(org, "Elsewhere"), "Not here")
    task = make_task(board, "Here")
    client.force_login(owner)
    response = client.post(reverse("console:task_relations", args=[board.pk, task.pk]),
                           {"depends_on": [str(foreign.pk)]})
    assert response.status_code == 422
    assert "Select a valid choice" in response.content.decode()
    assert list(task.depends_on.all()) == []


def test_an_admin_deletes_a_board_by_typing_its_name_and_its_history_stays(client, owner, board):
    task = make_task(board, "Goes too")
    client.force_login(owner)
    refused = client.post(reverse("console:board_delete", args=[board.pk]), {"confirm_name": "launch"})
    assert flash(refused) == ["Type the board's name exactly to delete it."]
    assert Board.objects.filter(pk=board.pk).exists()

    response = client.post(reverse("console:board_delete", args=[board.pk]), {"confirm_name": "Launch"})
    assert response["Location"] == reverse("console:boards")
    assert not Board.objects.filter(pk=board.pk).exists() and not Task.objects.filter(pk=task.pk).exists()
    assert ActivityEvent.objects.filter(event_type="board.deleted", board_id=board.pk).exists()


def test_a_member_cannot_delete_a_board(client, member, board):
    client.force_login(member)
    response = client.post(reverse("console:board_delete", args=[board.pk]), {"confirm_name": "Launch"})
    assert response.status_code == 403
    assert Board.objects.filter(pk=board.pk).exists()
