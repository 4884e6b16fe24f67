"""Data for bench_agent_auth.sh: agents with real tokens in the benchmark database.

    python bench/agent_auth_data.py base          one organization, board and agent
    python bench/agent_auth_data.py grow TOTAL    more agents, in bulk, until TOTAL exist

Each command prints one JSON line: the board id and the token of the agent created last
(plus, for ``grow``, the number of agents now stored). Tokens are minted the way the API
mints them; only the inserts are batched.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "missioncontrol.settings")

import django  # noqa: E402

django.setup()

from django.db import transaction  # noqa: E402

from agents.models import Agent, Board, Gateway, Organization  # noqa: E402
from agents.tokens import assign_new_token  # noqa: E402

AGENTS_PER_BOARD = 10


def base() -> dict[str, object]:
    org = Organization.objects.create(name="Bench", slug="bench")
    gateway = Gateway.objects.create(organization=org, name="Bench gateway", url="ws://127.0.0.1:18789")
    board = Board.objects.create(organization=org, gateway=gateway, name="Bench board 0", slug="bench-0",
                                 max_agents=AGENTS_PER_BOARD)
    agent = Agent(organization=org, board=board, gateway=gateway, name="Agent 0", is_board_lead=True)
    token = assign_new_token(agent)
    agent.save()
    return {"board_id": str(board.id), "token": token, "agents": Agent.objects.count()}


def grow(total: int) -> dict[str, object]:
    org = Organization.objects.get(slug="bench")
    gateway = Gateway.objects.get(organization=org)
    start = Agent.objects.count()
    agents, token = [], ""
    with transaction.atomic():
        for number in range(start, total):
            board_number, seat = divmod(number, AGENTS_PER_BOARD)
            board, _ = Board.objects.get_or_create(
                organization=org, slug=f"bench-{board_number}",
                defaults={"gateway": gateway, "name": f"Bench board {board_number}", "max_agents": AGENTS_PER_BOARD})
            agent = Agent(organization=org, board=board, gateway=gateway, name=f"Agent {number}",
                          is_board_lead=seat == 0)
            token = assign_new_token(agent)
            agents.append(agent)
        Agent.objects.bulk_create(agents, batch_size=500)
    last = agents[-1]
    return {"board_id": str(last.board_id), "token": token, "agents": Agent.objects.count()}


def main(argv: list[str]) -> int:
    if argv[:1] == ["base"]:
        result = base()
    elif argv[:1] == ["grow"] and len(argv) == 2:
        result = grow(int(argv[1]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
