"""The ingest route behind a real gunicorn: body limits by length and while reading a chunked
body, which only a server that de-chunks requests can show. Ports 18600-18619 (see
tests/ops/servers.py). The server's rate-limit clock is stopped, so a burst is counted at one moment."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import sqlite3
import subprocess

import pytest

from tests.conftest import FrozenClock
from tests.ops import servers

pytestmark = pytest.mark.slow

ONE_MIB = 1_048_576
PORT = servers.port(18601)
SECRET = "server-test-secret"

SEED = f"""
from agents.models import Agent, Board, Organization
from webhooks.models import Webhook
org = Organization.objects.create(name="Server", slug="server")
board = Board.objects.create(organization=org, name="Ingest", slug="ingest")
Agent.objects.create(organization=org, board=board, name="Lead", is_board_lead=True)
plain = Webhook.objects.create(board=board)
signed = Webhook.objects.create(board=board, secret={SECRET!r})
disabled = Webhook.objects.create(board=board, enabled=False)
print(board.id, plain.id, signed.id, disabled.id)
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ingest-server")
    database = servers.migrated_sqlite(folder / "server.sqlite3")
    env = {"DJANGO_SETTINGS_MODULE": "missioncontrol.settings", "DATABASE_URL": f"sqlite:///{database}"}
    manage = [servers.PYTHON, str(servers.REPO / "manage.py")]
    seeded = subprocess.run([*manage, "shell", "-v0", "-c", SEED], env=servers.clean_env(env), cwd=servers.REPO,
                            check=True, capture_output=True, text=True)
    board_id, plain_id, signed_id, disabled_id = seeded.stdout.split()
    # One worker: the rate limit is counted per process with the in-memory backend, and a
    # test of the 429 needs one counter. Clients are told apart by X-Forwarded-For.
    with servers.gunicorn(PORT, {**env, "TRUSTED_PROXIES": "127.0.0.1"}, workers=1, tmp_path=folder,
                          frozen_clock=FrozenClock.START):
        yield {"database": database, "plain": f"/api/v1/boards/{board_id}/webhooks/{plain_id}",
               "signed": f"/api/v1/boards/{board_id}/webhooks/{signed_id}",
               "disabled": f"/api/v1/boards/{board_id}/webhooks/{disabled_id}",
               "unknown": f"/api/v1/boards/{board_id}/webhooks/00000000-0000-0000-0000-000000000000"}


def stored_payloads(server) -> int:
    with sqlite3.connect(server["database"]) as connection:
        return connection.execute("select count(*) from webhooks_webhookpayload").fetchone()[0]


def send(path: str, body: bytes | list[bytes], headers: dict[str, str] | None = None) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    try:
        headers = {"Content-Type": "application/octet-stream", **(headers or {})}
        try:
            if isinstance(body, list):
                connection.request("POST", path, body=iter(body), encode_chunked=True,
                                   headers={**headers, "Transfer-Encoding": "chunked"})
            else:
                connection.request("POST", path, body=body, headers=headers)
        except (BrokenPipeError, ConnectionResetError):
            # The server may answer 413 and close before the client has finished sending an
            # over-limit body (a client using Expect: 100-continue never sends it); the
            # answer is already on the wire, so read it.
            pass
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        connection.close()


def test_a_body_of_exactly_one_mib_is_accepted(server):
    status, body = send(server["plain"], b"a" * ONE_MIB)

    assert status == 202 and body["ok"] is True


def test_one_byte_over_the_limit_is_413_and_nothing_is_stored(server):
    before = stored_payloads(server)

    status, body = send(server["plain"], b"a" * (ONE_MIB + 1))

    assert status == 413 and set(body) == {"detail", "request_id"}
    assert stored_payloads(server) == before


def test_a_chunked_body_over_the_limit_is_413_and_nothing_is_stored(server):
    before = stored_payloads(server)

    status, body = send(server["plain"], [b"a" * 65536] * 16 + [b"z"])

    assert status == 413 and set(body) == {"detail", "request_id"}
    assert stored_payloads(server) == before


def test_a_chunked_body_of_exactly_the_limit_is_accepted_and_signed_over_all_its_bytes(server):
    chunks = [b"b" * 65536] * 16
    digest = hmac.new(SECRET.encode(), b"".join(chunks), hashlib.sha256).hexdigest()

    status, body = send(server["signed"], chunks, headers={"X-Hub-Signature-256": f"sha256={digest}"})

    assert status == 202 and body["ok"] is True


def test_a_signed_json_payload_is_accepted_through_the_real_server(server):
    payload = json.dumps({"action": "completed", "workflow": "ci"}).encode()
    digest = hmac.new(SECRET.encode(), payload, hashlib.sha256).hexdigest()
    before = stored_payloads(server)

    status, body = send(server["signed"], payload, headers={"Content-Type": "application/json",
                                                            "X-Webhook-Signature": digest})

    assert status == 202
    assert stored_payloads(server) == before + 1


OVER_BY_LENGTH = b"a" * (ONE_MIB + 1)
OVER_CHUNKED = [b"a" * 65536] * 16 + [b"z"]


@pytest.mark.parametrize("body", [OVER_BY_LENGTH, OVER_CHUNKED], ids=["content-length", "chunked"])
def test_an_over_limit_body_to_an_unknown_webhook_is_404(server, body):
    status, answer = send(server["unknown"], body)

    assert status == 404 and set(answer) == {"detail", "request_id"}


@pytest.mark.parametrize("body", [OVER_BY_LENGTH, OVER_CHUNKED], ids=["content-length", "chunked"])
def test_an_over_limit_body_to_a_disabled_webhook_is_410(server, body):
    status, answer = send(server["disabled"], body)

    assert (status, answer["detail"]) == (410, "Webhook is disabled.")


def test_an_over_limit_body_from_a_client_over_the_rate_limit_is_429(server):
    client = {"X-Forwarded-For": "192.0.2.61"}
    for _ in range(60):
        send(server["unknown"], b"{}", headers=client)

    for body in (OVER_BY_LENGTH, OVER_CHUNKED):
        status, answer = send(server["plain"], body, headers=client)
        assert status == 429 and set(answer) == {"detail", "request_id"}
