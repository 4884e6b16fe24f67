"""Console pages on a board of 2,000 tasks: median render time and queries per page.

Fixed workload: one organization, one board with 2,000 tasks spread over the four
statuses (with dependencies, comments and approvals), 10 agents, 2,000 activity events,
a webhook with 200 payloads. Every page is requested in-process through Django's test
client as a signed-in owner (middleware, session, templates and database included, no
network), 5 warm-up runs then 30 measured runs; the script prints the median and p90 in
milliseconds and the number of queries. Target: every median under 100 ms.

    .venv/bin/python bench/bench_console.py                       # a temporary SQLite file
    .venv/bin/python bench/bench_console.py --database-url postgres://postgres@127.0.0.1:5432/mc_console_bench

The database named is created from scratch by the script (SQLite file or Postgres
database: dropped and recreated), never the one you work in.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TASKS = 2_000
EVENTS = 2_000
AGENTS = 10
PAYLOADS = 200
WARMUP = 5
RUNS = 30


def prepare_database(url: str | None) -> str:
    if url is None:
        folder = tempfile.mkdtemp(prefix="mc-console-bench-")
        return f"sqlite:///{folder}/bench.sqlite3"
    parts = urlsplit(url)
    if parts.scheme.startswith("postgres"):
        import psycopg

        name = parts.path.lstrip("/")
        admin = urlunsplit(parts._replace(path="/postgres"))
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
            connection.execute(f'CREATE DATABASE "{name}"')
    return url


def seed() -> tuple[object, object, list[str]]:
    from django.db import transaction
    from django.utils import timezone

    from agents.models import (
        ActivityEvent,
        Agent,
        Approval,
        ApprovalTask,
        Board,
        Gateway,
        Membership,
        Organization,
        Task,
        TaskComment,
        TaskDependency,
        User,
    )
    from webhooks.models import Webhook, WebhookDelivery, WebhookPayload

    now = timezone.now()
    with transaction.atomic():
        org = Organization.objects.create(name="Bench", slug="bench", is_default=True)
        owner = User.objects.create_user("bench-owner", password="unused-bench-password")
        Membership.objects.create(user=owner, organization=org, role="owner")
        gateway = Gateway.objects.create(organization=org, name="Gateway", url="ws://127.0.0.1:18789")
        board = Board.objects.create(organization=org, gateway=gateway, name="Big board", slug="big", max_agents=50)
        agents = [Agent.objects.create(organization=org, board=board, gateway=gateway, name=f"Agent {n}",
                                       is_board_lead=n == 0, last_seen_at=now if n % 2 else None)
                  for n in range(AGENTS)]
        statuses = ["inbox", "in_progress", "review", "done"]
        tasks = Task.objects.bulk_create(
            Task(board=board, title=f"Task {n}", description="Work to do. " * 10, status=statuses[n % 4],
                 priority=["low", "medium", "high", "urgent"][n % 4], assigned_agent=agents[n % AGENTS],
                 created_at=now, updated_at=now)
            for n in range(TASKS))
        TaskDependency.objects.bulk_create(TaskDependency(task=tasks[n], depends_on=tasks[n - 1])
                                           for n in range(1, TASKS, 7))
        TaskComment.objects.bulk_create(TaskComment(task=tasks[n % 50], message=f"Comment {n}",
                                                    author_agent=agents[n % AGENTS]) for n in range(300))
        for n in range(40):
            approval = Approval.objects.create(board=board, agent=agents[1], action_type="mark_done",
                                               lead_reasoning="Checked.", confidence=70)
            ApprovalTask.objects.create(approval=approval, task=tasks[n * 3])
        ActivityEvent.objects.bulk_create(
            ActivityEvent(event_type="task.updated", actor_type="agent", actor_agent_id=agents[n % AGENTS].pk,
                          actor_name=agents[n % AGENTS].name, organization_id=org.pk, board_id=board.pk,
                          task_id=tasks[n % TASKS].pk, message=f"Updated Task {n % TASKS}")
            for n in range(EVENTS))
        webhook = Webhook.objects.create(board=board, description="Bench events", secret="bench-secret")
        payloads = WebhookPayload.objects.bulk_create(
            WebhookPayload(webhook=webhook, board=board, payload={"n": n, "text": "x" * 500},
                           headers={"content-type": "application/json"}, source_ip="10.0.0.1",
                           content_type="application/json") for n in range(PAYLOADS))
        WebhookDelivery.objects.bulk_create(WebhookDelivery(payload=p, agent=agents[0], status="delivered",
                                                            attempts=1) for p in payloads)
    task = tasks[0]
    pages = [
        "/", "/boards/", f"/boards/{board.pk}/", f"/boards/{board.pk}/?status=inbox",
        f"/boards/{board.pk}/edit", f"/boards/{board.pk}/tasks/{task.pk}/", "/approvals/", "/agents/", "/gateways/",
        "/activity/", f"/boards/{board.pk}/webhooks/", f"/boards/{board.pk}/webhooks/{webhook.pk}/",
        f"/boards/{board.pk}/memory", "/operations/", f"/boards/{board.pk}/live", "/live/dashboard", "/approvals/live",
    ]
    return owner, board, pages


def measure(client: object, url: str) -> tuple[float, float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(WARMUP):
        assert client.get(url).status_code == 200, url  # type: ignore[attr-defined]
    timings = []
    for _ in range(RUNS):
        started = time.perf_counter()
        client.get(url)  # type: ignore[attr-defined]
        timings.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as queries:
        client.get(url)  # type: ignore[attr-defined]
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.9) - 1], len(queries.captured_queries)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a scratch database to create (default: a temporary SQLite file)")
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = prepare_database(args.database_url)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "missioncontrol.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    # Plain static names: the benchmark measures pages, not a collectstatic run.
    settings.STORAGES = {**settings.STORAGES,
                         "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    # No setup_test_environment(): its instrumented template rendering copies every
    # context for the test client and would be measured too; a server does not do that.
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    owner, board, pages = seed()
    print(f"seeded {TASKS} tasks, {EVENTS} events, {PAYLOADS} payloads in {time.perf_counter() - started:.1f}s "
          f"on {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}")
    client = Client()
    client.force_login(owner)
    print(f"{'page':<72} {'median ms':>10} {'p90 ms':>8} {'queries':>8}")
    worst = 0.0
    for url in pages:
        median, p90, queries = measure(client, url)
        worst = max(worst, median)
        print(f"{url:<72} {median:>10.1f} {p90:>8.1f} {queries:>8}")
    print(f"slowest median: {worst:.1f} ms ({'under' if worst < 100 else 'OVER'} the 100 ms target)")
    return 0 if worst < 100 else 1


if __name__ == "__main__":
    sys.exit(main())
