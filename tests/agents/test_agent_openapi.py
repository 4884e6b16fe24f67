"""Agents read /openapi.json and keep the operations tagged with their role: each role
must find exactly the routes the contract gives it, each with its hints."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db

B = "/api/v1/agent/boards/{board_id}"
LEAD_AND_WORKER = {
    ("GET", f"{B}/tasks"), ("PATCH", f"{B}/tasks/{{task_id}}"),
    ("GET", f"{B}/tasks/{{task_id}}/comments"), ("POST", f"{B}/tasks/{{task_id}}/comments"),
    ("GET", f"{B}/approvals"), ("POST", f"{B}/approvals"),
    ("GET", f"{B}/tags"), ("GET", f"{B}/custom-fields"),
    # A worker reads its own SOUL.md, a lead any of its board's.
    ("GET", f"{B}/agents/{{agent_id}}/soul"),
    ("GET", f"{B}/webhooks/{{webhook_id}}/payloads/{{payload_id}}"),
    # A board's group, on the paths the earlier server's workspace files name.
    ("GET", "/api/v1/boards/{board_id}/group-memory"), ("POST", "/api/v1/boards/{board_id}/group-memory"),
    ("GET", "/api/v1/boards/{board_id}/group-snapshot"),
}
EVERYONE = {
    ("GET", "/api/v1/agent/healthz"), ("POST", "/api/v1/agent/heartbeat"),
    ("GET", "/api/v1/agent/boards"), ("GET", B), ("GET", "/api/v1/agent/agents"),
    # The main agent reads the leads' replies and writes people's answers there.
    ("GET", f"{B}/memory"), ("POST", f"{B}/memory"),
    # The heartbeat paths of older workspaces, under the user API's prefix.
    ("POST", "/api/v1/agents/heartbeat"), ("POST", "/api/v1/agents/{agent_id}/heartbeat"),
}
LEGACY_PATHS = {"/api/v1/agents/heartbeat", "/api/v1/agents/{agent_id}/heartbeat"}
GROUP_PATHS = {"/api/v1/boards/{board_id}/group-memory", "/api/v1/boards/{board_id}/group-snapshot"}
LEAD_ONLY = {
    ("POST", f"{B}/tasks"), ("DELETE", f"{B}/tasks/{{task_id}}"), ("POST", "/api/v1/agent/agents"),
    ("POST", f"{B}/agents/{{agent_id}}/nudge"), ("PUT", f"{B}/agents/{{agent_id}}/soul"),
    ("DELETE", f"{B}/agents/{{agent_id}}"), ("POST", f"{B}/gateway/main/ask-user"),
}
MAIN_ONLY = {
    ("POST", "/api/v1/agent/gateway/boards/{board_id}/lead/message"),
    ("POST", "/api/v1/agent/gateway/leads/broadcast"),
}
CONTRACT = {
    "agent-lead": EVERYONE | LEAD_AND_WORKER | LEAD_ONLY,
    "agent-worker": EVERYONE | LEAD_AND_WORKER,
    "agent-main": EVERYONE | MAIN_ONLY,
}
ROLE_TAGS = set(CONTRACT)
HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    from rest_framework.test import APIClient

    with django_db_blocker.unblock():
        response = APIClient().get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield method.upper(), path, operation


def routes_for(schema, tag):
    """What an agent of that role keeps after filtering the document by its tag."""
    return {(method, path) for method, path, operation in operations(schema) if tag in operation.get("tags", [])}


@pytest.mark.parametrize("tag", sorted(CONTRACT))
def test_each_role_finds_exactly_its_routes_by_tag(schema, tag):
    assert routes_for(schema, tag) == CONTRACT[tag]


def test_every_agent_operation_has_an_id_role_tags_and_hints(schema):
    agent_operations = [(m, p, op) for m, p, op in operations(schema) if set(op.get("tags", [])) & ROLE_TAGS]
    assert len(agent_operations) == len(set().union(*CONTRACT.values()))

    ids = [op["operationId"] for _, _, op in agent_operations]
    assert len(ids) == len(set(ids))
    for method, path, op in agent_operations:
        where = f"{method} {path}"
        assert op["operationId"], where
        assert op["tags"] and set(op["tags"]) <= ROLE_TAGS, where
        assert re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", op["x-llm-intent"]), where
        for hint in ("x-when-to-use", "x-when-not-to-use"):
            assert isinstance(op[hint], list) and op[hint], where
            assert all(isinstance(text, str) and text.strip() for text in op[hint]), where


def test_no_route_outside_the_agent_api_carries_an_agent_role_tag_but_the_earlier_servers_paths(schema):
    tagged = {(m, p) for m, p, op in operations(schema) if set(op.get("tags", [])) & ROLE_TAGS}

    assert {path for _, path in tagged if not path.startswith("/api/v1/agent/")} == LEGACY_PATHS | GROUP_PATHS


def test_the_group_paths_take_a_persons_credentials_as_well_as_an_agents(schema):
    for path in GROUP_PATHS:
        security = schema["paths"][path]["get"]["security"]
        assert {"AgentToken": []} in security and {"AgentBearer": []} in security, path
        assert len(security) > 2, path


def test_agent_operations_document_both_token_headers(schema):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["AgentToken"] == {**schemes["AgentToken"], "type": "apiKey", "in": "header",
                                     "name": "X-Agent-Token"}
    assert schemes["AgentBearer"]["scheme"] == "bearer"
    healthz = schema["paths"]["/api/v1/agent/healthz"]["get"]
    assert {"AgentToken": []} in healthz["security"] and {"AgentBearer": []} in healthz["security"]


def test_agent_lists_are_documented_in_the_envelope_and_tags_as_a_plain_list(schema):
    def answer(path, method="get"):
        responses = schema["paths"][path][method]["responses"]
        return responses["200"]["content"]["application/json"]["schema"]

    envelope = answer("/api/v1/agent/boards/{board_id}/tasks")
    component = schema["components"]["schemas"][envelope["$ref"].rsplit("/", 1)[1]]
    tags = answer("/api/v1/agent/boards/{board_id}/tags")

    assert set(component["properties"]) == {"items", "total", "limit", "offset"}
    assert tags["type"] == "array" and tags["items"]["$ref"].endswith("/Tag")


# --- the listing agents choose from ---------------------------------------------------------------

# The filter our workspace files run over /openapi.json (``jq -r --arg tag <role tag>``).
WORKSPACE_LISTING = (
    '.paths | to_entries[] | .key as $path | .value | to_entries[] | select((.value | type) == "object" and '
    '((.value.tags // []) | index($tag))) | [(.key | ascii_upcase), $path, .value.operationId, '
    '(.value["x-llm-intent"] // "-"), ((.value["x-when-to-use"] // []) | join(" | "))] | @tsv'
)
LIST_HINTS = ("x-when-to-use", "x-when-not-to-use", "x-prerequisites", "x-side-effects", "x-negative-guidance",
              "x-routing-policy")
ACTOR_ROLES = {"any_agent": {"lead", "worker", "main"}, "board_lead_or_worker": {"lead", "worker"},
               "board_lead": {"lead"}, "board_worker": {"worker"}, "agent_main": {"main"},
               "board_lead_or_agent_main": {"lead", "main"}}
TAG_ROLE = {"agent-lead": "lead", "agent-worker": "worker", "agent-main": "main"}


def agent_operations(schema):
    return [(m, p, op) for m, p, op in operations(schema) if set(op.get("tags", [])) & ROLE_TAGS]


def jq_listing(schema, tag):
    import json
    import os
    import shutil
    import subprocess

    if shutil.which("jq") is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("jq is missing (apt-get install jq): CI must render the agents' listing")
        pytest.skip("needs jq (Debian's jq package)")
    result = subprocess.run(["jq", "-r", "--arg", "tag", tag, WORKSPACE_LISTING], input=json.dumps(schema),
                            capture_output=True, text=True, timeout=30, check=True)
    return [line.split("\t") for line in result.stdout.splitlines()]


@pytest.mark.parametrize("tag", sorted(CONTRACT))
def test_each_roles_listing_as_the_workspace_renders_it_has_no_empty_cell(schema, tag):
    rows = jq_listing(schema, tag)

    assert {(row[0], row[1]) for row in rows} == CONTRACT[tag]
    for row in rows:
        assert len(row) == 5, row
        assert all(cell.strip() and cell != "-" for cell in row), row


def test_every_agent_operation_has_every_hint_with_its_type(schema):
    for method, path, op in agent_operations(schema):
        where = f"{method} {path}"
        assert isinstance(op["x-llm-intent"], str) and re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*",
                                                                    op["x-llm-intent"]), where
        for hint in LIST_HINTS:
            assert isinstance(op[hint], list) and op[hint], (where, hint)
            assert all(isinstance(text, str) and text.strip() for text in op[hint]), (where, hint)
        roles = {TAG_ROLE[tag] for tag in op["tags"]}
        assert ACTOR_ROLES[op["x-required-actor"]] == roles, where
        examples = op["x-routing-policy-examples"]
        assert isinstance(examples, list) and examples, where
        for example in examples:
            assert set(example) == {"input", "decision"}, where
            assert set(example["input"]) == {"intent", "required_privilege"}, where
            assert isinstance(example["input"]["intent"], str) and example["input"]["intent"].strip(), where
            assert example["input"]["required_privilege"] in ACTOR_ROLES, where


def test_routing_examples_decide_for_an_operation_the_privilege_may_call(schema):
    by_id = {op["operationId"]: {TAG_ROLE[tag] for tag in op["tags"]} for _, _, op in agent_operations(schema)}
    for _, _, op in agent_operations(schema):
        for example in op["x-routing-policy-examples"]:
            decision = example["decision"]
            assert decision in by_id, (op["operationId"], decision)
            assert ACTOR_ROLES[example["input"]["required_privilege"]] <= by_id[decision], (op["operationId"], example)
        assert op["operationId"] in {example["decision"] for example in op["x-routing-policy-examples"]}, \
            op["operationId"]


def test_every_agent_operation_has_its_own_summary_description_and_intent(schema):
    ops = agent_operations(schema)
    for field in ("summary", "description", "x-llm-intent", "operationId"):
        values = [op.get(field, "") for _, _, op in ops]
        assert all(isinstance(value, str) and value.strip() for value in values), field
        assert len(set(values)) == len(values), (field, sorted(values))
    base_docstrings = {"Base of every agent route. ``roles`` maps an HTTP method to the roles allowed."}
    assert not {op["description"] for _, _, op in ops} & base_docstrings


def test_the_heartbeat_has_no_request_body_and_the_older_paths_document_theirs(schema):
    paths = schema["paths"]
    assert "requestBody" not in paths["/api/v1/agent/heartbeat"]["post"]
    assert "requestBody" in paths["/api/v1/agents/heartbeat"]["post"]
    for path in LEGACY_PATHS:
        assert paths[path]["post"]["security"] == [{"AgentToken": []}, {"AgentBearer": []}], path


def test_agent_operation_refuses_an_operation_without_its_hints():
    from agents.agent_api.openapi import agent_operation

    with pytest.raises(TypeError):
        agent_operation("agent_probe", ("lead",), summary="Probe", description="Probe.", intent="probe",
                        when_to_use=["Never."], when_not_to_use=["Always."])
    with pytest.raises(ValueError, match="snake_case"):
        agent_operation("agent_probe", ("lead",), summary="Probe", description="Probe.", intent="Probe Op",
                        when_to_use=["a"], when_not_to_use=["b"], prerequisites=["c"], side_effects=["d"],
                        negative_guidance=["e"], routing_policy=["f"], routing_examples=[{}])
    with pytest.raises(ValueError, match="side_effects"):
        agent_operation("agent_probe", ("lead",), summary="Probe", description="Probe.", intent="probe",
                        when_to_use=["a"], when_not_to_use=["b"], prerequisites=["c"], side_effects=[],
                        negative_guidance=["e"], routing_policy=["f"], routing_examples=[{}])
