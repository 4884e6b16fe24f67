"""A scripted model for real OpenClaw agents: a loopback HTTP server speaking the
OpenAI-compatible chat completions API (``/v1/models``, ``/v1/chat/completions``, plain
JSON or server-sent events, with tool calls), so a gateway can use it as a custom
``openai-completions`` provider.

It plays the part of a model that follows its instructions literally. Everything it
knows comes from the request: the Mission Control address and token from the workspace
text in the system prompt (``MC_BASE_URL``, ``MC_AGENT_TOKEN``), the commands from the
sections of AGENTS.md, and the task from the message that started the turn (its
``Answer with:`` line) and from the tool results it was sent back. Each step of a turn is
one ``exec`` tool call running ``curl``; when the steps are done it answers with text.

| The turn starts with | It runs |
|---|---|
| anything else (the wake message, a heartbeat) | the heartbeat curl of AGENTS.md |
| TASK ASSIGNED TO YOU (a worker) | its task list, then the first task to in progress, a comment, and review |
| TASK READY FOR YOUR REVIEW (a lead) | the call of the message's ``Answer with:`` line (the done approval) |
| APPROVAL APPROVED (a lead) | the call of the message's ``Answer with:`` line (the task to done) |

Every request is kept (``requests``) with the decision taken (``decisions``), and
``transcript()`` renders them for a failing test's output.
"""

from __future__ import annotations

import json
import re
import shlex
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODEL_ID = "scripted-agent"
WAKE, HEARTBEAT = "wake", "heartbeat"
ASSIGNED, REVIEW, APPROVED, OTHER = "TASK ASSIGNED TO YOU", "TASK READY FOR YOUR REVIEW", "APPROVAL APPROVED", "other"
_SETTING = re.compile(r"^(MC_[A-Z_]+)=(\S+)\s*$", re.MULTILINE)
_ANSWER = re.compile(r"^Answer with: (GET|POST|PATCH|PUT|DELETE) (\S+)(?: (\{.*\}))?\s*$", re.MULTILINE)
# OpenClaw 2026.9 ends each request with a user message of its own (active exec sessions,
# subagents), after the tool results: it is context, not what started the turn.
RUNTIME_CONTEXT = "<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>>"
FAILED = "(Command exited with code"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def text_of(content: Any) -> str:
    """A message's text: a string, or the text parts of a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


@dataclass
class Decision:
    """What the model answered to one request: a command for the exec tool, or text."""

    agent: str  # MC_AGENT_ID from the system prompt, "" when it had none
    trigger: str  # what started the turn: ASSIGNED, REVIEW, APPROVED, WAKE or OTHER
    step: int  # how many tool calls of this turn came before
    command: str | None = None
    text: str | None = None


@dataclass
class Workspace:
    """The values and commands the system prompt carries from the agent's AGENTS.md."""

    settings: dict[str, str]
    lines: list[str]

    @classmethod
    def read(cls, system: str) -> Workspace:
        return cls(dict(_SETTING.findall(system)), [line.strip() for line in system.splitlines()])

    @property
    def token(self) -> str:
        return self.settings.get("MC_AGENT_TOKEN", "")

    def command(self, *needles: str) -> str | None:
        """The first ``curl`` line of AGENTS.md that contains every one of ``needles``."""
        for line in self.lines:
            if line.startswith("curl ") and all(needle in line for needle in needles):
                return line
        return None

    def curl(self, method: str, url: str, body: dict[str, Any] | None = None) -> str:
        """A call written in the way of AGENTS.md's own commands, with this agent's token."""
        parts = ["curl", "-fsS"] + (["-X", method] if method != "GET" else []) + [
            shlex.quote(url), "-H", shlex.quote(f"X-Agent-Token: {self.token}")]
        if body is not None:
            parts += ["-H", shlex.quote("Content-Type: application/json"), "-d", shlex.quote(json.dumps(body))]
        return " ".join(parts)


def fill_in(value: Any, blanks: dict[str, str]) -> Any:
    """The JSON of an ``Answer with:`` line with its ``<...>`` blanks filled in."""
    if isinstance(value, dict):
        return {key: fill_in(item, blanks) for key, item in value.items()}
    if isinstance(value, str) and value.startswith("<") and value.endswith(">"):
        return blanks.get(value, "Done.")
    return value


def first_task_id(output: str) -> str | None:
    """The id of the first task in a task list the exec tool printed."""
    start = output.find("{")
    if start >= 0:
        try:
            listing, _ = json.JSONDecoder().raw_decode(output[start:])
        except ValueError:
            listing = None
        items = listing.get("items") if isinstance(listing, dict) else None
        if isinstance(items, list) and items and isinstance(items[0], dict) and items[0].get("id"):
            return str(items[0]["id"])
    found = _UUID.search(output)
    return found.group(0) if found else None


def plan(system: str, trigger_text: str, results: list[str]) -> Decision:
    """The next step of the turn that ``trigger_text`` started, after the tool ``results``
    of its earlier steps (oldest first)."""
    workspace = Workspace.read(system)
    agent = workspace.settings.get("MC_AGENT_ID", "")
    step = len(results)
    trigger = next((name for name in (ASSIGNED, REVIEW, APPROVED) if name in trigger_text), WAKE)
    if not workspace.token:
        return Decision(agent, trigger, step, text="I have no Mission Control credentials in my workspace.")
    if results and FAILED in results[-1]:
        return Decision(agent, trigger, step, text=f"The last call failed, so I stop: {results[-1].strip()[:500]}")
    commands: list[str | None]
    if trigger == ASSIGNED:
        listing = workspace.command("/tasks?assigned_agent_id=")
        commands = [listing]
        if step >= 1:
            task_id = first_task_id(results[0])
            if task_id is None:
                return Decision(agent, trigger, step, text="My task list is empty.")
            commands += [
                (workspace.command('"status": "in_progress"') or "").replace("<TASK_ID>", task_id),
                (workspace.command("/comments", '"message"') or "").replace("<TASK_ID>", task_id)
                .replace("What I did, and how to check it.", f"Working on task {task_id}: read it, did it, checked it."),
                (workspace.command('"status": "review"') or "").replace("<TASK_ID>", task_id)
                .replace("Done: what changed and where.", "Done: the work is finished and described above."),
            ]
    elif trigger in (REVIEW, APPROVED):
        found = _ANSWER.search(trigger_text, trigger_text.index(trigger))
        if found is None:
            return Decision(agent, trigger, step, text="The message names no call to answer with.")
        method, url, body = found.groups()
        filled = fill_in(json.loads(body), {"<why the work is done>": "The worker reported the task done; checked.",
                                            "<what was approved>": "Approved by a person."}) if body else None
        commands = [workspace.curl(method, url, filled)]
    else:
        commands = [workspace.command("/api/v1/agent/heartbeat")]
    if step < len(commands):
        command = commands[step]
        if not command:
            return Decision(agent, trigger, step, text="AGENTS.md has no command for the next step.")
        return Decision(agent, trigger, step, command=command)
    return Decision(agent, trigger, step, text="Checked in with Mission Control." if trigger == WAKE else "Done.")


def _is_runtime_context(message: dict[str, Any]) -> bool:
    return text_of(message.get("content")).lstrip().startswith(RUNTIME_CONTEXT)


def read_turn(messages: list[dict[str, Any]]) -> tuple[str, str, list[str]]:
    """The system text, the text of what was sent since the model's last final answer (one
    message, or several that waited while a turn ran), and the tool results after it."""
    system = "\n".join(text_of(message.get("content")) for message in messages
                       if message.get("role") in ("system", "developer"))
    answered = max((index for index, message in enumerate(messages)
                    if message.get("role") == "assistant" and not message.get("tool_calls")), default=-1)
    sent = [index for index, message in enumerate(messages) if index > answered
            and message.get("role") == "user" and not _is_runtime_context(message)]
    if not sent:
        return system, "", []
    trigger = "\n\n".join(text_of(messages[index].get("content")) for index in sent)
    results = [text_of(message.get("content")) for message in messages[sent[0] + 1:]
               if message.get("role") == "tool"]
    return system, trigger, results


@dataclass
class ScriptedModel:
    """The server; ``start()`` binds it on loopback, ``base_url`` is what a provider entry takes."""

    port: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> ScriptedModel:
        model = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    self._json(200, {"object": "list", "data": [{"id": MODEL_ID, "object": "model",
                                                                 "owned_by": "mission-control-tests"}]})
                else:
                    self._json(404, {"error": {"message": f"no route {self.path}"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    self._json(400, {"error": {"message": "the body is not JSON"}})
                    return
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    model.record(self.path, body, None)
                    self._json(404, {"error": {"message": f"no route {self.path}"}})
                    return
                decision = model.answer(self.path, body)
                if body.get("stream"):
                    self._stream(body, decision)
                else:
                    self._json(200, completion(body, decision))

            def _json(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, body: dict[str, Any], decision: Decision) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                for chunk in stream_chunks(body, decision):
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, name="scripted-model", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def record(self, path: str, body: dict[str, Any], decision: Decision | None) -> None:
        with self._lock:
            self.requests.append({"at": time.time(), "path": path, "body": body})
            if decision is not None:
                self.decisions.append(decision)

    def answer(self, path: str, body: dict[str, Any]) -> Decision:
        system, trigger, results = read_turn(body.get("messages") or [])
        tools = {tool.get("function", {}).get("name") for tool in body.get("tools") or []}
        decision = plan(system, trigger, results)
        if decision.command is not None and "exec" not in tools:
            decision = Decision(decision.agent, decision.trigger, decision.step,
                                text=f"I cannot run commands here (tools offered: {sorted(filter(None, tools))}).")
        self.record(path, body, decision)
        return decision

    def commands(self, agent: str | None = None) -> list[str]:
        """The commands asked for, in order (of one agent, by its Mission Control id)."""
        return [d.command for d in self.decisions if d.command and (agent is None or d.agent == agent)]

    def transcript(self, limit: int = 40) -> str:
        """The last requests: the turn's trigger, the results sent back, and the answer."""
        lines: list[str] = []
        with self._lock:
            pairs = list(zip(self.requests[-limit:], self.decisions[-limit:], strict=False))
        for request, decision in pairs:
            _, trigger, results = read_turn(request["body"].get("messages") or [])
            lines.append(f"- agent {decision.agent or '?'} trigger {decision.trigger} step {decision.step}: "
                         f"{trigger.strip()[:300]!r}")
            for result in results:
                lines.append(f"    result: {result.strip()[:300]!r}")
            lines.append(f"    answer: {decision.command or decision.text}")
        return "\n".join(lines) or "(the model was never asked)"


def _call(decision: Decision) -> dict[str, Any]:
    return {"id": f"call_{uuid.uuid4().hex[:12]}", "type": "function",
            "function": {"name": "exec", "arguments": json.dumps({"command": decision.command})}}


def completion(body: dict[str, Any], decision: Decision) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": decision.text}
    if decision.command is not None:
        message["tool_calls"] = [_call(decision)]
    return {"id": f"chatcmpl-{uuid.uuid4().hex[:12]}", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", MODEL_ID),
            "choices": [{"index": 0, "message": message,
                         "finish_reason": "tool_calls" if decision.command is not None else "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


def stream_chunks(body: dict[str, Any], decision: Decision) -> Iterator[dict[str, Any]]:
    base = {"id": f"chatcmpl-{uuid.uuid4().hex[:12]}", "object": "chat.completion.chunk",
            "created": int(time.time()), "model": body.get("model", MODEL_ID)}
    yield {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}
    if decision.command is not None:
        call = _call(decision)
        yield {**base, "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, **call}]},
                                    "finish_reason": None}]}
        finish = "tool_calls"
    else:
        yield {**base, "choices": [{"index": 0, "delta": {"content": decision.text}, "finish_reason": None}]}
        finish = "stop"
    yield {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}
    if (body.get("stream_options") or {}).get("include_usage"):
        yield {**base, "choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


