"""The scripted model without a gateway: what it answers to the requests OpenClaw 2026.9.6
sends (a system prompt holding AGENTS.md, the message that started the turn, the tool
results, and the runtime's own context message at the end), over real HTTP."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator

import pytest

from tests.gateway.scripted_model import RUNTIME_CONTEXT, ScriptedModel, plan

BASE = "http://localhost:8123"
TOKEN = "mc_0123456789abcdef_secret"
WORKER = "11111111-1111-4111-8111-111111111111"
BOARD = "22222222-2222-4222-8222-222222222222"
TASK = "33333333-3333-4333-8333-333333333333"
SYSTEM = f"""You are a personal assistant running inside OpenClaw.
# Project Context
## AGENTS.md
```
MC_BASE_URL={BASE}
MC_AGENT_TOKEN={TOKEN}
MC_AGENT_ID={WORKER}
MC_BOARD_ID={BOARD}
MC_ROLE=worker
```
```bash
curl -fsS -X POST {BASE}/api/v1/agent/heartbeat -H 'X-Agent-Token: {TOKEN}'
```
```bash
curl -fsS '{BASE}/api/v1/agent/boards/{BOARD}/tasks?assigned_agent_id={WORKER}&status=inbox,in_progress' -H 'X-Agent-Token: {TOKEN}'
```
```bash
curl -fsS -X PATCH {BASE}/api/v1/agent/boards/{BOARD}/tasks/<TASK_ID> -H 'X-Agent-Token: {TOKEN}' -H 'Content-Type: application/json' -d '{{"status": "in_progress"}}'
```
```bash
curl -fsS -X POST {BASE}/api/v1/agent/boards/{BOARD}/tasks/<TASK_ID>/comments -H 'X-Agent-Token: {TOKEN}' -H 'Content-Type: application/json' -d '{{"message": "What I did, and how to check it."}}'
```
```bash
curl -fsS -X PATCH {BASE}/api/v1/agent/boards/{BOARD}/tasks/<TASK_ID> -H 'X-Agent-Token: {TOKEN}' -H 'Content-Type: application/json' -d '{{"status": "review", "comment": "Done: what changed and where."}}'
```
"""
ASSIGNED = (f"[Tue 2026-12-01 13:35 UTC] TASK ASSIGNED TO YOU by owner (a person).\nTask: Notes ({TASK})\n"
            f"Answer with: PATCH {BASE}/api/v1/agent/boards/{BOARD}/tasks/{TASK} "
            '{"status": "in_progress", "comment": "<what you will do first>"}')
LISTING = json.dumps({"items": [{"id": TASK, "status": "inbox"}], "total": 1})


def test_a_wake_message_runs_the_heartbeat_of_agents_md_then_answers():
    first = plan(SYSTEM, "Mission Control: Writer, your workspace was set up.", [])
    assert first.command == f"curl -fsS -X POST {BASE}/api/v1/agent/heartbeat -H 'X-Agent-Token: {TOKEN}'"
    assert first.agent == WORKER
    assert plan(SYSTEM, "Mission Control: Writer, ...", ['{"id": "..."}']).text


def test_an_assignment_lists_the_tasks_then_takes_comments_on_and_hands_in_the_first():
    steps = [plan(SYSTEM, ASSIGNED, [])]
    results = [LISTING, "{}", "{}", "{}"]
    for count in range(1, 5):
        steps.append(plan(SYSTEM, ASSIGNED, results[:count]))
    commands = [step.command or "" for step in steps[:4]]
    assert f"tasks?assigned_agent_id={WORKER}" in commands[0]
    assert f"-X PATCH {BASE}/api/v1/agent/boards/{BOARD}/tasks/{TASK} " in commands[1]
    assert '"status": "in_progress"' in commands[1]
    assert f"/tasks/{TASK}/comments" in commands[2] and TASK in commands[2].split("-d", 1)[1]
    assert '"status": "review"' in commands[3]
    assert steps[4].command is None and steps[4].text == "Done."


def test_a_review_message_is_answered_with_its_own_call_filled_in_and_the_agent_s_token():
    message = (f"TASK READY FOR YOUR REVIEW, from Writer (worker).\nAnswer with: POST {BASE}/api/v1/agent/boards/{BOARD}"
               f'/approvals {{"action_type": "mark_done", "task_id": "{TASK}", "confidence": 80, '
               '"lead_reasoning": "<why the work is done>"}')
    command = plan(SYSTEM, message, []).command or ""
    assert command.startswith(f"curl -fsS -X POST {BASE}/api/v1/agent/boards/{BOARD}/approvals -H ")
    assert f"X-Agent-Token: {TOKEN}" in command and "<why" not in command
    assert f'"task_id": "{TASK}"' in command


def test_a_failed_call_ends_the_turn_with_the_error():
    answer = plan(SYSTEM, ASSIGNED, [LISTING, "curl: (22) error: 403\n\n(Command exited with code 22)"])
    assert answer.command is None and "403" in (answer.text or "")


def test_without_credentials_in_the_system_prompt_it_runs_nothing():
    answer = plan("You are a personal assistant.", ASSIGNED, [])
    assert answer.command is None and "credentials" in (answer.text or "")


@pytest.fixture
def model() -> Iterator[ScriptedModel]:
    server = ScriptedModel().start()
    yield server
    server.stop()


def post(model: ScriptedModel, body: dict) -> bytes:
    request = urllib.request.Request(f"{model.base_url}/chat/completions", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=10) as answer:
        return answer.read()


def test_over_http_a_streamed_request_gets_an_exec_tool_call_and_is_logged(model):
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": ASSIGNED},
                {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function",
                                                                        "function": {"name": "exec"}}]},
                {"role": "tool", "content": LISTING},
                # 2026.9.6 ends every request with its own context; it is not a new turn.
                {"role": "user", "content": [{"type": "text", "text": RUNTIME_CONTEXT + "\nnone"}]}]
    body = {"model": "scripted-agent", "stream": True, "stream_options": {"include_usage": True},
            "messages": messages, "tools": [{"type": "function", "function": {"name": "exec"}}]}
    events = [line.removeprefix(b"data: ") for line in post(model, body).split(b"\n\n") if line]
    assert events[-1] == b"[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    [call] = [delta["tool_calls"][0] for chunk in chunks for choice in chunk["choices"]
              if (delta := choice["delta"]).get("tool_calls")]
    assert call["function"]["name"] == "exec"
    assert '"status": "in_progress"' in json.loads(call["function"]["arguments"])["command"]
    assert chunks[-1]["usage"]["total_tokens"] == 2
    assert len(model.requests) == 1 and model.decisions[0].step == 1
    assert "step 1" in model.transcript()


def test_over_http_without_the_exec_tool_it_says_so_in_text(model):
    body = {"model": "scripted-agent", "messages": [{"role": "system", "content": SYSTEM},
                                                    {"role": "user", "content": "wake up"}]}
    answer = json.loads(post(model, body))
    assert answer["choices"][0]["finish_reason"] == "stop"
    assert "cannot run commands" in answer["choices"][0]["message"]["content"]
