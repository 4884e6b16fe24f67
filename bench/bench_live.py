"""Benchmark: what 200 open console pages cost the server while nothing changes, and how
soon a change reaches them.

Every console page that refreshes itself (board, dashboard, approvals, agent, gateway)
polls its fragment URL with ``If-None-Match`` at the interval the page names
(``data-live-interval``, 5 s by default); the answer is ``304`` while nothing changed.
This script runs the server as in production (gunicorn with 2 workers, Postgres,
``manage.py db_worker`` running) on a scratch database, signs one person in, opens
``--pages`` pages spread evenly over the five kinds (each a thread with its own
keep-alive connection, polling the URL the page's HTML names, from a random offset), and
for ``--seconds`` measures:

- requests per second the pages cause, and how many answered 304;
- CPU per request and in all (% of one core) of the web workers, the job worker and the
  Postgres backends, from ``/proc/<pid>/stat`` before and after;
- queries per poll of each kind (``pg_stat_database.xact_commit`` is not per request, so
  these come from Django's query log of one in-process poll of each URL).

Then a second phase changes one task through the API every 2 s for ``--seconds`` and
reports, per board page, the delay from the change to the first poll that saw it (a new
ETag), median and maximum. The issue's target: under 5% of one core while nothing changes,
and a change on every page within 2 s.

    .venv/bin/python bench/bench_live.py [--pages 200] [--seconds 30] [--port 18710]

Env: PG_URL (server, default postgres://postgres@127.0.0.1:5432), DB_NAME (mc_live_bench;
dropped and created again), REDIS_URL (redis://127.0.0.1:6379/7).
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
HZ = os.sysconf("SC_CLK_TCK")
KINDS = ("board", "dashboard", "approvals", "agent", "gateway")


def cpu_ticks(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(stat[11]) + int(stat[12])
    return total


def children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False).stdout
    return [int(line) for line in out.split()]


def psql(url: str, sql: str) -> str:
    return subprocess.run(["psql", url, "-tAc", sql], capture_output=True, text=True, check=True).stdout.strip()


@dataclass
class Poller:
    kind: str
    url: str
    interval: float
    cookie: str
    port: int
    etag: str = ""
    statuses: dict[int, int] = field(default_factory=dict)
    # (time of the poll, whether its ETag was new)
    changes: list[float] = field(default_factory=list)

    def run(self, until: float, start_after: float) -> None:
        time.sleep(start_after)
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        while time.monotonic() < until:
            started = time.monotonic()
            headers = {"Cookie": self.cookie}
            if self.etag:
                headers["If-None-Match"] = self.etag
            try:
                conn.request("GET", self.url, headers=headers)
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                self.statuses[0] = self.statuses.get(0, 0) + 1
                continue
            self.statuses[response.status] = self.statuses.get(response.status, 0) + 1
            etag = response.getheader("ETag") or ""
            if response.status == 200 and self.etag and etag != self.etag:
                self.changes.append(time.time())
            self.etag = etag or self.etag
            time.sleep(max(0.0, self.interval - (time.monotonic() - started)))
        conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--port", type=int, default=18710)
    args = parser.parse_args()

    pg_url = os.environ.get("PG_URL", "postgres://postgres@127.0.0.1:5432")
    db_name = os.environ.get("DB_NAME", "mc_live_bench")
    env = {**os.environ, "DATABASE_URL": f"{pg_url}/{db_name}", "ENVIRONMENT": "dev", "DEBUG": "false",
           "DB_AUTO_MIGRATE": "false", "LOG_LEVEL": "WARNING", "DB_CONN_MAX_AGE": "3600",
           "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/7"), "RATE_LIMIT_BACKEND": "redis",
           "BIND": f"127.0.0.1:{args.port}", "WEB_CONCURRENCY": "2", "DJANGO_SETTINGS_MODULE": "missioncontrol.settings",
           "BASE_URL": f"http://127.0.0.1:{args.port}", "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver"}
    env["RATE_LIMIT_REDIS_URL"] = env["REDIS_URL"]
    os.environ.update(env)
    python = str(BASE_DIR / ".venv" / "bin" / "python")
    psql(f"{pg_url}/postgres", f"DROP DATABASE IF EXISTS {db_name}")
    psql(f"{pg_url}/postgres", f"CREATE DATABASE {db_name}")
    processes: list[subprocess.Popen[bytes]] = []
    try:
        subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=BASE_DIR, env=env, check=True)
        subprocess.run([python, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=BASE_DIR, env=env, check=True)
        sys.path.insert(0, str(BASE_DIR))
        import django

        django.setup()
        names = seed()
        cookie = session_cookie(names["owner"])
        queries = queries_per_poll(names["owner"], names)

        server = subprocess.Popen([str(BASE_DIR / ".venv" / "bin" / "gunicorn"), "-c", "gunicorn.conf.py",
                                   "missioncontrol.wsgi"], cwd=BASE_DIR, env=env)
        worker = subprocess.Popen([python, "manage.py", "db_worker"], cwd=BASE_DIR, env=env)
        processes += [server, worker]
        wait_until_up(args.port)

        pollers = open_pages(args.pages, args.port, cookie, names)
        intervals = sorted({p.interval for p in pollers})
        print(f"== {len(pollers)} open pages ({', '.join(f'{k}: {sum(p.kind == k for p in pollers)}' for k in KINDS)}),"
              f" polling every {', '.join(f'{i:g}' for i in intervals)} s; {args.seconds:g} s per phase")
        print(f"   load before: {os.getloadavg()[0]:.2f}")

        quiet = phase(pollers, args.seconds, server.pid, worker.pid, pg_url, db_name, change=None)
        report("nothing changes", quiet, args.seconds, queries)
        for poller in pollers:
            poller.changes.clear()
            poller.statuses.clear()
        changes: list[float] = []
        busy = phase(pollers, args.seconds, server.pid, worker.pid, pg_url, db_name,
                     change=lambda: changes.append(change_task(names)))
        report("a task changes every 2 s", busy, args.seconds, queries)
        delays = []
        for poller in (p for p in pollers if p.kind == "board"):
            for moment in changes:
                seen = next((t for t in poller.changes if t >= moment), None)
                if seen is not None:
                    delays.append(seen - moment)
        if delays:
            print(f"   board pages saw a change after: median {statistics.median(delays):.2f} s, "
                  f"max {max(delays):.2f} s ({len(delays)} sightings of {len(changes)} changes)")
        print(f"   load after: {os.getloadavg()[0]:.2f}")
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        from django.db import connections

        connections.close_all()
        psql(f"{pg_url}/postgres", f"DROP DATABASE IF EXISTS {db_name}")
    return 0


def seed() -> dict[str, object]:
    from agents.models import Agent, Board, Gateway, Membership, Organization, Task, User

    org = Organization.objects.create(name="Bench", slug="bench")
    owner = User.objects.create_user(username="owner", password="bench-owner-password")
    Membership.objects.create(user=owner, organization=org, role="owner")
    gateway = Gateway.objects.create(organization=org, name="Gateway", url="ws://127.0.0.1:9")
    board = Board.objects.create(organization=org, name="Live", slug="live", gateway=gateway)
    agent = Agent.objects.create(name="Lead", board=board, organization=org, is_board_lead=True)
    statuses = ["inbox", "in_progress", "review", "done"]
    Task.objects.bulk_create([Task(board=board, title=f"Task {n}", status=statuses[n % 4]) for n in range(200)])
    return {"owner": owner, "org": org, "board": board, "agent": agent, "gateway": gateway,
            "task": Task.objects.filter(board=board, status="inbox").first()}


def session_cookie(user: object) -> str:
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def page_paths(names: dict[str, object]) -> dict[str, str]:
    from django.urls import reverse

    return {"board": reverse("console:board", args=[names["board"].pk]),  # type: ignore[attr-defined]
            "dashboard": reverse("console:dashboard"), "approvals": reverse("console:approvals"),
            "agent": reverse("console:agent", args=[names["agent"].pk]),  # type: ignore[attr-defined]
            "gateway": reverse("console:gateway", args=[names["gateway"].pk])}  # type: ignore[attr-defined]


LIVE = re.compile(r'data-live-url="([^"]+)"')
INTERVAL = re.compile(r'data-live-interval="(\d+)"')


def live_url(html: str) -> tuple[str, float]:
    import html as entities

    found = LIVE.search(html)
    if found is None:
        raise SystemExit("a page names no live URL")
    interval = INTERVAL.search(html[found.start():found.start() + 600])
    return entities.unescape(found[1]), (int(interval[1]) if interval else 5000) / 1000


def queries_per_poll(owner: object, names: dict[str, object]) -> dict[str, tuple[int, int]]:
    """(queries of a poll that finds nothing new, of one that renders the fragment) per kind."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(owner)  # type: ignore[arg-type]
    found = {}
    for kind, path in page_paths(names).items():
        url, _ = live_url(client.get(path).content.decode())
        with CaptureQueriesContext(connection) as fresh:
            etag = client.get(url)["ETag"]
        with CaptureQueriesContext(connection) as same:
            assert client.get(url, headers={"if-none-match": etag}).status_code == 304
        found[kind] = (len(same), len(fresh))
    return found


def wait_until_up(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the server did not come up")


def open_pages(count: int, port: int, cookie: str, names: dict[str, object]) -> list[Poller]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    targets = {}
    for kind, path in page_paths(names).items():
        conn.request("GET", path, headers={"Cookie": cookie})
        response = conn.getresponse()
        body = response.read().decode()
        if response.status != 200:
            raise SystemExit(f"{path} answered {response.status}")
        targets[kind] = live_url(body)
    conn.close()
    return [Poller(kind, *targets[kind], cookie=cookie, port=port)
            for kind in (KINDS[n % len(KINDS)] for n in range(count))]


def change_task(names: dict[str, object]) -> float:
    from agents import rules

    task = names["task"]
    moment = time.time()
    rules.update_task(names["owner"], task, {"title": f"Changed at {moment:.3f}"})  # type: ignore[attr-defined]
    return moment


@dataclass
class Figures:
    requests: int
    statuses: dict[int, int]
    web: int
    worker: int
    db: int


def phase(pollers: list[Poller], seconds: float, server: int, worker: int, pg_url: str, db_name: str,
          change: object | None) -> Figures:
    def backends() -> list[int]:
        out = psql(f"{pg_url}/postgres", f"SELECT pid FROM pg_stat_activity WHERE datname = '{db_name}'")
        return [int(pid) for pid in out.split()]

    # Every page polls once before the figures start, so each has its ETag and later polls can be 304s.
    warm = time.monotonic() + max(p.interval for p in pollers) + 1
    threads = [threading.Thread(target=p.run, args=(warm, random.uniform(0, p.interval)), daemon=True)
               for p in pollers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for poller in pollers:
        poller.statuses.clear()
        poller.changes.clear()
    pg_before = {pid: cpu_ticks([pid]) for pid in backends()}
    web0, worker0 = cpu_ticks(children(server)), cpu_ticks([worker])
    until = time.monotonic() + seconds
    threads = [threading.Thread(target=p.run, args=(until, random.uniform(0, p.interval)), daemon=True)
               for p in pollers]
    for thread in threads:
        thread.start()
    if change is not None:
        time.sleep(1)
        while time.monotonic() < until - 3:
            change()  # type: ignore[operator]
            time.sleep(2)
    for thread in threads:
        thread.join()
    web, worker_used = cpu_ticks(children(server)) - web0, cpu_ticks([worker]) - worker0
    db = sum(cpu_ticks([pid]) - pg_before.get(pid, 0) for pid in backends())
    statuses: dict[int, int] = {}
    for poller in pollers:
        for status, n in poller.statuses.items():
            statuses[status] = statuses.get(status, 0) + n
    return Figures(sum(statuses.values()), statuses, web, worker_used, db)


def report(label: str, figures: Figures, seconds: float, queries: dict[str, tuple[int, int]]) -> None:
    rate = figures.requests / seconds
    per = {name: ticks * 1000 / HZ / max(figures.requests, 1) for name, ticks in
           (("web", figures.web), ("worker", figures.worker), ("postgres", figures.db))}
    core = (figures.web + figures.worker + figures.db) / HZ / seconds * 100
    shown = ", ".join(f"{status}: {n}" for status, n in sorted(figures.statuses.items()))
    print(f"-- {label}: {rate:.1f} req/s ({shown})")
    print("   CPU per request: " + ", ".join(f"{name} {ms:.2f} ms" for name, ms in per.items())
          + f"; in all {core:.1f}% of one core (target < 5%)")
    print("   queries per poll (304 / fragment): "
          + ", ".join(f"{kind} {same}/{fresh}" for kind, (same, fresh) in queries.items()))


if __name__ == "__main__":
    sys.exit(main())
