"""Board groups: who makes them, boards joining and leaving, the group's memory and its
heartbeat setting."""

from __future__ import annotations

import pytest
from django.http import Http404

from agents import rules
from agents.models import ActivityEvent, Agent, Board, BoardGroup, BoardGroupMemory
from tests.agents.rules_helpers import refused
from tests.conftest import make_agent, make_board, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def group(org) -> BoardGroup:
    return BoardGroup.objects.create(organization=org, name="Web", slug="web")


def grouped(board: Board, group: BoardGroup) -> Board:
    board.group = group
    board.save()
    return board


def test_an_admin_creates_a_group_whose_slug_is_made_from_its_name(owner, org):
    group = rules.create_group(owner, org, {"name": "Web platform", "description": "Site and API"})

    assert (group.slug, group.description, group.heartbeat_every) == ("web-platform", "Site and API", "")
    event = ActivityEvent.objects.get(event_type="board_group.created")
    assert event.organization_id == org.pk and event.data == {"board_group_id": str(group.pk)}


def test_a_member_cannot_create_change_or_delete_a_group(member, org, group):
    with refused(403, "admin_required"):
        rules.create_group(member, org, {"name": "Mine"})
    with refused(403, "admin_required"):
        rules.update_group(member, group, {"name": "Mine"})
    with refused(403, "admin_required"):
        rules.delete_group(member, group)
    assert not ActivityEvent.objects.exists()


def test_a_group_needs_a_name_and_a_slug_free_in_its_organization(owner, org, group, other_org):
    with refused(422, "name_required"):
        rules.create_group(owner, org, {"name": "  "})
    with refused(409, "board_group_slug_taken"):
        rules.create_group(owner, org, {"name": "Web"})
    other_owner = make_user("other-owner", other_org, "owner")
    assert rules.create_group(other_owner, other_org, {"name": "Web"}).slug == "web"


def test_an_unknown_field_or_a_bad_heartbeat_interval_is_refused(owner, group):
    with refused(422, "unknown_field"):
        rules.update_group(owner, group, {"colour": "red"})
    with refused(422, "invalid_heartbeat_every"):
        rules.update_group(owner, group, {"heartbeat_every": "every ten minutes"})


def test_a_board_joins_a_group_of_its_organization_through_its_own_update(owner, board, group):
    rules.update_board(owner, board, {"board_group_id": str(group.pk)})

    board.refresh_from_db()
    assert board.group_id == group.pk
    assert ActivityEvent.objects.get(event_type="board.updated").data == {"fields": ["board_group_id"]}
    joined = ActivityEvent.objects.get(event_type="board_group.board_added")
    assert joined.board_id == board.pk and joined.data == {"board_group_id": str(group.pk)}


def test_a_board_cannot_join_a_group_of_another_organization(owner, board, other_org):
    foreign = BoardGroup.objects.create(organization=other_org, name="Theirs", slug="theirs")

    with refused(422, "board_group_not_in_organization"):
        rules.update_board(owner, board, {"board_group_id": str(foreign.pk)})

    board.refresh_from_db()
    assert board.group_id is None


def test_a_board_leaves_its_group_with_a_null_group(owner, board, group):
    grouped(board, group)

    rules.update_board(owner, board, {"board_group_id": None})

    board.refresh_from_db()
    assert board.group_id is None
    left = ActivityEvent.objects.get(event_type="board_group.board_removed")
    assert left.data == {"board_group_id": str(group.pk)}


def test_a_board_created_in_a_group_is_recorded_as_joining_it(owner, org, group):
    board = rules.create_board(owner, org, {"name": "Docs", "board_group_id": str(group.pk)})

    assert board.group_id == group.pk
    assert ActivityEvent.objects.filter(event_type="board_group.board_added", board_id=board.pk).exists()


def test_deleting_a_group_removes_its_memory_and_leaves_its_boards_ungrouped(owner, board, group):
    grouped(board, group)
    BoardGroupMemory.objects.create(group=group, content="Old note")
    group_id = group.pk

    on_gateway = make_agent("On gateway", board=board, provisioned_at="2026-01-01T00:00:00Z")

    rules.delete_group(owner, group)

    board.refresh_from_db()
    on_gateway.refresh_from_db()
    assert board.group_id is None and on_gateway.lifecycle_status == Agent.Lifecycle.UPDATING
    assert not BoardGroup.objects.exists() and not BoardGroupMemory.objects.exists()
    event = ActivityEvent.objects.get(event_type="board_group.deleted")
    assert event.data == {"board_group_id": str(group_id), "board_ids": [str(board.pk)]}


def test_a_person_of_the_organization_writes_group_chat(member, group):
    memory = rules.create_group_memory(member, group, {"content": "Release on Friday", "tags": ["chat"]})

    assert (memory.is_chat, memory.author_user, memory.board) == (True, member, None)
    event = ActivityEvent.objects.get(event_type="board_group.memory_created")
    assert event.data == {"board_group_id": str(group.pk), "memory_id": str(memory.pk), "is_chat": True}


def test_a_person_of_another_organization_cannot_write_a_groups_memory(outsider, group):
    with refused(404, "board_group_not_found"):
        rules.create_group_memory(outsider, group, {"content": "Hello"})


def test_a_member_who_does_not_work_on_every_board_of_the_group_cannot_write_its_memory(admin_user, member, org,
                                                                                        board, group):
    from agents.models import Membership

    grouped(board, group)
    payroll = make_board(org, "Payroll", group=group)
    limit = {"all_boards_read": False, "all_boards_write": False}
    rules.set_board_access(admin_user, Membership.objects.get(user=member),
                           {**limit, "boards": [{"board_id": str(board.pk), "can_write": True}]})
    for written_from in (None, board):
        with refused(403, "board_group_memory_restricted"):
            rules.create_group_memory(member, group, {"content": "Hello"}, board=written_from)
    rules.set_board_access(admin_user, Membership.objects.get(user=member), {**limit, "boards": [
        {"board_id": str(board.pk), "can_write": True}, {"board_id": str(payroll.pk), "can_write": False}]})
    with refused(403, "board_group_memory_read_only"):
        rules.create_group_memory(member, group, {"content": "Hello"}, board=board)
    assert not BoardGroupMemory.objects.exists()


def test_a_worker_writes_group_memory_from_its_own_grouped_board(worker, board, group):
    grouped(board, group)

    memory = rules.create_group_memory(worker, group, {"content": "The API moves to v2", "source": "worker"},
                                       board=board)

    assert (memory.author_agent, memory.board, memory.is_chat, memory.source) == (worker, board, False, "worker")


def test_an_agent_writes_group_memory_only_from_a_board_of_the_group(worker, lead, board, group, org, gateway):
    with refused(409, "board_not_in_group"):
        rules.create_group_memory(worker, group, {"content": "x"}, board=board)
    with refused(403, "board_agents_only"):
        rules.create_group_memory(lead, group, {"content": "x"})
    sibling = grouped(make_board(org, "Sibling", gateway=gateway), group)
    with refused(403, "board_out_of_reach"):
        rules.create_group_memory(worker, group, {"content": "x"}, board=sibling)
    assert not BoardGroupMemory.objects.exists()


def test_the_main_agent_cannot_write_group_memory(main_agent, board, group):
    grouped(board, group)
    with refused(403, "board_agents_only"):
        rules.create_group_memory(main_agent, group, {"content": "x"}, board=board)


def test_a_person_outside_the_board_is_not_told_it_exists(outsider, board, group):
    grouped(board, group)
    with pytest.raises(Http404):
        rules.create_group_memory(outsider, group, {"content": "x"}, board=board)


def test_group_memory_needs_content_and_well_formed_tags(owner, group):
    with refused(422, "memory_content_required"):
        rules.create_group_memory(owner, group, {"content": "   "})
    with refused(422, "memory_tags_invalid"):
        rules.create_group_memory(owner, group, {"content": "x", "tags": "chat"})
    with refused(422, "memory_source_invalid"):
        rules.create_group_memory(owner, group, {"content": "x", "source": 7})


def test_a_groups_heartbeat_setting_reaches_its_workers_and_not_its_leads_unless_asked(owner, board, group, lead,
                                                                                       worker):
    grouped(board, group)

    rules.update_group(owner, group, {"heartbeat_every": "15m"})

    lead.refresh_from_db()
    worker.refresh_from_db()
    assert worker.heartbeat_config == {"every": "15m"} and lead.heartbeat_config == {}
    applied = ActivityEvent.objects.get(event_type="board_group.heartbeat_applied")
    assert applied.data["agent_ids"] == [str(worker.pk)] and applied.data["every"] == "15m"

    rules.update_group(owner, group, {"heartbeat_include_leads": True})

    lead.refresh_from_db()
    assert lead.heartbeat_config == {"every": "15m"}


def test_the_heartbeat_setting_keeps_an_agents_other_heartbeat_keys_and_queues_its_provisioning(
        owner, board, group):
    agent = make_agent("Tuned", board=board, heartbeat_config={"every": "5m", "target": "none"},
                       provisioned_at="2026-01-01T00:00:00Z")
    grouped(board, group)

    rules.update_group(owner, group, {"heartbeat_every": "30m"})

    agent.refresh_from_db()
    assert agent.heartbeat_config == {"every": "30m", "target": "none"}
    assert agent.lifecycle_status == Agent.Lifecycle.UPDATING


def test_an_agent_off_any_gateway_gets_the_setting_without_provisioning(owner, org, group):
    board = grouped(make_board(org, "Handmade"), group)
    agent = make_agent("By hand", board=board, organization=org)

    rules.update_group(owner, group, {"heartbeat_every": "1h"})

    agent.refresh_from_db()
    assert agent.heartbeat_config == {"every": "1h"} and agent.lifecycle_status == Agent.Lifecycle.ACTIVE


def test_a_board_joining_a_group_takes_its_heartbeat_setting(owner, board, worker, group):
    group.heartbeat_every = "20m"
    group.save()

    rules.update_board(owner, board, {"board_group_id": str(group.pk)})

    worker.refresh_from_db()
    assert worker.heartbeat_config == {"every": "20m"}


def test_the_earlier_servers_heartbeat_call_sets_the_group_setting_and_names_the_agents_written(
        owner, board, group, lead, worker):
    grouped(board, group)

    group, updated = rules.set_heartbeat(owner, group, {"every": "2m", "include_board_leads": True})

    assert (group.heartbeat_every, group.heartbeat_include_leads) == ("2m", True)
    assert sorted(agent.name for agent in updated) == ["Lead", "Worker"]
    # Nothing left to write the second time.
    assert rules.set_heartbeat(owner, group, {"every": "2m", "include_board_leads": True})[1] == []


def test_the_heartbeat_call_needs_an_interval_and_an_admin(owner, member, group):
    with refused(422, "heartbeat_every_required"):
        rules.set_heartbeat(owner, group, {"every": ""})
    with refused(403, "admin_required"):
        rules.set_heartbeat(member, group, {"every": "10m"})


def test_a_board_joining_or_leaving_a_group_has_its_gateway_agents_provisioned_again(owner, org, board, group):
    on_gateway = make_agent("On gateway", board=board, provisioned_at="2026-01-01T00:00:00Z")
    by_hand = make_agent("By hand", board=board, gateway=None)
    by_hand.gateway = None
    by_hand.save()

    for group_id in (str(group.pk), None):
        Agent.objects.filter(pk=on_gateway.pk).update(lifecycle_status=Agent.Lifecycle.ACTIVE)
        rules.update_board(owner, board, {"board_group_id": group_id})
        on_gateway.refresh_from_db()
        by_hand.refresh_from_db()
        # Its workspace files name the group's routes only while the board is in one.
        assert on_gateway.lifecycle_status == Agent.Lifecycle.UPDATING, group_id
        assert by_hand.lifecycle_status == Agent.Lifecycle.ACTIVE, group_id
