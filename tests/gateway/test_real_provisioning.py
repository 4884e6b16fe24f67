"""Against the real OpenClaw gateways (2026.9.6 and 2026.4.29): register and check, provision
a lead and a worker, a sync that changes nothing, a token rotation, an event pushed to the
agents' sessions, a SOUL.md read and rewritten, and a delete, each seen on the gateway
itself (its agents, its config file, its chat history, the workspace files on disk)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from agents import tokens
from agents.gateway import checks, pool, workspace
from agents.models import Agent, AgentMessage, Gateway, GatewayCleanup
from tests.agents.agent_client import agent_client
from tests.gateway.real import RealGateway
from tests.webhooks.conftest import make_retries_due, run_worker

# Marked openclaw and grouped by version in tests/gateway/conftest.py.
pytestmark = [pytest.mark.django_db]


@pytest.fixture(autouse=True)
def fresh_pool() -> Iterator[None]:
    yield
    pool.close_all()


def entry_of(real: RealGateway, agent_id: str) -> dict | None:
    agents = real.config().get("agents", {})
    if "entries" in agents:
        return agents["entries"].get(agent_id)
    return next((item for item in agents.get("list", []) if item.get("id") == agent_id), None)


PROVISION_JOB = "agents.gateway.tasks.provision_agent"

# A gateway busy with agent turns (2026.4 runs them on its main loop) answers slowly.
SLOW = 90.0


def gateway_agent_ids(real: RealGateway) -> set[str]:
    with real.connect(timeout=SLOW) as connection:
        return {agent["id"] for agent in connection.call("agents.list")["agents"]}


def config_hash(real: RealGateway) -> str:
    with real.connect(timeout=SLOW) as connection:
        return connection.call("config.get")["hash"]


def register(client, real: RealGateway, org) -> Gateway:
    answer = client.post("/api/v1/gateways", {"name": f"Real {real.version}", "url": real.url, "token": real.token,
                                              "workspace_root": str(real.workspace_root)}, format="json")
    assert answer.status_code == 201, answer.content
    gateway = Gateway.objects.get(pk=answer.json()["id"])
    for _ in range(checks.MAX_RECHECKS + 1):
        run_worker()
        gateway.refresh_from_db()
        if gateway.check_status != Gateway.CheckStatus.CHECKING:
            break
        make_retries_due()  # a gateway busy restarting is checked again a few seconds later
    failed = [stage for stage in gateway.check_report.get("stages", []) if not stage["ok"]]
    assert gateway.check_status == Gateway.CheckStatus.OK, (failed, real.log_tail())
    return gateway


def said_in_session(real: RealGateway, agent: Agent, text: str,
                    wait: float = 30.0) -> tuple[list[dict], list[dict]]:
    """The user messages of the agent's main session that contain ``text``: in its transcript,
    and (2026.9, while a turn runs) waiting among its pending inputs. A message moving from
    one to the other can show in both for a moment, under the same key."""
    deadline = time.monotonic() + wait
    while True:
        with real.connect(timeout=SLOW) as connection:
            history = connection.call("chat.history", {"sessionKey": f"agent:{agent.gateway_agent_id}:main",
                                                       "limit": 50})
        def matching(items: list[dict]) -> list[dict]:
            return [item for item in items if item.get("role") == "user" and text in json.dumps(item.get("content"))]
        pending_items = (history.get("pendingInputs") or {}).get("items", [])
        transcript = matching(history.get("messages", []))
        waiting = [item for item in pending_items if matching([item.get("message") or {}])]
        if transcript or waiting or time.monotonic() > deadline:
            return transcript, waiting


def as_an_agent_retries(call, tries: int = 4, pause: float = 5.0):
    """Makes ``call`` again while it answers 502 with ``retryable`` (2026.4 holds file reads and
    writes while an agent's turn runs, here the wake-up after the rotation), as the error tells
    an agent to."""
    for _ in range(tries - 1):
        answer = call()
        if answer.status_code != 502 or not answer.json()["detail"].get("retryable"):
            return answer
        time.sleep(pause)
    return call()


def timed_out(errors: dict[str, str]) -> bool:
    """Whether a sync failed only because the gateway did not answer in time."""
    return bool(errors) and all(" did not send " in sentence for sentence in errors.values())


def workspace_of(real: RealGateway, agent: Agent) -> Path:
    agent.refresh_from_db()
    key = agent.gateway_agent_id
    assert key, agent.provision_report
    return real.workspace_root / f"workspace-{key.removeprefix('mc-') if key.startswith('mc-gateway-') else key}"


def test_register_check_provision_sync_rotate_and_delete(openclaw_gateway: RealGateway, client_for, owner, org,
                                                         board):
    real = openclaw_gateway
    api = client_for(owner)
    gateway = register(api, real, org)
    assert gateway.server_version == real.version
    assert gateway.protocol == (4 if real.version.startswith("2026.9") else 3)
    main = Agent.objects.get(gateway=gateway, board__isnull=True)
    assert f"mc-gateway-{gateway.pk}" in gateway_agent_ids(real), real.log_tail()

    board.gateway = gateway
    board.save()
    lead = api.post("/api/v1/agents", {"name": "Lead", "board_id": str(board.pk), "is_board_lead": True},
                    format="json").json()
    worker = api.post("/api/v1/agents", {"name": "Worker", "board_id": str(board.pk)}, format="json").json()
    run_worker()
    lead_agent, worker_agent = Agent.objects.get(pk=lead["id"]), Agent.objects.get(pk=worker["id"])
    # 2026.4 holds file writes while an agent's turn runs (the lead's wake-up): on a busy
    # machine a write can outlast its timeout, and the job's retry (sooner here) finishes it.
    for _ in range(3):
        if not Agent.objects.filter(pk__in=[lead_agent.pk, worker_agent.pk],
                                    lifecycle_status=Agent.Lifecycle.ERROR).exists():
            break
        # Only the provisioning retries: the check-in watches keep their own time.
        DBTaskResult.objects.filter(task_path=PROVISION_JOB, status=TaskResultStatus.READY).update(
            run_after=timezone.now())
        run_worker()
    for agent, answer in ((lead_agent, lead), (worker_agent, worker)):
        agent.refresh_from_db()
        # Woken and waiting for its first call; no model answers here, so on a machine slow
        # enough for three 30 s check-in watches to pass meanwhile, it is offline after them.
        assert agent.provisioned_at is not None, (agent.last_error, real.log_tail())
        assert agent.lifecycle_status == Agent.Lifecycle.WAITING or (
            agent.lifecycle_status == Agent.Lifecycle.OFFLINE and "check in" in agent.last_error), (
            agent.lifecycle_status, agent.last_error, real.log_tail())
        folder = workspace_of(real, agent)
        assert agent.gateway_agent_id in gateway_agent_ids(real)
        entry = entry_of(real, agent.gateway_agent_id)
        assert entry is not None and entry["workspace"] == str(folder)
        assert entry["heartbeat"]["target"] == "none" and entry["tools"]["exec"]["host"] == "gateway"
        agents_md = (folder / "AGENTS.md").read_text()
        written = workspace.read_token(agents_md)
        assert written is not None and tokens.matches(agent, written) == "current"
        # The token the API handed out, unless the agent missed its check-in on a slow
        # machine and was woken again with a fresh one (docs/gateways.md, Lifecycle).
        assert written == answer["token"] or agent.wake_attempts > 1, agent.wake_attempts
        assert (folder / "SOUL.md").exists() and (folder / "MEMORY.md").exists()
        # The agent checks in with the token its workspace holds, as a real one would (no
        # model runs here): its check-in watch stands down, and nothing rewrites its
        # workspace behind the steps below.
        checked_in = agent_client(written).post("/api/v1/agent/heartbeat", {}, format="json")
        assert checked_in.status_code == 200, checked_in.content
        answer["token"] = written
    assert lead_agent.gateway_agent_id == f"lead-{board.pk}"
    # Written for the lead; the runtime itself may remove it once the first session saw it.
    assert "BOOTSTRAP.md" in lead_agent.provision_report["files_written"]
    if real.version.startswith("2026.9"):
        assert set(worker_agent.provision_report["files_skipped"]) == {"TOOLS.md", "HEARTBEAT.md"}
    else:
        assert (workspace_of(real, worker_agent) / "TOOLS.md").exists()
    assert main.pk  # the main agent was provisioned with the gateway

    # A sync that changes nothing: no config.patch, no rewritten file.
    before_hash = config_hash(real)
    agents_md = workspace_of(real, worker_agent) / "AGENTS.md"
    before_mtime = agents_md.stat().st_mtime_ns
    for _ in range(3):
        assert api.post(f"/api/v1/gateways/{gateway.pk}/sync").status_code == 202
        run_worker()
        gateway.refresh_from_db()
        if not (real.version.startswith("2026.4.") and timed_out(gateway.sync_report["errors"])):
            break
        # 2026.4 answers nothing while an agent's turn starts (its event loop is busy: tens of
        # seconds on a loaded 2-core machine), so a read can time out; an operator syncs again.
        # Every sync here must still change nothing.
    assert gateway.sync_report["errors"] == {} and gateway.sync_report["config_patched"] is False
    assert config_hash(real) == before_hash
    assert agents_md.stat().st_mtime_ns == before_mtime, (gateway.sync_report, Agent.objects.get(
        pk=worker_agent.pk).provision_report)

    # Rotation: the new token reaches the workspace; the old one works until it is used.
    old = worker["token"]
    new = api.post(f"/api/v1/agents/{worker_agent.pk}/token").json()["token"]
    run_worker()
    assert workspace.read_token(agents_md.read_text()) == new
    assert tokens.matches(Agent.objects.get(pk=worker_agent.pk), old) == "previous"

    # The lead reads the worker's SOUL.md from the gateway and rewrites it there.
    lead_api = agent_client(lead["token"])
    soul_url = f"/api/v1/agent/boards/{board.pk}/agents/{worker_agent.pk}/soul"
    soul = as_an_agent_retries(lambda: lead_api.get(soul_url))
    assert soul.status_code == 200 and soul.json() == (workspace_of(real, worker_agent) / "SOUL.md").read_text()
    rewritten = as_an_agent_retries(lambda: lead_api.put(soul_url, {"content": "# Soul\nShip small changes.\n"},
                                                         format="json"))
    assert rewritten.status_code == 200, rewritten.content
    assert (workspace_of(real, worker_agent) / "SOUL.md").read_text() == "# Soul\nShip small changes.\n"

    # Events reach the agents' sessions: a task for the worker tells the worker and the lead.
    answer = api.post(f"/api/v1/boards/{board.pk}/tasks", {"title": "Read the release checklist",
                                                          "assigned_agent_id": str(worker_agent.pk)}, format="json")
    assert answer.status_code == 201, answer.content
    task_id = answer.json()["id"]
    make_retries_due()
    run_worker()
    for agent in (worker_agent, lead_agent):
        agent.refresh_from_db()
        [message] = AgentMessage.objects.filter(agent=agent)
        assert message.status == AgentMessage.Status.SENT, (message.last_error, real.log_tail())
        if not real.version.startswith("2026.9"):
            # 2026.4 keeps no user message in the history of a turn that failed before a
            # reply (no model runs here): the gateway accepting the send is what shows.
            continue
        transcript, waiting = said_in_session(real, agent, task_id)
        # Once, wherever it is now: at most one copy in the transcript, at most one waiting,
        # and a waiting one is the same message (the run id is our key).
        assert transcript or waiting, real.log_tail()
        assert len(transcript) <= 1 and len(waiting) <= 1, (transcript, waiting)
        for item in transcript:
            assert str(item.get("idempotencyKey", message.batch_key)).startswith(message.batch_key), item
        for item in waiting:
            assert item.get("runId") == message.batch_key, item

    # Delete: gone here at once, and from the gateway when the worker has run.
    assert api.delete(f"/api/v1/agents/{worker_agent.pk}").status_code == 204
    run_worker()
    removal = GatewayCleanup.objects.get(gateway=gateway)
    assert removal.status == GatewayCleanup.Status.DONE, (removal.last_error, real.log_tail())
    assert worker_agent.gateway_agent_id not in gateway_agent_ids(real)
    assert entry_of(real, worker_agent.gateway_agent_id) is None
