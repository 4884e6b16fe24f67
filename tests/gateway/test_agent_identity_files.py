"""What a person or a lead says about an agent (identity_profile, identity_template,
soul_template, heartbeat_config) reaches the files and the gateway entry Mission Control
provisions, and the console shows it. The fields' checks and their API shapes:
tests/agents/test_rules_agents.py, test_api_agents.py and test_agent_routes.py."""

from __future__ import annotations

import pytest
from django.urls import reverse

from agents.gateway import config_entry, workspace
from agents.models import Agent
from agents.tokens import mint_token
from tests.agents.agent_client import agent_client

pytestmark = pytest.mark.django_db

IDENTITY = {"identity_profile": {"role": "Translator", "communication_style": "warm", "emoji": ":globe:",
                                 "languages": ["fr", "es"]},
            "heartbeat_config": {"every": "20m"}}


def files_of(agent: Agent) -> dict[str, str]:
    return {f.name: f.content for f in workspace.render_workspace(agent, "mc_0123456789abcdef_" + "x" * 43)}


def test_a_worker_a_lead_describes_gets_that_identity_in_its_files_and_gateway_entry(board, lead):
    created = agent_client(mint_token(lead)).post("/api/v1/agent/agents", {"name": "Polyglot", **IDENTITY},
                                                  format="json")
    assert created.status_code == 201, created.content
    worker = Agent.objects.get(pk=created.json()["id"])
    identity = files_of(worker)["IDENTITY.md"]
    assert "- Role: Translator" in identity and "- Emoji: :globe:" in identity
    assert "- Communication style: warm" in identity and "- Languages: fr, es" in identity
    assert config_entry.desired_entry(worker, "/w/workspace")["heartbeat"]["every"] == "20m"


def test_templates_a_person_writes_replace_identity_and_soul_and_a_change_rewrites_them(client_for, admin_user,
                                                                                       worker):
    client = client_for(admin_user)
    response = client.patch(f"/api/v1/agents/{worker.pk}", {
        "identity_template": "# Reviewer\nYou read every change twice.\n",
        "soul_template": "Say no kindly.\n", "heartbeat_config": {"every": "45m"}}, format="json")
    assert response.status_code == 200, response.content
    worker.refresh_from_db()
    files = files_of(worker)
    assert files["IDENTITY.md"] == "# Reviewer\nYou read every change twice.\n"
    assert files["SOUL.md"] == "Say no kindly.\n"
    assert config_entry.heartbeat_every(worker) == "45m"

    client.patch(f"/api/v1/agents/{worker.pk}", {"identity_template": "", "soul_template": ""}, format="json")
    worker.refresh_from_db()
    files = files_of(worker)
    assert files["IDENTITY.md"].startswith("# Identity\n") and "- Name: Worker" in files["IDENTITY.md"]
    assert files["SOUL.md"] != "Say no kindly.\n"


def test_the_agent_page_shows_who_the_agent_is(client, member, board, console_static):
    agent = Agent.objects.create(organization=board.organization, board=board, name="Polyglot",
                                 soul_template="Say no kindly.\n", **IDENTITY)
    client.force_login(member)
    page = client.get(reverse("console:agent", args=[agent.pk])).content.decode()
    assert "<dt>Role</dt><dd>Translator</dd>" in page and "<dt>Languages</dt><dd>fr, es</dd>" in page
    assert "Heartbeat: every 20m" in page
    assert "SOUL.md, as written for it" in page and "Say no kindly." in page
    assert "IDENTITY.md: Mission Control&#x27;s own." in page or "IDENTITY.md: Mission Control's own." in page


def test_changing_who_an_agent_on_a_gateway_is_provisions_it_again(client_for, admin_user, board, gateway):
    from django.tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    agent = Agent.objects.create(organization=board.organization, board=board, gateway=gateway, name="Scout")
    response = client_for(admin_user).patch(f"/api/v1/agents/{agent.pk}",
                                            {"soul_template": "Say no kindly.\n"}, format="json")
    assert response.status_code == 200
    jobs = [job.args_kwargs["args"] for job in DBTaskResult.objects.filter(
        task_path="agents.gateway.tasks.provision_agent", status=TaskResultStatus.READY)]
    assert [args[0] for args in jobs] == [str(agent.pk)] and jobs[0][2] == "update"
