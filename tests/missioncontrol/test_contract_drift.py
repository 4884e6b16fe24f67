"""What the API answers agrees with what its OpenAPI document says, field by field: the
cases an outside tester found apart, each checked on the answer and on the document."""

from __future__ import annotations

import json

import pytest

from agents.models import Approval, ApprovalTask, TaskComment
from tests.conftest import make_task

pytestmark = pytest.mark.django_db

ERROR_REF = {"$ref": "#/components/schemas/ErrorEnvelope"}
METHODS = ("get", "post", "put", "patch", "delete")
AGENT_TAGS = {"agent-lead", "agent-worker", "agent-main"}


@pytest.fixture(scope="module")
def document(django_db_blocker):
    from drf_spectacular.generators import SchemaGenerator

    with django_db_blocker.unblock():
        schema = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(json.dumps(schema, default=str))


def component(document, ref: dict) -> dict:
    return document["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]


def operations(document):
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


@pytest.fixture
def owner_client(client_for, owner):
    return client_for(owner)


# --- Approval.task_id -------------------------------------------------------------------------


def test_an_approval_about_the_board_has_a_null_task_id_and_the_document_allows_it(owner_client, board, document):
    response = owner_client.post(f"/api/v1/boards/{board.pk}/approvals", {
        "action_type": "add_worker", "confidence": 70, "lead_reasoning": "The board needs a second writer."},
        format="json")

    assert response.status_code == 201, response.content
    assert response.json()["task_id"] is None and response.json()["task_ids"] == []
    assert document["components"]["schemas"]["Approval"]["properties"]["task_id"]["nullable"] is True


def test_an_approval_whose_task_was_deleted_reads_a_null_task_id(owner_client, board, worker):
    task = make_task(board, assigned_agent=worker)
    approval = Approval.objects.create(board=board, action_type="mark_done", agent=worker, confidence=90,
                                       lead_reasoning="Done.")
    ApprovalTask.objects.create(approval=approval, task=task)
    task.delete()

    response = owner_client.get(f"/api/v1/boards/{board.pk}/approvals/{approval.pk}")

    assert response.status_code == 200
    assert response.json()["task_id"] is None


# --- User.email -------------------------------------------------------------------------------


def test_a_person_without_an_email_address_reads_null_and_the_document_allows_it(owner_client, owner, document):
    assert owner.email == ""

    body = owner_client.get("/api/v1/users/me").json()

    assert body["email"] is None
    email = document["components"]["schemas"]["User"]["properties"]["email"]
    assert email["format"] == "email" and email["nullable"] is True


def test_a_person_with_an_email_address_reads_it(client_for, owner):
    owner.email = "ada@example.com"
    owner.save()

    assert client_for(owner).get("/api/v1/users/me").json()["email"] == "ada@example.com"


def test_a_clerk_claim_that_is_not_an_email_address_is_not_stored(db):
    from agents.identity import clerk_user

    assert clerk_user("user_1", {"email": "not an address"}).email == ""
    assert clerk_user("user_2", {"email": "ada@example.com"}).email == "ada@example.com"


# --- 400 --------------------------------------------------------------------------------------


def test_every_operation_documents_400_in_the_envelope(document):
    missing = [(method, path) for path, method, operation in operations(document)
               if path.startswith("/api/") and operation["responses"].get("400", {}).get(
                   "content", {}).get("application/json", {}).get("schema") != ERROR_REF]
    assert missing == []


@pytest.mark.parametrize("path", ["/api/v1/boards", "/api/v1/tags", "/api/v1/gateways"])
def test_a_body_that_is_not_json_is_400_in_the_envelope(owner_client, path):
    response = owner_client.generic("POST", path, "{not json", content_type="application/json")

    assert response.status_code == 400
    assert set(response.json()) == {"detail", "request_id"}


def test_a_nul_in_the_query_of_a_read_is_400(owner_client):
    assert owner_client.get("/api/v1/boards?q=%00").status_code == 400


# --- strict JSON types ------------------------------------------------------------------------


@pytest.mark.parametrize("message", [0, 1.5, True, ["Started."], {"text": "Started."}])
def test_a_comment_whose_message_is_not_a_string_is_422_for_people(owner_client, board, message):
    task = make_task(board)

    response = owner_client.post(f"/api/v1/boards/{board.pk}/tasks/{task.pk}/comments", {"message": message},
                                 format="json")

    assert response.status_code == 422, response.content
    assert "message" in response.json()["detail"]
    assert not TaskComment.objects.exists()


def test_a_comment_whose_message_is_not_a_string_is_422_for_agents(as_agent, board, worker):
    task = make_task(board, assigned_agent=worker)

    response = as_agent(worker).post(f"/api/v1/agent/boards/{board.pk}/tasks/{task.pk}/comments", {"message": 0},
                                     format="json")

    assert response.status_code == 422, response.content
    assert not TaskComment.objects.exists()


@pytest.mark.parametrize("body, field", [
    ({"name": "Docs", "color": 123456}, "color"),
    ({"name": 7}, "name"),
])
def test_tag_fields_refuse_numbers(owner_client, body, field):
    response = owner_client.post("/api/v1/tags", body, format="json")

    assert response.status_code == 422, response.content
    assert field in response.json()["detail"]


@pytest.mark.parametrize("value", ["true", 1, "yes"])
def test_a_boolean_field_takes_only_true_or_false(owner_client, board, value):
    response = owner_client.patch(f"/api/v1/boards/{board.pk}", {"require_review_before_done": value},
                                  format="json")

    assert response.status_code == 422, response.content
    board.refresh_from_db()
    assert board.require_review_before_done is False


@pytest.mark.parametrize("value", ["5", 5.5, True])
def test_an_integer_field_takes_only_whole_numbers(owner_client, board, value):
    response = owner_client.patch(f"/api/v1/boards/{board.pk}", {"max_agents": value}, format="json")

    assert response.status_code == 422, response.content


def test_a_uuid_field_takes_only_strings(owner_client, board):
    # DRF reads an integer as UUID(int=...): 1 would name 00000000-0000-0000-0000-000000000001.
    response = owner_client.post(f"/api/v1/boards/{board.pk}/tasks", {"title": "T", "tag_ids": [1]},
                                 format="json")

    assert response.status_code == 422, response.content
    assert response.json()["detail"]["tag_ids"] == {"0": "Not a valid string."}


def test_a_whole_number_written_with_a_decimal_point_is_still_an_integer(owner_client, board):
    response = owner_client.patch(f"/api/v1/boards/{board.pk}", {"max_agents": 4.0}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["max_agents"] == 4


def test_texts_numbers_and_booleans_of_the_right_type_still_pass(owner_client, board):
    response = owner_client.patch(f"/api/v1/boards/{board.pk}", {
        "description": "Ship it", "max_agents": 5, "require_review_before_done": True}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["max_agents"] == 5


def test_a_decimal_confidence_is_still_a_number(owner_client, board):
    response = owner_client.post(f"/api/v1/boards/{board.pk}/approvals", {
        "action_type": "x", "confidence": 85.5, "lead_reasoning": "Sure."}, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["confidence"] == 86


# --- bodies as the document describes them ----------------------------------------------------


def test_people_bodies_refuse_unknown_keys_and_say_so(document):
    body = document["paths"]["/api/v1/boards/{board_id}/tasks/{task_id}/comments"]["post"]["requestBody"]
    assert component(document, body["content"]["application/json"]["schema"])["additionalProperties"] is False


def test_agent_bodies_say_unknown_keys_are_ignored_and_null_means_not_given(document):
    body = document["paths"]["/api/v1/agent/boards/{board_id}/memory"]["post"]["requestBody"]
    schema = component(document, body["content"]["application/json"]["schema"])
    assert "additionalProperties" not in schema
    assert schema["properties"]["source"]["nullable"] is True
    # The people's route keeps its own, strict body.
    people = document["paths"]["/api/v1/boards/{board_id}/memory"]["post"]["requestBody"]
    assert component(document, people["content"]["application/json"]["schema"])["additionalProperties"] is False


def test_resolving_an_approval_needs_a_body_naming_the_decision(owner_client, board, document):
    approval = Approval.objects.create(board=board, action_type="x", confidence=1, lead_reasoning="r")
    operation = document["paths"]["/api/v1/boards/{board_id}/approvals/{approval_id}"]["patch"]

    assert operation["requestBody"]["required"] is True
    assert component(document, operation["requestBody"]["content"]["application/json"]["schema"])["required"] == [
        "status"]
    assert owner_client.patch(f"/api/v1/boards/{board.pk}/approvals/{approval.pk}").status_code == 422


@pytest.mark.parametrize("body", ["null", "false", "[]"])
def test_rotating_a_token_with_a_body_that_is_not_an_object_is_422(owner_client, worker, body):
    response = owner_client.generic("POST", f"/api/v1/agents/{worker.pk}/token", body,
                                    content_type="application/json")

    assert response.status_code == 422, response.content


def test_rotating_a_token_without_a_body_still_works(owner_client, worker):
    assert owner_client.post(f"/api/v1/agents/{worker.pk}/token").status_code == 200


@pytest.mark.parametrize("query", ["board_id=", "board_id=nope"])
def test_an_empty_or_bad_uuid_filter_is_422(owner_client, query):
    response = owner_client.get(f"/api/v1/activity?{query}")

    assert response.status_code == 422
    assert "board_id" in response.json()["detail"]


def test_an_empty_boolean_filter_is_422(owner_client, board):
    assert owner_client.get(f"/api/v1/boards/{board.pk}/memory?is_chat=").status_code == 422


def test_status_filters_are_documented_as_exactly_the_lists_they_accept(owner_client, board, document):
    import re

    parameter = next(p for p in document["paths"]["/api/v1/boards/{board_id}/approvals"]["get"]["parameters"]
                     if p["name"] == "status")
    pattern = re.compile(parameter["schema"]["pattern"])
    for accepted in ["pending", "pending,approved", " rejected , pending ", "", "pending,,"]:
        assert pattern.search(accepted), accepted
        assert owner_client.get(f"/api/v1/boards/{board.pk}/approvals", {"status": accepted}).status_code == 200
    for refused in ["django_redis", "pendingapproved", "pending;approved"]:
        assert not pattern.search(refused), refused
        assert owner_client.get(f"/api/v1/boards/{board.pk}/approvals", {"status": refused}).status_code == 422


def test_max_chars_is_documented_with_its_bounds(document):
    path = "/api/v1/agent/boards/{board_id}/webhooks/{webhook_id}/payloads/{payload_id}"
    parameter = next(p for p in document["paths"][path]["get"]["parameters"] if p["name"] == "max_chars")
    assert (parameter["schema"]["minimum"], parameter["schema"]["maximum"]) == (1, 1_000_000)


# --- Allow on the webhook path ----------------------------------------------------------------


def test_a_405_on_the_webhook_path_lists_post_among_the_allowed_methods(owner_client, board):
    from webhooks.models import Webhook

    webhook = Webhook.objects.create(board=board)

    response = owner_client.put(f"/api/v1/boards/{board.pk}/webhooks/{webhook.pk}", {}, format="json")

    assert response.status_code == 405
    allowed = [method.strip() for method in response["Allow"].split(",")]
    assert {"GET", "POST", "PATCH", "DELETE"} <= set(allowed)
    assert allowed.count("POST") == 1
    assert set(response.json()) == {"detail", "request_id"}


def test_options_on_the_webhook_path_lists_post_too(owner_client, board):
    from webhooks.models import Webhook

    webhook = Webhook.objects.create(board=board)

    response = owner_client.options(f"/api/v1/boards/{board.pk}/webhooks/{webhook.pk}")

    assert "POST" in [method.strip() for method in response["Allow"].split(",")]
