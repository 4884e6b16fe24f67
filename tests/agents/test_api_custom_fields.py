"""Custom fields over HTTP: the user API's definitions, the values on tasks of both APIs,
the agents' list of their board's fields and the snapshot, and what each list costs."""

from __future__ import annotations

import pytest

from agents.models import CustomFieldDefinition, Task
from agents.tokens import mint_token
from tests.agents.agent_client import agent_client
from tests.agents.api_helpers import assert_refused
from tests.conftest import make_board, make_task

pytestmark = pytest.mark.django_db

FIELD_FIELDS = {"id", "organization_id", "field_key", "label", "field_type", "required", "options", "description",
                "board_ids", "created_at", "updated_at"}
BOARD_FIELD_FIELDS = {"id", "field_key", "label", "field_type", "required", "options", "description"}


@pytest.fixture
def admin(client_for, admin_user):
    return client_for(admin_user)


def field(org, key, field_type="text", *, boards=(), **values):
    definition = CustomFieldDefinition.objects.create(organization=org, field_key=key, field_type=field_type,
                                                      label=values.pop("label", key.capitalize()), **values)
    definition.boards.set(boards)
    return definition


def test_an_admin_creates_reads_changes_and_deletes_a_field(admin, org, board):
    created = admin.post("/api/v1/custom-fields", {
        "field_key": "stage", "label": "Stage", "field_type": "select", "options": ["Alpha", "Beta"],
        "required": False, "description": "Where it stands.", "board_ids": [str(board.pk)]}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert set(body) == FIELD_FIELDS
    assert (body["organization_id"], body["board_ids"], body["options"]) == (str(org.pk), [str(board.pk)],
                                                                              ["Alpha", "Beta"])
    url = f"/api/v1/custom-fields/{body['id']}"

    assert admin.get(url).json() == body
    changed = admin.patch(url, {"label": "Phase", "options": ["Alpha", "Beta", "Gamma"], "board_ids": []},
                          format="json")
    assert changed.status_code == 200, changed.content
    assert (changed.json()["label"], changed.json()["board_ids"]) == ("Phase", [])
    assert admin.delete(url).status_code == 204
    assert not CustomFieldDefinition.objects.exists()


def test_the_list_is_paged_by_label_and_filtered_by_board(admin, org, board):
    second = make_board(org, "Second")
    field(org, "zeta", label="Zeta", boards=[board])
    field(org, "alpha", label="Alpha", boards=[second])

    listing = admin.get("/api/v1/custom-fields").json()
    assert [item["field_key"] for item in listing["items"]] == ["alpha", "zeta"]
    assert (listing["total"], listing["limit"], listing["offset"]) == (2, 200, 0)
    on_board = admin.get("/api/v1/custom-fields", {"board_id": str(board.pk)}).json()
    assert [item["field_key"] for item in on_board["items"]] == ["zeta"]
    assert_refused(admin.get("/api/v1/custom-fields", {"board_id": "nope"}), 422)


def test_the_api_refuses_what_the_rules_refuse_with_the_field_named(admin, org):
    field(org, "points", "number")
    bad_key = assert_refused(admin.post("/api/v1/custom-fields", {"field_key": "Bad Key"}, format="json"), 422,
                             "invalid_field_key")
    assert bad_key["detail"]["field_key"] == [bad_key["detail"]["message"]]
    assert_refused(admin.post("/api/v1/custom-fields", {"field_key": "points"}, format="json"), 409,
                   "custom_field_key_taken")
    assert_refused(admin.post("/api/v1/custom-fields", {"field_key": "x", "field_type": "integer"}, format="json"),
                   422)
    assert_refused(admin.post("/api/v1/custom-fields", {"field_key": "x", "required": "yes"}, format="json"), 422)
    definition = CustomFieldDefinition.objects.get()
    fixed = admin.patch(f"/api/v1/custom-fields/{definition.pk}", {"field_type": "text"}, format="json")
    assert_refused(fixed, 422)


def test_tasks_of_the_user_api_carry_and_take_custom_field_values(admin, org, board):
    field(org, "points", "number", boards=[board])
    field(org, "shipped", "boolean", boards=[board])
    tasks_url = f"/api/v1/boards/{board.pk}/tasks"

    created = admin.post(tasks_url, {"title": "Sized", "custom_field_values": {"points": 3}}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["custom_field_values"] == {"points": 3}
    task_url = f"{tasks_url}/{created.json()['id']}"
    changed = admin.patch(task_url, {"custom_field_values": {"shipped": True}}, format="json").json()
    assert changed["custom_field_values"] == {"points": 3, "shipped": True}
    assert admin.get(tasks_url).json()["items"][0]["custom_field_values"] == {"points": 3, "shipped": True}

    refused = assert_refused(admin.patch(task_url, {"custom_field_values": {"shipped": "true"}}, format="json"),
                             422, "invalid_custom_field_value")
    assert refused["detail"]["custom_field"] == "shipped"
    assert "Shipped (shipped)" in refused["detail"]["custom_field_values"][0]
    assert_refused(admin.patch(task_url, {"custom_field_values": "points=3"}, format="json"), 422)


def test_a_task_without_values_shows_an_empty_object(admin, board):
    make_task(board, "Plain")
    assert admin.get(f"/api/v1/boards/{board.pk}/tasks").json()["items"][0]["custom_field_values"] == {}


# --- agents ---------------------------------------------------------------------------------


def test_an_agent_lists_its_boards_fields_without_other_boards(org, board, worker):
    elsewhere = make_board(org, "Elsewhere")
    field(org, "stage", "select", boards=[board, elsewhere], options=["Alpha", "Beta"], required=True)
    field(org, "hidden", boards=[elsewhere])

    body = agent_client(mint_token(worker)).get(f"/api/v1/agent/boards/{board.pk}/custom-fields").json()

    assert body["total"] == 1
    assert set(body["items"][0]) == BOARD_FIELD_FIELDS
    assert (body["items"][0]["field_key"], body["items"][0]["options"], body["items"][0]["required"]) == (
        "stage", ["Alpha", "Beta"], True)


def test_a_lead_creates_a_task_with_values_and_a_worker_updates_them(org, board, lead, worker):
    field(org, "points", "number", boards=[board], required=True)
    field(org, "link", "url", boards=[board])
    lead_api, worker_api = agent_client(mint_token(lead)), agent_client(mint_token(worker))
    url = f"/api/v1/agent/boards/{board.pk}/tasks"

    missing = assert_refused(lead_api.post(url, {"title": "Unsized"}, format="json"), 422, "custom_field_required")
    assert "Points (points)" in missing["detail"]["message"]
    created = lead_api.post(url, {"title": "Sized", "assigned_agent_id": str(worker.pk),
                                  "custom_field_values": {"points": 5}}, format="json")
    assert created.status_code == 201, created.content
    task_url = f"{url}/{created.json()['id']}"
    changed = worker_api.patch(task_url, {"custom_field_values": {"link": "https://example.com/pr/1"}},
                               format="json")
    assert changed.status_code == 200, changed.content
    assert changed.json()["custom_field_values"] == {"points": 5, "link": "https://example.com/pr/1"}
    assert_refused(worker_api.patch(task_url, {"custom_field_values": {"link": "ftp://example.com"}},
                                    format="json"), 422, "invalid_custom_field_value")
    # The agent API reads a null as "not sent", as for its other optional fields.
    assert worker_api.patch(task_url, {"custom_field_values": None, "status": "in_progress"},
                            format="json").status_code == 200


def test_the_snapshot_has_the_boards_fields_and_each_tasks_values(admin, worker, org, board):
    field(org, "points", "number", boards=[board])
    make_task(board, "Sized", custom_field_values={"points": 2})

    for client in (admin, agent_client(mint_token(worker))):
        body = client.get(f"/api/v1/boards/{board.pk}/snapshot").json()
        assert [f["field_key"] for f in body["custom_fields"]] == ["points"]
        assert body["tasks"][0]["custom_field_values"] == {"points": 2}


# --- what the lists cost --------------------------------------------------------------------


def populate(org, board, size):
    fields = CustomFieldDefinition.objects.bulk_create(
        CustomFieldDefinition(organization=org, field_key=f"field_{n}", label=f"Field {n}", field_type="number")
        for n in range(size))
    boards = [board, *(make_board(org, f"Board {n}") for n in range(size))]
    through = CustomFieldDefinition.boards.through
    through.objects.bulk_create(through(customfielddefinition=f, board=b) for f in fields for b in boards[:3])
    Task.objects.bulk_create(Task(board=board, title=f"Task {n}", custom_field_values={
        f.field_key: n for f in fields}) for n in range(size))


@pytest.mark.parametrize("size", [3, 30])
def test_the_agent_lists_of_fields_and_tasks_cost_the_same_with_3_or_30(org, board, worker, size,
                                                                       django_assert_max_num_queries):
    populate(org, board, size)
    client = agent_client(mint_token(worker))
    client.get("/api/v1/agent/healthz")  # the first call writes last_seen_at; later ones need not

    # Token, board, page (a page shorter than the limit needs no count).
    with django_assert_max_num_queries(3):
        fields = client.get(f"/api/v1/agent/boards/{board.pk}/custom-fields").json()
    # Token, count, page, dependencies, tags: the values are columns of the task.
    with django_assert_max_num_queries(6):
        tasks = client.get(f"/api/v1/agent/boards/{board.pk}/tasks").json()

    assert fields["total"] == size and tasks["total"] == size
    assert all(len(task["custom_field_values"]) == size for task in tasks["items"])


@pytest.mark.parametrize("size", [3, 30])
def test_the_user_lists_of_fields_and_tasks_cost_the_same_with_3_or_30(admin, org, board, size,
                                                                      django_assert_max_num_queries):
    populate(org, board, size)

    # Session, user, count, page, the page's board ids.
    with django_assert_max_num_queries(5):
        fields = admin.get("/api/v1/custom-fields").json()
    with django_assert_max_num_queries(7):
        tasks = admin.get(f"/api/v1/boards/{board.pk}/tasks").json()
    # One more for the field the filter names.
    with django_assert_max_num_queries(8):
        filtered = admin.get(f"/api/v1/boards/{board.pk}/tasks",
                             {"custom_field": "field_0", "custom_field_value": "1"}).json()
    assert [item["title"] for item in filtered["items"]] == ["Task 1"]

    assert fields["total"] == size and all(len(f["board_ids"]) == 3 for f in fields["items"])
    assert tasks["total"] == size and all(len(t["custom_field_values"]) == size for t in tasks["items"])


def test_an_owner_manages_fields_as_an_admin_does(client_for, owner, org, board):
    client = client_for(owner)
    created = client.post("/api/v1/custom-fields", {"field_key": "due_week", "field_type": "date",
                                                    "board_ids": [str(board.pk)]}, format="json")
    assert created.status_code == 201, created.content
    url = f"/api/v1/custom-fields/{created.json()['id']}"
    assert client.patch(url, {"required": True}, format="json").json()["required"] is True
    assert client.delete(url).status_code == 204


def test_both_task_lists_filter_by_a_custom_field_value(admin, org, board, worker):
    field(org, "stage", "select", boards=[board], options=["Alpha", "Beta"])
    field(org, "points", "number", boards=[board])
    field(org, "elsewhere", boards=[make_board(org, "Elsewhere")])
    make_task(board, "In alpha", custom_field_values={"stage": "Alpha", "points": 3})
    make_task(board, "In beta", custom_field_values={"stage": "Beta", "points": 3.0})
    make_task(board, "Plain")
    people, agents = f"/api/v1/boards/{board.pk}/tasks", f"/api/v1/agent/boards/{board.pk}/tasks"

    for client, url in ((admin, people), (agent_client(mint_token(worker)), agents)):
        def titles(params, client=client, url=url):
            return sorted(item["title"] for item in client.get(url, params).json()["items"])

        assert titles({"custom_field": "stage", "custom_field_value": "Beta"}) == ["In beta"]
        assert titles({"custom_field": "points", "custom_field_value": "3"}) == ["In alpha", "In beta"]
        assert titles({"custom_field": "stage", "custom_field_value": "Beta", "status": "done"}) == []
        unknown = assert_refused(client.get(url, {"custom_field": "elsewhere", "custom_field_value": "x"}), 422)
        assert unknown["detail"]["custom_field"] == ["This board has no custom field elsewhere."]
        not_a_number = assert_refused(client.get(url, {"custom_field": "points", "custom_field_value": "x"}), 422)
        assert "number" in not_a_number["detail"]["custom_field_value"][0]
        assert_refused(client.get(url, {"custom_field_value": "Beta"}), 422)
        assert_refused(client.get(url, {"custom_field": "stage"}), 422)
        # Infinity and not-a-number read as floats but are no JSON value to compare with.
        for typed in ("1e999", "-1e400", "nan"):
            endless = assert_refused(client.get(url, {"custom_field": "points", "custom_field_value": typed}), 422)
            assert "number" in endless["detail"]["custom_field_value"][0]
