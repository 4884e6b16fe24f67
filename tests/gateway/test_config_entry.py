"""The gateway config entries Mission Control manages: only differing keys are patched."""

from __future__ import annotations

import pytest

from agents.gateway import config_entry
from tests.conftest import make_agent

pytestmark = pytest.mark.django_db

ENTRIES = {"agents": {"entries": {"mc-1": {"name": "Ada", "workspace": "/w/workspace-mc-1", "model": "local/x",
                                           "heartbeat": {"every": "10m", "target": "none",
                                                         "prompt": config_entry.HEARTBEAT_PROMPT},
                                           "tools": {"exec": {"host": "gateway"}}}}}}
LIST = {"agents": {"list": [{"id": "dev"}, {"id": "mc-1", "name": "Ada", "workspace": "/w/workspace-mc-1"}]}}


def test_both_roster_shapes_are_recognised():
    assert config_entry.roster_shape(ENTRIES) == "entries"
    assert config_entry.roster_shape(LIST) == "list"
    assert config_entry.roster_shape({}) == "entries"


def test_an_entry_that_matches_needs_no_change_and_keeps_keys_that_are_not_ours(board):
    agent = make_agent("Ada", board=board)
    desired = config_entry.desired_entry(agent, "/w/workspace-mc-1")
    current = config_entry.current_entry(ENTRIES, "mc-1")
    assert config_entry.entry_changes(current, desired) == {}
    assert "model" not in desired  # the operator's choice of model stays theirs


def test_only_the_differing_leaves_are_patched(board):
    agent = make_agent("Ada", board=board, heartbeat_config={"every": "30m"})
    changes = config_entry.entry_changes(config_entry.current_entry(LIST, "mc-1"),
                                         config_entry.desired_entry(agent, "/w/workspace-mc-1"))
    assert changes == {"heartbeat": {"every": "30m", "target": "none", "prompt": config_entry.HEARTBEAT_PROMPT},
                       "tools": {"exec": {"host": "gateway"}}}


def test_a_missing_entry_is_patched_whole(board):
    agent = make_agent("Ada", board=board)
    desired = config_entry.desired_entry(agent, "/w/x")
    assert config_entry.entry_changes(config_entry.current_entry(ENTRIES, "mc-2"), desired) == desired


def test_the_patch_has_the_shape_of_the_gateway_s_roster():
    changes = {"mc-2": {"name": "B"}, "mc-1": {"name": "A"}}
    assert config_entry.merge_patch("entries", changes) == {"agents": {"entries": {"mc-1": {"name": "A"},
                                                                                   "mc-2": {"name": "B"}}}}
    assert config_entry.merge_patch("list", changes) == {"agents": {"list": [{"id": "mc-1", "name": "A"},
                                                                             {"id": "mc-2", "name": "B"}]}}


@pytest.mark.parametrize(("config", "every"), [({"every": "5m"}, "5m"), ({"every": "soon"}, "10m"), ({}, "10m"),
                                               ({"every": 30}, "10m"), ({"every": "2h"}, "2h")])
def test_the_heartbeat_interval_comes_from_the_agent_when_it_is_a_duration(board, config, every):
    assert config_entry.heartbeat_every(make_agent("Ada", board=board, heartbeat_config=config)) == every
