"""deploy/nginx/missioncontrol.conf: valid for nginx, and in front of a real gunicorn it keeps
slow clients away from the workers and refuses sign-in floods with 429.

The shipped file is used as it is, except for the paths and ports only root could use
(listen ports, certificate folder, log folder), which point into the test's folder.
Needs Debian's nginx (``.ci/run`` installs it); skipped without it, failed with ``CI=true``.
"""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import STRICT_SERVICES
from tests.ops import servers

pytestmark = pytest.mark.slow

DEPLOY = servers.REPO / "deploy" / "nginx"
HTTP_PORT = servers.port(18117)
HTTPS_PORT = servers.port(18118)
BACKEND_PORT = servers.port(18119)


def nginx_binary() -> str:
    found = shutil.which("nginx") or next((path for path in ("/usr/sbin/nginx",) if os.path.exists(path)), None)
    if found is None:
        message = "needs nginx (apt-get install nginx)"
        if STRICT_SERVICES:
            pytest.fail(message)
        pytest.skip(message)
    return found


def prepare(folder: Path, upstream: str) -> Path:
    """An nginx prefix in ``folder`` that includes the shipped file; returns its main config."""
    for name in ("tls", "logs", "temp"):
        (folder / name).mkdir(exist_ok=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-keyout", str(folder / "tls" / "privkey.pem"), "-out", str(folder / "tls" / "fullchain.pem")],
                   check=True, capture_output=True, timeout=60)
    site = (DEPLOY / "missioncontrol.conf").read_text(encoding="utf-8")
    for shipped, here in (("listen 80 default_server;", f"listen 127.0.0.1:{HTTP_PORT} default_server;"),
                          ("listen 443 ssl default_server;", f"listen 127.0.0.1:{HTTPS_PORT} ssl default_server;"),
                          ("/etc/nginx/tls/", f"{folder}/tls/"), ("/var/log/nginx/", f"{folder}/logs/")):
        assert shipped in site, shipped
        site = site.replace(shipped, here)
    (folder / "missioncontrol.conf").write_text(site, encoding="utf-8")
    (folder / "upstream.conf").write_text(
        (DEPLOY / "upstream-host.conf").read_text(encoding="utf-8").replace("127.0.0.1:8000", upstream),
        encoding="utf-8")
    temp = folder / "temp"
    main = folder / "nginx.conf"
    main.write_text(f"""
{"user root root;" if os.geteuid() == 0 else ""}
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/logs/error.log warn;
events {{ worker_connections 256; }}
http {{
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {folder}/upstream.conf;
    include {folder}/missioncontrol.conf;
}}
""", encoding="utf-8")
    return main


def check_config(binary: str, main: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([binary, "-t", "-p", str(main.parent), "-c", str(main)], capture_output=True, text=True,
                          timeout=30)


@contextmanager
def running_nginx(binary: str, main: Path) -> Iterator[None]:
    process = subprocess.Popen([binary, "-p", str(main.parent), "-c", str(main), "-g", "daemon off;"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", HTTPS_PORT), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((main.parent / "logs" / "error.log").read_text(errors="replace")) from None
                time.sleep(0.1)
        yield
    finally:
        servers.stop(process)


def https(method: str, path: str, body: bytes | None = None, timeout: float = 10) -> http.client.HTTPResponse:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    connection = http.client.HTTPSConnection("127.0.0.1", HTTPS_PORT, timeout=timeout, context=context)
    connection.request(method, path, body=body, headers={"Host": "localhost"})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def test_the_shipped_nginx_config_is_valid(tmp_path: Path):
    binary = nginx_binary()
    result = check_config(binary, prepare(tmp_path, "127.0.0.1:8000"))
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def slow_sender(data: bytes, stop: threading.Event) -> None:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection(("127.0.0.1", HTTPS_PORT), timeout=5) as raw, \
                context.wrap_socket(raw, server_hostname="localhost") as sock:
            for index in range(len(data)):
                if stop.is_set():
                    return
                sock.send(data[index:index + 1])
                time.sleep(0.05)
    except OSError:
        return


def test_through_nginx_slow_clients_do_not_hold_up_others_and_sign_in_floods_get_429(tmp_path: Path):
    binary = nginx_binary()
    main = prepare(tmp_path, f"127.0.0.1:{BACKEND_PORT}")
    # gunicorn's own read deadline out of the way: what protects the workers here is nginx.
    env = {"DJANGO_SETTINGS_MODULE": "tests.settings", "TRUSTED_PROXIES": "127.0.0.1", "GUNICORN_READ_TIMEOUT": "60"}
    with servers.gunicorn(BACKEND_PORT, env, workers=2, tmp_path=tmp_path), running_nginx(binary, main):
        stop = threading.Event()
        slow = [b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Padding: " + b"a" * 2000,
                b"POST /api/v1/boards HTTP/1.1\r\nHost: localhost\r\nContent-Length: 20000\r\n\r\n" + b"b" * 20000]
        senders = [threading.Thread(target=slow_sender, args=(slow[n % 2], stop), daemon=True) for n in range(4)]
        for sender in senders:
            sender.start()
        time.sleep(0.5)
        try:
            waits = []
            started = time.monotonic()
            while time.monotonic() - started < 3:
                asked = time.monotonic()
                assert https("GET", "/healthz").status == 200
                waits.append(time.monotonic() - asked)
                time.sleep(0.1)
        finally:
            stop.set()
            for sender in senders:
                sender.join(timeout=5)
        # Four slow clients, two workers: without buffering every probe would wait on them.
        assert max(waits) < 1.0, waits

        # The console's sign-in: the first ten POSTs reach Mission Control (its CSRF check
        # refuses them), the rest are nginx's 429 with Retry-After.
        statuses = []
        for _ in range(13):
            response = https("POST", "/login/", body=b"username=a&password=b")
            statuses.append((response.status, response.getheader("Retry-After")))
        assert [status for status, _ in statuses[:10]] == [403] * 10, statuses
        assert statuses[10:] == [(429, "6")] * 3, statuses
        assert https("POST", "/admin/login/", body=b"").status == 429  # one budget for both sign-in paths
        assert https("GET", "/login/").status != 429  # looking at the page is not an attempt
