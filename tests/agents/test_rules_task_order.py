"""A task's place in its column: ``move_task_within_column``, the user API's reorder route and
the console's up and down buttons, which share it (same refusals, same event)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils.html import escape

from agents import rules
from agents.models import ActivityEvent, Task
from agents.refusals import RuleViolation
from tests.conftest import make_task

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("console_static")]


def column(board, status="inbox") -> list[str]:
    """The column's titles in the order the board shows them."""
    from agents.queries import COLUMN_ORDER

    return list(Task.objects.filter(board=board, status=status).order_by(*COLUMN_ORDER).values_list("title", flat=True))


@pytest.fixture
def three(board):
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    # Not ordered yet: the latest change first, so C, B, A.
    return {title: make_task(board, title, updated_at=now + timedelta(minutes=n)) for n, title in enumerate("ABC")}


def test_an_unordered_column_shows_the_latest_change_first(board, three):
    assert column(board) == ["C", "B", "A"]


def test_moving_a_task_down_numbers_the_column_and_swaps_it_with_the_next(board, owner, three):
    assert rules.move_task_within_column(owner, three["C"], "down") == 1
    assert column(board) == ["B", "C", "A"]
    assert sorted(Task.objects.filter(board=board).values_list("position", flat=True)) == [0, 1, 2]
    assert rules.move_task_within_column(owner, three["A"], "up") == 1
    assert column(board) == ["B", "A", "C"]


def test_a_later_move_writes_only_the_two_tasks_that_swap(board, owner, three):
    rules.move_task_within_column(owner, three["C"], "down")
    before = dict(Task.objects.values_list("title", "position"))
    rules.move_task_within_column(owner, three["A"], "up")
    after = dict(Task.objects.values_list("title", "position"))
    assert {title for title in before if before[title] != after[title]} == {"A", "C"}


def test_a_new_task_and_one_that_changes_column_come_first_in_theirs(board, owner, three):
    rules.move_task_within_column(owner, three["C"], "down")
    make_task(board, "D")
    assert column(board) == ["D", "B", "C", "A"]
    rules.update_task(owner, three["A"], {"status": "in_progress"})
    assert Task.objects.get(pk=three["A"].pk).position is None
    assert column(board, "in_progress") == ["A"]
    rules.update_task(owner, three["A"], {"status": "inbox"})
    assert column(board) == ["A", "D", "B", "C"]


@pytest.mark.parametrize(("title", "direction", "code", "sentence"), [
    ("C", "up", "task_already_first", "“C” is already first in Inbox."),
    ("A", "down", "task_already_last", "“A” is already last in Inbox."),
])
def test_the_ends_of_a_column_refuse_to_go_further(board, owner, three, title, direction, code, sentence):
    with pytest.raises(RuleViolation) as refused:
        rules.move_task_within_column(owner, three[title], direction)
    assert refused.value.status_code == 409
    assert refused.value.detail == {"code": code, "message": sentence}
    assert column(board) == ["C", "B", "A"]


def test_a_direction_other_than_up_or_down_is_refused(board, owner, three):
    with pytest.raises(RuleViolation) as refused:
        rules.move_task_within_column(owner, three["B"], "sideways")
    assert refused.value.status_code == 422
    assert refused.value.detail["message"] == "direction must be up or down."


def test_the_lead_orders_a_column_but_a_worker_and_the_main_agent_do_not(board, lead, worker, main_agent, three):
    assert rules.move_task_within_column(lead, three["B"], "up") == 0
    for agent, code in ((worker, "lead_required"), (main_agent, "board_agents_only")):
        with pytest.raises(RuleViolation) as refused:
            rules.move_task_within_column(agent, three["B"], "down")
        assert refused.value.status_code == 403 and refused.value.detail["code"] == code


def test_a_move_writes_one_event_with_the_direction_and_the_new_place(board, owner, three):
    rules.move_task_within_column(owner, three["B"], "down")
    event = ActivityEvent.objects.get(event_type="task.updated")
    assert event.task_id == three["B"].pk and event.actor_user_id == owner.pk
    assert event.data == {"changes": ["position"], "direction": "down", "status": "inbox", "position": 2}


def test_the_api_moves_a_task_and_says_where_it_is(client_for, member, board, three):
    api = client_for(member)
    url = f"/api/v1/boards/{board.pk}/tasks/{three['C'].pk}/reorder"
    response = api.post(url, {"direction": "down"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {"task_id": str(three["C"].pk), "status": "inbox", "position": 1}
    assert column(board) == ["B", "C", "A"]


def test_the_api_refuses_a_bad_direction_and_unknown_fields_in_the_envelope(client_for, member, board, three):
    api = client_for(member)
    url = f"/api/v1/boards/{board.pk}/tasks/{three['C'].pk}/reorder"
    bad = api.post(url, {"direction": "left"}, format="json")
    assert bad.status_code == 422 and "direction must be up or down." in str(bad.json())
    unknown = api.post(url, {"direction": "up", "position": 3}, format="json")
    assert unknown.status_code == 422 and "position" in unknown.json()["detail"]


def test_the_api_hides_another_organizations_task(client_for, outsider, board, three):
    response = client_for(outsider).post(f"/api/v1/boards/{board.pk}/tasks/{three['C'].pk}/reorder",
                                         {"direction": "down"}, format="json")
    assert response.status_code == 404


def test_the_console_and_the_api_refuse_with_the_same_sentence(client, client_for, member, board, three):
    api = client_for(member)
    refused = api.post(f"/api/v1/boards/{board.pk}/tasks/{three['C'].pk}/reorder", {"direction": "up"}, format="json")
    assert refused.status_code == 409
    sentence = refused.json()["detail"]["message"]
    client.force_login(member)
    response = client.post(reverse("console:task_reorder", args=[board.pk, three["C"].pk]), {"direction": "up"},
                           follow=True)
    assert escape(sentence) in response.content.decode()


def test_the_console_buttons_move_a_card_and_come_back_to_it(client, member, board, three):
    client.force_login(member)
    url = reverse("console:task_reorder", args=[board.pk, three["C"].pk])
    response = client.post(url, {"direction": "down"})
    assert response.status_code == 302
    assert response["Location"] == reverse("console:board", args=[board.pk]) + f"#task-{three['C'].pk}"
    assert column(board) == ["B", "C", "A"]
    html = client.get(response["Location"].split("#")[0]).content.decode()
    assert "“C” moved down in Inbox." in html
    assert ActivityEvent.objects.filter(event_type="task.updated", data__direction="down").count() == 1


def test_the_board_shows_up_and_down_buttons_except_past_the_ends(client, member, board, three):
    client.force_login(member)
    html = client.get(reverse("console:board", args=[board.pk])).content.decode()
    cards = {card.split("</a></h3>")[0].rsplit(">", 1)[-1]: card for card in html.split('<li class="task-card')[1:]}
    assert 'value="up"' not in cards["C"] and 'value="down"' in cards["C"]
    assert 'value="up"' in cards["B"] and 'value="down"' in cards["B"]
    assert 'value="up"' in cards["A"] and 'value="down"' not in cards["A"]
    # A filtered board shows part of a column: no buttons, which would order the whole one.
    filtered = client.get(reverse("console:board", args=[board.pk]), {"view": "kanban", "q": "B"}).content.decode()
    assert 'name="direction"' not in filtered


def test_the_reorder_route_is_documented(db):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/api/v1/boards/{board_id}/tasks/{task_id}/reorder"]["post"]
    assert operation["operationId"] == "tasks_reorder"
    assert set(operation["responses"]) >= {"200", "401", "403", "404", "409", "422"}
    assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("TaskReorderRequest")


def test_the_timeline_says_which_way_a_task_moved_in_which_column(client, member, board, three):
    import re

    rules.move_task_within_column(member, three["B"], "up")
    client.force_login(member)
    html = client.get(reverse("console:activity")).content.decode()
    text = re.sub(r"<[^>]+>", "", html)
    assert "moved “B” up in Inbox." in text


def test_a_task_moves_to_an_absolute_place_and_only_the_stretch_between_is_written(board, owner, three):
    from datetime import timedelta

    from django.utils import timezone

    make_task(board, "D", updated_at=timezone.now() + timedelta(hours=1))
    assert column(board) == ["D", "C", "B", "A"]
    # The first move numbers the column: D to the bottom.
    assert rules.move_task_within_column(owner, Task.objects.get(title="D"), position=3) == 3
    assert column(board) == ["C", "B", "A", "D"]
    before = dict(Task.objects.values_list("title", "position"))
    # A to the top: C and B move down one place each, D keeps its number.
    assert rules.move_task_within_column(owner, three["A"], position=0) == 0
    assert column(board) == ["A", "C", "B", "D"]
    after = dict(Task.objects.values_list("title", "position"))
    assert {title for title in before if before[title] != after[title]} == {"A", "B", "C"}
    event = ActivityEvent.objects.filter(event_type="task.updated").latest("created_at")
    assert event.data == {"changes": ["position"], "direction": "up", "status": "inbox", "position": 0, "from": 2}


def test_a_task_asked_to_stay_where_it_is_writes_nothing(board, owner, three):
    assert rules.move_task_within_column(owner, three["B"], position=1) == 1
    assert column(board) == ["C", "B", "A"]
    assert not ActivityEvent.objects.filter(event_type="task.updated").exists()
    assert set(Task.objects.values_list("position", flat=True)) == {None}


@pytest.mark.parametrize(("position", "sentence"), [
    (3, "position must be between 0 (the top) and 2 (the bottom): Inbox holds 3 tasks."),
    (-1, "position must be between 0 (the top) and 2 (the bottom): Inbox holds 3 tasks."),
    ("top", "position must be a whole number, 0 for the top."),
    (True, "position must be a whole number, 0 for the top."),
])
def test_a_position_outside_the_column_is_refused(board, owner, three, position, sentence):
    with pytest.raises(RuleViolation) as refused:
        rules.move_task_within_column(owner, three["B"], position=position)
    assert refused.value.status_code == 422
    assert (refused.value.detail["code"], refused.value.detail["message"]) == ("invalid_position", sentence)
    assert refused.value.detail["field"] == "position"
    assert column(board) == ["C", "B", "A"]


def test_a_worker_may_not_drop_a_task_elsewhere_in_its_column(board, worker, three):
    with pytest.raises(RuleViolation) as refused:
        rules.move_task_within_column(worker, three["B"], position=0)
    assert refused.value.status_code == 403
    assert column(board) == ["C", "B", "A"]


def test_the_console_moves_a_dropped_card_to_its_place_and_answers_the_script_in_plain_text(
        client, member, board, three):
    client.force_login(member)
    url = reverse("console:task_reorder", args=[board.pk, three["A"].pk])
    response = client.post(url, {"position": "0"}, headers={"X-Requested-With": "fetch"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert response.content.decode() == "“A” is now number 1 in Inbox."
    assert column(board) == ["A", "C", "B"]
    # Said in the answer, not kept for the next page as well.
    assert "is now number" not in client.get(reverse("console:board", args=[board.pk])).content.decode()


@pytest.mark.parametrize("position", ["7", "-2", "second", ""])
def test_the_console_refuses_a_position_out_of_range_with_the_rules_sentence(client, member, board, three,
                                                                               position):
    client.force_login(member)
    url = reverse("console:task_reorder", args=[board.pk, three["A"].pk])
    scripted = client.post(url, {"position": position}, headers={"X-Requested-With": "fetch"})
    assert scripted.status_code == 422
    assert scripted.content.decode().startswith("position must be ")
    # Without the script: back to the board, with the same sentence.
    plain = client.post(url, {"position": position}, follow=True)
    assert plain.status_code == 200
    assert escape(scripted.content.decode()) in plain.content.decode()
    assert column(board) == ["C", "B", "A"]


def test_the_console_answers_the_script_with_the_refusal_of_a_move_past_the_end(client, member, board, three):
    client.force_login(member)
    url = reverse("console:task_reorder", args=[board.pk, three["C"].pk])
    response = client.post(url, {"direction": "up"}, headers={"X-Requested-With": "fetch"})
    assert response.status_code == 409
    assert response.content.decode() == "“C” is already first in Inbox."


def test_a_task_that_left_the_column_it_was_seen_in_is_refused(client, owner, member, board, three):
    rules.update_task(owner, three["B"], {"status": "in_progress"})
    for moves in ({"position": 0}, {"direction": "down"}):
        with pytest.raises(RuleViolation) as refused:
            rules.move_task_within_column(owner, three["B"], column="inbox", **moves)
        assert refused.value.status_code == 409 and refused.value.detail["code"] == "task_moved_meanwhile"
    assert Task.objects.get(pk=three["B"].pk).position is None
    # The board's buttons say which column they were shown in.
    client.force_login(member)
    url = reverse("console:task_reorder", args=[board.pk, three["B"].pk])
    response = client.post(url, {"direction": "down", "column": "inbox"}, headers={"X-Requested-With": "fetch"})
    assert response.status_code == 409
    assert response.content.decode() == "The task changed column meanwhile; look at the board again and retry."
    html = client.get(reverse("console:board", args=[board.pk])).content.decode()
    assert '<input type="hidden" name="column" value="inbox">' in html


def test_the_timeline_says_at_which_place_a_dropped_task_landed(client, member, board, three):
    import re

    rules.move_task_within_column(member, three["A"], position=0)
    client.force_login(member)
    text = re.sub(r"<[^>]+>", "", client.get(reverse("console:activity")).content.decode())
    assert "moved “A” to number 1 in Inbox." in text
