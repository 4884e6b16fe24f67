"""The dashboard's trend charts: server-side SVG with a text alternative, the range kept in
the URL, and a range it does not know said in words."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from agents.models import ActivityEvent
from tests.conftest import make_task

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("console_static")]


def finished_today(board, title, hours):
    task = make_task(board, title, status="done")
    now = timezone.now()
    for to, ago in (("in_progress", hours), ("done", 0)):
        ActivityEvent.objects.create(event_type="task.status_changed", actor_type="system",
                                     organization_id=board.organization_id, board_id=board.pk, task_id=task.pk,
                                     data={"from": "x", "to": to}, created_at=now - timedelta(hours=ago, seconds=1))
    return task


def test_the_dashboard_draws_each_trend_as_svg_with_its_values_in_a_table(client, member, board):
    finished_today(board, "Ship it", 2)
    client.force_login(member)
    html = client.get(reverse("console:dashboard"), {"range_key": "14d"}).content.decode()

    charts = re.findall(r'<figure class="card chart" id="chart-([a-z]+)">', html)
    assert charts == ["tasks", "cycle", "approvals", "deliveries", "agents"]
    labels = re.findall(r'<svg class="chart-svg"[^>]* role="img" aria-label="([^"]+)"', html)
    assert len(labels) == 5
    assert labels[0].startswith("Tasks opened and closed per day,") and "1 closed" in labels[0]
    # One row per day of the range in each chart's table; today's closing and its cycle time are there.
    assert html.count('<tr><th scope="row">') == 5 * 14
    today = timezone.now().date()
    assert f'<tr><th scope="row">{today.day} {today:%b}</th><td class="num">0</td><td class="num">1</td></tr>' in html
    assert '<td class="num">2.0 h</td>' in html
    assert 'class="chart-closed"' in html and "<rect" in html
    # The console's CSP forbids inline style: colours come from classes.
    assert "style=" not in html and "<style" not in html
    assert '<option value="14d" selected>Last 14 days</option>' in html


def test_an_unknown_range_is_said_in_words_and_the_default_shown(client, member, board):
    client.force_login(member)
    response = client.get(reverse("console:dashboard"), {"range_key": "forever"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "“forever” is not one of the ranges" in html and "showing the last 24 hours." in html
    assert '<option value="24h" selected>' in html
    assert html.count('<tr><th scope="row">') == 5 * 2


def test_a_known_range_says_nothing_about_ranges(client, member, board):
    client.force_login(member)
    html = client.get(reverse("console:dashboard"), {"range_key": "90d"}).content.decode()
    assert "is not one of the ranges" not in html
    assert html.count('<tr><th scope="row">') == 5 * 90


def test_the_live_fragment_carries_the_trends_of_the_range_in_its_url(client, member, board):
    client.force_login(member)
    html = client.get(reverse("console:dashboard_live"), {"range_key": "7d"}).content.decode()
    assert html.count('<tr><th scope="row">') == 5 * 7 and 'id="chart-agents"' in html


def test_a_member_limited_to_some_boards_sees_the_figures_of_those_boards_only(client, admin_user, member, org,
                                                                               gateway, board, worker):
    from django.http import QueryDict

    from agents import rules
    from agents.console.dashboard import context_for
    from agents.models import Membership
    from tests.agents.api_helpers import pending_approval
    from tests.conftest import make_agent, make_board

    hidden = make_board(org, "Payroll", gateway=gateway)
    for n in range(3):
        pending_approval(hidden, finished_today(hidden, f"Pay run {n}", 2))
    make_agent("Payroll worker", board=hidden, gateway=gateway)
    finished_today(board, "Launch post", 1)
    rules.set_board_access(admin_user, Membership.objects.get(user=member), {
        "all_boards_read": False, "all_boards_write": False, "boards": [{"board_id": str(board.pk)}]})

    mine, everything = context_for(member, QueryDict("range_key=7d")), context_for(admin_user, QueryDict("range_key=7d"))

    assert (mine["task_total"], mine["done_in_range"], mine["pending_count"], mine["agents_total"]) == (1, 1, 0, 1)
    assert (everything["task_total"], everything["done_in_range"], everything["pending_count"]) == (4, 4, 3)
    assert mine["agents_provisioning"] == 1 and everything["agents_provisioning"] == 2
    tasks_chart = next(chart for chart in mine["charts"] if chart.key == "tasks")
    assert tasks_chart.summary.endswith(": 0 opened, 1 closed.")
    client.force_login(member)
    html = client.get(reverse("console:dashboard"), {"range_key": "7d"}).content.decode()
    assert "Pay run" not in html and "Payroll" not in html
