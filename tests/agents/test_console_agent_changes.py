"""An agent is changed and deleted in the console through ``agents.rules.roster``, as the
API does: the same refusals in the same sentences, the same events. Gateways and tags,
which already had their pages, keep working the same way."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse
from django.utils.html import escape

from agents.models import ActivityEvent, Agent, Gateway, GatewayCleanup, Tag, Task
from tests.conftest import make_agent, make_gateway, make_task

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("console_static")]


def edit_url(agent: Agent) -> str:
    return reverse("console:agent_edit", args=[agent.pk])


def form_of(agent: Agent, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"name": agent.name, "gateway": str(agent.gateway_id or ""),
                            "identity_template": agent.identity_template, "soul_template": agent.soul_template}
    if agent.is_board_lead:
        data["is_board_lead"] = "on"
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def event_of(event_type: str) -> dict[str, Any]:
    event = ActivityEvent.objects.filter(event_type=event_type).latest("created_at")
    return {"actor": event.actor_name, "message": event.message, "data": event.data}


def test_the_agent_page_offers_edit_and_delete_to_admins(client, owner, member, worker):
    client.force_login(owner)
    html = client.get(reverse("console:agent", args=[worker.pk])).content.decode()
    assert edit_url(worker) in html and ">Delete agent</button>" in html
    client.force_login(member)
    html = client.get(reverse("console:agent", args=[worker.pk])).content.decode()
    assert edit_url(worker) not in html and "Delete agent" not in html


def test_an_admin_renames_an_agent_and_writes_the_event_the_api_writes(client, client_for, owner, board, worker):
    client_for(owner).patch(f"/api/v1/agents/{worker.pk}", {"name": "Scribe"}, format="json")
    by_api = event_of("agent.updated")
    client.force_login(owner)
    response = client.post(edit_url(worker), form_of(worker, name="Writer"))
    assert response.status_code == 302 and response["Location"] == reverse("console:agent", args=[worker.pk])
    worker.refresh_from_db()
    assert worker.name == "Writer"
    assert event_of("agent.updated") == {**by_api, "message": "Agent Writer changed"}


def test_the_form_shows_the_agent_as_it_is(client, owner, lead):
    lead.soul_template = "Be brief.\n"
    lead.save()
    client.force_login(owner)
    html = client.get(edit_url(lead)).content.decode()
    assert 'value="Lead"' in html and "Be brief.\n</textarea>" in html
    checkbox = re.search(r'<input type="checkbox" name="is_board_lead"[^>]*>', html)
    assert checkbox is not None and " checked" in checkbox.group(0)


def test_a_second_lead_is_refused_with_the_apis_sentence_and_the_form_as_sent(client, client_for, owner, board,
                                                                              lead, worker):
    api = client_for(owner).patch(f"/api/v1/agents/{worker.pk}", {"is_board_lead": True}, format="json")
    assert api.status_code == 409
    client.force_login(owner)
    response = client.post(edit_url(worker), form_of(worker, name="Worker two", is_board_lead="on"))
    assert response.status_code == 422
    html = response.content.decode()
    assert escape(api.json()["detail"]["message"]) in html
    assert 'value="Worker two"' in html
    worker.refresh_from_db()
    assert worker.name == "Worker" and not worker.is_board_lead


def test_a_taken_name_is_refused(client, owner, board, lead, worker):
    client.force_login(owner)
    response = client.post(edit_url(worker), form_of(worker, name="lead"))
    assert response.status_code == 422
    assert "already has an agent named" in response.content.decode()


def test_moving_an_agent_to_another_gateway_schedules_its_removal_from_the_old_one(client, owner, org, board,
                                                                                   worker):
    Agent.objects.filter(pk=worker.pk).update(provisioned_at="2026-01-01T00:00:00Z", gateway_agent_id="mc-worker")
    worker.refresh_from_db()
    other = make_gateway(org, "Second gateway", url="ws://second.test:18789")
    client.force_login(owner)
    client.post(edit_url(worker), form_of(worker, gateway=str(other.pk)))
    worker.refresh_from_db()
    assert worker.gateway == other
    assert GatewayCleanup.objects.filter(gateway=board.gateway).exists()


def test_a_main_agent_keeps_a_gateway_and_is_never_a_lead(client, owner, main_agent):
    client.force_login(owner)
    html = client.get(edit_url(main_agent)).content.decode()
    assert 'name="is_board_lead"' not in html
    response = client.post(edit_url(main_agent), form_of(main_agent, gateway=""))
    assert response.status_code == 422
    main_agent.refresh_from_db()
    assert main_agent.gateway_id is not None


def test_nothing_changed_says_so_and_writes_nothing(client, owner, worker):
    client.force_login(owner)
    response = client.post(edit_url(worker), form_of(worker))
    assert response.status_code == 302
    assert not ActivityEvent.objects.filter(event_type="agent.updated").exists()


def test_deleting_an_agent_needs_its_name_unassigns_its_tasks_and_keeps_its_history(client, client_for, owner,
                                                                                   board, worker):
    task = make_task(board, "Theirs", status="in_progress", assigned_agent=worker)
    client.force_login(owner)
    url = reverse("console:agent_delete", args=[worker.pk])
    refused = client.post(url, {"confirm_name": "worker"})
    assert refused.status_code == 302 and Agent.objects.filter(pk=worker.pk).exists()
    done = client.post(url, {"confirm_name": "Worker"})
    assert done.status_code == 302 and done["Location"] == reverse("console:agents")
    assert not Agent.objects.filter(pk=worker.pk).exists()
    task.refresh_from_db()
    assert task.assigned_agent is None
    by_console = event_of("agent.deleted")

    other = make_agent("Other", board=board)
    client_for(owner).delete(f"/api/v1/agents/{other.pk}")
    assert {**event_of("agent.deleted"), "message": "", "data": {}} == {**by_console, "message": "", "data": {}}
    assert Task.objects.filter(pk=task.pk).exists()


def test_members_may_neither_change_nor_delete_an_agent(client, member, worker):
    client.force_login(member)
    assert client.get(edit_url(worker)).status_code == 403
    assert client.post(edit_url(worker), form_of(worker, name="Hijacked")).status_code == 403
    assert client.post(reverse("console:agent_delete", args=[worker.pk]), {"confirm_name": "Worker"}
                       ).status_code == 403
    worker.refresh_from_db()
    assert worker.name == "Worker"


def test_an_agent_of_another_organization_is_not_found(client, owner, foreign_agent):
    client.force_login(owner)
    assert client.get(edit_url(foreign_agent)).status_code == 404
    assert client.post(reverse("console:agent_delete", args=[foreign_agent.pk]),
                       {"confirm_name": foreign_agent.name}).status_code == 404


# --- gateways and tags: their edit and delete pages work ----------------------------------


def test_a_gateway_is_edited_and_removed_from_its_pages(client, owner, org):
    gateway = make_gateway(org, "Edge", url="ws://edge.test:18789", token="keep-me")
    client.force_login(owner)
    page = client.get(reverse("console:gateway_edit", args=[gateway.pk]))
    assert page.status_code == 200 and 'value="Edge"' in page.content.decode()
    assert "keep-me" not in page.content.decode()
    saved = client.post(reverse("console:gateway_edit", args=[gateway.pk]),
                        {"name": "Edge two", "url": "ws://edge.test:18789", "token": ""})
    assert saved.status_code == 302
    gateway.refresh_from_db()
    assert gateway.name == "Edge two" and gateway.token == "keep-me"
    assert client.post(reverse("console:gateway_delete", args=[gateway.pk]), {"confirm_name": "Edge"}
                       ).status_code == 302
    assert Gateway.objects.filter(pk=gateway.pk).exists()
    assert client.post(reverse("console:gateway_delete", args=[gateway.pk]), {"confirm_name": "Edge two"}
                       )["Location"] == reverse("console:gateways")
    assert not Gateway.objects.filter(pk=gateway.pk).exists()


def test_a_tag_is_renamed_recoloured_and_deleted_from_its_pages(client, owner, org):
    tag = Tag.objects.create(organization=org, name="Docs", slug="docs", color="9ca3af")
    client.force_login(owner)
    page = client.get(reverse("console:tag_edit", args=[tag.pk])).content.decode()
    assert 'value="Docs"' in page and 'value="#9ca3af"' in page
    client.post(reverse("console:tag_edit", args=[tag.pk]), {"name": "Manuals", "slug": "docs", "color": "#ff0000"})
    tag.refresh_from_db()
    assert (tag.name, tag.color) == ("Manuals", "ff0000")
    client.post(reverse("console:tag_delete", args=[tag.pk]))
    assert not Tag.objects.filter(pk=tag.pk).exists()
