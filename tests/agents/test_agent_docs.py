"""The curl examples of docs/agents.md, run as written against a live server.

Blocks marked ``<!-- runs-in-tests -->`` run in order with bash and real curl. Values an
operator would copy from an earlier answer (the lead's token, the new worker's id and
token) are taken from that answer here too.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from tests.conftest import make_task

DOC = Path(__file__).resolve().parents[2] / "docs" / "agents.md"
MARKED_BLOCK = re.compile(r"<!-- runs-in-tests -->\s*```bash\n(.*?)```", re.S)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(shutil.which("curl") is None or shutil.which("bash") is None, reason="needs curl and bash"),
]


def marked_blocks() -> list[str]:
    return MARKED_BLOCK.findall(DOC.read_text(encoding="utf-8"))


def json_documents(text: str) -> list[object]:
    """Each curl prints one JSON document; several calls print them back to back."""
    decoder, position, documents = json.JSONDecoder(), 0, []
    text = text.strip()
    while position < len(text):
        document, end = decoder.raw_decode(text, position)
        documents.append(document)
        position = end
        while position < len(text) and text[position].isspace():
            position += 1
    return documents


def run(block: str, env: dict[str, str]) -> str:
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", block], env={**os.environ, **env},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"{block}\nexit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def status_with(token: str, env: dict[str, str]) -> str:
    return run('curl -sS -o /dev/null -w "%{http_code}" "$MC_URL/api/v1/agent/healthz" -H "X-Agent-Token: $T"',
               {**env, "T": token})


def test_the_docs_have_examples_marked_for_testing():
    blocks = marked_blocks()

    assert len(blocks) >= 8
    assert all("$MC_URL" in block for block in blocks)


def test_the_curl_examples_in_the_agent_guide_work(live_server, board):
    from agents.models import Agent, Approval, Task

    task = make_task(board, "Write the release notes")
    env = {"MC_URL": live_server.url, "LOCAL_AUTH_TOKEN": settings.LOCAL_AUTH_TOKEN, "BOARD_ID": str(board.id),
           "TASK_ID": str(task.id)}

    for block in marked_blocks():
        output = run(block, env)
        if "/openapi.json" in block:
            assert "/api/v1/agent/heartbeat" in output and "report_alive" in output
            continue
        documents = json_documents(output)
        assert documents, block
        first = documents[0]
        if '$MC_URL/api/v1/agents"' in block:
            env["LEAD_TOKEN"] = first["token"]
        elif '$MC_URL/api/v1/agent/agents"' in block:
            env["AGENT_TOKEN"], env["AGENT_ID"] = first["token"], first["id"]
        elif '/token"' in block:
            old_token, env["AGENT_TOKEN"] = env["AGENT_TOKEN"], first["token"]
            assert status_with(old_token, env) == "401"

    lead = Agent.objects.get(board=board, is_board_lead=True)
    worker = Agent.objects.get(pk=env["AGENT_ID"])
    assert lead.name == "Release lead"
    assert worker.last_seen_at is not None
    task.refresh_from_db()
    assert task.status == Task.Status.IN_PROGRESS
    assert task.assigned_agent_id == worker.id
    assert task.comments.filter(author_agent=worker).exists()
    assert Approval.objects.filter(agent=worker, status="pending").count() == 1
