"""The console shows what was pushed to an agent and lets a person send a dead message again;
a board's agents are paused and resumed from its page with the same /pause and /resume."""

from __future__ import annotations

import pytest
from django.urls import reverse

from agents.gateway import outbox
from agents.models import ActivityEvent, AgentMessage, BoardMemory
from tests.agents.answers import kinds, last_id

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("console_static")]

Status = AgentMessage.Status


@pytest.fixture
def pushed(worker):
    sent = outbox.notify(worker, "task_assigned", "TASK ASSIGNED TO YOU by Ann (a person).\nBoard: Launch")
    dead = outbox.notify(worker, "nudge", "NUDGE from your lead Lead.\nLook now.")
    AgentMessage.objects.filter(pk=sent.pk).update(status=Status.SENT, attempts=1, batch_key="mc-msg-a")
    AgentMessage.objects.filter(pk=dead.pk).update(status=Status.DEAD, attempts=8, batch_key="mc-msg-b",
                                                   last_error="The gateway at ws://gw:1 did not answer.")
    return sent, dead


def test_the_agent_page_lists_the_messages_pushed_to_it_with_their_state(client, owner, worker, pushed):
    client.force_login(owner)
    page = client.get(reverse("console:agent", args=[worker.pk])).content.decode()
    assert "Messages pushed to it" in page
    # Named for people, with the text the agent got behind it.
    assert "Task assigned" in page and "Nudge from the lead" in page
    assert "TASK ASSIGNED TO YOU by Ann (a person)." in page and "NUDGE from your lead Lead." in page
    assert "after 8 tries" in page and "did not answer" in page
    # Only the dead one offers to be sent again.
    assert page.count("Send again") == 1
    assert reverse("console:agent_message_resend", args=[worker.pk, pushed[1].pk]) in page


def test_a_person_sends_a_dead_message_again(client, owner, worker, pushed):
    client.force_login(owner)
    _sent, dead = pushed
    response = client.post(reverse("console:agent_message_resend", args=[worker.pk, dead.pk]))
    assert response.status_code == 302
    dead.refresh_from_db()
    assert dead.status == Status.PENDING and dead.attempts == 0 and dead.last_error == ""
    assert ActivityEvent.objects.filter(event_type="agent.message_resent", agent_id=worker.pk).count() == 1
    # Sending again one that is not dead says why and changes nothing.
    again = client.post(reverse("console:agent_message_resend", args=[worker.pk, dead.pk]), follow=True)
    assert "Only a message that was given up on can be sent again" in again.content.decode()


def test_a_member_may_not_resend(client, member, worker, pushed):
    client.force_login(member)
    response = client.post(reverse("console:agent_message_resend", args=[worker.pk, pushed[1].pk]))
    assert response.status_code == 403
    pushed[1].refresh_from_db()
    assert pushed[1].status == Status.DEAD


def test_pause_and_resume_from_the_board_page_tell_every_agent(client, owner, board, lead, worker):
    client.force_login(owner)
    page = client.get(reverse("console:board", args=[board.pk])).content.decode()
    assert "Pause agents" in page and "Agents paused" not in page
    since = last_id()
    response = client.post(reverse("console:board_pause", args=[board.pk]), {"action": "pause"})
    assert response.status_code == 302
    assert BoardMemory.objects.filter(board=board, is_chat=True, content="/pause").count() == 1
    assert kinds(since) == {"Lead": ["board_paused"], "Worker": ["board_paused"]}
    page = client.get(reverse("console:board", args=[board.pk])).content.decode()
    assert "Agents paused" in page and "Resume agents" in page
    since = last_id()
    client.post(reverse("console:board_pause", args=[board.pk]), {"action": "resume"})
    assert kinds(since) == {"Lead": ["board_resumed"], "Worker": ["board_resumed"]}
    assert "Pause agents" in client.get(reverse("console:board", args=[board.pk])).content.decode()


def test_retry_provisioning_from_the_agent_page(client, owner, worker):
    client.force_login(owner)
    response = client.post(reverse("console:agent_provision", args=[worker.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("console:agent", args=[worker.pk])
    assert "Provisioning Worker again; this page follows it live." in response.content.decode()
    assert ActivityEvent.objects.filter(event_type="agent.provision_requested", agent_id=worker.pk).count() == 1
    worker.refresh_from_db()
    assert worker.lifecycle_status == worker.Lifecycle.PROVISIONING


def test_retry_provisioning_of_an_agent_without_a_gateway_says_why(client, owner, worker):
    type(worker).objects.filter(pk=worker.pk).update(gateway=None)
    client.force_login(owner)
    response = client.post(reverse("console:agent_provision", args=[worker.pk]), follow=True)
    assert "This agent has no gateway: Mission Control does not provision it." in response.content.decode()
    assert not ActivityEvent.objects.filter(event_type="agent.provision_requested").exists()


def test_a_member_may_not_retry_provisioning(client, member, worker):
    client.force_login(member)
    response = client.post(reverse("console:agent_provision", args=[worker.pk]))
    assert response.status_code == 403
    assert "Only an owner or admin" in response.content.decode()
    assert not ActivityEvent.objects.filter(event_type="agent.provision_requested").exists()
