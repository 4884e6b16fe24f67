"""Shared fixtures. The cast (people and agents) is added by the domain tests' fixtures below."""

from __future__ import annotations

import os
import time
from typing import NoReturn

import pytest

# In CI every service the product uses must really be exercised: a test that would skip
# for lack of Redis fails instead.
STRICT_SERVICES = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def redis_url_for_tests() -> str | None:
    return os.environ.get("TEST_REDIS_URL") or os.environ.get("REDIS_URL") or None


def skip_or_fail(message: str) -> NoReturn:
    """A test whose service or tool is missing: skipped on a laptop, failed in CI."""
    if STRICT_SERVICES:
        pytest.fail(message)
    pytest.skip(message)


def require_redis() -> str:
    url = redis_url_for_tests()
    if url is None:
        skip_or_fail("needs Redis: set REDIS_URL or TEST_REDIS_URL")
    return url


def require_redis_server() -> str:
    """The redis-server binary, for a test that starts a private Redis."""
    import shutil

    binary = shutil.which("redis-server")
    if binary is None:
        skip_or_fail("needs redis-server to start a private Redis")
    return binary


def require_postgres_server() -> None:
    """initdb and pg_ctl, for a test that starts a private Postgres cluster."""
    from tests.ops import servers

    if not servers.have_postgres_server():
        skip_or_fail("needs initdb and pg_ctl (and a postgres user when run as root) for a private Postgres")


@pytest.fixture
def redis_url() -> str:
    return require_redis()


def database_engine() -> str:
    """``postgresql`` or ``sqlite``: the engine this run's DATABASE_URL selects."""
    url = os.environ.get("DATABASE_URL", "")
    return "postgresql" if url.split(":", 1)[0] in ("postgres", "postgresql", "pgsql", "postgis") else "sqlite"


def require_postgres() -> None:
    """Postgres-only tests run in the Postgres pass (DATABASE_URL=postgres://...) and skip in
    the SQLite pass; on Postgres in CI, missing client tools (pg_dump) fail instead of skip."""
    import shutil

    if database_engine() != "postgresql":
        pytest.skip("runs when DATABASE_URL points at Postgres")
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        skip_or_fail("needs the PostgreSQL client tools (pg_dump, pg_restore) on PATH")


def require_sqlite() -> None:
    if database_engine() != "sqlite":
        pytest.skip("runs when DATABASE_URL is SQLite (the default)")


def from_outside(wrapper, sql: str, params: list) -> None:
    """``sql`` on a connection of its own to the server and database ``wrapper`` uses."""
    import psycopg

    conf = wrapper.settings_dict
    with psycopg.connect(host=conf["HOST"], port=conf["PORT"] or 5432, user=conf["USER"], dbname=conf["NAME"],
                         sslmode=conf["OPTIONS"].get("sslmode", "prefer"), autocommit=True) as other:
        other.execute(sql, params)


def until_the_server_has_spoken(wrapper) -> None:
    """The server's message reaches ``wrapper``'s socket a moment after the statement that
    caused it returns (a termination's farewell, a notification)."""
    import select

    assert select.select([wrapper.connection.pgconn.socket], [], [], 5)[0], "nothing arrived from the server"


def end_backend_of(wrapper) -> int:
    """End ``wrapper``'s Postgres backend as a restart would, and wait for the farewell; the pid it had."""
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    from_outside(wrapper, "SELECT pg_terminate_backend(%s)", [pid])
    until_the_server_has_spoken(wrapper)
    return pid


@pytest.fixture
def postgres_db() -> None:
    require_postgres()


# --- the end of the run --------------------------------------------------------------------

OTHER_SESSIONS_SQL = ("SELECT pid, application_name, state, left(query, 80), now() - backend_start "
                      "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test database, plus a wait at the end: on Postgres it cannot be
    dropped while another session uses it, and a live server's request thread or a
    subprocess of the last test may still be closing its connection. After 10 s whatever is
    still there is named in a warning and ended, so the database is dropped all the same."""
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock():
        deadline = time.monotonic() + 10
        while True:
            with connection.cursor() as cursor:
                cursor.execute(OTHER_SESSIONS_SQL)
                others = cursor.fetchall()
            if not others or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        if others:
            import warnings

            warnings.warn(f"sessions still on the test database at the end of the run (ended now): {others}",
                          stacklevel=1)
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid",
                               [[other[0] for other in others]])
        connection.close()


# --- a fresh start for every test --------------------------------------------------------

def clear_cache(cache) -> None:
    """Empty ``cache`` and nothing else: on Redis ``clear()`` is FLUSHDB, which would also wipe
    the keys of other xdist workers (and of anyone else using that database)."""
    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("*")
    else:
        cache.clear()


def clear_rate_limits() -> None:
    from django.core.cache import caches

    cache = caches["ratelimit"]
    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("throttle:*")  # Redis: only our counters, not the whole database
    else:
        cache.clear()


def use_redis_limits(settings, redis_url: str) -> None:
    """The rate limits on Redis, under a key prefix of this test's own."""
    import uuid

    settings.CACHES = {**settings.CACHES, "ratelimit": {
        "BACKEND": "django_redis.cache.RedisCache", "LOCATION": redis_url,
        "KEY_PREFIX": f"mc-rl-test-{uuid.uuid4().hex}"}}


@pytest.fixture(params=["locmem", "redis"])
def limiter_backend(request, settings) -> str:
    """The rate limits on each backend the product runs them on (Redis skips without one)."""
    if request.param == "redis":
        use_redis_limits(settings, request.getfixturevalue("redis_url"))
    return request.param


def redis_commands_sent(monkeypatch) -> list[bytes]:
    """Every command sent to any Redis from now on, in a list the test may read and clear."""
    import redis.connection

    sent: list[bytes] = []
    real_send = redis.connection.AbstractConnection.send_packed_command

    def counting(self, command, *args, **kwargs):
        sent.append(command)
        return real_send(self, command, *args, **kwargs)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counting)
    return sent


class FrozenClock:
    """The rate limiter's clock, stopped until a test moves it: a burst a test sends is
    counted at one moment whatever the wall clock says."""

    # 2026-01-01T00:00:00Z: a whole minute and hour, for tests that speak of clock minutes.
    START = 1_767_225_600.0

    def __init__(self, real) -> None:
        self.real = real
        self.now = self.START

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def throttle_clock(monkeypatch) -> FrozenClock:
    """In every test; a test moves ``.now``, and ``.real`` is the clock it replaced."""
    from ops import throttle

    clock = FrozenClock(throttle.clock)
    monkeypatch.setattr(throttle, "clock", clock)
    return clock


@pytest.fixture(autouse=True)
def fresh_readiness_answers():
    """``/readyz`` answers from a recent report and skips checks whose breaker is open:
    neither may carry over from one test to the next."""
    from ops import probes

    probes.forget_cached_answers()
    yield
    probes.forget_cached_answers()


@pytest.fixture
def lifted_rate_limits() -> tuple[str, ...]:
    """Scopes whose limit is lifted far above what a test sends; a folder whose tests call as
    an agent overrides this with ``("agent_auth", "agent_requests")``."""
    return ()


@pytest.fixture(autouse=True)
def fresh_rate_limits(request, lifted_rate_limits):
    """Every test starts with empty counters; the scopes in ``lifted_rate_limits`` get a limit
    far above what it sends (a test of a limit sets its own), every other keeps its real one."""
    if lifted_rate_limits:
        settings = request.getfixturevalue("settings")
        settings.RATE_LIMITS = {**settings.RATE_LIMITS, **{scope: (100_000, 60) for scope in lifted_rate_limits}}
    clear_rate_limits()
    yield
    clear_rate_limits()


# --- parallel runs (pytest-xdist) -------------------------------------------------------

RUN_STARTED = pytest.StashKey[float]()


def pytest_configure(config):
    # Under pytest-xdist the workers get the controller's start, so "this run" means the
    # same moment in each of them (the screenshot folder keeps only this run's pages).
    workerinput = getattr(config, "workerinput", None)
    config.stash[RUN_STARTED] = float(workerinput["run_started"]) if workerinput else time.time()


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """pytest-xdist, in the controller: hand each worker the run's start."""
    node.workerinput["run_started"] = str(node.config.stash[RUN_STARTED])


# Work units for ``--dist loadgroup``: a test with an ``xdist_group`` mark goes with its
# group, every other one with its module (what ``--dist loadfile`` does, so module-scoped
# servers start once). Groups named here run first, longest first: each holds a real
# OpenClaw gateway for minutes (2026.4 is the slower), and started last they would make the
# run wait for them while the other workers sit idle. The remaining modules follow, largest
# first. The gateway groups' names come from tests/gateway/conftest.py.
FIRST_GROUPS = ("openclaw-agent", "openclaw-2026.4.29", "openclaw-2026.9.6")


def _group_of(item: pytest.Item) -> str:
    names = sorted({str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
                    for mark in item.iter_markers("xdist_group")})
    return "_".join(names) if names else item.nodeid.split("::", 1)[0]


@pytest.hookimpl(tryfirst=True)  # after tests/gateway/conftest.py names its group, before xdist reads the marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if not any(item.iter_markers("xdist_group")):
            item.add_marker(pytest.mark.xdist_group(_group_of(item)))


@pytest.hookimpl(tryfirst=True)  # after every reordering of pytest_collection_modifyitems, before xdist sends the list
def pytest_collection_finish(session: pytest.Session) -> None:
    """The order of the work units, which xdist hands out in collection order."""
    groups: dict[str, list[pytest.Item]] = {}
    for item in session.items:
        groups.setdefault(_group_of(item), []).append(item)
    first = [name for name in FIRST_GROUPS if name in groups]
    rest = sorted((name for name in groups if name not in FIRST_GROUPS), key=lambda name: -len(groups[name]))
    session.items[:] = [item for name in first + rest for item in groups[name]]


# --- the shared cast ---------------------------------------------------------------------
# People: an owner, an admin and a member of ``org``; an outsider who owns ``other_org``.
# Agents: a lead and a worker on ``board``, the main agent of ``gateway``, and a worker of
# the other organization. Authorization tests use these names.


def make_org(name: str = "Acme", *, is_default: bool = False):
    from django.utils.text import slugify

    from agents.models import Organization

    return Organization.objects.create(name=name, slug=slugify(name), is_default=is_default)


def make_user(username: str, org=None, role: str = "member", **fields):
    from agents.models import Membership, User

    user = User.objects.create_user(username=username, password="pw-" + username, **fields)
    if org is not None:
        Membership.objects.create(user=user, organization=org, role=role)
    return user


def make_gateway(org, name: str = "Gateway", **fields):
    from agents.models import Gateway

    fields.setdefault("url", "ws://gateway.test:18789")
    return Gateway.objects.create(organization=org, name=name, **fields)


def make_board(org, name: str = "Board", **fields):
    from django.utils.text import slugify

    from agents.models import Board

    fields.setdefault("slug", slugify(name))
    return Board.objects.create(organization=org, name=name, **fields)


def make_agent(name: str, *, board=None, gateway=None, organization=None, lead: bool = False, **fields):
    """A board agent (``board`` given), or a gateway's main agent (``board=None``)."""
    from agents.models import Agent

    if organization is None:
        organization = board.organization if board is not None else gateway.organization
    if gateway is None and board is not None:
        gateway = board.gateway
    return Agent.objects.create(name=name, board=board, gateway=gateway, organization=organization,
                                is_board_lead=lead, **fields)


def make_task(board, title: str = "Task", **fields):
    from agents.models import Task

    return Task.objects.create(board=board, title=title, **fields)


@pytest.fixture
def org(db):
    return make_org("Acme", is_default=True)


@pytest.fixture
def other_org(db):
    return make_org("Globex")


@pytest.fixture
def owner(org):
    return make_user("owner", org, "owner")


@pytest.fixture
def admin_user(org):
    return make_user("admin", org, "admin")


@pytest.fixture
def member(org):
    return make_user("member", org, "member")


@pytest.fixture
def outsider(other_org):
    return make_user("outsider", other_org, "owner")


@pytest.fixture
def gateway(org):
    return make_gateway(org, "Acme gateway")


@pytest.fixture
def other_gateway(other_org):
    return make_gateway(other_org, "Globex gateway")


@pytest.fixture
def board(org, gateway):
    return make_board(org, "Launch", gateway=gateway)


@pytest.fixture
def other_board(other_org, other_gateway):
    return make_board(other_org, "Globex board", gateway=other_gateway)


@pytest.fixture
def lead(board):
    return make_agent("Lead", board=board, lead=True)


@pytest.fixture
def worker(board):
    return make_agent("Worker", board=board)


@pytest.fixture
def main_agent(gateway):
    return make_agent("Main", gateway=gateway)


@pytest.fixture
def other_main_agent(other_gateway):
    return make_agent("Globex main", gateway=other_gateway)


@pytest.fixture
def foreign_agent(other_board):
    return make_agent("Foreign worker", board=other_board)


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def as_agent():
    """``as_agent(agent)``: a client sending a freshly minted token for ``agent``."""
    from agents.tokens import mint_token
    from tests.agents.agent_client import agent_client

    def build(agent, form: str = "x-agent-token", ip: str = "127.0.0.1"):
        return agent_client(mint_token(agent), form, ip)

    return build


@pytest.fixture
def client_for(db):
    """``client_for(user)``: an APIClient logged in as ``user`` with a session."""
    from rest_framework.test import APIClient

    def build(user):
        client = APIClient()
        client.force_login(user)
        return client

    return build


@pytest.fixture
def console_static(settings):
    """Pages link their CSS and JS through the static storage; tests render them without a
    collectstatic run, so the hashed-name manifest is replaced by plain names."""
    settings.STORAGES = {**settings.STORAGES,
                         "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
