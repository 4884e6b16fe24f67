"""The copy-paste examples of docs/webhooks.md work: run with real openssl and curl against a live server."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from webhooks.models import Webhook, WebhookPayload

pytestmark = pytest.mark.django_db(transaction=True)

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"
TESTED_BLOCK = re.compile(r"<!-- tested:[^>]*-->\s*```bash\n(.*?)```", re.DOTALL)
SECRET = "docs-example-secret"


def doc_examples() -> list[str]:
    return TESTED_BLOCK.findall(DOC.read_text(encoding="utf-8"))


def test_the_doc_has_tested_examples():
    assert len(doc_examples()) == 2


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("openssl")), reason="needs curl and openssl")
@pytest.mark.parametrize("index", [0, 1])
def test_the_signed_curl_example_is_accepted(live_server, board, tmp_path, index):
    webhook = Webhook.objects.create(board=board, secret=SECRET)
    env = {"PATH": "/usr/bin:/bin:/usr/local/bin", "WEBHOOK_URL": live_server.url + webhook.endpoint_path,
           "WEBHOOK_SECRET": SECRET}

    result = subprocess.run(["bash", "-euo", "pipefail", "-c", doc_examples()[index]], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)

    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["ok"] is True and answer["webhook_id"] == str(webhook.id)
    stored = WebhookPayload.objects.get(pk=answer["payload_id"])
    assert isinstance(stored.payload, dict) and stored.payload


def test_a_wrong_secret_in_the_example_is_refused(live_server, board, tmp_path):
    webhook = Webhook.objects.create(board=board, secret=SECRET)
    env = {"PATH": "/usr/bin:/bin:/usr/local/bin", "WEBHOOK_URL": live_server.url + webhook.endpoint_path,
           "WEBHOOK_SECRET": "not-the-secret"}

    result = subprocess.run(["bash", "-euo", "pipefail", "-c", doc_examples()[0]], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)

    assert json.loads(result.stdout)["detail"] == "Invalid webhook signature."
    assert not WebhookPayload.objects.exists()
