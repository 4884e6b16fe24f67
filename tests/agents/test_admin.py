from __future__ import annotations

import pytest
from django.contrib import admin

from agents import models
from tests.conftest import make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("console_static")]

DOMAIN_MODELS = [models.User, models.Organization, models.Membership, models.Gateway, models.Board,
                 models.Agent, models.Tag, models.Task, models.TaskDependency, models.TaskComment,
                 models.Approval, models.BoardMemory, models.ActivityEvent, models.Invitation]


def test_every_domain_model_is_registered():
    assert all(admin.site.is_registered(model) for model in DOMAIN_MODELS)


def test_a_superuser_sees_every_list_page(client):
    from django.core.management import call_command

    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    client.force_login(models.User.objects.create_superuser("root", "root@example.com", "pw"))
    for model in DOMAIN_MODELS:
        url = f"/admin/agents/{model._meta.model_name}/"
        assert client.get(url).status_code == 200, url


def test_staff_who_are_not_superusers_see_none_of_it(client):
    staff = make_user("staff", is_staff=True)
    client.force_login(staff)
    assert client.get("/admin/agents/task/").status_code == 403


def test_the_gateway_token_is_not_shown_in_the_admin(client, gateway):
    gateway.token = "gateway-secret-token"
    gateway.save()
    client.force_login(models.User.objects.create_superuser("root", "root@example.com", "pw"))
    page = client.get(f"/admin/agents/gateway/{gateway.pk}/change/")
    assert page.status_code == 200 and b"gateway-secret-token" not in page.content


def test_staff_who_are_not_superusers_see_no_webhook_table_even_with_its_permissions(client, board):
    from django.contrib.auth.models import Permission

    from webhooks.models import Webhook

    webhook = Webhook.objects.create(board=board, description="Events", secret="webhook-secret-value")
    staff = make_user("staff", is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(content_type__app_label="webhooks"))
    client.force_login(staff)
    for url in ("/admin/webhooks/webhook/", f"/admin/webhooks/webhook/{webhook.pk}/change/",
                "/admin/webhooks/webhookpayload/", "/admin/webhooks/webhookdelivery/"):
        assert client.get(url).status_code == 403, url


def test_the_webhook_secret_is_not_shown_in_the_admin(client, board):
    from webhooks.models import Webhook

    webhook = Webhook.objects.create(board=board, description="Events", secret="webhook-secret-value")
    client.force_login(models.User.objects.create_superuser("root", "root@example.com", "pw"))
    page = client.get(f"/admin/webhooks/webhook/{webhook.pk}/change/")
    assert page.status_code == 200 and b"webhook-secret-value" not in page.content
    assert client.get("/admin/webhooks/webhook/").status_code == 200


# --- the agent roster goes through agents.rules ---------------------------------------------


@pytest.fixture
def superuser_client(client):
    client.force_login(models.User.objects.create_superuser("root", "root@example.com", "pw"))
    return client


def agent_change_form(agent, **changes):
    """The change form's fields as the admin page would post them, with ``changes``."""
    data = {"lifecycle_status": agent.lifecycle_status, "last_error": agent.last_error,
            "lifecycle_generation": agent.lifecycle_generation, "provision_attempts": agent.provision_attempts,
            "wake_attempts": agent.wake_attempts, "gateway_agent_id": agent.gateway_agent_id,
            "pending_token": "", "provision_report": "{}", "gateway_snapshot": "{}",
            "created_at_0": agent.created_at.strftime("%Y-%m-%d"), "created_at_1": agent.created_at.strftime("%H:%M:%S")}
    data.update(changes)
    return data


def test_a_superuser_cannot_appoint_a_lead_or_rename_in_the_admin(superuser_client, board, worker):
    # Everything the change form would need to make the worker the board's lead, as an
    # admin without read-only fields would take it.
    response = superuser_client.post(f"/admin/agents/agent/{worker.pk}/change/", agent_change_form(
        worker, organization=str(worker.organization_id), board=str(board.pk), gateway=str(worker.gateway_id),
        name="Renamed", is_board_lead="on", identity_profile="{}", heartbeat_config="{}"))

    assert response.status_code == 302
    worker.refresh_from_db()
    assert worker.is_board_lead is False and worker.name == "Worker"
    assert not models.Agent.objects.filter(board=board, is_board_lead=True).exists()


def test_the_admin_shows_the_roster_fields_read_only(superuser_client, worker):
    page = superuser_client.get(f"/admin/agents/agent/{worker.pk}/change/")

    assert page.status_code == 200
    form = page.context["adminform"].form
    assert not {"is_board_lead", "board", "name", "gateway", "organization"} & set(form.fields)


def test_the_admin_still_repairs_an_agents_lifecycle_state(superuser_client, worker):
    worker.lifecycle_status, worker.last_error = models.Agent.Lifecycle.ERROR, "gateway refused"
    worker.save()

    response = superuser_client.post(f"/admin/agents/agent/{worker.pk}/change/", agent_change_form(
        worker, lifecycle_status=models.Agent.Lifecycle.ACTIVE, last_error=""))

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    worker.refresh_from_db()
    assert worker.lifecycle_status == models.Agent.Lifecycle.ACTIVE


def test_agents_are_neither_added_nor_deleted_in_the_admin(superuser_client, worker):
    assert superuser_client.get("/admin/agents/agent/add/").status_code == 403
    assert superuser_client.post(f"/admin/agents/agent/{worker.pk}/delete/", {"post": "yes"}).status_code == 403
    assert models.Agent.objects.filter(pk=worker.pk).exists()
