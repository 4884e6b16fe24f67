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
    ("GET", f"{B}/tags"),
    ("GET", f"{B}/webhooks/{{webhook_id}}/payloads/{{payload_id}}"),
}
EVERYONE = {
    ("GET", "/api/v1/agent/healthz"), ("POST", "/api/v1/agent/heartbeat"),
    ("GET", "/api/v1/agent/boards"), ("GET", B), ("GET", "/api/v1/agent/agents"),
    # The main agent reads the leads' replies and writes people's answers there.
    ("GET", f"{B}/memory"), ("POST", f"{B}/memory"),
}
LEAD_ONLY = {
    ("POST", f"{B}/tasks"), ("DELETE", f"{B}/tasks/{{task_id}}"), ("POST", "/api/v1/agent/agents"),
}
CONTRACT = {
    "agent-lead": EVERYONE | LEAD_AND_WORKER | LEAD_ONLY,
    "agent-worker": EVERYONE | LEAD_AND_WORKER,
    "agent-main": EVERYONE,
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
    agent_operations = [(m, p, op) for m, p, op in operations(schema) if p.startswith("/api/v1/agent/")]
    assert len(agent_operations) == len(CONTRACT["agent-lead"])

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


def test_no_route_outside_the_agent_api_carries_an_agent_role_tag(schema):
    tagged = {(m, p) for m, p, op in operations(schema) if set(op.get("tags", [])) & ROLE_TAGS}

    assert all(path.startswith("/api/v1/agent/") for _, path in tagged)


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
