"""Registering, checking and syncing a gateway through the user API and the console; the
worker does the gateway side (run here with the batch worker)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.urls import reverse

from agents.gateway import pool
from agents.models import ActivityEvent, Agent, Gateway
from tests.conftest import make_gateway
from tests.gateway.fake_gateway import FakeGateway
from tests.webhooks.conftest import run_worker

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("console_static")]

ADVERTISED = ["health", "agents.list", "agents.create", "config.get"]


@pytest.fixture(autouse=True)
def fresh_pool() -> Iterator[None]:
    yield
    pool.close_all()


@pytest.fixture
def fake() -> Iterator[FakeGateway]:
    with FakeGateway() as gateway:
        yield gateway


def register(client, fake: FakeGateway, **extra) -> dict:
    answer = client.post("/api/v1/gateways", {"name": "Edge", "url": fake.url, "token": fake.token, **extra},
                         format="json")
    assert answer.status_code == 201, answer.content
    return answer.json()


def test_registering_checks_the_gateway_and_provisions_its_main_agent(client_for, owner, fake):
    api = client_for(owner)
    body = register(api, fake)
    assert body["check"]["status"] == "checking"
    main = Agent.objects.get(gateway_id=body["id"], board__isnull=True)
    assert main.name == "Edge main agent" and main.lifecycle_status == Agent.Lifecycle.PROVISIONING
    run_worker()
    gateway = api.get(f"/api/v1/gateways/{body['id']}").json()
    assert gateway["check"]["status"] == "ok" and gateway["server_version"] == fake.version
    assert gateway["protocol"] == 4
    assert [stage["name"] for stage in gateway["check"]["stages"]] == [
        "resolve", "tcp", "upgrade", "challenge", "connect", "read", "features", "version"]
    assert all(stage["ok"] and stage["duration_ms"] >= 0 for stage in gateway["check"]["stages"])
    main.refresh_from_db()
    assert f"mc-gateway-{body['id']}" in fake.agent_ids()
    assert main.lifecycle_status == Agent.Lifecycle.WAITING
    assert ActivityEvent.objects.filter(event_type="gateway.checked", data__ok=True).exists()


def test_a_wrong_token_fails_the_check_at_connect_in_words(client_for, owner, fake):
    api = client_for(owner)
    body = register(api, fake, token="not-the-token")
    run_worker()
    check = api.get(f"/api/v1/gateways/{body['id']}").json()["check"]
    assert check["status"] == "failed" and check["failed_stage"] == "connect"
    failed = next(stage for stage in check["stages"] if not stage["ok"])
    assert "token" in failed["error"] and "OPENCLAW_GATEWAY_TOKEN" in failed["error"] + failed["hint"]


def test_a_gateway_missing_methods_fails_the_features_stage(client_for, owner):
    with FakeGateway(advertised_methods=ADVERTISED) as fake:
        api = client_for(owner)
        body = register(api, fake)
        run_worker()
        check = api.get(f"/api/v1/gateways/{body['id']}").json()["check"]
    assert check["failed_stage"] == "features"
    assert "chat.send" in next(stage for stage in check["stages"] if stage["name"] == "features")["error"]


def test_a_gateway_older_than_the_minimum_fails_the_version_stage(client_for, owner, fake, settings):
    settings.GATEWAY_MIN_VERSION = "2027.1.1"
    api = client_for(owner)
    body = register(api, fake)
    run_worker()
    check = api.get(f"/api/v1/gateways/{body['id']}").json()["check"]
    assert check["failed_stage"] == "version" and "older than 2027.1.1" in \
        next(stage for stage in check["stages"] if stage["name"] == "version")["error"]


def test_a_check_and_a_sync_are_queued_for_admins_only(client_for, owner, member, org, fake):
    gateway = make_gateway(org, "Quiet", url=fake.url, token=fake.token)
    assert client_for(member).post(f"/api/v1/gateways/{gateway.pk}/check").status_code == 403
    answer = client_for(owner).post(f"/api/v1/gateways/{gateway.pk}/check")
    assert answer.status_code == 202 and answer.json()["check"]["status"] == "checking"
    assert client_for(owner).post(f"/api/v1/gateways/{gateway.pk}/sync").status_code == 202
    run_worker()
    gateway.refresh_from_db()
    assert gateway.check_status == Gateway.CheckStatus.OK and gateway.synced_at is not None


def test_changing_the_address_checks_again(client_for, owner, org, fake):
    gateway = make_gateway(org, "Moved", url="ws://127.0.0.1:9", token=fake.token)
    answer = client_for(owner).patch(f"/api/v1/gateways/{gateway.pk}", {"url": fake.url}, format="json")
    assert answer.json()["check"]["status"] == "checking"
    run_worker()
    gateway.refresh_from_db()
    assert gateway.check_status == Gateway.CheckStatus.OK


def test_retrying_provisioning_is_for_agents_with_a_gateway(client_for, owner, board, worker):
    api = client_for(owner)
    answer = api.post(f"/api/v1/agents/{worker.pk}/provision")
    assert answer.status_code == 202 and answer.json()["lifecycle"]["state"] == "provisioning"
    board.gateway = None
    board.save()
    worker.gateway = None
    worker.save()
    refused = api.post(f"/api/v1/agents/{worker.pk}/provision")
    assert refused.status_code == 409 and refused.json()["detail"]["code"] == "agent_not_on_gateway"


def test_the_console_shows_the_gateway_its_stages_and_its_agents(client, owner, org, fake):
    client.force_login(owner)
    client.post(reverse("console:gateways"), {"organization": str(org.pk), "name": "Edge", "url": fake.url,
                                              "token": fake.token})
    gateway = Gateway.objects.get(name="Edge")
    run_worker()
    page = client.get(reverse("console:gateway", args=[gateway.pk])).content.decode()
    assert "Reachable" in page and "Challenge" in page and "Edge main agent" in page
    assert "openclaw devices approve" in page
    main = Agent.objects.get(gateway=gateway, board__isnull=True)
    agent_page = client.get(reverse("console:agent", args=[main.pk])).content.decode()
    assert "Waiting for check-in" in agent_page and "AGENTS.md" in agent_page and "written" in agent_page
    client.post(reverse("console:agent_refresh", args=[main.pk]))
    run_worker()
    main.refresh_from_db()
    assert main.gateway_snapshot_at is not None and main.gateway_snapshot.get("error") == ""


def test_the_console_edits_checks_and_removes_a_gateway(client, owner, org, fake):
    gateway = make_gateway(org, "Edge", url="ws://127.0.0.1:9", token=fake.token)
    client.force_login(owner)
    page = client.post(reverse("console:gateway_edit", args=[gateway.pk]),
                       {"name": "Edge", "url": fake.url, "token": "", "workspace_root": ""})
    assert page.status_code == 302
    gateway.refresh_from_db()
    assert gateway.url == fake.url and gateway.token == fake.token  # an empty token field keeps the token
    refused = client.post(reverse("console:gateway_edit", args=[gateway.pk]),
                          {"name": "Edge", "url": "http://nope", "token": ""})
    assert refused.status_code == 422 and "ws:// or wss://" in refused.content.decode()
    assert client.post(reverse("console:gateway_delete", args=[gateway.pk]), {"confirm_name": "Edge"}).status_code == 302
    assert not Gateway.objects.filter(pk=gateway.pk).exists()


def test_a_gateway_still_starting_is_checked_again_before_the_failure_stands(client_for, owner):
    from tests.gateway.fake_gateway import Faults
    from tests.webhooks.conftest import make_retries_due

    with FakeGateway(faults=Faults(starting_connects=2)) as fake:
        api = client_for(owner)
        body = register(api, fake)
        run_worker()
        first = api.get(f"/api/v1/gateways/{body['id']}").json()["check"]
        assert first["status"] == "checking" and first["failed_stage"] == "connect"
        for _ in range(3):
            make_retries_due()
            run_worker()
        assert api.get(f"/api/v1/gateways/{body['id']}").json()["check"]["status"] == "ok"
