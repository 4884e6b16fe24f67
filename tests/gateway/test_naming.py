"""Agents are named on a gateway as the earlier Mission Control named them, so they are adopted."""

from __future__ import annotations

import pytest

from agents.gateway import naming
from tests.conftest import make_agent, make_board

pytestmark = pytest.mark.django_db


def test_a_worker_a_lead_and_a_main_agent_have_the_earlier_scheme(board, gateway, lead, worker, main_agent):
    assert naming.gateway_agent_id(worker) == f"mc-{worker.pk}"
    assert naming.gateway_agent_id(lead) == f"lead-{board.pk}"
    assert naming.gateway_agent_id(main_agent) == f"mc-gateway-{gateway.pk}"
    assert naming.session_key(f"mc-{worker.pk}") == f"agent:mc-{worker.pk}:main"


def test_workspaces_sit_under_the_gateway_s_root_and_the_main_agent_drops_mc(gateway, worker, main_agent):
    gateway.workspace_root = "/srv/openclaw/"
    assert naming.workspace_path(gateway, naming.gateway_agent_id(worker)) == f"/srv/openclaw/workspace-mc-{worker.pk}"
    assert naming.workspace_path(gateway, naming.gateway_agent_id(main_agent)) == \
        f"/srv/openclaw/workspace-gateway-{gateway.pk}"
    gateway.workspace_root = ""
    assert naming.workspace_path(gateway, "lead-x") == "~/.openclaw/workspace-lead-x"


def test_an_agent_keeps_the_id_it_was_provisioned_under(board, worker):
    worker.gateway_agent_id = "mc-older-name"
    assert naming.gateway_agent_id(worker) == "mc-older-name"


def test_a_second_lead_of_a_board_does_not_take_the_first_lead_s_id(org, gateway):
    board = make_board(org, "Two leads", gateway=gateway)
    first = make_agent("First", board=board, lead=True, gateway_agent_id=f"lead-{board.pk}")
    first.is_board_lead = False
    first.save()
    second = make_agent("Second", board=board, lead=True)
    assert naming.gateway_agent_id(second) == f"mc-{second.pk}"
