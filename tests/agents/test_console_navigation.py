"""The layout every console page shares, whichever app renders it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.agents.api_helpers import pending_approval
from tests.conftest import make_task

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("console_static")]

NAV_COUNT = '<span class="count" title="2 pending">2</span>'


@pytest.mark.parametrize("page", ["console:dashboard", "console:boards", "console:tags", "ops_console:operations",
                                  "console:activity"])
def test_every_page_shows_the_pending_approvals_count_in_the_navigation(client, member, board, page):
    pending_approval(board, make_task(board, "One"))
    pending_approval(board, make_task(board, "Two"))
    pending_approval(board, make_task(board, "Decided"), status="approved")
    client.force_login(member)
    assert NAV_COUNT in client.get(reverse(page)).content.decode()


def test_the_count_covers_only_the_boards_the_person_sees(client, outsider, board):
    pending_approval(board, make_task(board, "Theirs"))
    client.force_login(outsider)
    assert 'class="count"' not in client.get(reverse("ops_console:operations")).content.decode()
