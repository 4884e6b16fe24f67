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


def _limit(member, org, grants: dict) -> None:
    """Limit ``member`` to the boards of ``grants`` (board: can_write)."""
    from agents.models import BoardAccess, Membership

    membership = Membership.objects.get(user=member, organization=org)
    membership.all_boards_read = membership.all_boards_write = False
    membership.save()
    BoardAccess.objects.bulk_create(BoardAccess(membership=membership, board=b, can_write=w) for b, w in grants.items())


@pytest.fixture
def grouped(org, board):
    from agents.models import BoardGroup
    from tests.conftest import make_board

    group = BoardGroup.objects.create(organization=org, name="Web", slug="web")
    board.group = group
    board.save()
    return group, make_board(org, "Payroll", group=group)


@pytest.mark.django_db
def test_a_member_limited_to_some_boards_of_a_group_may_not_read_its_memory(member, org, board, grouped):
    group, _hidden = grouped
    _limit(member, org, {board: True})
    assert access.group_memory_access_of(member, group) is None
    with pytest.raises(RuleViolation) as refused:
        access.check_group_memory(member, group)
    assert (refused.value.status_code, refused.value.detail["code"]) == (403, "board_group_memory_restricted")


@pytest.mark.django_db
def test_group_memory_takes_reading_every_board_to_read_and_working_on_every_board_to_write(member, org, board,
                                                                                            grouped):
    group, hidden = grouped
    _limit(member, org, {board: True, hidden: False})
    assert access.group_memory_access_of(member, group) == "read"
    access.check_group_memory(member, group)
    with pytest.raises(RuleViolation) as refused:
        access.check_group_memory(member, group, write=True)
    assert refused.value.detail["code"] == "board_group_memory_read_only"

    from agents.models import BoardAccess
    BoardAccess.objects.filter(board=hidden).update(can_write=True)
    assert access.group_memory_access_of(member, group) == "write"


@pytest.mark.django_db
def test_whole_organization_people_keep_the_group_memory_they_had(owner, admin_user, member, outsider, org, grouped):
    from agents.models import Membership

    group, _hidden = grouped
    assert [access.group_memory_access_of(p, group) for p in (owner, admin_user, member, outsider)] == [
        "write", "write", "write", None]
    Membership.objects.filter(user=member).update(all_boards_write=False, all_boards_read=True)
    assert access.group_memory_access_of(member, group) == "read"


@pytest.mark.django_db
def test_an_empty_groups_memory_goes_by_the_whole_organization(member, org, board):
    from agents.models import BoardGroup, Membership

    group = BoardGroup.objects.create(organization=org, name="Empty", slug="empty")
    _limit(member, org, {board: True})
    assert access.group_memory_access_of(member, group) is None
    Membership.objects.filter(user=member).update(all_boards_read=True)
    assert access.group_memory_access_of(member, group) == "read"


@pytest.mark.django_db
def test_a_limited_member_sees_the_agents_of_their_boards_only(member, admin_user, org, board, gateway, worker,
                                                               main_agent):
    from tests.conftest import make_agent, make_board

    hidden_agent = make_agent("Payroll worker", board=make_board(org, "Payroll"), gateway=gateway)
    assert set(access.visible_agents(member)) == {worker, main_agent, hidden_agent}
    _limit(member, org, {board: False})
    assert list(access.visible_agents(member)) == [worker]
    assert set(access.visible_agents(admin_user)) == {worker, main_agent, hidden_agent}
    with pytest.raises(Http404):
        access.get_agent_for(member, hidden_agent.pk)
    with pytest.raises(Http404):
        access.get_agent_for(member, main_agent.pk)
