from __future__ import annotations

import pytest
from django.contrib import admin

from agents import models
from tests.conftest import make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("console_static")]

DOMAIN_MODELS = [models.User, models.Organization, models.Membership, models.Gateway, models.Board,
                 models.Agent, models.Tag, models.Task, models.TaskDependency, models.TaskComment,
                 models.Approval, models.BoardMemory, models.ActivityEvent]


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
