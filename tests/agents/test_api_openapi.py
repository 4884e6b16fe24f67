"""The OpenAPI document: valid, generated without warnings, and honest about every user route."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.validation import validate_schema

from agents.api.urls import urlpatterns

ERROR_REF = "#/components/schemas/ErrorEnvelope"
METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def document(django_db_blocker):
    from drf_spectacular.generators import SchemaGenerator

    with django_db_blocker.unblock():
        schema = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(json.dumps(schema, default=str))


INGEST = "/api/v1/boards/{board_id}/webhooks/{webhook_id}"


AGENT_ROLE_TAGS = {"agent-lead", "agent-worker", "agent-main"}


def user_operations(document):
    """Every operation of the user API (not the agent API, not its older heartbeat paths under
    /api/v1/agents/, not webhook ingest)."""
    for path, item in document["paths"].items():
        if not path.startswith("/api/v1/") or path.startswith("/api/v1/agent/"):
            continue
        for method in METHODS:
            if method in item and (path, method) != (INGEST, "post") \
                    and not set(item[method].get("tags", [])) & AGENT_ROLE_TAGS:
                yield path, method, item[method]


def test_generating_the_document_gives_no_warning_or_error_and_it_validates(tmp_path, db):
    GENERATOR_STATS.reset()
    # --fail-on-warn turns any warning or error into a CommandError; --validate checks it
    # against the OpenAPI 3 JSON schema.
    call_command("spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json",
                 "--file", str(tmp_path / "openapi.json"))
    document = json.loads((tmp_path / "openapi.json").read_text())
    assert document["openapi"].startswith("3.")


def test_the_served_document_is_json_and_valid(client, db):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/")
    validate_schema(response.json())


def test_every_user_route_is_in_the_document(document):
    documented = set(document["paths"])
    for pattern in urlpatterns:
        path = "/api/v1/" + str(pattern.pattern).replace("<uuid:", "{").replace(">", "}")
        assert path in documented, path


# The user API's reads an agent's token opens too (within the agent's reach).
AGENT_READABLE = {("/api/v1/boards/{board_id}/snapshot", "get"), ("/api/v1/boards/{board_id}/tasks", "get"),
                  ("/api/v1/boards/{board_id}/memory", "get"), ("/api/v1/activity", "get")}


def test_every_user_operation_names_its_authentication(document):
    schemes = document["components"]["securitySchemes"]
    for path, method, operation in user_operations(document):
        names = {name for requirement in operation.get("security", []) for name in requirement}
        assert names, (method, path)
        assert names <= set(schemes), (method, path)
        if (path, method) in AGENT_READABLE:
            assert {"AgentToken", "AgentBearer", "UserBearer"} <= names, (method, path)
        else:
            assert not names & {"AgentToken", "AgentBearer"}, (method, path)


def test_every_user_operation_documents_its_refusals_in_the_envelope(document):
    for path, method, operation in user_operations(document):
        if path.startswith("/api/v1/boards/{board_id}/webhooks"):
            continue  # the webhooks app documents its own routes
        responses = operation["responses"]
        expected = {"401", "403"} | ({"404"} if "{" in path else set()) | ({"422"} if "requestBody" in operation else set())
        assert expected <= set(responses), (method, path, sorted(responses))
        for code in expected:
            schema = responses[code]["content"]["application/json"]["schema"]
            assert schema == {"$ref": ERROR_REF}, (method, path, code)


def test_operation_ids_are_unique(document):
    seen = [op["operationId"] for path in document["paths"].values() for m, op in path.items() if m in METHODS]
    assert len(seen) == len(set(seen))


def test_lists_are_documented_with_the_envelope(document):
    schema = document["paths"]["/api/v1/boards/{board_id}/tasks"]["get"]["responses"]["200"]["content"][
        "application/json"]["schema"]
    component = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    assert set(component["required"]) == {"items", "total", "limit", "offset"}
    params = {p["name"] for p in document["paths"]["/api/v1/boards/{board_id}/tasks"]["get"]["parameters"]}
    assert {"status", "assigned_agent_id", "unassigned", "limit", "offset"} <= params


def test_the_gateway_token_is_write_only(document):
    schemas = document["components"]["schemas"]
    assert "token" not in schemas["Gateway"]["properties"]
    assert "token" in schemas["GatewayWriteRequest"]["properties"]


def test_the_open_webhook_ingest_is_documented_without_authentication(document):
    operation = document["paths"][INGEST]["post"]

    assert operation["operationId"] == "webhooks_ingest"
    assert operation["security"] == [{}]
    accepted = operation["responses"]["202"]["content"]["application/json"]["schema"]
    component = document["components"]["schemas"][accepted["$ref"].rsplit("/", 1)[1]]
    assert set(component["required"]) == {"ok", "board_id", "webhook_id", "payload_id"}
    for code in ("403", "404", "410", "413", "429"):
        schema = operation["responses"][code]["content"]["application/json"]["schema"]
        assert schema == {"$ref": ERROR_REF}, code
    assert "401" not in operation["responses"]
    assert {"get", "patch", "delete"} <= set(document["paths"][INGEST])


# Routes every member of the organization may call: their summaries must not say "(admins)".
MEMBER_OPERATIONS = ("tasks_create", "tasks_update", "tasks_destroy", "approvals_create", "approvals_resolve",
                     "task_comments_create", "board_memory_create")


def test_operations_open_to_every_member_do_not_say_they_are_for_admins(document):
    summaries = {operation["operationId"]: operation.get("summary", "")
                 for methods in document["paths"].values() for operation in methods.values()
                 if isinstance(operation, dict) and "operationId" in operation}
    assert set(MEMBER_OPERATIONS) <= set(summaries)
    assert {name: summaries[name] for name in MEMBER_OPERATIONS if "admin" in summaries[name].lower()} == {}
