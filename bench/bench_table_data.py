"""Data for bench_table.sh, in a fresh database; prints one JSON line with what the runs need.

A board with a lead (on no gateway: events await its pick-up) and two webhooks (one
without a secret, one with ``BENCH_SECRET``); the agents of ``agent_auth_data`` (1 +
``BENCH_AGENTS``, each with a real token); and a board of ``BENCH_TASKS`` tasks from
``bench_board_api.populate`` whose lead's token reads the snapshot.
"""

from __future__ import annotations

import json
import os
import sys

import agent_auth_data  # noqa: F401  (sets Django up, as this script's neighbours do)
from agent_auth_data import base, grow
from bench_board_api import populate

from agents.models import Agent, Board
from agents.tokens import assign_new_token
from webhooks.models import Webhook


def main() -> int:
    agents = base()
    if int(os.environ.get("BENCH_AGENTS", "1000")) > 1:
        agents = grow(int(os.environ.get("BENCH_AGENTS", "1000")))
    org, _user, tasks_board = populate(int(os.environ.get("BENCH_TASKS", "10000")))
    reader = Agent(organization=org, board=tasks_board, name="Snapshot reader", is_board_lead=True)
    reader_token = assign_new_token(reader)
    reader.save()
    board = Board.objects.create(organization=org, name="Ingest bench", slug="ingest-bench")
    Agent.objects.create(organization=org, board=board, name="Ingest lead", is_board_lead=True)
    unsigned = Webhook.objects.create(board=board, description="Bench events.")
    signed = Webhook.objects.create(board=board, description="Signed bench events.", secret=os.environ["BENCH_SECRET"])
    print(json.dumps({
        "unsigned_path": unsigned.endpoint_path, "signed_path": signed.endpoint_path, "ingest_board": str(board.pk),
        "agent_token": agents["token"], "agents": agents["agents"],
        "snapshot_path": f"/api/v1/boards/{tasks_board.pk}/snapshot", "snapshot_token": reader_token,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
