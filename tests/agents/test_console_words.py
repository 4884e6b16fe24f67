"""The console speaks to people: activity in sentences naming who did what to which object
(linked), statuses as the board names them, names instead of ids in board memory, times in
words, and operations states coloured by what they mean."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from agents import rules
from agents.console.events import status_word
from agents.models import BoardMemory
from ops.console import duration_words
from tests.conftest import make_task
from tests.webhooks.conftest import post

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("console_static")]

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def visible_text(html: str) -> str:
    """What a reader sees: no tags, no attributes (the event type may sit in a tooltip)."""
    body = html.split('<main', 1)[1]
    inline = re.sub(r"</?(a|strong|span|time|code|em)\b[^>]*>", "", body)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", inline))


def test_status_words_are_the_boards_column_names():
    assert [status_word(value) for value in ("inbox", "in_progress", "review", "done")] == [
        "Inbox", "In progress", "Review", "Done"]


def test_activity_lines_are_sentences_with_the_actor_and_the_task_linked(client, owner, board, worker):
    task = make_task(board, "Write the post", assigned_agent=worker)
    rules.update_task(worker, task, {"status": "in_progress"})
    rules.add_comment(worker, task, "Draft is up.")
    client.force_login(owner)
    html = client.get(reverse("console:activity")).content.decode()
    text = visible_text(html)
    task_url = reverse("console:task", args=[board.pk, task.pk])
    agent_url = reverse("console:agent", args=[worker.pk])
    assert re.search(rf'<a href="{agent_url}">Worker</a> moved “<a href="{task_url}">Write the post</a>” '
                     r"from Inbox to In progress\.", html)
    assert "Worker commented on “Write the post”." in text
    assert "task.status_changed" not in text and "in_progress" not in text and "→" not in text
    assert 'title="Recorded as task.status_changed"' in html


def test_the_task_history_and_the_dashboard_use_the_same_sentences(client, owner, board):
    task = make_task(board, "Fix the footer")
    rules.update_task(owner, task, {"status": "in_progress", "priority": "high"})
    client.force_login(owner)
    history = visible_text(client.get(reverse("console:task", args=[board.pk, task.pk])).content.decode())
    assert "moved “Fix the footer” from Inbox to In progress." in history
    assert "task.status_changed" not in history
    dashboard = visible_text(client.get(reverse("console:dashboard")).content.decode())
    assert "moved “Fix the footer” from Inbox to In progress." in dashboard


def test_a_deleted_task_is_still_named_but_no_longer_linked(client, owner, board):
    task = make_task(board, "Gone soon")
    rules.update_task(owner, task, {"status": "in_progress"})
    task_url = reverse("console:task", args=[board.pk, task.pk])
    rules.delete_task(owner, task)
    client.force_login(owner)
    html = client.get(reverse("console:activity")).content.decode()
    assert "moved “Gone soon” from Inbox to In progress." in visible_text(html)
    assert "deleted the task “Gone soon”." in visible_text(html)
    assert task_url not in html


def test_other_events_keep_their_sentence_and_name_the_actor(client, owner, board, worker):
    rules.rotate_token(owner, worker)
    client.force_login(owner)
    html = client.get(reverse("console:activity")).content.decode()
    agent_url = reverse("console:agent", args=[worker.pk])
    assert f' gave <a href="{agent_url}">Worker</a> a new token.' in html
    assert "agent.token_rotated" not in visible_text(html)


def test_memory_notes_name_the_approval_instead_of_its_id(client, owner, board, lead, worker):
    task = make_task(board, "Publish", assigned_agent=worker)
    approval = rules.request_approval(worker, board, {"action_type": "mark_done", "task_id": str(task.pk),
                                                      "lead_reasoning": "Done.", "confidence": 90})
    rules.resolve_approval(owner, approval, "approved")
    note = BoardMemory.objects.get(board=board, source="approval")
    assert str(approval.pk) in note.content  # the agents still read the id
    client.force_login(owner)
    html = client.get(reverse("console:board_memory", args=[board.pk])).content.decode()
    text = visible_text(html)
    assert "the approval for “Publish” (mark_done) was approved" in text
    assert str(approval.pk) not in text


def test_a_webhook_event_note_names_its_webhook_and_links_its_payload(client, owner, board, lead):
    from webhooks.models import Webhook, WebhookPayload

    webhook = Webhook.objects.create(board=board, description="Triage GitHub pushes.")
    assert post(client, webhook, {"ref": "main"}).status_code == 202
    payload = WebhookPayload.objects.get(webhook=webhook)
    client.force_login(owner)
    html = client.get(reverse("console:board_memory", args=[board.pk])).content.decode()
    text = visible_text(html)
    assert "Event received by the webhook “Triage GitHub pushes.”" in text
    assert "Instruction: Triage GitHub pushes." in text and '"ref": "main"' in text.replace("&quot;", '"')
    webhook_url = reverse("webhooks_console:webhook", args=[board.pk, webhook.pk])
    assert f'href="{webhook_url}#payload-{payload.pk}"' in html
    assert f'id="payload-{payload.pk}"' in client.get(webhook_url).content.decode()
    assert not UUID.search(text)


def test_durations_are_said_in_words():
    assert [duration_words(s) for s in (12, 180, 3_900, 7_200, 200_000)] == [
        "12 s", "3 min", "1 h 5 min", "2 h", "2 days"]


def test_operations_says_no_backup_in_a_warning_colour_and_times_in_words(client, member, settings, tmp_path,
                                                                         monkeypatch):
    from ops import probes
    from ops.backups.readiness import check_backup

    settings.BACKUP_STATE_FILE = tmp_path / "none.json"
    # The backup check's own answer before any backup, whatever other checks the run registered.
    monkeypatch.setattr(probes, "readiness", lambda: {"ok": True, "checks": {
        "backup": {**check_backup(), "status": "ok"}}})
    client.force_login(member)
    html = client.get(reverse("ops_console:operations")).content.decode()
    row = re.search(r"<strong>Backups</strong>.*?</tr>", html, re.S)
    assert row is not None
    assert '<span class="badge warn">No backup</span>' in row.group(0)
    assert "badge ok" not in row.group(0)

    monkeypatch.setattr(probes, "readiness", lambda: {"ok": True, "checks": {
        "worker": {"ok": True, "status": "ok", "ready_jobs": 2, "oldest_ready_job_age_seconds": 185.0,
                   "last_activity_age_seconds": 40.0, "last_activity_at": "2026-01-02T03:04:05+00:00"},
        "backup": {"ok": True, "status": "ok", "last_success_at": "2026-01-02T03:04:05+00:00", "size": 2048,
                   "age_seconds": 600}}})
    html = client.get(reverse("ops_console:operations")).content.decode()
    text = visible_text(html)
    assert "age seconds" not in text.lower() and "Age seconds" not in text
    assert "Oldest ready job: 3 min ago" in text and "for 3 min" in text
    assert 'datetime="2026-01-02T03:04:05+00:00"' in html
    backups = re.search(r"<strong>Backups</strong>.*?</tr>", html, re.S)
    assert backups is not None and '<span class="badge ok">Ok</span>' in backups.group(0)
    assert "Size: 2.0 KB" in text


def test_approvals_boards_chat_and_check_ins_read_as_sentences(client, owner, org, board, worker):
    from agents import activity

    task = make_task(board, "Publish", assigned_agent=worker)
    approval = rules.request_approval(worker, board, {"action_type": "mark_done", "task_id": str(task.pk),
                                                      "lead_reasoning": "Done.", "confidence": 90})
    rules.resolve_approval(owner, approval, "approved")
    rules.create_memory(owner, board, {"content": "Ship Friday.", "tags": ["chat"]})
    made = rules.create_board(owner, org, {"name": "Docs", "max_agents": 3})
    activity.record("agent.heartbeat", actor=worker, board=board, agent=worker, message="Worker checked in.")
    client.force_login(owner)
    html = client.get(reverse("console:activity")).content.decode()
    text = visible_text(html)
    assert "Worker asked for approval to mark done on “Publish”." in text
    assert "approved the request to mark done on “Publish”." in text
    assert "wrote in the board chat." in text
    assert f'created the board <a href="{reverse("console:board", args=[made.pk])}">Docs</a>.' in html
    assert "Worker checked in." in text and "checked in. — " not in text
    assert "mark_done" not in text
