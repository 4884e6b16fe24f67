"""Markdown as the console shows it (agents.markup): rendered, sanitized, mentions linked."""

from __future__ import annotations

import re

import pytest

from agents.markup import render
from tests.conftest import make_agent, make_board, make_org, make_task

pytestmark = pytest.mark.django_db


def test_markdown_becomes_html():
    html = render("# Plan\n\n**Ship** it, *then* `announce`:\n\n- docs\n- ~~blog~~\n\n> quoted\n\n"
                  "| a | b |\n|---|--:|\n| 1 | 2 |\n\n[site](https://example.com/x)")
    for piece in ("<h1>Plan</h1>", "<strong>Ship</strong>", "<em>then</em>", "<code>announce</code>", "<li>docs</li>",
                  "<s>blog</s>", "<blockquote>", "<td>1</td>", 'style="text-align:right"'):
        assert piece in html, piece
    assert re.search(r'<a href="https://example.com/x" rel="noopener noreferrer nofollow">site</a>', html), html


def test_nothing_gives_nothing():
    assert render("") == "" and render(None) == ""


@pytest.mark.parametrize("attack", [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="https://example.com" onclick="alert(1)">x</a>',
    "<svg><script>alert(1)</script></svg>",
    '<svg onload="alert(1)"><circle r="1"/></svg>',
    "<iframe src=https://example.com></iframe>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    "<math><mi xlink:href=\"javascript:alert(1)\">x</mi></math>",
])
def test_raw_html_is_shown_as_text_never_as_markup(attack):
    html = render(attack)
    assert "<script" not in html and "<img" not in html and "<svg" not in html and "<iframe" not in html
    assert "<div" not in html and "<math" not in html
    assert not re.search(r"<[^>]+\son\w+=", html)
    # It is all still there for the reader, escaped.
    assert "&lt;" in html


@pytest.mark.parametrize("link", [
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](  javascript:alert(1))",
    "[x](vbscript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](file:///etc/passwd)",
    "![x](javascript:alert(1))",
    "<javascript:alert(1)>",
    '[x](https://example.com "title" onmouseover=alert(1))',
])
def test_links_are_http_https_or_mailto_only(link):
    html = render(link)
    # No attribute carries the scheme; the text may still show it, as plain text.
    assert not re.search(r"""(href|src)\s*=\s*["']?\s*(javascript|vbscript|data|file):""", html, re.IGNORECASE), html
    assert not re.search(r"<[^>]+\son\w+=", html)
    assert "<img" not in html  # images are not shown at all: no tracking pixels in the console


def test_a_mailto_link_stays():
    assert 'href="mailto:ops@example.com"' in render("[write](mailto:ops@example.com)")


def test_mentions_of_board_agents_link_to_their_pages():
    board = make_board(make_org("Acme"), "Launch")
    lead = make_agent("Scribe", board=board, lead=True)
    worker = make_agent("Worker Two", board=board)
    html = render("@Worker Two please check, then tell @lead. Not @nobody or mail@example.com.", [lead, worker])
    assert f'<a href="/agents/{worker.pk}/" class="mention" rel="noopener noreferrer nofollow">@Worker Two</a>' in html
    assert f'href="/agents/{lead.pk}/"' in html and ">@lead</a>" in html
    assert "@nobody" in html and html.count("<a ") == 2  # an unknown name and an address stay text


def test_a_mention_inside_code_or_a_link_is_left_alone():
    board = make_board(make_org("Acme"), "Launch")
    lead = make_agent("Scribe", board=board, lead=True)
    html = render("`@Scribe` and [@Scribe](https://example.com)", [lead])
    assert "<code>@Scribe</code>" in html and "/agents/" not in html


@pytest.mark.usefixtures("console_static")
def test_the_task_page_shows_the_description_and_comments_as_markdown(client_for, owner, org):
    from agents.models import TaskComment

    board = make_board(org, "Launch")
    lead = make_agent("Scribe", board=board, lead=True)
    task = make_task(board, "Write", description="**Bold** <script>alert(1)</script>")
    TaskComment.objects.create(task=task, message="Over to @Scribe", author_user=owner)
    page = client_for(owner).get(f"/boards/{board.pk}/tasks/{task.pk}/").content.decode()
    assert "<strong>Bold</strong>" in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert f'<a href="/agents/{lead.pk}/" class="mention"' in page


@pytest.mark.usefixtures("console_static")
def test_board_chat_shows_as_markdown_and_system_notes_as_before(client_for, owner, org):
    from agents.models import BoardMemory

    board = make_board(org, "Launch")
    make_agent("Scribe", board=board, lead=True)
    BoardMemory.objects.create(board=board, content="**Go** @Scribe", is_chat=True, author_user=owner)
    BoardMemory.objects.create(board=board, content="**not markdown** <b>x</b>", source="system")
    page = client_for(owner).get(f"/boards/{board.pk}/memory").content.decode()
    assert "<strong>Go</strong>" in page and 'class="mention"' in page
    assert "**not markdown** &lt;b&gt;x&lt;/b&gt;" in page
