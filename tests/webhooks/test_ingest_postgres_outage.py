"""Ingest under load through a real gunicorn while its private Postgres restarts and stops.

Every well-signed ingest is answered 202, every 202 ends up stored exactly once (the
spool keeps what arrives while the database is away), other routes answer 503 with
Retry-After meanwhile, and each process logs one line when an outage starts and one when
it ends: no tracebacks.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import re
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import require_postgres_server
from tests.ops import servers

pytestmark = pytest.mark.slow

PORT = servers.port(18602)
PRIVATE_POSTGRES_PORT = servers.private_service_port(18153)
SECRET = "outage-test-secret"
TOKEN = "Qm7vT2pZ9kLw4RbX8nHc3JfY6sDq1GtA5eWu0KiVoP2yNhMz7LrB4xCg"

SEED = f"""
from agents.models import Agent, Board, Organization
from webhooks.models import Webhook
org = Organization.objects.create(name="Outage", slug="outage")
board = Board.objects.create(organization=org, name="Ingest", slug="ingest")
Agent.objects.create(organization=org, board=board, name="Lead", is_board_lead=True)
print(board.id, Webhook.objects.create(board=board, secret={SECRET!r}).id)
"""


@pytest.fixture
def postgres():
    require_postgres_server()
    with servers.private_postgres(PRIVATE_POSTGRES_PORT, durable_commits=True) as server:
        yield server


class Load:
    """A few clients posting signed ingests, and one asking another route, until stopped."""

    def __init__(self, path: str, clients: int = 3, pause: float = 0.03) -> None:
        self.path, self.clients, self.pause = path, clients, pause
        self.stopped = threading.Event()
        self.lock = threading.Lock()
        self.ingest: Counter[int] = Counter()
        self.accepted: set[str] = set()
        self.other: list[tuple[float, int, str | None, str]] = []
        self.errors: list[str] = []
        self.threads = [threading.Thread(target=self.post, args=(n,), daemon=True) for n in range(clients)]
        self.threads.append(threading.Thread(target=self.ask, daemon=True))

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        self.stopped.set()
        for thread in self.threads:
            thread.join(timeout=30)

    def post(self, client: int) -> None:
        sent = 0
        while not self.stopped.is_set():
            body = json.dumps({"client": client, "n": sent}).encode()
            signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            try:
                connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=20)
                connection.request("POST", self.path, body=body, headers={
                    "Content-Type": "application/json", "X-Hub-Signature-256": signature})
                response = connection.getresponse()
                answer = response.read()
                connection.close()
            except OSError as exc:
                with self.lock:
                    self.errors.append(f"ingest: {exc!r}")
                continue
            with self.lock:
                self.ingest[response.status] += 1
                if response.status == 202:
                    self.accepted.add(json.loads(answer)["payload_id"])
                else:
                    self.errors.append(f"ingest {response.status}: {answer[:300]!r}")
            sent += 1
            time.sleep(self.pause)

    def ask(self) -> None:
        while not self.stopped.is_set():
            try:
                connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=20)
                connection.request("GET", "/api/v1/boards", headers={"Authorization": f"Bearer {TOKEN}"})
                response = connection.getresponse()
                answer = response.read().decode(errors="replace")
                connection.close()
            except OSError as exc:
                with self.lock:
                    self.errors.append(f"other: {exc!r}")
                continue
            with self.lock:
                self.other.append((time.monotonic(), response.status, response.getheader("Retry-After"),
                                   response.getheader("Content-Type") or ""))
                if response.status == 503:
                    assert set(json.loads(answer)) == {"detail", "request_id"}
            time.sleep(0.1)


def stored_ids(postgres: servers.PrivatePostgres) -> list[str]:
    import psycopg

    with psycopg.connect(postgres.url, connect_timeout=2) as connection:
        return [str(row[0]) for row in connection.execute("SELECT id FROM webhooks_webhookpayload")]


def test_no_5xx_and_no_loss_while_postgres_restarts_and_stops(postgres, tmp_path: Path):
    env = {"DJANGO_SETTINGS_MODULE": "tests.settings", "DATABASE_URL": postgres.url, "LOG_LEVEL": "INFO",
           "LOCAL_AUTH_TOKEN": TOKEN, "RATE_LIMIT_WEBHOOK_INGEST": "100000/60",
           "WEBHOOK_SPOOL_DIR": str(tmp_path / "spool"), "DB_AUTO_MIGRATE": "false"}
    manage = [servers.PYTHON, str(servers.REPO / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0", "--no-input"], env=servers.clean_env(env), cwd=servers.REPO,
                   check=True, timeout=120)
    seeded = subprocess.run([*manage, "shell", "-v0", "-c", SEED], env=servers.clean_env(env), cwd=servers.REPO,
                            check=True, capture_output=True, text=True, timeout=60)
    board_id, webhook_id = seeded.stdout.split()
    load = Load(f"/api/v1/boards/{board_id}/webhooks/{webhook_id}", clients=2, pause=0.04)

    with servers.gunicorn(PORT, env, workers=2, tmp_path=tmp_path):
        log = tmp_path / f"gunicorn-{PORT}.log"
        load.start()
        time.sleep(1.5)  # both workers have found the webhook (and its secret)
        postgres.restart()
        time.sleep(1.5)
        postgres.stop()
        outage_started = time.monotonic()
        time.sleep(5.0)
        outage_ended = time.monotonic()
        postgres.start()
        time.sleep(1.5)
        load.stop()

        deadline = time.monotonic() + 20
        ids = stored_ids(postgres)
        while len(ids) < len(load.accepted) and time.monotonic() < deadline:
            time.sleep(0.3)
            ids = stored_ids(postgres)
        text = log.read_text(errors="replace")

    assert not load.errors, load.errors[:5]
    assert set(load.ingest) == {202}, load.ingest
    assert len(load.accepted) == sum(load.ingest.values()) > 50
    assert len(ids) == len(set(ids)), "a payload was stored twice"
    assert set(ids) == load.accepted, (len(ids), len(load.accepted), text[-3000:])

    during = [answer for answer in load.other if outage_started + 0.5 < answer[0] < outage_ended]
    assert during and all(status == 503 and retry_after and kind.startswith("application/json")
                          for _, status, retry_after, kind in during), during
    assert not [answer for answer in load.other if answer[1] >= 500 and answer[1] != 503]

    assert "Traceback" not in text, text[-3000:]
    starts = re.findall(r"Database unavailable; answering 503.* pid=(\d+)", text)
    ends = re.findall(r"Database available again.* pid=(\d+)", text)
    # One line per outage and process (two outages, two worker processes), never one per request.
    assert 1 <= max(Counter(starts).values()) <= 2, starts
    assert Counter(starts) == Counter(ends), text[-3000:]
    assert "webhook request(s) spooled" in text
