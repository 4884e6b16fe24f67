"""The API does what its OpenAPI document says, checked by schemathesis with every check.

Requests are generated from ``/openapi.json`` and sent in-process to the WSGI application:
the people's operations with the local operator's token, each agent operation with the
token of an agent whose role may call it. Path parameters name real objects of one board,
so the requests reach the views instead of stopping at 404; each request runs in a
savepoint that is rolled back, so a DELETE in one example does not take the board from the
next. The run is bounded (few examples per operation, derandomized) to stay well under a
minute of one core.
"""

from __future__ import annotations

import functools
import json

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

# Examples per operation in the fuzzing phase (positive and negative), for 78 operations.
MAX_EXAMPLES = 2
AGENT_TAGS = ("agent-lead", "agent-worker", "agent-main")


@pytest.fixture
def lifted_rate_limits() -> tuple[str, ...]:
    """Hundreds of calls from one address, one agent and one token: no limit is under test here."""
    return ("agent_auth", "agent_requests", "webhook_ingest")


@pytest.fixture
def cast(db):
    """One board with one of everything the path parameters name, and the callers' tokens."""
    from django.conf import settings as django_settings

    from agents.identity import local_operator
    from agents.models import Approval, ApprovalTask, BoardMemory, Tag, TaskComment
    from agents.tokens import mint_token
    from tests.conftest import make_agent, make_board, make_gateway, make_org, make_task
    from webhooks.models import Webhook, WebhookDelivery, WebhookPayload

    org = make_org("Acme", is_default=True)
    local_operator()  # the person behind LOCAL_AUTH_TOKEN, owner of the default organization
    gateway = make_gateway(org, "Acme gateway")
    board = make_board(org, "Launch", gateway=gateway)
    lead = make_agent("Lead", board=board, lead=True)
    worker = make_agent("Worker", board=board)
    main = make_agent("Main", gateway=gateway)
    task = make_task(board, "Write the notes", assigned_agent=worker, status="in_progress")
    TaskComment.objects.create(task=task, message="Started.", author_agent=worker)
    approval = Approval.objects.create(board=board, action_type="mark_done", agent=worker, confidence=80,
                                       lead_reasoning="Done and checked.")
    ApprovalTask.objects.create(approval=approval, task=task)
    BoardMemory.objects.create(board=board, content="Ship on Friday.")
    tag = Tag.objects.create(organization=org, name="Docs", slug="docs", color="9ca3af")
    webhook = Webhook.objects.create(board=board, description="Release events")
    payload = WebhookPayload.objects.create(webhook=webhook, board=board, payload={"event": "release"})
    WebhookDelivery.objects.create(payload=payload, agent=lead)
    return {
        "person": {"Authorization": f"Bearer {django_settings.LOCAL_AUTH_TOKEN}"},
        "agents": {"agent-lead": {"X-Agent-Token": mint_token(lead)},
                   "agent-worker": {"X-Agent-Token": mint_token(worker)},
                   "agent-main": {"X-Agent-Token": mint_token(main)}},
        "parameters": {"board_id": board.pk, "task_id": task.pk, "approval_id": approval.pk,
                       "webhook_id": webhook.pk, "payload_id": payload.pk, "agent_id": worker.pk,
                       "gateway_id": gateway.pk, "tag_id": tag.pk},
    }


@pytest.fixture
def keep_the_test_connection():
    """The WSGI handler closes the database connection around each request when its state
    looks unusual, and a request inside the test's transaction does (Postgres then loses
    the test's data); Django's test client turns that off the same way."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@functools.cache
def openapi_document() -> str:
    """The API's OpenAPI document as JSON text, generated once per process (seconds of work)."""
    from drf_spectacular.generators import SchemaGenerator

    return json.dumps(SchemaGenerator().get_schema(request=None, public=True), default=str)


@pytest.fixture
def api_schema(cast, request, keep_the_test_connection):
    # schemathesis 4.32 renames the test item after each operation through ``_nodeid``,
    # which pytest 9 no longer has; giving it one keeps pytest's own id untouched.
    request.node._nodeid = request.node.nodeid
    from missioncontrol.wsgi import application

    schema = schemathesis.openapi.from_dict(json.loads(openapi_document()))
    schema.app = application
    # The budget (about 40 s of one core on the CI machine, 2,700 calls): the coverage phase
    # in its negative mode only (each field's wrong types and out-of-range values, methods
    # the path does not take), which is what catches coerced types and a wrong Allow header;
    # its positive half would add 2,900 calls, and the fuzzing phase sends valid bodies too.
    schema.config.phases.coverage.generation.modes = [GenerationMode.NEGATIVE]
    for generation in (schema.config.generation, schema.config.phases.coverage.generation):
        # Query parameters the API does not know are ignored, as HTTP APIs do (a cache buster
        # must not break a call), so made-up parameters are not sent as "invalid" requests.
        generation.allow_extra_parameters = False
    # Every text the API stores refuses NUL (Postgres cannot hold it) with a documented 400;
    # the tests of that refusal are in tests/ops/test_nul_in_request.py.
    for generation in (schema.config.generation, schema.config.phases.coverage.generation):
        generation.allow_x00 = False
    schema.config.update(parameters={f"path.{name}": str(value) for name, value in cast["parameters"].items()})
    return schema


# Two halves of about the same time, two tests in two xdist groups, so they run on two
# workers side by side: the people's routes of one board (webhook ingest among them), and
# everything else under /api/v1/ (the agent API, organizations' agents, gateways, tags...).
BOARD_ROUTES = r"^/api/v1/boards/"
board_schema = schemathesis.pytest.from_fixture("api_schema").include(path_regex=BOARD_ROUTES)
other_schema = schemathesis.pytest.from_fixture("api_schema").include(path_regex=r"^/api/v1/").exclude(
    path_regex=BOARD_ROUTES)


# Checks that are wrong for one operation, and why. Everything else runs every check.
#
# positive_data_acceptance expects any body the schema allows to succeed. These operations
# check values against the board's state or across fields, which a JSON Schema cannot say:
# the agents, tasks and tags a body names must be of this board or organization, a task's
# move must pass the board's gates, a name must not be blank once trimmed, an approval needs a
# reason in one of three places, assigned_agent_id and unassigned=true exclude each other, a
# custom field's key is lowercase words and new in its organization, a select field needs
# options, and a task's custom field values must fit the fields of its board.
# They refuse such bodies with 422 and a rule's code, as domain.md says; schemathesis
# generates random ids and blank names, so it meets those refusals on every run.
STATEFUL_RULES = {
    ("POST", "/api/v1/agents"), ("PATCH", "/api/v1/agents/{agent_id}"),
    ("POST", "/api/v1/boards"), ("PATCH", "/api/v1/boards/{board_id}"),
    ("POST", "/api/v1/gateways"), ("PATCH", "/api/v1/gateways/{gateway_id}"),
    ("POST", "/api/v1/tags"), ("PATCH", "/api/v1/tags/{tag_id}"),
    ("POST", "/api/v1/custom-fields"), ("PATCH", "/api/v1/custom-fields/{field_id}"),
    ("GET", "/api/v1/boards/{board_id}/tasks"), ("POST", "/api/v1/boards/{board_id}/tasks"),
    ("PATCH", "/api/v1/boards/{board_id}/tasks/{task_id}"),
    ("POST", "/api/v1/boards/{board_id}/approvals"),
    ("POST", "/api/v1/boards/{board_id}/webhooks"), ("PATCH", "/api/v1/boards/{board_id}/webhooks/{webhook_id}"),
    ("GET", "/api/v1/agent/boards/{board_id}/tasks"), ("POST", "/api/v1/agent/boards/{board_id}/tasks"),
    ("PATCH", "/api/v1/agent/boards/{board_id}/tasks/{task_id}"),
    ("POST", "/api/v1/agent/boards/{board_id}/approvals"),
}
# negative_data_rejection expects a body outside the schema to be refused. The older
# heartbeat routes document the body older workspaces send, but accept any body and never
# read it (the token says who is calling), so that those workspaces keep working.
UNREAD_BODIES = {("POST", "/api/v1/agents/heartbeat"), ("POST", "/api/v1/agents/{agent_id}/heartbeat")}


def excluded_checks(operation) -> list:
    key = (operation.method.upper(), operation.path)
    return ([positive_data_acceptance] if key in STATEFUL_RULES else []) + \
        ([negative_data_rejection] if key in UNREAD_BODIES else [])


def caller_headers(cast, operation) -> dict[str, str]:
    security = {name for requirement in operation.definition.raw.get("security", []) for name in requirement}
    if "UserBearer" in security or "cookieAuth" in security or not security & {"AgentToken", "AgentBearer"}:
        return dict(cast["person"])
    for tag in AGENT_TAGS:
        if tag in operation.tags:
            return dict(cast["agents"][tag])
    return dict(cast["agents"]["agent-worker"])


def call_and_validate(case, cast) -> None:
    from django.db import transaction

    with transaction.atomic():
        case.call_and_validate(headers=caller_headers(cast, case.operation),
                               excluded_checks=excluded_checks(case.operation))
        transaction.set_rollback(True)


BOUNDED = settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.mark.xdist_group("schema-boards")
@board_schema.parametrize()
@BOUNDED
def test_every_board_operation_answers_as_its_schema_says(case, cast):
    call_and_validate(case, cast)


@pytest.mark.xdist_group("schema-others")
@other_schema.parametrize()
@BOUNDED
def test_every_other_operation_answers_as_its_schema_says(case, cast):
    call_and_validate(case, cast)
