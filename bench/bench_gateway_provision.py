"""Benchmark: provisioning agents on a real OpenClaw gateway, and syncing 50 of them.

Fixed workload, against a real gateway started for the run (``scripts/openclaw.sh
install 2026.9.6`` first; the version is ``--version``):

1. provision one agent (create, config, workspace files, wake), as the worker's job does;
2. add 49 more agents and sync the gateway's templates (all 50);
3. sync again, with nothing changed.

For each step it prints the WebSocket connections opened, the RPCs sent (in all and per
method), the ``config.patch`` calls and the wall time. The earlier Mission Control opened a
connection per RPC, about 15 per provisioned agent; here one connection serves the whole
process, and a sync that changes nothing sends no ``config.patch``.

Usage (a scratch database: SQLite under var/ unless DATABASE_URL says otherwise)::

    .venv/bin/python bench/bench_gateway_provision.py [--version 2026.9.6] [--agents 50]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "missioncontrol.settings")
os.environ.setdefault("DATABASE_URL", f"sqlite:///{BASE_DIR / 'var' / 'bench_gateway.sqlite3'}")
os.environ.setdefault("LOG_LEVEL", "WARNING")


def setup_django() -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def measure(label: str, step: object) -> dict[str, object]:
    from agents.gateway.counters import COUNTERS

    COUNTERS.reset()
    started = time.monotonic()
    outcome = step()  # type: ignore[operator]
    seconds = time.monotonic() - started
    figures = COUNTERS.figures()
    return {"step": label, "outcome": outcome, "seconds": seconds, "connections": figures.connections_opened,
            "rpcs": figures.rpcs_total, "patches": figures.rpcs_sent.get("config.patch", 0),
            "by_method": dict(sorted(figures.rpcs_sent.items()))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default="2026.9.6", help="OpenClaw release to run (installed in the cache)")
    parser.add_argument("--agents", type=int, default=50, help="agents in the sync")
    options = parser.parse_args()

    setup_django()
    from django.utils.text import slugify

    from agents import tokens
    from agents.gateway import pool, provisioning, sync
    from agents.models import Agent, Board, Gateway, Organization
    from agents.rules import roster
    from tests.gateway.real import RealGateway

    real = RealGateway.launch(options.version)
    try:
        real.wait_until_ready()
        print(f"OpenClaw {options.version} ready after {real.ready_after:.1f} s on {real.url}")
        run_id = uuid.uuid4().hex[:8]
        org = Organization.objects.create(name=f"Bench {run_id}", slug=slugify(f"bench-{run_id}"))
        gateway = Gateway.objects.create(organization=org, name="Bench gateway", url=real.url, token=real.token,
                                         workspace_root=str(real.workspace_root))
        board = Board.objects.create(organization=org, gateway=gateway, name="Bench", slug="bench",
                                     max_agents=options.agents + 5)
        first = Agent.objects.create(organization=org, board=board, gateway=gateway, name="Agent 1")
        roster.provision_on_gateway(first, token=tokens.mint_token(first))
        first.refresh_from_db()

        results = [measure("provision 1 agent", lambda: provisioning.run(str(first.pk), first.lifecycle_generation,
                                                                         "provision"))]
        for number in range(2, options.agents + 1):
            agent = Agent.objects.create(organization=org, board=board, gateway=gateway, name=f"Agent {number}")
            tokens.mint_token(agent)
        results.append(measure(f"sync {options.agents} agents ({options.agents - 1} new)",
                               lambda: sync.run(str(gateway.pk))))
        results.append(measure(f"sync {options.agents} agents, nothing changed", lambda: sync.run(str(gateway.pk))))
        pool.close_all()
        gateway.refresh_from_db()
        errors = gateway.sync_report.get("errors", {})
    finally:
        real.stop()

    print()
    print(f"{'step':<42} {'outcome':<12} {'conns':>5} {'RPCs':>6} {'patch':>5} {'wall s':>8}")
    for row in results:
        print(f"{row['step']:<42} {row['outcome']!s:<12} {row['connections']:>5} {row['rpcs']:>6} "
              f"{row['patches']:>5} {row['seconds']:>8.1f}")
    print()
    for row in results:
        print(f"{row['step']}: " + ", ".join(f"{method} {count}" for method, count in row["by_method"].items()))
    if errors:
        print(f"\nsync errors: {errors}")
    provision_rpcs = results[0]["rpcs"]
    print(f"\nOne agent: {results[0]['connections']} connection(s) for {provision_rpcs} RPCs "
          f"(the earlier implementation opened one per RPC, about 15 per agent).")
    return 0 if not errors else 1


if __name__ == "__main__":
    raise SystemExit(main())
