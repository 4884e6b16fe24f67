"""Benchmark: task events pushed to 50 agents on a real OpenClaw gateway through the outbox.

Fixed workload, against a real gateway started for the run (``scripts/openclaw.sh
install 2026.9.6`` first):

1. one board whose 50 agents (a lead and 49 workers) are set up on the gateway (one
   template sync), and a twin board whose 50 agents are on no gateway;
2. ``--events`` task creations through the user API (Django's test client, a signed-in
   person), each assigned to a worker, alternating between the two boards: a creation on
   the gateway board writes two messages (the assignee's, the lead's), one on the twin
   board writes none;
3. all the while, the worker (django-tasks-db's ``db_worker`` loop, in a thread of this
   process, as it runs in production) sends the messages to the gateway.

It prints, for the requests of each board, the median and 95th-percentile latency and the
CPU per request (``/proc/thread-self/stat`` of the requesting thread); then the messages
written and sent, the ``chat.send`` calls and other RPCs, the worker thread's CPU and the
wall time until the last message was sent. The push is never on the request path, so the
two boards' request figures should differ only by the cost of writing the messages.

Usage (a scratch database; Postgres as in production is best)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mc_bench_push \\
        .venv/bin/python bench/bench_push.py [--version 2026.9.6] [--agents 50] [--events 1000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "missioncontrol.settings")
os.environ.setdefault("DATABASE_URL", f"sqlite:///{BASE_DIR / 'var' / 'bench_push.sqlite3'}")
os.environ.setdefault("LOG_LEVEL", "WARNING")

TICKS = os.sysconf("SC_CLK_TCK")


def thread_cpu() -> float:
    """CPU seconds (user + system) of the calling thread, as the kernel counts them."""
    with open("/proc/thread-self/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def setup_django() -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


class WorkerThread(threading.Thread):
    """The job worker's loop, in a thread, until stopped; its CPU read from /proc."""

    def __init__(self) -> None:
        super().__init__(name="bench-worker", daemon=True)
        self.cpu = 0.0
        self.stop_after_jobs = threading.Event()

    def run(self) -> None:
        from django.db import connections
        from django_tasks_db.management.commands.db_worker import Worker

        start = thread_cpu()
        worker = Worker(queue_names=["default"], interval=0.05, batch=False, backend_name="default",
                        startup_delay=False, max_tasks=None, worker_id="bench-worker", excluded_queue_names=[])
        self.worker = worker
        try:
            while not self.stop_after_jobs.is_set():
                worker.batch = True
                worker.running = True
                worker.run()  # every job that is due, then back here
                time.sleep(0.05)
        finally:
            self.cpu = thread_cpu() - start
            connections.close_all()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default="2026.9.6", help="OpenClaw release to run (installed in the cache)")
    parser.add_argument("--agents", type=int, default=50, help="agents on each board (one is the lead)")
    parser.add_argument("--events", type=int, default=1000, help="task creations on the gateway board")
    parser.add_argument("--drain-timeout", type=float, default=1800.0, help="seconds to wait for the last send")
    options = parser.parse_args()

    setup_django()
    from django.test import Client
    from django.utils.text import slugify

    from agents.gateway import pool, sync
    from agents.gateway.counters import COUNTERS
    from agents.models import Agent, AgentMessage, Board, Gateway, Membership, Organization, User
    from tests.gateway.real import RealGateway

    real = RealGateway.launch(options.version)
    worker = WorkerThread()
    try:
        real.wait_until_ready()
        print(f"OpenClaw {options.version} ready after {real.ready_after:.1f} s on {real.url}")
        run_id = uuid.uuid4().hex[:8]
        org = Organization.objects.create(name=f"Bench {run_id}", slug=slugify(f"bench-{run_id}"))
        person = User.objects.create_user(username=f"bench-{run_id}", password=uuid.uuid4().hex)
        Membership.objects.create(user=person, organization=org, role="owner")
        gateway = Gateway.objects.create(organization=org, name="Bench gateway", url=real.url, token=real.token,
                                         workspace_root=str(real.workspace_root))
        boards: dict[str, Board] = {}
        workers: dict[str, list[Agent]] = {}
        for label, on_gateway in (("gateway", True), ("none", False)):
            board = Board.objects.create(organization=org, name=f"Bench {label}", slug=f"bench-{label}",
                                         gateway=gateway if on_gateway else None, max_agents=options.agents + 5)
            boards[label] = board
            made = [Agent.objects.create(organization=org, board=board, gateway=gateway if on_gateway else None,
                                         name=f"{label} {number}", is_board_lead=number == 0)
                    for number in range(options.agents)]
            workers[label] = made[1:]
        started = time.monotonic()
        sync.run(str(gateway.pk))
        provisioned = Agent.objects.filter(board=boards["gateway"], provisioned_at__isnull=False).count()
        print(f"{provisioned} agents set up on the gateway in {time.monotonic() - started:.1f} s (one sync)")
        pool.close_all()

        client = Client()
        client.force_login(person)
        COUNTERS.reset()
        worker.start()
        latency: dict[str, list[float]] = {"gateway": [], "none": []}
        cpu: dict[str, float] = {"gateway": 0.0, "none": 0.0}
        first_event = time.monotonic()
        for number in range(2 * options.events):
            label = "gateway" if number % 2 == 0 else "none"
            board = boards[label]
            assignee = workers[label][(number // 2) % len(workers[label])]
            cpu_before, before = thread_cpu(), time.perf_counter()
            answer = client.post(f"/api/v1/boards/{board.pk}/tasks",
                                 {"title": f"Task {number}", "assigned_agent_id": str(assignee.pk)},
                                 content_type="application/json")
            latency[label].append(time.perf_counter() - before)
            cpu[label] += thread_cpu() - cpu_before
            if answer.status_code != 201:
                print(f"request {number} answered {answer.status_code}: {answer.content[:300]!r}")
                return 1
        requests_done = time.monotonic()

        deadline = time.monotonic() + options.drain_timeout
        while AgentMessage.objects.filter(status=AgentMessage.Status.PENDING).exists():
            if time.monotonic() > deadline:
                print("the outbox did not drain in time")
                break
            time.sleep(0.5)
        drained = time.monotonic()
        worker.stop_after_jobs.set()
        worker.join(60)
        figures = COUNTERS.figures()
        written = AgentMessage.objects.count()
        sent = AgentMessage.objects.filter(status=AgentMessage.Status.SENT).count()
        dead = AgentMessage.objects.filter(status=AgentMessage.Status.DEAD).count()
        batches = AgentMessage.objects.filter(status=AgentMessage.Status.SENT).values("batch_key").distinct().count()
        retried = AgentMessage.objects.filter(attempts__gt=1).count()
        pool.close_all()
    finally:
        worker.stop_after_jobs.set()
        real.stop()

    print()
    print(f"{'requests':<34} {'count':>6} {'p50 ms':>8} {'p95 ms':>8} {'CPU ms/req':>11}")
    for label, title in (("gateway", f"board, {options.agents} gateway agents"), ("none", f"board, {options.agents} agents, no gateway")):
        values = sorted(latency[label])
        p95 = values[int(len(values) * 0.95) - 1]
        print(f"{title:<34} {len(values):>6} {statistics.median(values) * 1000:>8.2f} {p95 * 1000:>8.2f} "
              f"{cpu[label] / len(values) * 1000:>11.2f}")
    print()
    print(f"messages written {written}, sent {sent}, dead {dead}, sent after a retry {retried}")
    print(f"chat.send batches {batches} (messages per batch {sent / max(batches, 1):.1f}); "
          f"RPCs {figures.rpcs_total}: " + ", ".join(f"{m} {c}" for m, c in sorted(figures.rpcs_sent.items())))
    print(f"connections opened {figures.connections_opened}; worker thread CPU {worker.cpu:.1f} s "
          f"({worker.cpu / max(sent, 1) * 1000:.1f} ms per message sent)")
    print(f"wall: requests {requests_done - first_event:.1f} s, last message sent {drained - first_event:.1f} s "
          f"after the first event")
    return 0 if sent == written else 1


if __name__ == "__main__":
    raise SystemExit(main())
