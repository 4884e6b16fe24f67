"""Provisioning against the fake gateway: what is sent, what is left alone, and how faults end."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from agents import tokens
from agents.gateway import cleanup, lifecycle, pool, provisioning, sync, workspace
from agents.models import Agent, GatewayCleanup
from agents.rules import roster
from tests.agents.agent_client import agent_client
from tests.conftest import make_agent
from tests.gateway.fake_gateway import V4, FakeGateway, Faults

pytestmark = pytest.mark.django_db

Lifecycle = Agent.Lifecycle


@pytest.fixture(autouse=True)
def fresh_pool() -> Iterator[None]:
    yield
    pool.close_all()


@pytest.fixture
def fake(request) -> Iterator[FakeGateway]:
    options = getattr(request, "param", {})
    with FakeGateway(**options) as gateway:
        yield gateway


@pytest.fixture
def on_fake(gateway, fake):
    """The shared cast's gateway, pointed at the fake."""
    gateway.url, gateway.token = fake.url, fake.token
    gateway.workspace_root = "/srv/oc"
    gateway.save()
    return gateway


def provision(agent: Agent, mode: str = "provision") -> str:
    token = tokens.mint_token(agent)
    roster.provision_on_gateway(agent, token=token, mode=mode)
    agent.refresh_from_db()
    return token


def run_job(agent: Agent, mode: str | None = None) -> str:
    agent.refresh_from_db()
    return provisioning.run(str(agent.pk), agent.lifecycle_generation, mode or "provision")


def test_a_worker_is_created_configured_written_and_woken(on_fake, fake, board):
    worker = make_agent("Ada", board=board)
    token = provision(worker)
    assert run_job(worker) == "woken"
    worker.refresh_from_db()
    key = f"mc-{worker.pk}"
    assert key in fake.agent_ids() and worker.gateway_agent_id == key
    entry = fake.agent_entry(key)
    assert entry["workspace"] == f"/srv/oc/workspace-{key}" and entry["name"] == "Ada"
    assert entry["heartbeat"]["every"] == "10m" and entry["heartbeat"]["target"] == "none"
    assert entry["tools"] == {"exec": {"host": "gateway"}}
    report = worker.provision_report
    assert sorted(report["files_written"]) == ["AGENTS.md", "IDENTITY.md", "MEMORY.md", "SOUL.md", "USER.md"]
    assert set(report["files_skipped"]) == {"TOOLS.md", "HEARTBEAT.md"}
    assert "does not accept" in report["files_skipped"]["TOOLS.md"]
    # The token the API handed out is the one in the workspace, and it works.
    assert workspace.read_token(fake.file_content(key, "AGENTS.md")) == token
    assert agent_client(token).get("/api/v1/agent/healthz").status_code == 200
    [wake] = fake.calls_of("chat.send")
    assert wake.params["sessionKey"] == f"agent:{key}:main" and wake.params["idempotencyKey"]
    assert worker.lifecycle_status in (Lifecycle.WAITING, Lifecycle.ACTIVE) and worker.pending_token == ""


@pytest.mark.parametrize("fake", [{"version": V4}], indirect=True)
def test_on_2026_4_the_roster_is_a_list_and_every_file_is_accepted(on_fake, fake, board):
    lead = make_agent("Lead", board=board, lead=True)
    provision(lead)
    assert run_job(lead) == "woken"
    lead.refresh_from_db()
    assert fake.agent_entry(f"lead-{board.pk}")["id"] == f"lead-{board.pk}"
    assert set(lead.provision_report["files_written"]) == set(workspace.LEAD_FILES)
    assert lead.provision_report["files_skipped"] == {}


def test_a_sync_that_changes_nothing_sends_no_patch_and_no_file(on_fake, fake, board, lead):
    worker = make_agent("Ada", board=board)
    for agent in (lead, worker):
        provision(agent)
        run_job(agent)
    patches, writes, config_hash = fake.patches, len(fake.calls_of("agents.files.set")), fake.config_hash
    assert sync.run(str(on_fake.pk)) == "synced"
    assert fake.patches == patches and fake.config_hash == config_hash
    assert len(fake.calls_of("agents.files.set")) == writes
    on_fake.refresh_from_db()
    assert on_fake.sync_report["config_patched"] is False


def test_a_sync_after_a_change_patches_once_for_all_agents_and_writes_only_what_changed(on_fake, fake, board):
    agents = [make_agent(f"Agent {n}", board=board) for n in range(3)]
    for agent in agents:
        provision(agent)
        run_job(agent)
    Agent.objects.filter(pk__in=[a.pk for a in agents]).update(heartbeat_config={"every": "30m"})
    board.objective = "A new objective"
    board.save()
    patches, writes = fake.patches, len(fake.calls_of("agents.files.set"))
    sync.run(str(on_fake.pk))
    assert fake.patches == patches + 1
    written = fake.calls_of("agents.files.set")[writes:]
    assert {call.params["name"] for call in written} == {"AGENTS.md"}  # the objective is in AGENTS.md only
    assert len(written) == 3


def test_an_agent_the_gateway_already_has_is_adopted(on_fake, fake, board):
    from agents.gateway.connect import connection

    worker = make_agent("Ada", board=board)
    # The earlier Mission Control made it, under the same id and workspace.
    connection(on_fake).call("agents.create", {"name": f"mc-{worker.pk}", "workspace": f"/srv/oc/workspace-mc-{worker.pk}"})
    provision(worker)
    assert run_job(worker) == "woken"
    worker.refresh_from_db()
    assert worker.provision_report["adopted"] is True
    assert fake.agent_ids().count(f"mc-{worker.pk}") == 1


@pytest.mark.parametrize("fake", [{"faults": Faults(not_found_window=3)}], indirect=True)
def test_the_hot_reload_after_create_is_waited_out(on_fake, fake, board):
    worker = make_agent("Ada", board=board)
    provision(worker)
    assert run_job(worker) == "woken"


@pytest.mark.parametrize("fake", [{"faults": Faults(restart_on={"agents.files.set": 1},
                                                    restart_answers_first=False)}], indirect=True)
def test_a_restart_during_provisioning_is_an_error_retried_and_the_agent_is_woken_once(on_fake, fake, board):
    worker = make_agent("Ada", board=board)
    token = provision(worker)
    assert run_job(worker).startswith("failed")
    worker.refresh_from_db()
    assert worker.lifecycle_status == Lifecycle.ERROR and worker.next_retry_at is not None
    assert worker.last_error and "Traceback" not in worker.last_error
    # The retry writes the same token (it waited sealed) and wakes the agent once.
    assert run_job(worker, "retry") == "woken"
    key = f"mc-{worker.pk}"
    assert workspace.read_token(fake.file_content(key, "AGENTS.md")) == token
    assert len(fake.calls_of("chat.send")) == 1


def test_an_update_never_overwrites_the_agent_s_own_files(on_fake, fake, board):
    worker = make_agent("Ada", board=board)
    provision(worker)
    run_job(worker)
    key = f"mc-{worker.pk}"
    fake.write_file(key, "MEMORY.md", "What I learnt.")
    fake.write_file(key, "USER.md", "Maria likes short updates.")
    worker.refresh_from_db()
    worker.name = "Ada Lovelace"
    worker.save()
    lifecycle.request_provisioning(worker, mode="update")
    assert run_job(worker, "update") == "woken"
    worker.refresh_from_db()
    assert fake.file_content(key, "MEMORY.md") == "What I learnt."
    assert fake.file_content(key, "USER.md") == "Maria likes short updates."
    assert worker.provision_report["files_skipped"]["MEMORY.md"] == provisioning.KEPT_REASON
    assert "Ada Lovelace" in fake.file_content(key, "AGENTS.md")
    assert fake.agent_entry(key)["name"] == "Ada Lovelace"


def test_a_rotated_token_reaches_the_workspace_and_the_old_one_works_meanwhile(on_fake, fake, board, client_for,
                                                                               owner):
    worker = make_agent("Ada", board=board)
    old = provision(worker)
    run_job(worker)
    new = client_for(owner).post(f"/api/v1/agents/{worker.pk}/token").json()["token"]
    assert agent_client(old).get("/api/v1/agent/healthz").status_code == 200  # the grace
    assert run_job(worker, "update") == "woken"
    assert workspace.read_token(fake.file_content(f"mc-{worker.pk}", "AGENTS.md")) == new
    assert agent_client(new).get("/api/v1/agent/healthz").status_code == 200
    assert agent_client(old).get("/api/v1/agent/healthz").status_code == 401  # the new one is in use


def test_a_deleted_agent_is_removed_from_its_gateway_and_not_found_counts_as_done(on_fake, fake, board, client_for,
                                                                                  owner):
    worker = make_agent("Ada", board=board)
    provision(worker)
    run_job(worker)
    key = f"mc-{worker.pk}"
    assert client_for(owner).delete(f"/api/v1/agents/{worker.pk}").status_code == 204
    assert not Agent.objects.filter(pk=worker.pk).exists()
    [job] = GatewayCleanup.objects.filter(gateway=on_fake)
    assert cleanup.run(str(job.pk)) == "done"
    assert key not in fake.agent_ids()
    assert fake.calls_of("agents.delete")[-1].params == {"agentId": key, "deleteFiles": True}
    assert fake.calls_of("sessions.delete")[-1].params == {"key": f"agent:{key}:main"}
    GatewayCleanup.objects.filter(pk=job.pk).update(status=GatewayCleanup.Status.PENDING)
    assert cleanup.run(str(job.pk)) == "done"  # already gone there: done all the same


def test_a_gateway_that_cannot_be_reached_leaves_the_delete_here_and_retries_it(on_fake, fake, board, client_for,
                                                                                owner):
    worker = make_agent("Ada", board=board)
    provision(worker)
    run_job(worker)
    fake.stop()
    client_for(owner).delete(f"/api/v1/agents/{worker.pk}")
    assert not Agent.objects.filter(pk=worker.pk).exists()
    [job] = GatewayCleanup.objects.filter(gateway=on_fake)
    assert cleanup.run(str(job.pk)) == "retrying"
    job.refresh_from_db()
    assert job.status == GatewayCleanup.Status.FAILED and job.attempts == 1 and job.next_attempt_at is not None
    assert DBTaskResult.objects.filter(task_path="agents.gateway.tasks.remove_gateway_agent",
                                       status=TaskResultStatus.READY, run_after=job.next_attempt_at).exists()


def test_an_unreachable_gateway_is_an_error_in_words_with_the_next_try(on_fake, fake, board):
    worker = make_agent("Ada", board=board)
    provision(worker)
    fake.stop()
    assert run_job(worker).startswith("failed")
    worker.refresh_from_db()
    assert worker.status == "error" and worker.next_retry_at > timezone.now()
    assert "127.0.0.1" in worker.last_error and "Errno" not in worker.last_error


@pytest.mark.parametrize("fake", [{"require_pairing": True}], indirect=True)
def test_pairing_required_names_the_device_and_the_approve_command(on_fake, fake, board):
    from agents.gateway.device import device_id

    worker = make_agent("Ada", board=board)
    provision(worker)
    run_job(worker)
    worker.refresh_from_db()
    assert device_id() in worker.last_error and "openclaw devices approve" in worker.last_error


def test_a_lead_s_create_of_a_worker_provisions_it(on_fake, fake, board, lead):
    answer = agent_client(tokens.mint_token(lead)).post("/api/v1/agent/agents", {"name": "Helper"}, format="json")
    assert answer.status_code == 201
    helper = Agent.objects.get(pk=answer.json()["id"])
    assert helper.lifecycle_status == Lifecycle.PROVISIONING
    assert run_job(helper) == "woken"
    assert workspace.read_token(fake.file_content(f"mc-{helper.pk}", "AGENTS.md")) == answer.json()["token"]


def test_silence_after_the_wake_rewakes_with_a_token_written_to_the_workspace(on_fake, fake, board):
    worker = make_agent("Ada", board=board)
    first = provision(worker)
    run_job(worker)
    worker.refresh_from_db()
    later = timezone.now() + lifecycle.CHECKIN_DEADLINE + timedelta(seconds=1)
    assert lifecycle.reconcile(worker, worker.lifecycle_generation, now=later) == "rewoken"
    assert run_job(worker, "rewake") == "woken"
    second = workspace.read_token(fake.file_content(f"mc-{worker.pk}", "AGENTS.md"))
    assert second != first and tokens.matches(Agent.objects.get(pk=worker.pk), second) == "current"
    assert len(fake.calls_of("chat.send")) == 2


def test_a_sync_creates_agents_the_gateway_lacks_and_a_second_sync_writes_nothing(on_fake, fake, board):
    agents = [make_agent(f"Agent {n}", board=board) for n in range(3)]
    for agent in agents:
        tokens.mint_token(agent)
    assert sync.run(str(on_fake.pk)) == "synced"
    assert {f"mc-{agent.pk}" for agent in agents} <= set(fake.agent_ids())
    assert fake.patches == 1  # one patch for all three entries
    for agent in agents:
        agent.refresh_from_db()
        assert agent.pending_token == "" and agent.provisioned_at is not None
        token = workspace.read_token(fake.file_content(f"mc-{agent.pk}", "AGENTS.md"))
        assert tokens.matches(agent, token) == "current"
    writes = len(fake.calls_of("agents.files.set"))
    assert not fake.calls_of("agents.files.get")  # a workspace never written holds no token to read back
    sync.run(str(on_fake.pk))
    assert len(fake.calls_of("agents.files.set")) == writes and fake.patches == 1
