"""Every console form, refused, comes back as it was typed, and its errors speak in the
form's labels, never in the API's field names; a card's move menu starts where it should."""

from __future__ import annotations

import re

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from agents.console.forms import worded
from agents.models import ActivityEvent, Task
from tests.conftest import make_agent, make_task

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("console_static")]

# How an API field name would show in an error: "url:", "signature_header:", "workspace_root ...".
RAW_NAMES = re.compile(r"(title|url|name|slug|color|signature_header|agent_id|workspace_root|board_id|gateway_id|"
                       r"assigned_agent_id|lead_reasoning|depends_on_task_ids|tag_ids|max_agents):")


def says_raw_names(errors: list[str]) -> bool:
    return any(RAW_NAMES.match(error) for error in errors)


def errors_of(html: str) -> list[str]:
    """The texts of the error lists and error messages of a page."""
    found = re.findall(r'<ul class="errorlist"[^>]*>(.*?)</ul>', html, re.S)
    found += re.findall(r'<li class="message error">(.*?)</li>', html, re.S)
    return [re.sub(r"<[^>]+>", " ", text).strip() for text in found]


def selected_option(html: str, select_id: str) -> str | None:
    select = re.search(rf'<select[^>]*id="{select_id}"[^>]*>(.*?)</select>', html, re.S)
    assert select is not None, select_id
    chosen = re.search(r'<option value="([^"]*)"[^>]*selected', select.group(1))
    return chosen.group(1) if chosen else None


def test_worded_says_an_api_name_as_the_label_but_leaves_plain_words_alone():
    assert worded("workspace_root has at most 500 characters.", "workspace_root", "Workspace root") == (
        "Workspace root has at most 500 characters.")
    assert worded("identity_profile.role has at most 2000 characters.", "identity_profile", "Identity") == (
        "Identity.role has at most 2000 characters.")
    assert worded("A task needs a title.", "title", "Title") == "A task needs a title."
    assert worded("No such gateway in this organization.", "gateway_id", "Gateway") == (
        "No such gateway in this organization.")


def test_a_refused_new_task_comes_back_with_what_was_typed(client, owner, board, worker):
    client.force_login(owner)
    response = client.post(reverse("console:task_create", args=[board.pk]), {
        "title": "x" * 501, "description": "Every step of the launch, in order.", "priority": "high",
        "assigned_agent": str(worker.pk)})
    assert response.status_code == 422
    html = response.content.decode()
    assert "Every step of the launch, in order.</textarea>" in html
    assert 'value="' + "x" * 501 + '"' in html
    assert selected_option(html, "id_priority") == "high"
    assert selected_option(html, "id_assigned_agent") == str(worker.pk)
    assert "<details class=\"card\" data-new-task open>" in html
    assert any("at most 500 characters" in error for error in errors_of(html))
    assert not says_raw_names(errors_of(html))
    assert not Task.objects.filter(board=board).exists()


def test_a_refused_task_change_keeps_the_status_and_comment_that_were_asked_for(client, owner, board):
    task = make_task(board, "Ship it", status="in_progress")
    client.force_login(owner)
    response = client.post(reverse("console:task_edit", args=[board.pk, task.pk]), {
        "title": "Ship it", "description": "", "status": "done", "priority": "medium", "assigned_agent": "",
        "comment": "Shipped to production at noon."})
    assert response.status_code == 422
    html = response.content.decode()
    assert "Shipped to production at noon.</textarea>" in html
    assert selected_option(html, "id_status") == "done"
    assert any("approv" in error.lower() for error in errors_of(html))
    task.refresh_from_db()
    assert task.status == "in_progress"


def test_an_empty_comment_is_refused_on_the_task_page_itself(client, member, board):
    task = make_task(board, "Discuss")
    client.force_login(member)
    response = client.post(reverse("console:task_comment", args=[board.pk, task.pk]), {"message": "   "})
    assert response.status_code == 422
    assert any("required" in error for error in errors_of(response.content.decode()))


def test_a_refused_gateway_keeps_its_name_and_says_address_not_url(client, owner, org):
    client.force_login(owner)
    response = client.post(reverse("console:gateways"), {
        "organization": str(org.pk), "name": "Studio", "url": "http://studio.local", "token": "secret-token", "workspace_root": "/srv/claw"})
    assert response.status_code == 422
    html = response.content.decode()
    assert 'value="Studio"' in html and 'value="/srv/claw"' in html
    assert 'value="http://studio.local"' in html
    assert "secret-token" not in html
    errors = errors_of(html)
    assert "A gateway URL starts with ws:// or wss:// and names a host." in errors
    assert not says_raw_names(errors)


def test_a_refused_gateway_change_names_the_field_by_its_label(client, owner, gateway):
    client.force_login(owner)
    response = client.post(reverse("console:gateway_edit", args=[gateway.pk]), {
        "name": gateway.name, "url": gateway.url, "workspace_root": "/" + "w" * 600})
    assert response.status_code == 422
    errors = errors_of(response.content.decode())
    assert "Workspace root has at most 500 characters." in errors


def test_a_refused_webhook_keeps_its_instruction_and_puts_the_error_on_the_header_field(client, owner, board):
    client.force_login(owner)
    response = client.post(reverse("webhooks_console:webhooks", args=[board.pk]), {
        "description": "Triage new issues.", "require_signature": "on", "signature_header": "Not a header!"})
    assert response.status_code == 422
    html = response.content.decode()
    assert "Triage new issues.</textarea>" in html
    assert 'value="Not a header!"' in html
    header_errors = re.search(r'id="id_signature_header".*?<ul class="errorlist"[^>]*>(.*?)</ul>', html, re.S)
    assert header_errors is not None and "Not a valid HTTP header name" in header_errors.group(1)
    assert not says_raw_names(errors_of(html))


def test_a_refused_agent_keeps_its_name_and_board(client, owner, board, lead):
    client.force_login(owner)
    response = client.post(reverse("console:agents"), {"name": "Lead", "board": str(board.pk)})
    assert response.status_code == 422
    html = response.content.decode()
    assert 'value="Lead"' in html
    assert selected_option(html, "id_board") == str(board.pk)
    assert any("already has an agent named" in error for error in errors_of(html))


def test_a_refused_tag_keeps_its_colour(client, owner, org):
    from agents.models import Tag

    Tag.objects.create(organization=org, name="Docs", slug="docs")
    client.force_login(owner)
    response = client.post(reverse("console:tags"), {"organization": str(org.pk), "name": "Docs again", "slug": "docs", "color": "#12ab34"})
    assert response.status_code == 422
    html = response.content.decode()
    assert 'value="#12ab34"' in html and 'value="Docs again"' in html
    assert any("already uses this short name" in error for error in errors_of(html))
    slug_errors = re.search(r'id="id_slug".*?<ul class="errorlist"[^>]*>(.*?)</ul>', html, re.S)
    assert slug_errors is not None and "already uses this short name" in slug_errors.group(1)


def test_a_refused_approval_request_keeps_its_reason(client, owner, board):
    task = make_task(board, "Ship it")
    client.force_login(owner)
    response = client.post(reverse("console:task_approval", args=[board.pk, task.pk]),
                           {"action_type": "mark_done", "reasoning": "Checked twice.", "confidence": 300})
    assert response.status_code == 422
    html = response.content.decode()
    assert "Checked twice.</textarea>" in html and 'value="300"' in html
    assert "<details open>" in html


def test_each_card_preselects_the_next_step_and_a_done_card_stays_done(client, owner, board):
    tasks = {status: make_task(board, f"A {status} task", status=status)
             for status in ("inbox", "in_progress", "review", "done")}
    client.force_login(owner)
    html = client.get(reverse("console:board", args=[board.pk])).content.decode()
    expected = {"inbox": "in_progress", "in_progress": "review", "review": "done", "done": "done"}
    for status, task in tasks.items():
        assert selected_option(html, f"move-{task.pk}") == expected[status], status
    # The columns in the board's order, the card's own marked.
    menu = re.search(rf'<select id="move-{tasks["done"].pk}"[^>]*>(.*?)</select>', html, re.S)
    assert menu is not None
    assert re.findall(r">([^<]+)</option>", menu.group(1)) == ["Inbox", "In progress", "Review", "Done (now)"]


def test_moving_a_card_to_where_it_is_changes_nothing_and_says_so(client, owner, board):
    task = make_task(board, "Finished", status="done")
    client.force_login(owner)
    response = client.post(reverse("console:task_move", args=[board.pk, task.pk]), {"status": "done"})
    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["“Finished” is already in Done; nothing changed."]
    assert not ActivityEvent.objects.filter(task_id=task.pk).exists()


def test_a_refused_memory_note_keeps_its_text(client, member, board):
    client.force_login(member)
    response = client.post(reverse("console:board_memory", args=[board.pk]), {"content": "x" * 20_001,
                                                                                 "is_chat": "on"})
    assert response.status_code == 422
    assert "x" * 20_001 + "</textarea>" in response.content.decode()


def test_refused_agent_rules_speak_in_labels(client, owner, board, gateway):
    make_agent("Main", gateway=gateway)
    client.force_login(owner)
    response = client.post(reverse("console:agents"), {"name": "Second main", "gateway": str(gateway.pk)})
    assert response.status_code == 422
    assert "This gateway already has a main agent." in errors_of(response.content.decode())


def test_a_refused_board_keeps_what_was_typed(client, owner, org, board):
    client.force_login(owner)
    response = client.post(reverse("console:board_create"), {
        "organization": str(org.pk), "name": "Second launch", "slug": board.slug, "objective": "Ship twice.", "max_agents": 4})
    assert response.status_code == 422
    html = response.content.decode()
    assert 'value="Second launch"' in html and "Ship twice.</textarea>" in html and 'value="4"' in html
    assert any("already uses this short name" in error for error in errors_of(html))


def test_a_missing_hidden_field_is_still_reported(client, owner, org):
    client.force_login(owner)
    response = client.post(reverse("console:tags"), {"name": "Docs"})
    assert response.status_code == 422
    assert "Organization: This field is required." in errors_of(response.content.decode())
