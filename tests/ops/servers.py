"""Real servers for the ops tests: gunicorn (chunked bodies, several worker processes)
and a private redis-server that a test may stop. Ports come from 18100-18199 (the webhook
server tests use 18600-18619, the Clerk JWKS server 18330-18349); with
``TEST_SERVER_PORT_BASE`` set, from the hundred ports above it instead, so two people
running these tests on one machine do not collide. Under pytest-xdist each worker has a
hundred of its own: gw0 the first hundred above the base (19000 when unset), gw1 the next."""

from __future__ import annotations

import atexit
import http.client
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
GUNICORN = str(Path(PYTHON).with_name("gunicorn"))

# Variables of the developer's shell that would change what a subprocess reads.
CONFIG_VARIABLES = (
    "ENVIRONMENT", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "BASE_URL", "AUTH_MODE", "LOCAL_AUTH_TOKEN",
    "CLERK_SECRET_KEY", "CLERK_JWKS_URL", "CLERK_ISSUER", "CLERK_LEEWAY", "REDIS_URL", "RATE_LIMIT_BACKEND",
    "RATE_LIMIT_REDIS_URL", "RATE_LIMIT_AGENT_AUTH", "RATE_LIMIT_AGENT_REQUESTS", "RATE_LIMIT_WEBHOOK_INGEST",
    "TRUSTED_PROXIES", "CORS_ORIGINS", "REQUEST_LOG_SLOW_MS", "REQUEST_LOG_INCLUDE_HEALTH", "LOG_LEVEL", "LOG_FORMAT",
    "WEBHOOK_MAX_PAYLOAD_BYTES", "API_MAX_BODY_BYTES", "DATABASE_URL", "DJANGO_SETTINGS_MODULE",
    "DB_AUTO_MIGRATE", "BIND", "WEB_CONCURRENCY", "WEB_THREADS", "WEBHOOK_SPOOL_DIR",
    "GUNICORN_TIMEOUT", "GUNICORN_READ_TIMEOUT", "DB_HEALTH_CHECK",
)


# Above the ports of a run without xdist, so a parallel run never takes one of theirs.
XDIST_PORT_BASE = 19000


def port(number: int) -> int:
    """The port a test asks for, moved into ``TEST_SERVER_PORT_BASE``'s hundred when set, and
    into the xdist worker's own hundred under pytest-xdist."""
    base = os.environ.get("TEST_SERVER_PORT_BASE")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if worker:
        return (int(base) if base else XDIST_PORT_BASE) + 100 * int(worker.removeprefix("gw")) + number % 100
    return int(base) + number % 100 if base else number


def private_service_port(number: int) -> int:
    """A port for a private Redis or Postgres a test starts: five hundred above ``port``, so
    with ``TEST_SERVER_PORT_BASE`` set they sit apart from the test's web servers."""
    return port(number) + 500


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if key not in CONFIG_VARIABLES and not any(key == f"{name}_FILE" for name in CONFIG_VARIABLES)}
    env["PYTHONPATH"] = str(REPO)
    env.update(extra or {})
    return env


_TEMPLATES: dict[str, Path] = {}


def migrated_sqlite(path: Path) -> Path:
    """A SQLite database at ``path`` with every migration applied, copied from one that this
    process migrated once (a ``manage.py migrate`` from nothing costs seconds of CPU)."""
    template = _TEMPLATES.get("migrated")
    if template is None:
        folder = Path(tempfile.mkdtemp(prefix="mc-migrated-"))
        atexit.register(shutil.rmtree, folder, True)
        template = folder / "migrated.sqlite3"
        env = clean_env({"DJANGO_SETTINGS_MODULE": "missioncontrol.settings", "DATABASE_URL": f"sqlite:///{template}",
                         "DB_AUTO_MIGRATE": "false"})
        result = subprocess.run([PYTHON, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=REPO, env=env,
                                capture_output=True, text=True, timeout=180, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"migrate failed:\n{result.stderr}")
        _TEMPLATES["migrated"] = template
    with sqlite3.connect(template) as source, sqlite3.connect(path) as target:
        source.backup(target)
    return path


def wait_for_http(port: int, process: subprocess.Popen[bytes], log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing answered on port {port} within {timeout}s")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def gunicorn(port: int, env: Mapping[str, str], workers: int = 2, tmp_path: Path | None = None,
             frozen_clock: float | None = None, clock_file: Path | None = None) -> Iterator[int]:
    """gunicorn with our config file and the test URLs, on ``port``; yields the port. With
    ``frozen_clock``, the rate limiter's clock stays at that time; with ``clock_file``, it
    is the number written in that file (tests.ops.frozen_clock_wsgi)."""
    folder = tmp_path or Path(tempfile.mkdtemp(prefix="mc-ops-"))
    database = folder / f"gunicorn-{port}.sqlite3"
    log = folder / f"gunicorn-{port}.log"
    full_env = clean_env({
        "DJANGO_SETTINGS_MODULE": "tests.ops.server_settings",
        "DATABASE_URL": f"sqlite:///{database}",
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(workers),
        "LOG_LEVEL": "WARNING",
        **env,
    })
    application = "missioncontrol.wsgi:application"
    if frozen_clock is not None:
        application = "tests.ops.frozen_clock_wsgi:application"
        full_env["TEST_THROTTLE_CLOCK"] = repr(frozen_clock)
    if clock_file is not None:
        application = "tests.ops.frozen_clock_wsgi:application"
        full_env["TEST_THROTTLE_CLOCK_FILE"] = str(clock_file)
    with log.open("wb") as output:
        process = subprocess.Popen(
            [GUNICORN, "-c", str(REPO / "gunicorn.conf.py"), application],
            cwd=REPO, env=full_env, stdout=output, stderr=subprocess.STDOUT,
        )
    try:
        wait_for_http(port, process, log)
        yield port
    finally:
        stop(process)


@contextmanager
def private_redis(port: int) -> Iterator[subprocess.Popen[bytes]]:
    """A redis-server of our own, which a test may stop and start again."""
    server = shutil.which("redis-server")
    if server is None:
        raise RuntimeError("redis-server is not installed")
    process = start_redis(server, port)
    try:
        yield process
    finally:
        stop(process)


def start_redis(server: str, port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    import redis

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            redis.Redis(port=port, socket_connect_timeout=0.2).ping()
            return process
        except redis.ConnectionError:
            time.sleep(0.1)
    stop(process)
    raise RuntimeError(f"redis-server did not start on port {port}")


class PrivatePostgres:
    """A Postgres cluster of our own (initdb, pg_ctl) in a temporary folder, which a test may
    restart or stop. As root, the server runs as the ``postgres`` user (Postgres refuses root)."""

    def __init__(self, folder: Path, port: int, *, durable_commits: bool = False, tls: bool = False) -> None:
        self.folder, self.port = folder, port
        # TLS with a throwaway self-signed certificate (clients connect with sslmode=require).
        self.tls = tls
        # Off by default for speed; a test that stops the server with "immediate" and counts
        # what was committed needs a COMMIT to mean the WAL is written.
        self.durable_commits = durable_commits
        self.data = folder / "data"
        self.user: str | None = "postgres" if os.geteuid() == 0 else None

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/missioncontrol"

    def _run(self, *args: str, timeout: float = 60) -> None:
        subprocess.run(list(args), check=True, capture_output=True, timeout=timeout, user=self.user)

    def _server_options(self) -> str:
        return (f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off "
                f"-c synchronous_commit={'on' if self.durable_commits else 'off'} -c full_page_writes=off"
                + (" -c ssl=on" if self.tls else ""))

    def start(self) -> None:
        self._run(pg_binary("pg_ctl"), "-D", str(self.data), "-w", "-l", str(self.folder / "server.log"),
                  "-o", self._server_options(), "start")

    def restart(self) -> None:
        self._run(pg_binary("pg_ctl"), "-D", str(self.data), "-w", "-m", "fast", "-l", str(self.folder / "server.log"),
                  "-o", self._server_options(), "restart")

    def stop(self) -> None:
        subprocess.run([pg_binary("pg_ctl"), "-D", str(self.data), "-w", "-m", "immediate", "stop"],
                       capture_output=True, timeout=60, user=self.user)

    def create(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.user:
            shutil.chown(self.folder, self.user)
        self._run(pg_binary("initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync")
        if self.tls:
            # Postgres looks for server.crt and server.key in its data folder.
            self._run("openssl", "req", "-new", "-x509", "-days", "2", "-nodes", "-subj", "/CN=localhost",
                      "-keyout", str(self.data / "server.key"), "-out", str(self.data / "server.crt"))
            (self.data / "server.key").chmod(0o600)
        self.start()
        self._run(pg_binary("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "missioncontrol")


def pg_binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
            if (folder / name).exists():
                return str(folder / name)
        raise RuntimeError(f"{name} is not installed")
    return found


def have_postgres_server() -> bool:
    try:
        pg_binary("initdb")
        pg_binary("pg_ctl")
    except RuntimeError:
        return False
    return os.geteuid() != 0 or _has_user("postgres")


def _has_user(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _stop_leftover_postgres(port: int) -> None:
    """A private cluster of an earlier run that was killed before its cleanup still holds
    ``port``: stop it and remove its folder, so this run can start its own."""
    for pid_file in Path(tempfile.gettempdir()).glob("mc-pg-*/data/postmaster.pid"):
        try:
            lines = pid_file.read_text().splitlines()
        except OSError:
            continue
        if len(lines) > 3 and lines[3].strip() == str(port):
            PrivatePostgres(pid_file.parent.parent, port).stop()
            shutil.rmtree(pid_file.parent.parent, ignore_errors=True)


@contextmanager
def private_postgres(port: int, *, durable_commits: bool = False, tls: bool = False) -> Iterator[PrivatePostgres]:
    _stop_leftover_postgres(port)
    folder = Path(tempfile.mkdtemp(prefix="mc-pg-"))
    server = PrivatePostgres(folder, port, durable_commits=durable_commits, tls=tls)
    try:
        server.create()
        yield server
    finally:
        try:
            server.stop()
        finally:
            shutil.rmtree(folder, ignore_errors=True)
