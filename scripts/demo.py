"""``make demo``: agents at work without an API key. Starts the scripted model, a real
OpenClaw 2026.9.6 gateway using it, and Mission Control (gunicorn and the worker) on the
embedded defaults with a database of its own under ``var/demo/``; then registers the
gateway and creates a board, its lead, a worker and a task for the worker, all through the
API. The worker takes the task to review, the lead asks for the done approval; approve it
in the console and the lead finishes the task. Ctrl-C stops everything it started.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.gateway.agent_runtime import prepare  # noqa: E402
from tests.gateway.real import OPENCLAW_96, GatewayStartError, RealGateway  # noqa: E402
from tests.gateway.scripted_model import ScriptedModel  # noqa: E402

PORT = int(os.environ.get("DEMO_PORT", "8010"))
BASE_URL = f"http://127.0.0.1:{PORT}"
DATA = REPO / "var" / "demo"
PYTHON = str(REPO / ".venv" / "bin" / "python")


def say(text: str) -> None:
    print(f"[demo] {text}", flush=True)


class Api:
    def __init__(self, token: str) -> None:
        self.token = token

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(f"{BASE_URL}/api/v1{path}", method=method,
                                         data=json.dumps(body).encode() if body is not None else None,
                                         headers={"Authorization": f"Bearer {self.token}",
                                                  "Content-Type": "application/json"})
        # The demo talks to its own loopback server: a proxy of the shell must not carry it.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=30) as answer:
            return json.loads(answer.read() or b"null")


def mission_control_env(token: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")}
    env.update({"DJANGO_SETTINGS_MODULE": "missioncontrol.settings", "BASE_URL": BASE_URL,
                "BIND": f"127.0.0.1:{PORT}", "LOCAL_AUTH_TOKEN": token,
                "DATABASE_URL": f"sqlite:///{DATA / 'missioncontrol.sqlite3'}", "WEB_CONCURRENCY": "2"})
    return env


def wait_for_health(process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"Mission Control exited with status {process.returncode}; see {DATA / 'web.log'}")
        try:
            with opener.open(f"{BASE_URL}/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"Mission Control did not answer on {BASE_URL} within {timeout:.0f} s")


def seed(api: Api, real: RealGateway) -> dict[str, Any]:
    gateway = api.call("POST", "/gateways", {"name": "Demo gateway", "url": real.url, "token": real.token,
                                             "workspace_root": str(real.workspace_root)})
    for _ in range(120):
        gateway = api.call("GET", f"/gateways/{gateway['id']}")
        if gateway["check"]["status"] != "checking":
            break
        time.sleep(1)
    if gateway["check"]["status"] != "ok":
        raise SystemExit(f"the gateway check failed: {json.dumps(gateway['check'])}")
    board = api.call("POST", "/boards", {"name": "Release", "objective": "Ship the release notes.",
                                         "gateway_id": gateway["id"], "require_approval_for_done": True})
    lead = api.call("POST", "/agents", {"name": "Lead", "board_id": board["id"], "is_board_lead": True})
    worker = api.call("POST", "/agents", {"name": "Writer", "board_id": board["id"]})
    task = api.call("POST", f"/boards/{board['id']}/tasks", {
        "title": "Write the release notes", "description": "A page listing what changed.",
        "priority": "high", "assigned_agent_id": worker["id"]})
    return {"board": board, "lead": lead, "worker": worker, "task": task}


def follow(api: Api, model: ScriptedModel, seeded: dict[str, Any]) -> None:
    """Prints each call the model asks for and each move of the task, until Ctrl-C."""
    names = {seeded["lead"]["id"]: "Lead", seeded["worker"]["id"]: "Writer"}
    board, task = seeded["board"]["id"], seeded["task"]["id"]
    shown, status = 0, None
    while True:
        for decision in model.decisions[shown:]:
            if decision.command:
                who = names.get(decision.agent, "Main agent")
                call = decision.command.split(" -H ")[0].removeprefix("curl -fsS ")
                say(f"{who} runs: curl {call.replace(BASE_URL, '')}")
        shown = len(model.decisions)
        current = api.call("GET", f"/boards/{board}/tasks/{task}")["status"]
        if current != status:
            status = current
            say(f"the task is now {status}")
            if status == "review":
                say(f"the lead will ask for the done approval: approve it at {BASE_URL}/approvals/")
            if status == "done":
                say("done. Ctrl-C stops everything.")
        time.sleep(2)


def main() -> int:
    token = secrets.token_urlsafe(48)
    if DATA.exists():
        shutil.rmtree(DATA)
    DATA.mkdir(parents=True)
    processes: list[subprocess.Popen[bytes]] = []
    model = ScriptedModel().start()
    say(f"scripted model on {model.base_url}")
    say(f"starting OpenClaw {OPENCLAW_96} (30-120 s on a small machine)")
    real = RealGateway.launch(OPENCLAW_96)

    def stop(*_: Any) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        say("stopping")
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        real.stop()
        model.stop()
        say("stopped")
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    try:
        env = mission_control_env(token)
        subprocess.run([PYTHON, "manage.py", "migrate", "--no-input", "-v0"], cwd=REPO, env=env, check=True)
        subprocess.run([PYTHON, "manage.py", "collectstatic", "--no-input", "-v0"], cwd=REPO, env=env, check=True)
        with (DATA / "web.log").open("wb") as web, (DATA / "worker.log").open("wb") as work:
            processes.append(subprocess.Popen([str(REPO / ".venv" / "bin" / "gunicorn"), "-c", "gunicorn.conf.py",
                                               "missioncontrol.wsgi:application"], cwd=REPO, env=env,
                                              stdout=web, stderr=subprocess.STDOUT))
            processes.append(subprocess.Popen([PYTHON, "manage.py", "db_worker"], cwd=REPO, env=env,
                                              stdout=work, stderr=subprocess.STDOUT))
        wait_for_health(processes[0])
        try:
            real.wait_until_ready()
        except GatewayStartError as error:
            say(str(error))
            stop()
        say(f"gateway ready on {real.url} after {real.ready_after:.0f} s; pointing it at the scripted model")
        prepare(real, model, BASE_URL)
        api = Api(token)
        seeded = seed(api, real)
        say(f"console: {BASE_URL}/  (sign in with the token {token})")
        say(f"the board: {BASE_URL}/boards/{seeded['board']['id']}/  (logs in {DATA})")
        say("the worker is being set up; its first turn takes a minute or two")
        follow(api, model, seeded)
    except KeyboardInterrupt:
        stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
