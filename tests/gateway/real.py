"""Real OpenClaw gateways for tests: the npm packages that ``scripts/openclaw.sh install``
put in the machine's cache, each started with a fresh HOME of its own on loopback.

The config file is written before the first start, because a first start with none writes
a default one and, without ours, goes on the network at start-up (update check, hosted
model and plugin catalogs) and logs into ``/tmp/openclaw/``, a folder every gateway on the
machine shares. What each key is for is said next to it in ``seeded_config``.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.gateway.rpc import GatewayCallError, GatewayConnection, open_connection
from tests.ops import servers

REPO = Path(__file__).resolve().parents[2]
INSTALLER = REPO / "scripts" / "openclaw.sh"
OPENCLAW_96 = "2026.9.6"
OPENCLAW_429 = "2026.4.29"
VERSIONS = (OPENCLAW_96, OPENCLAW_429)
# Cold starts seen on 2 cores: 9.6 hello-ok after 22-33 s, 4.29 after 8-25 s (slower when
# both start at once). CI machines are no bigger, so the limit leaves room.
START_TIMEOUT = 150.0
STOP_TIMEOUT = 20.0
# Loopback port where nothing listens (the discard service): 9.6 sends all its outbound
# HTTP through ``proxy.proxyUrl``, so pointing that here makes every outbound request fail
# at once, on this machine, instead of reaching the internet.
DEAD_END_PROXY = "http://127.0.0.1:9"
# A gateway listens on its port and uses the next ones for derived services (browser
# control on +2); tests leave 3 free ports per gateway.
PORTS_PER_GATEWAY = 3


class GatewayNotInstalled(Exception):
    """The version's packages are not in the cache; the message says how to install them."""


class GatewayStartError(Exception):
    """The gateway exited or did not answer hello-ok in time; the message has its log tail."""


class PortTaken(GatewayStartError):
    """Another process took the port between our check and the gateway's bind, which comes
    20-30 s after the start (another test run on this machine, another xdist worker)."""


def openclaw_command(version: str) -> list[str]:
    """The command prefix (node binary, openclaw.mjs) that runs ``version``'s CLI."""
    result = subprocess.run(["bash", str(INSTALLER), "bin", version], capture_output=True, text=True,
                            check=False)
    if result.returncode != 0:
        reason = result.stderr.strip().removeprefix("scripts/openclaw.sh: ")
        raise GatewayNotInstalled(reason or f"scripts/openclaw.sh bin {version} failed")
    return shlex.split(result.stdout)


def seeded_config(version: str, home: Path) -> dict[str, Any]:
    """openclaw.json for a test gateway. Both versions refuse unknown keys at start-up
    (4.29 has no ``telemetry`` or ``proxy`` section, for instance), so each gets only keys
    its own schema has; a start of each version checks them."""
    config: dict[str, Any] = {
        # No version check at start-up and every 24 h after (9.6 asks its telemetry host,
        # 4.29 the npm registry), and so no auto-update.
        "update": {"checkOnStart": False, "auto": {"enabled": False}},
        # No mDNS/Bonjour announcements on the LAN.
        "discovery": {"mdns": {"mode": "off"}},
        # The JSON-lines log in this gateway's HOME instead of the shared /tmp/openclaw/.
        "logging": {"file": str(home / "logs" / "openclaw.log")},
        # What --auth token says, written down: 4.29 otherwise writes it (and an empty
        # tailscale section) into the file on the first agents.create, and since gateway.*
        # changes need a restart, restarts under the test (every socket closes with 1012).
        "gateway": {"auth": {"mode": "token"}},
    }
    if version.startswith("2026.4."):
        # The pricing catalogs (OpenRouter, LiteLLM) are fetched at start-up unless off.
        config["models"] = {"pricing": {"enabled": False}}
        # 4.29 would install its bundled plugins' dependencies at every start with any npm
        # or pnpm it finds (here it finds none, fails, and runs without plugins). Off, it
        # never tries, and starts in half the time. The core methods stay.
        config["plugins"] = {"enabled": False}
        config["gateway"]["tailscale"] = {}
    else:
        # The hosted model catalog is fetched at start-up and every 6 h unless off.
        config["models"] = {"catalogRefresh": {"enabled": False}}
        # Even so, 9.6 loads the hosted plugin catalog from ClawHub right after it is
        # ready (no key turns that off); its managed proxy sends that, and any other
        # outbound HTTP, to a loopback port nobody answers. Loopback traffic goes direct.
        config["proxy"] = {"proxyUrl": DEAD_END_PROXY}
    return config


@dataclass(eq=False)
class RealGateway:
    """One running ``openclaw gateway`` process with its own HOME."""

    version: str
    port: int
    token: str
    home: Path
    process: subprocess.Popen[bytes]
    command: list[str]
    hello: dict[str, Any] = field(default_factory=dict)  # the first hello-ok payload
    ready_after: float | None = None  # seconds from launch to that hello-ok
    launched_at: float = field(default_factory=time.monotonic)
    _stopping: set[int] | None = field(default=None, repr=False)  # the processes signalled
    _last_problem: str = field(default="nothing listening yet", repr=False)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def state_dir(self) -> Path:
        return self.home / ".openclaw"

    @property
    def config_path(self) -> Path:
        return self.state_dir / "openclaw.json"

    @property
    def workspace_root(self) -> Path:
        """A folder for the workspaces of agents the tests create (``<root>/workspace-<id>``)."""
        return self.home / "workspaces"

    @property
    def console_log(self) -> Path:
        """The process's stdout and stderr (plain text, one line per record)."""
        return self.home / "console.log"

    @property
    def log_file(self) -> Path:
        """The gateway's JSON-lines log (``logging.file``)."""
        return Path(seeded_config(self.version, self.home)["logging"]["file"])

    @classmethod
    def launch(cls, version: str, *, port: int | None = None, avoid: Iterable[int] = ()) -> RealGateway:
        """Start the process and return at once; ``wait_until_ready`` waits for hello-ok."""
        command = openclaw_command(version)
        port = port if port is not None else free_port(avoid)
        home = Path(tempfile.mkdtemp(prefix=f"mc-openclaw-{version}-"))
        (home / "tmp").mkdir()
        (home / "logs").mkdir()
        (home / "workspaces").mkdir()
        (home / ".openclaw").mkdir()
        (home / ".openclaw" / "openclaw.json").write_text(json.dumps(seeded_config(version, home), indent=2) + "\n")
        token = secrets.token_urlsafe(24)
        env = {**_process_env(home, command), "OPENCLAW_GATEWAY_TOKEN": token}
        argv = [*command, "gateway", "--dev", "--port", str(port), "--bind", "loopback",
                "--auth", "token", "--allow-unconfigured"]
        if shutil.which("setpriv"):
            # If the test run is killed, the gateway gets SIGTERM instead of living on.
            argv = ["setpriv", "--pdeathsig", "TERM", "--", *argv]
        with (home / "console.log").open("wb") as output:
            process = subprocess.Popen(argv, cwd=home, env=env, stdin=subprocess.DEVNULL, stdout=output,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        return cls(version=version, port=port, token=token, home=home, process=process, command=command)

    def wait_until_ready(self) -> None:
        """Until a ``connect`` gets hello-ok (GatewayStartError if it never does)."""
        while not self.poll_ready():
            time.sleep(0.5)

    def poll_ready(self) -> bool:
        """One ``connect``: True once hello-ok came, False while the gateway is starting
        (port closed, then UNAVAILABLE "gateway starting" for a few seconds), and
        GatewayStartError once it exited, refused us, or START_TIMEOUT passed."""
        if self.ready_after is not None:
            return True
        if self.process.poll() is not None:
            failure = self._start_failure(f"exited with status {self.process.returncode}")
            raise PortTaken(failure) if "EADDRINUSE" in self.log_tail() else GatewayStartError(failure)
        try:
            with self.connect(timeout=5) as connection:
                self.hello = connection.hello
                self.ready_after = time.monotonic() - self.launched_at
                return True
        except ImportError:
            raise  # websockets missing: no amount of waiting helps
        except GatewayCallError as error:
            if error.details.get("code") == "AUTH_TOKEN_MISMATCH":
                raise PortTaken(self._start_failure(f"is answered by another gateway: {error}")) from error
            if not error.retryable:
                raise GatewayStartError(self._start_failure(f"refused our connect: {error}")) from error
            self._last_problem = str(error)
        except Exception as error:  # refused, HTTP 503, closed with 1013: still starting
            self._last_problem = f"{type(error).__name__}: {error}"
        if time.monotonic() - self.launched_at > START_TIMEOUT:
            raise GatewayStartError(self._start_failure(
                f"gave no hello-ok within {START_TIMEOUT:.0f} s ({self._last_problem})"))
        return False

    def connect(self, *, timeout: float = 10.0) -> GatewayConnection:
        """A new operator connection with the shared token (use it in a ``with``)."""
        return open_connection(self.url, self.token, timeout=timeout)

    def cli(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        """Run this version's ``openclaw`` CLI with the gateway's HOME, e.g.
        ``cli("gateway", "call", "health", "--url", gw.url, "--token", gw.token, "--json")``."""
        return subprocess.run([*self.command, *args], cwd=self.home, env=_process_env(self.home, self.command),
                              capture_output=True, text=True, timeout=timeout, check=False)

    def config(self) -> dict[str, Any]:
        """~/.openclaw/openclaw.json as the gateway last wrote it (plain JSON, which it
        reads as JSON5)."""
        return json.loads(self.config_path.read_text())

    def log_tail(self, lines: int = 80) -> str:
        """The last ``lines`` lines the process printed (its console log)."""
        try:
            with self.console_log.open("rb") as log:
                log.seek(0, os.SEEK_END)
                log.seek(max(0, log.tell() - 256 * 1024))
                text = log.read().decode(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, *, remove_home: bool = True) -> None:
        """SIGTERM to the gateway and everything it started, SIGKILL to what is left after
        STOP_TIMEOUT; then the HOME goes (``remove_home=False`` keeps it to look at)."""
        self.request_stop()
        self.wait_stopped(remove_home=remove_home)

    def request_stop(self) -> None:
        """Send SIGTERM and return (9.6 takes 5-10 s to exit: stop several at once)."""
        if self._stopping is None:
            self._stopping = {self.process.pid, *_descendants(self.process.pid)}
            # The gateway stops its helpers itself on SIGTERM.
            _signal_group(self.process.pid, signal.SIGTERM)

    def wait_stopped(self, *, remove_home: bool = True) -> None:
        self.request_stop()
        leader, tree = self.process.pid, self._stopping or set()
        deadline = time.monotonic() + STOP_TIMEOUT
        while time.monotonic() < deadline and _any_alive(leader, tree):
            self.process.poll()
            time.sleep(0.1)
        if _any_alive(leader, tree):
            _signal_all(leader, tree, signal.SIGKILL)
        self.process.wait()
        if remove_home:
            shutil.rmtree(self.home, ignore_errors=True)

    def _start_failure(self, what: str) -> str:
        return (f"openclaw {self.version} on port {self.port} {what}; HOME {self.home}\n"
                f"--- last lines of {self.console_log}:\n{self.log_tail()}")


class GatewayPool:
    """The real gateways of one test session. Each version starts at most once; the first
    request starts every version the session wants (``wanted``), so they boot side by side,
    and returns when all have answered or failed; a version not wanted starts when first
    asked for. A failed start is remembered, not retried per test."""

    def __init__(self, wanted: Iterable[str] = VERSIONS) -> None:
        self.wanted = list(dict.fromkeys(wanted))
        self.gateways: dict[str, RealGateway] = {}
        self.failures: dict[str, Exception] = {}
        self.starts: Counter[str] = Counter()
        self.ready: dict[str, RealGateway] = {}  # every gateway that answered, even once stopped
        self.lost_ports: list[int] = []  # ports someone else took while a gateway started

    def get(self, version: str) -> RealGateway:
        if version not in self.gateways and version not in self.failures:
            for each in dict.fromkeys([version, *self.wanted]):
                if each not in self.gateways and each not in self.failures:
                    self._launch(each)
        self._wait_for_launched()
        if version in self.failures:
            raise self.failures[version]
        return self.gateways[version]

    def _wait_for_launched(self) -> None:
        """Polls every starting gateway in turn, so each one's ``ready_after`` is its own."""
        starting = [gateway for gateway in self.gateways.values() if gateway.ready_after is None]
        while starting:
            for gateway in list(starting):
                try:
                    ready = gateway.poll_ready()
                except PortTaken as error:
                    starting.remove(gateway)
                    del self.gateways[gateway.version]
                    gateway.stop()
                    self.lost_ports.append(gateway.port)
                    if len(self.lost_ports) > 3:
                        self.failures[gateway.version] = error
                        continue
                    self._launch(gateway.version)  # on another port
                    if gateway.version in self.gateways:
                        starting.append(self.gateways[gateway.version])
                    continue
                except GatewayStartError as error:
                    starting.remove(gateway)
                    self.failures[gateway.version] = error
                    del self.gateways[gateway.version]
                    gateway.stop(remove_home=False)
                    continue
                if ready:
                    starting.remove(gateway)
                    self.ready[gateway.version] = gateway
                    self.starts[gateway.version] += 1
            if starting:
                time.sleep(0.5)

    def stop_all(self) -> None:
        gateways = list(self.gateways.values())
        self.gateways.clear()
        for gateway in gateways:
            gateway.request_stop()
        for gateway in gateways:
            gateway.wait_stopped()

    def _launch(self, version: str) -> None:
        try:
            taken = [gateway.port for gateway in self.gateways.values()] + self.lost_ports
            self.gateways[version] = RealGateway.launch(version, avoid=taken)
        except (GatewayNotInstalled, OSError) as error:
            self.failures[version] = error


def _process_env(home: Path, command: list[str]) -> dict[str, str]:
    """The whole environment of the gateway and the CLI: nothing of ours leaks in (no
    OPENCLAW_* paths, proxies, or model API keys that would let an agent reach a provider)."""
    return {
        "HOME": str(home),
        # Node 24 first: the CLI's shebang and the children the gateway spawns say `node`.
        "PATH": f"{Path(command[0]).parent}:/usr/local/bin:/usr/bin:/bin",
        "TMPDIR": str(home / "tmp"),
        "NO_COLOR": "1",
        "LANG": "C.UTF-8",
    }


def candidate_ports() -> list[int]:
    """Gateway ports to try, first free block wins. Not the kernel's ephemeral range: the
    gateway binds 20-30 s after it starts, long enough for an outgoing connection (to
    Postgres, Redis) to be handed a port chosen there. 18700-18779 by default (the ops
    tests use 181xx, 183xx, 186xx; 18789 is OpenClaw's own default, 18799 must stay closed);
    with TEST_SERVER_PORT_BASE, from 60-89 of this worker's hundred (tests.ops.servers.port),
    clear of the ops tests' numbers and of the fake gateways' 92-99. Under xdist without it,
    each worker takes every Nth block, so workers never try the same port."""
    base = os.environ.get("TEST_SERVER_PORT_BASE")
    if base:
        return [servers.port(offset) for offset in range(60, 90, 5)]
    ports = list(range(18700, 18780, 10))
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")
    if worker.isdigit() and workers.isdigit() and int(workers) > 1:
        return ports[int(worker) % int(workers)::int(workers)] or ports
    return ports


def free_port(avoid: Iterable[int] = ()) -> int:
    avoided = {port + step for port in avoid for step in range(PORTS_PER_GATEWAY)}
    for port in candidate_ports():
        block = range(port, port + PORTS_PER_GATEWAY)
        if not avoided.intersection(block) and all(_port_is_free(each) for each in block):
            return port
    raise OSError(f"no free block of {PORTS_PER_GATEWAY} ports among {candidate_ports()}")


def _port_is_free(port: int) -> bool:
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        try:
            with socket.socket(family, socket.SOCK_STREAM) as probe:
                # As node binds: a port whose old connections linger in TIME_WAIT is free.
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                probe.bind((host, port))
        except OSError as error:
            if family == socket.AF_INET6 and error.errno in (97, 99):  # no IPv6 loopback here
                continue
            return False
    return True


def _descendants(root: int) -> set[int]:
    """Every process below ``root``, found through /proc: 9.6 starts a helper in a process
    group of its own, which a signal to the gateway's group would miss."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found: set[int] = set()
    pending = [root]
    while pending:
        for child in children.get(pending.pop(), []):
            if child not in found:
                found.add(child)
                pending.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a zombie has exited; its parent has not reaped it yet


def _any_alive(leader: int, tree: set[int]) -> bool:
    return any(_alive(pid) for pid in tree) or _group_alive(leader)


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return any(_alive(pid) for pid in _group_members(group))


def _group_members(group: int) -> Iterator[int]:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if len(fields) > 2 and fields[2] == str(group):
                yield int(entry.name)


def _signal_group(leader: int, signum: signal.Signals) -> None:
    try:
        os.killpg(leader, signum)
    except ProcessLookupError:
        pass


def _signal_all(leader: int, tree: set[int], signum: signal.Signals) -> None:
    _signal_group(leader, signum)
    for pid in tree:
        if _alive(pid):
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass
