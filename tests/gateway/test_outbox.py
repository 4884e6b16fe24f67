"""The outbox against the fake gateway: order, coalescing, retries that never double a
message, a worker that dies mid-send, a gateway that is away, dead messages and resend."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from agents import tokens
from agents.gateway import outbox, pool, provisioning
from agents.models import ActivityEvent, Agent, AgentMessage
from agents.rules import roster
from ops.management.commands.reap_tasks import reap_stale_jobs
from tests.conftest import make_agent
from tests.gateway.client.conftest import FAST_RETRY
from tests.gateway.fake_gateway import FakeGateway, Faults
from tests.gateway.on_fake import point_at, set_up
from tests.webhooks.conftest import make_retries_due, run_worker

pytestmark = pytest.mark.django_db

Status = AgentMessage.Status
DELIVER = "agents.gateway.tasks.deliver_messages"


@pytest.fixture(autouse=True)
def fresh_pool() -> Iterator[None]:
    yield
    pool.close_all()


@pytest.fixture(autouse=True)
def quick_reconnects(monkeypatch) -> None:
    """A gateway that is away fails each send in milliseconds, not after the client's
    own reconnect attempts (their timing has tests of its own)."""
    monkeypatch.setattr("agents.gateway.client.RetryPolicy", lambda: FAST_RETRY)


@pytest.fixture
def fake() -> Iterator[FakeGateway]:
    with FakeGateway(faults=Faults()) as gateway:
        yield gateway


@pytest.fixture
def on_fake(gateway, fake):
    return point_at(gateway, fake)


@pytest.fixture
def ada(on_fake, fake, board) -> Agent:
    """A worker set up and woken on the fake gateway."""
    agent = make_agent("Ada", board=board)
    set_up(agent, on_fake, fake)
    return agent


def session_of(fake: FakeGateway, agent: Agent) -> list[str]:
    """What Mission Control said in the agent's session after the wake message."""
    messages = fake.session(f"agent:{agent.gateway_agent_id}:main")
    return [m["content"] for m in messages[1:] if m["role"] == "user"]


def delivery_jobs() -> int:
    return DBTaskResult.objects.filter(task_path=DELIVER).count()


def due_now() -> None:
    AgentMessage.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    make_retries_due()


def test_a_message_is_written_with_its_change_and_sent_by_the_worker(ada, fake):
    message = outbox.notify(ada, "nudge", "Look at the inbox.", board_id=ada.board_id)
    assert message is not None and message.status == Status.PENDING
    assert delivery_jobs() == 1
    # The job waits a moment so that events close together travel as one message.
    job = DBTaskResult.objects.get(task_path=DELIVER)
    assert job.run_after is not None and job.run_after > timezone.now()
    make_retries_due()
    run_worker()
    message.refresh_from_db()
    assert message.status == Status.SENT and message.attempts == 1 and message.sent_at is not None
    assert session_of(fake, ada) == ["Look at the inbox."]
    [send] = fake.calls_of("chat.send")[1:]
    assert send.params["idempotencyKey"] == message.batch_key


def test_events_close_together_go_as_one_message_in_order(ada, fake):
    for number in range(1, 4):
        outbox.notify(ada, "comment", f"Update {number}.")
    assert delivery_jobs() == 1
    make_retries_due()
    run_worker()
    [text] = session_of(fake, ada)
    assert text.startswith("Mission Control: 3 updates for you, oldest first.")
    assert text.index("Update 1.") < text.index("Update 2.") < text.index("Update 3.")
    assert set(AgentMessage.objects.values_list("status", flat=True)) == {Status.SENT}
    # Later events are a message of their own.
    outbox.notify(ada, "comment", "Update 4.")
    make_retries_due()
    run_worker()
    assert session_of(fake, ada)[1:] == ["Update 4."]


def test_a_failed_send_is_retried_with_the_same_key_and_lands_once(ada, fake):
    # Cut on every try of the client's own reconnects: the job's attempt fails.
    fake.faults.drop_on["chat.send"] = FAST_RETRY.attempts
    message = outbox.notify(ada, "nudge", "Once only.")
    make_retries_due()
    run_worker()
    message.refresh_from_db()
    assert message.status == Status.PENDING and message.attempts == 1 and message.last_error
    assert message.next_attempt_at > timezone.now()
    first_key = message.batch_key
    due_now()
    run_worker()
    message.refresh_from_db()
    assert message.status == Status.SENT and message.batch_key == first_key
    sends = [c for c in fake.calls_of("chat.send") if c.params["idempotencyKey"] == first_key]
    # The dropped tries (which a gateway may or may not have run) and the job's retry.
    assert len(sends) == FAST_RETRY.attempts + 1
    assert session_of(fake, ada) == ["Once only."]


class WorkerKilled(BaseException):
    """Stands for SIGKILL: nothing after the send runs, not even the job's bookkeeping."""


def test_a_worker_killed_after_the_send_leaves_a_message_that_goes_out_once(ada, fake):
    message = outbox.notify(ada, "nudge", "Sent just before the crash.")
    make_retries_due()
    # The job's own bookkeeping dies too, so its row stays RUNNING as after a SIGKILL.
    with mock.patch.object(outbox, "_mark_sent", side_effect=WorkerKilled), \
            mock.patch.object(DBTaskResult, "set_failed", side_effect=WorkerKilled), pytest.raises(WorkerKilled):
        run_worker()
    message.refresh_from_db()
    assert message.status == Status.PENDING and message.claimed_until is not None
    assert session_of(fake, ada) == ["Sent just before the crash."]
    # Later: the worker is back and ``reap_tasks`` returned the job it left running; the claim
    # has run out.
    assert reap_stale_jobs(timedelta(0)) == 1
    AgentMessage.objects.update(claimed_until=timezone.now() - timedelta(seconds=1))
    sends_before = len(fake.calls_of("chat.send"))
    make_retries_due()
    run_worker()
    message.refresh_from_db()
    assert message.status == Status.SENT
    # The job read the session, found its key there, and did not send again.
    assert len(fake.calls_of("chat.send")) == sends_before
    assert fake.calls_of("chat.history")
    assert session_of(fake, ada) == ["Sent just before the crash."]


def test_while_the_gateway_is_away_messages_wait_and_then_go_in_order(ada, fake, on_fake):
    on_fake.url = "ws://127.0.0.1:9"  # nothing listens there
    on_fake.save()
    for number in range(1, 3):
        outbox.notify(ada, "comment", f"First wave {number}.")
    make_retries_due()
    run_worker()
    for _ in range(3):
        due_now()
        run_worker()
    outbox.notify(ada, "comment", "Second wave.")
    pending = list(AgentMessage.objects.order_by("id"))
    assert [m.status for m in pending] == [Status.PENDING] * 3
    assert pending[0].attempts == 4 and "127.0.0.1:9" in pending[0].last_error
    assert delivery_jobs() >= 1 and session_of(fake, ada) == []
    # The gateway is back: the batch that failed goes first, with its own key, then the rest.
    on_fake.url = fake.url
    on_fake.save()
    due_now()
    run_worker()
    due_now()
    run_worker()
    texts = session_of(fake, ada)
    assert len(texts) == 2 and "First wave 1." in texts[0] and "First wave 2." in texts[0]
    assert texts[1] == "Second wave."
    assert set(AgentMessage.objects.values_list("status", flat=True)) == {Status.SENT}


def test_after_the_last_attempt_a_message_is_dead_and_a_person_can_send_it_again(ada, fake, on_fake, owner):
    on_fake.url = "ws://127.0.0.1:9"
    on_fake.save()
    message = outbox.notify(ada, "nudge", "Nobody hears this yet.")
    make_retries_due()
    for _ in range(outbox.MAX_ATTEMPTS):
        run_worker()
        due_now()
    message.refresh_from_db()
    assert message.status == Status.DEAD and message.attempts == outbox.MAX_ATTEMPTS
    event = ActivityEvent.objects.get(event_type="agent.message_dead")
    assert event.agent_id == ada.pk and event.data["message_ids"] == [message.pk]
    # A dead batch does not hold up the next message.
    on_fake.url = fake.url
    on_fake.save()
    outbox.notify(ada, "nudge", "This one goes.")
    due_now()
    run_worker()
    assert session_of(fake, ada) == ["This one goes."]
    assert outbox.resend(message) == 1
    message.refresh_from_db()
    assert message.status == Status.PENDING and message.attempts == 0
    run_worker()
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert session_of(fake, ada) == ["This one goes.", "Nobody hears this yet."]


def test_two_jobs_never_send_one_batch(ada, fake):
    outbox.notify(ada, "nudge", "Just one.")
    now = timezone.now() + timedelta(seconds=5)
    first = outbox.claim(ada, now)
    second = outbox.claim(ada, now)
    assert isinstance(first, outbox.Claim) and [m.text for m in first.messages] == ["Just one."]
    # The second finds the batch claimed and comes back when the claim runs out.
    assert second == now + timedelta(seconds=outbox.CLAIM_SECONDS)


def test_messages_for_an_agent_being_set_up_wait_without_a_job_until_it_is_ready(on_fake, fake, board):
    bea = make_agent("Bea", board=board)
    roster.provision_on_gateway(bea, token=tokens.mint_token(bea), mode="provision")
    bea.refresh_from_db()
    DBTaskResult.objects.all().delete()
    message = outbox.notify(bea, "task_assigned", "Your first task.")
    make_retries_due()
    run_worker()
    message.refresh_from_db()
    assert message.status == Status.PENDING and message.attempts == 0 and "set up" in message.last_error
    assert not DBTaskResult.objects.filter(task_path=DELIVER, status="READY").exists()
    # Provisioning finishes (the job of the gateways issue); the message follows the wake.
    assert provisioning.run(str(bea.pk), bea.lifecycle_generation, "provision") == "woken"
    assert DBTaskResult.objects.filter(task_path=DELIVER, status="READY").count() == 1
    run_worker()
    message.refresh_from_db()
    bea.refresh_from_db()
    assert message.status == Status.SENT
    assert session_of(fake, bea) == ["Your first task."]


def test_an_agent_off_any_gateway_gets_nothing_queued(board, org):
    offline = make_agent("Offline", board=None, organization=org, gateway=None)
    assert outbox.notify(offline, "nudge", "Nothing.") is None
    assert not AgentMessage.objects.exists() and delivery_jobs() == 0


class HistoryOnly:
    def __init__(self, history: dict) -> None:
        self.history = history

    def call(self, method: str, params: dict) -> dict:
        assert method == "chat.history"
        return self.history


def test_a_message_waiting_behind_a_running_turn_counts_as_in_the_session():
    """2026.9 answers chat.history with a message sent during a turn among its pending
    inputs, under the run id it was sent with, until the turn ends."""
    waiting = {"messages": [{"role": "user", "content": "older", "idempotencyKey": "mc-msg-a:user"}],
               "pendingInputs": {"items": [{"state": "queued", "runId": "mc-msg-b",
                                            "message": {"role": "user", "content": "newer"}}], "total": 1}}
    assert outbox._in_session(HistoryOnly(waiting), "agent:x:main", "mc-msg-a")
    assert outbox._in_session(HistoryOnly(waiting), "agent:x:main", "mc-msg-b")
    assert not outbox._in_session(HistoryOnly(waiting), "agent:x:main", "mc-msg-c")
    assert not outbox._in_session(HistoryOnly({"messages": []}), "agent:x:main", "mc-msg-a")
