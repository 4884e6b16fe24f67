"""Benchmark: what 200 open console pages cost the server while nothing changes, and how
soon a change reaches them.

Every console page that refreshes itself (board, task, dashboard, approvals, agent,
gateway, activity, board memory, the agents list) does what ``static/console/console.js`` does:
every ``agents.live.POLL_SECONDS`` it asks ``/live/changes`` with its signed ticket (204
while nothing changed in its scopes), and only when the answer says something did, or
every ``FULL_CHECK_SECONDS`` anyway, it asks its fragment URL with ``If-None-Match``
(304 while what it shows is the same). This script runs the server as in production
(gunicorn with 2 workers, Postgres, ``manage.py db_worker`` running) on a scratch
database, signs one person in, opens ``--pages`` pages spread evenly over the kinds (each
a thread with its own connection, from a random offset), and for ``--seconds`` measures:

- requests per second the pages cause, by answer (204 change questions, 304 fragments...);
- the same pages asking ``/healthz`` at the same pace instead: what the cheapest request
  costs this server at that rate, the floor under the figure above;
- CPU per request and in all (% of one core) of the web workers, the job worker and the
  Postgres backends, from ``/proc/<pid>/stat`` before and after;
- queries per poll of each kind (``pg_stat_database.xact_commit`` is not per request, so
  these come from Django's query log of one in-process poll of each URL).

Then a second phase changes one task through the rules every 2 s for ``--seconds`` and
reports, for the pages that show it (board, task, dashboard, activity), the delay from the change
to the first fragment with a new ETag, median and maximum. The issue's target: under 5% of one core while nothing changes,
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
from urllib.parse import urlencode

BASE_DIR = Path(__file__).resolve().parent.parent
HZ = os.sysconf("SC_CLK_TCK")
KINDS = ("board", "task", "dashboard", "approvals", "agent", "gateway", "activity", "memory", "agents")
# The kinds whose fragment changes when the task the benchmark changes does.
SHOWS_TASKS = ("board", "task", "dashboard", "activity")


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
    """One open page, doing what console.js does for its live region."""

    kind: str
    url: str
    ticket: str
    etag: str
    cookie: str
    port: int
    interval: float
    full_every: float
    version: str | None = None
    last_full: float = 0.0
    # Set for the floor phase: every question goes to this path (``/healthz``) instead.
    floor_path: str | None = None
    # Answers by kind of request and status: ("changes", 204), ("fragment", 304)...
    statuses: dict[tuple[str, int], int] = field(default_factory=dict)
    # When a fragment came back with a new ETag.
    changes: list[float] = field(default_factory=list)

    def _get(self, conn: http.client.HTTPConnection, what: str, url: str,
             headers: dict[str, str]) -> http.client.HTTPResponse | None:
        try:
            conn.request("GET", url, headers=headers)
            response = conn.getresponse()
            response.body = response.read()  # type: ignore[attr-defined]
        except (OSError, http.client.HTTPException):
            conn.close()
            self.statuses[(what, 0)] = self.statuses.get((what, 0), 0) + 1
            return None
        self.statuses[(what, response.status)] = self.statuses.get((what, response.status), 0) + 1
        return response

    def check(self, conn: http.client.HTTPConnection) -> None:
        self.last_full = time.monotonic()
        headers = {"Cookie": self.cookie}
        if self.etag:
            headers["If-None-Match"] = self.etag
        response = self._get(conn, "fragment", self.url, headers)
        if response is None:
            return
        self.ticket = response.getheader("X-Live-Ticket") or self.ticket
        etag = response.getheader("ETag") or ""
        if response.status == 200 and etag != self.etag:
            self.changes.append(time.time())
        self.etag = etag or self.etag

    def ask(self, conn: http.client.HTTPConnection) -> None:
        if self.floor_path is not None:
            self._get(conn, "healthz", self.floor_path, {})
            return
        query = {"t": self.ticket} if self.version is None else {"t": self.ticket, "v": self.version}
        response = self._get(conn, "changes", "/live/changes?" + urlencode(query), {})
        if response is None or response.status == 204:
            return
        if response.status == 200:
            self.version = response.body.decode()  # type: ignore[attr-defined]
        self.check(conn)

    def run(self, until: float, start_after: float) -> None:
        time.sleep(start_after)
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        while time.monotonic() < until:
            started = time.monotonic()
            if time.monotonic() - self.last_full >= self.full_every:
                self.check(conn)
            else:
                self.ask(conn)
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

        # No recycling (--max-requests 0, as bench_table.sh): a worker replaced mid-phase would
        # take its CPU ticks with it and make the web figure wrong, even negative.
        server = subprocess.Popen([str(BASE_DIR / ".venv" / "bin" / "gunicorn"), "-c", "gunicorn.conf.py",
                                   "--max-requests", "0", "missioncontrol.wsgi"], cwd=BASE_DIR, env=env)
        worker = subprocess.Popen([python, "manage.py", "db_worker"], cwd=BASE_DIR, env=env)
        processes += [server, worker]
        wait_until_up(args.port)

        pollers = open_pages(args.pages, args.port, cookie, names)
        intervals = sorted({p.interval for p in pollers})
        print(f"== {len(pollers)} open pages ({', '.join(f'{k}: {sum(p.kind == k for p in pollers)}' for k in KINDS)}),"
              f" asking for changes every {', '.join(f'{i:g}' for i in intervals)} s and checking their fragment"
              f" every {pollers[0].full_every:g} s anyway; {args.seconds:g} s per phase")
        print(f"   load before: {os.getloadavg()[0]:.2f}")

        quiet = phase(pollers, args.seconds, server.pid, worker.pid, pg_url, db_name, change=None)
        report("nothing changes", quiet, args.seconds, queries)
        # The same pages asking /healthz instead, at the same pace: what any request costs this
        # server at this rate (a sync worker woken per connection), the floor of the figure above.
        for poller in pollers:
            poller.floor_path, poller.last_full = "/healthz", float("inf")
        floor = phase(pollers, args.seconds, server.pid, worker.pid, pg_url, db_name, change=None)
        report("the floor: /healthz at the same pace", floor, args.seconds, None)
        for poller in pollers:
            poller.floor_path, poller.last_full = None, time.monotonic()
        for poller in pollers:
            poller.changes.clear()
            poller.statuses.clear()
        changes: list[float] = []
        busy = phase(pollers, args.seconds, server.pid, worker.pid, pg_url, db_name,
                     change=lambda: changes.append(change_task(names)))
        report("a task changes every 2 s", busy, args.seconds, queries)
        for kind in SHOWS_TASKS:
            delays, missed = [], 0
            for poller in (p for p in pollers if p.kind == kind):
                for moment in changes:
                    seen = next((t for t in poller.changes if t >= moment), None)
                    if seen is None:
                        missed += 1
                    else:
                        delays.append(seen - moment)
            if delays:
                print(f"   {kind} pages saw a change after: median {statistics.median(delays):.2f} s, "
                      f"max {max(delays):.2f} s ({len(delays)} sightings, {missed} missed, "
                      f"{len(changes)} changes)")
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
            "gateway": reverse("console:gateway", args=[names["gateway"].pk]),  # type: ignore[attr-defined]
            "task": reverse("console:task", args=[names["board"].pk, names["task"].pk]),  # type: ignore[attr-defined]
            "activity": reverse("console:activity"),
            "memory": reverse("console:board_memory", args=[names["board"].pk]),  # type: ignore[attr-defined]
            "agents": reverse("console:agents")}


REGION = re.compile(r'<[a-z]+ data-live-url="([^"]+)"[^>]*>')


def live_region(html: str) -> tuple[str, str, str]:
    """The live region's fragment URL, ticket and ETag, as the page's HTML names them."""
    import html as entities

    found = REGION.search(html)
    if found is None:
        raise SystemExit("a page names no live URL")

    def attribute(name: str) -> str:
        value = re.search(name + r'="([^"]*)"', found[0])
        return entities.unescape(value[1]) if value else ""

    return entities.unescape(found[1]), attribute("data-live-ticket"), attribute("data-etag")


def queries_per_poll(owner: object, names: dict[str, object]) -> dict[str, tuple[int, int]]:
    """(queries of a poll that finds nothing new, of one that renders the fragment) per kind."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(owner)  # type: ignore[arg-type]
    found = {}
    for kind, path in page_paths(names).items():
        url, _, _ = live_region(client.get(path).content.decode())
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
        targets[kind] = live_region(body)
    conn.close()
    from agents import live

    return [Poller(kind, *targets[kind], cookie=cookie, port=port, interval=live.POLL_SECONDS,
                   full_every=live.FULL_CHECK_SECONDS, last_full=time.monotonic())
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
    statuses: dict[tuple[str, int], int]
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
    statuses: dict[tuple[str, int], int] = {}
    for poller in pollers:
        for status, n in poller.statuses.items():
            statuses[status] = statuses.get(status, 0) + n
    return Figures(sum(statuses.values()), statuses, web, worker_used, db)


def report(label: str, figures: Figures, seconds: float, queries: dict[str, tuple[int, int]] | None) -> None:
    rate = figures.requests / seconds
    per = {name: ticks * 1000 / HZ / max(figures.requests, 1) for name, ticks in
           (("web", figures.web), ("worker", figures.worker), ("postgres", figures.db))}
    core = (figures.web + figures.worker + figures.db) / HZ / seconds * 100
    shown = ", ".join(f"{what} {status}: {n}" for (what, status), n in sorted(figures.statuses.items()))
    print(f"-- {label}: {rate:.1f} req/s ({shown})")
    print("   CPU per request: " + ", ".join(f"{name} {ms:.2f} ms" for name, ms in per.items())
          + f"; in all {core:.1f}% of one core (target < 5%)")
    if queries is None:
        return
    print("   queries per fragment check (304 / 200; a change question is 1): "
          + ", ".join(f"{kind} {same}/{fresh}" for kind, (same, fresh) in queries.items()))


if __name__ == "__main__":
    sys.exit(main())
