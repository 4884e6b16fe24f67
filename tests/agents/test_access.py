from __future__ import annotations

import uuid

import pytest
from django.http import Http404

from agents import access
from agents.refusals import RuleViolation


def test_members_see_the_boards_of_their_organization_only(member, board, other_board):
    assert list(access.visible_boards(member)) == [board]


def test_roles_are_read_from_the_membership(owner, admin_user, member, outsider, org):
    assert access.role_in(owner, org) == "owner"
    assert access.is_admin(owner, org) and access.is_admin(admin_user, org)
    assert not access.is_admin(member, org)
    assert access.role_in(outsider, org) is None


def test_a_board_of_another_organization_is_not_found(outsider, board):
    with pytest.raises(Http404):
        access.get_board_for(outsider, board.pk)


def test_a_malformed_or_unknown_id_is_not_found(member, board):
    with pytest.raises(Http404):
        access.get_board_for(member, "not-a-uuid")
    with pytest.raises(Http404):
        access.get_board_for(member, uuid.uuid4())


def test_a_member_asking_for_an_admin_operation_is_refused_with_403(member, board):
    with pytest.raises(RuleViolation) as refused:
        access.get_board_for(member, board.pk, admin=True)
    assert refused.value.status_code == 403
    assert refused.value.detail["code"] == "admin_required"


def test_an_admin_gets_the_board_for_an_admin_operation(admin_user, board):
    assert access.get_board_for(admin_user, board.pk, admin=True) == board


def test_agents_gateways_and_tags_are_scoped_the_same_way(outsider, member, worker, gateway):
    assert access.get_agent_for(member, worker.pk) == worker
    assert access.get_gateway_for(member, gateway.pk) == gateway
    with pytest.raises(Http404):
        access.get_agent_for(outsider, worker.pk)
    with pytest.raises(Http404):
        access.get_gateway_for(outsider, gateway.pk)


def test_a_board_agent_reaches_only_its_own_board(worker, board, other_board, org):
    from tests.conftest import make_board

    second = make_board(org, "Second")
    assert list(access.boards_for_agent(worker)) == [board]
    assert access.agent_can_reach(worker, board)
    assert not access.agent_can_reach(worker, second)
    assert not access.agent_can_reach(worker, other_board)


def test_the_main_agent_reaches_the_boards_of_its_organization_only(main_agent, board, other_board, org):
    from tests.conftest import make_board

    second = make_board(org, "Second")
    assert set(access.boards_for_agent(main_agent)) == {board, second}
    assert access.agent_can_reach(main_agent, second)
    assert not access.agent_can_reach(main_agent, other_board)
