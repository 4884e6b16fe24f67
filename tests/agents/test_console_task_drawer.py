"""The task drawer's server side: an htmx request for a task page gets the drawer's fragment
(the page's own partials), a change made in it goes through the same view and rules and comes
back as the fragment, a refusal as a 422 fragment with the rule's sentence; and the htmx
script tag is there only when the file is, so a clone without it still renders every page."""

from __future__ import annotations

import html as html_lib
import importlib.util
import io
import re
import tarfile
from pathlib import Path

import pytest
from django.urls import reverse

from agents.models import ActivityEvent, Task
from agents.templatetags import console as console_tags
from tests.conftest import make_task

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("console_static")]

HX = {"HTTP_HX_REQUEST": "true"}
ROOT = Path(__file__).resolve().parents[2]


def edit_data(task: Task, **changes: str) -> dict[str, str]:
    data = {"title": task.title, "description": task.description, "status": task.status,
            "priority": task.priority, "assigned_agent": str(task.assigned_agent_id or ""), "due_at": "",
            "comment": ""}
    data.update(changes)
    return data


def test_an_htmx_request_for_a_task_gets_the_drawer_fragment_and_a_plain_one_the_page(client, owner, board):
    task = make_task(board, "Write the launch post")
    client.force_login(owner)
    url = reverse("console:task", args=[board.pk, task.pk])

    fragment = client.get(url, **HX)
    assert fragment.status_code == 200
    body = fragment.content.decode()
    assert "<html" not in body and "sidebar" not in body
    assert '<h1 id="task-heading">Write the launch post</h1>' in body
    # The edit form posts with htmx into the drawer, under ids of its own.
    assert f'hx-post="{reverse("console:task_edit", args=[board.pk, task.pk])}"' in body
    assert 'id="drawer-status"' in body and 'id="id_status"' not in body
    assert "HX-Request" in fragment["Vary"]

    full = client.get(url)
    assert full.status_code == 200
    page = full.content.decode()
    assert "<html" in page and 'class="sidebar"' in page
    assert '<h1 id="task-heading">Write the launch post</h1>' in page
    assert "hx-post" not in page and 'id="id_status"' in page
    assert "HX-Request" in full["Vary"]


def test_a_change_in_the_drawer_goes_through_the_rules_and_answers_the_fragment(client, owner, board, worker):
    task = make_task(board, "Ship it", status="inbox")
    client.force_login(owner)
    response = client.post(reverse("console:task_edit", args=[board.pk, task.pk]),
                           edit_data(task, status="in_progress", assigned_agent=str(worker.pk)), **HX)
    assert response.status_code == 200
    assert response["HX-Trigger"] == "mc-task-changed"
    body = response.content.decode()
    assert "<html" not in body
    assert "Task updated." in body
    assert re.search(r'<select[^>]*id="drawer-status"[^>]*>.*?<option value="in_progress" selected',
                     body, re.S)
    task.refresh_from_db()
    assert task.status == "in_progress" and task.assigned_agent_id == worker.pk
    # The same write path as the page's form: the rules recorded the change.
    assert ActivityEvent.objects.filter(task_id=task.pk, event_type="task.status_changed").exists()


def test_the_drawer_fragment_is_guarded_like_the_page(client, outsider, owner, board):
    task = make_task(board, "Ship it")
    url = reverse("console:task", args=[board.pk, task.pk])
    # Signed out: the same redirect to sign in (console.js follows it out of the drawer).
    response = client.get(url, **HX)
    assert response.status_code == 302 and response["Location"].startswith(reverse("console:login"))
    client.force_login(outsider)
    assert client.get(url, **HX).status_code == 404
    response = client.post(reverse("console:task_edit", args=[board.pk, task.pk]),
                           edit_data(task, status="done"), **HX)
    assert response.status_code == 404
    task.refresh_from_db()
    assert task.status == "inbox"


def test_nothing_changed_in_the_drawer_says_so_in_the_fragment(client, owner, board):
    task = make_task(board, "Ship it")
    client.force_login(owner)
    response = client.post(reverse("console:task_edit", args=[board.pk, task.pk]), edit_data(task), **HX)
    assert response.status_code == 200
    assert "Nothing changed." in response.content.decode()
    assert "HX-Trigger" not in response


def test_a_refused_change_in_the_drawer_is_a_422_fragment_with_the_rules_sentence(client, owner, board):
    board.require_approval_for_done = True
    board.save(update_fields=["require_approval_for_done"])
    task = make_task(board, "Ship it", status="in_progress")
    client.force_login(owner)
    response = client.post(reverse("console:task_edit", args=[board.pk, task.pk]),
                           edit_data(task, status="done"), **HX)
    assert response.status_code == 422
    assert "HX-Trigger" not in response
    body = html_lib.unescape(response.content.decode())
    assert "<html" not in body
    assert "On this board a task needs an approved mark_done approval" in body
    # What was asked for stays chosen, under the drawer's ids (focus returns to that menu).
    assert re.search(r'<select[^>]*id="drawer-status"[^>]*>.*?<option value="done" selected', body, re.S)
    task.refresh_from_db()
    assert task.status == "in_progress"


def test_without_htmx_the_same_form_still_redirects_to_the_page(client, owner, board):
    task = make_task(board, "Ship it")
    client.force_login(owner)
    response = client.post(reverse("console:task_edit", args=[board.pk, task.pk]),
                           edit_data(task, priority="high"))
    assert response.status_code == 302
    assert response["Location"] == reverse("console:task", args=[board.pk, task.pk])


def test_a_board_card_opens_the_drawer_and_its_link_still_opens_the_page(client, owner, board):
    task = make_task(board, "Write the launch post")
    client.force_login(owner)
    body = client.get(reverse("console:board", args=[board.pk])).content.decode()
    url = reverse("console:task", args=[board.pk, task.pk])
    assert f'<a href="{url}" hx-get="{url}" hx-target="#task-drawer-body"' in body
    assert 'hx-push-url="true"' in body
    assert '<dialog id="task-drawer"' in body


def test_pages_carry_the_htmx_script_and_config_when_the_file_is_there(client, owner, board, settings, tmp_path):
    vendor = tmp_path / "vendor"
    vendor.mkdir()
    (vendor / "htmx.min.js").write_text("/* stand-in */")
    settings.STATICFILES_DIRS = [*settings.STATICFILES_DIRS, tmp_path]
    client.force_login(owner)
    body = client.get(reverse("console:board", args=[board.pk])).content.decode()
    assert '<script src="/static/vendor/htmx.min.js" defer></script>' in body
    config = re.search(r'<meta name="htmx-config" content="([^"]+)">', body)
    assert config is not None
    text = html_lib.unescape(config.group(1))
    assert '"allowEval":false' in text and '"includeIndicatorStyles":false' in text
    # The meta tag comes before the script: htmx reads it when it loads.
    assert body.index('name="htmx-config"') < body.index("vendor/htmx.min.js")


def test_a_missing_htmx_file_leaves_the_script_out_and_every_page_works(client, owner, board, monkeypatch):
    monkeypatch.setattr(console_tags, "HTMX_SCRIPT", "vendor/not-installed.min.js")
    task = make_task(board, "Write the launch post")
    client.force_login(owner)
    for url in (reverse("console:board", args=[board.pk]), reverse("console:task", args=[board.pk, task.pk]),
                reverse("console:dashboard")):
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        assert "htmx" not in body.split("</head>")[0], url
        assert "console/console.js" in body


def test_htmx_left_out_of_the_collected_manifest_is_no_500(settings, tmp_path):
    """Production collects static files into a manifest; a file missing from it makes
    ``{% static %}`` raise. The file is found but was not collected: the tag leaves it out."""
    vendor = tmp_path / "src" / "vendor"
    vendor.mkdir(parents=True)
    (vendor / "htmx.min.js").write_text("/* stand-in */")
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "staticfiles.json").write_text('{"paths": {}, "version": "1.1", "hash": "x"}')
    settings.STATICFILES_DIRS = [tmp_path / "src"]
    settings.STATIC_ROOT = tmp_path / "root"
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"}}
    assert console_tags.htmx_url() is None
    assert console_tags.htmx_script() == ""


# ---- scripts/htmx.py: what it refuses ----------------------------------------------------

def load_installer():
    spec = importlib.util.spec_from_file_location("htmx_installer", ROOT / "scripts" / "htmx.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tarball_with(member: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        info = tarfile.TarInfo(member)
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def test_the_installer_refuses_a_tarball_that_is_not_the_pinned_one(tmp_path, monkeypatch, capsys):
    installer = load_installer()
    monkeypatch.setattr(installer, "TARGET", tmp_path / "vendor" / "htmx.min.js")
    monkeypatch.setattr(installer, "fetch", lambda url: tarball_with(installer.MEMBER, b"alert(1)"))
    assert installer.install() == 1
    assert not (tmp_path / "vendor" / "htmx.min.js").exists()
    err = capsys.readouterr().err
    assert err.count("WARNING") == 1 and "does not have the pinned sha512" in err


def test_the_installer_offline_warns_once_and_places_nothing(tmp_path, monkeypatch, capsys):
    installer = load_installer()
    monkeypatch.setattr(installer, "TARGET", tmp_path / "vendor" / "htmx.min.js")

    def offline(url):
        raise installer.InstallError(f"could not download {url}: no network")

    monkeypatch.setattr(installer, "fetch", offline)
    assert installer.install() == 1
    assert not (tmp_path / "vendor").exists()
    err = capsys.readouterr().err
    assert err.count("WARNING") == 1 and "could not download" in err and "works without it" in err


def test_the_installer_refuses_a_script_whose_hash_differs_even_from_a_matching_tarball(monkeypatch):
    installer = load_installer()
    tarball = tarball_with(installer.MEMBER, b"not htmx")
    import base64
    import hashlib
    monkeypatch.setattr(installer, "TARBALL_INTEGRITY",
                        "sha512-" + base64.b64encode(hashlib.sha512(tarball).digest()).decode())
    with pytest.raises(installer.InstallError, match="does not have the pinned sha256"):
        installer.script_from(tarball)


def _points_field(board, **fields):
    from agents.models import CustomFieldDefinition

    definition = CustomFieldDefinition.objects.create(organization=board.organization, field_key="points",
                                                      label="Story points", field_type="number", **fields)
    definition.boards.add(board)
    return definition


def test_the_drawer_shows_and_saves_the_boards_custom_fields(client, owner, board):
    _points_field(board)
    task = make_task(board, "Ship it")
    client.force_login(owner)
    body = client.get(reverse("console:task", args=[board.pk, task.pk]), **HX).content.decode()
    assert "Story points" in body
    assert re.search(r'<form[^>]*hx-post="[^"]*/fields"[^>]*hx-target="#task-drawer-body"', body)
    assert 'id="drawer-cf_points"' in body  # the drawer's ids, apart from the board page's forms

    response = client.post(reverse("console:task_custom_fields", args=[board.pk, task.pk]), {"cf_points": "5"}, **HX)
    assert response.status_code == 200
    assert response["HX-Trigger"] == "mc-task-changed"
    assert "Custom fields saved." in response.content.decode() and "<html" not in response.content.decode()
    task.refresh_from_db()
    assert task.custom_field_values == {"points": 5}
    response = client.post(reverse("console:task_custom_fields", args=[board.pk, task.pk]), {"cf_points": "5"}, **HX)
    assert "Nothing changed." in response.content.decode() and "HX-Trigger" not in response


def test_a_refused_custom_field_in_the_drawer_is_a_422_fragment_with_its_sentence(client, owner, board):
    _points_field(board)
    task = make_task(board, "Ship it")
    client.force_login(owner)
    response = client.post(reverse("console:task_custom_fields", args=[board.pk, task.pk]), {"cf_points": "many"},
                           **HX)
    assert response.status_code == 422
    body = html_lib.unescape(response.content.decode())
    assert "<html" not in body and "Story points must be a number." in body
    task.refresh_from_db()
    assert task.custom_field_values == {}


def test_a_board_without_custom_fields_has_no_such_section_in_the_drawer(client, owner, board):
    task = make_task(board, "Ship it")
    client.force_login(owner)
    body = client.get(reverse("console:task", args=[board.pk, task.pk]), **HX).content.decode()
    assert 'id="custom-fields"' not in body


# ---- comments, dependencies and tags, approvals in the drawer ------------------------------

def _alert(body: str) -> str:
    """The text the drawer's alert region gets (out of band): what screen readers hear."""
    found = re.search(r'<div id="task-drawer-alert" hx-swap-oob="innerHTML">(.*?)</div>', body, re.S)
    assert found is not None, "the fragment fills the drawer's alert region"
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", found.group(1))).strip()


def test_the_drawer_shows_comments_dependencies_tags_and_approvals_with_their_forms(client, owner, org, board):
    from agents import rules
    from agents.models import Tag

    first = make_task(board, "Write the draft")
    make_task(board, "Book the venue")
    task = make_task(board, "Publish the post")
    tag = Tag.objects.create(organization=org, name="Docs", slug="docs", color="3366cc")
    rules.update_task(owner, task, {"depends_on_task_ids": [str(first.pk)], "tag_ids": [str(tag.pk)]})
    rules.add_comment(owner, task, "Use the **spring** photos.")
    rules.request_approval(owner, board, {"action_type": "mark_done", "task_id": task.pk,
                                          "lead_reasoning": "The draft is read.", "confidence": 90})
    client.force_login(owner)
    body = client.get(reverse("console:task", args=[board.pk, task.pk]), **HX).content.decode()

    assert "<strong>spring</strong>" in body  # the comment, in Markdown as on the page
    for name in ("task_comment", "task_relations"):
        url = reverse(f"console:{name}", args=[board.pk, task.pk])
        assert re.search(rf'<form[^>]*hx-post="{re.escape(url)}"[^>]*hx-target="#task-drawer-body"', body), name
    assert 'id="drawer-message"' in body and "data-mention-names" in body
    # Dependencies: a list of checkboxes (no multi-select), the chosen one first and ticked.
    assert "<select" not in body.split('id="dependencies"')[1].split("</section>")[0]
    boxes = re.findall(r'<input type="checkbox" name="depends_on" value="([^"]+)"([^>]*)>', body)
    assert [value for value, _ in boxes][0] == str(first.pk) and "checked" in boxes[0][1]
    assert len(boxes) == 2 and "checked" not in boxes[1][1]
    assert re.search(rf'<input type="checkbox" name="tags" value="{tag.pk}"[^>]*checked', body)
    assert 'fill="#3366cc"' in body  # the tag in its colour
    # Approvals: the pending one, and no second request while it waits.
    assert "The draft is read." in body and "Decide in the queue" in body
    assert reverse("console:task_approval", args=[board.pk, task.pk]) not in body
    assert _alert(body) == ""


def test_a_comment_posted_from_the_drawer_goes_through_the_rule_and_answers_the_fragment(client, owner, board):
    from agents.models import TaskComment

    task = make_task(board, "Publish the post")
    client.force_login(owner)
    response = client.post(reverse("console:task_comment", args=[board.pk, task.pk]),
                           {"message": "Ready for **review**."}, **HX)
    assert response.status_code == 200
    assert response["HX-Trigger"] == "mc-task-changed"  # the card's comment count changes
    body = response.content.decode()
    assert "<html" not in body and "Comment posted." in body
    assert "Ready for <strong>review</strong>." in body
    assert TaskComment.objects.filter(task=task, author_user=owner, message="Ready for **review**.").count() == 1
    assert ActivityEvent.objects.filter(task_id=task.pk, event_type="task.commented").exists()


def test_a_refused_comment_in_the_drawer_is_a_422_fragment_with_its_sentence_in_place_and_in_the_alert(
        client, owner, board):
    from agents.models import TaskComment

    task = make_task(board, "Publish the post")
    client.force_login(owner)
    response = client.post(reverse("console:task_comment", args=[board.pk, task.pk]), {"message": "   "}, **HX)
    assert response.status_code == 422
    assert "HX-Trigger" not in response
    body = response.content.decode()
    assert "<html" not in body
    assert re.search(r'<ul class="errorlist" id="drawer-message_error"><li>This field is required.</li>', body)
    assert _alert(body) == "Not saved: Comment: This field is required."
    assert not TaskComment.objects.filter(task=task).exists()


def test_dependencies_and_tags_saved_from_the_drawer_answer_the_fragment(client, owner, org, board):
    from agents.models import Tag

    first = make_task(board, "Write the draft")
    task = make_task(board, "Publish the post")
    tag = Tag.objects.create(organization=org, name="Docs", slug="docs")
    client.force_login(owner)
    response = client.post(reverse("console:task_relations", args=[board.pk, task.pk]),
                           {"depends_on": [str(first.pk)], "tags": [str(tag.pk)]}, **HX)
    assert response.status_code == 200
    assert response["HX-Trigger"] == "mc-task-changed"
    body = response.content.decode()
    assert "<html" not in body and "Dependencies and tags saved." in body
    assert '<span class="badge blocked">Blocked</span>' in body
    # The section that was saved stays open, its heading the place focus falls back to.
    assert re.search(r'<h2 id="deps-heading" tabindex="-1" data-drawer-saved>', body)
    assert re.search(r'<details open>\s*<summary>Change dependencies and tags', body)
    assert list(task.depends_on.all()) == [first] and list(task.tags.all()) == [tag]


def test_a_dependency_cycle_in_the_drawer_is_a_422_fragment_with_the_rules_sentence(client, owner, board):
    from agents import rules
    from agents.refusals import RuleViolation

    first = make_task(board, "Write the draft")
    second = make_task(board, "Publish the post")
    rules.update_task(owner, second, {"depends_on_task_ids": [str(first.pk)]})
    with pytest.raises(RuleViolation) as refusal:
        rules.update_task(owner, first, {"depends_on_task_ids": [str(second.pk)]})
    sentence = refusal.value.message
    client.force_login(owner)
    response = client.post(reverse("console:task_relations", args=[board.pk, first.pk]),
                           {"depends_on": [str(second.pk)]}, **HX)
    assert response.status_code == 422
    assert "HX-Trigger" not in response
    body = response.content.decode()
    assert "<html" not in body
    assert f'<li class="message error">{html_lib.escape(sentence)}</li>' in body  # in place, above the form
    assert _alert(body) == f"Not saved: {sentence}"
    # The section is open, with what was asked for still ticked.
    assert re.search(r'<details open>\s*<summary>Change dependencies and tags', body)
    assert re.search(rf'<input type="checkbox" name="depends_on" value="{second.pk}"[^>]*checked', body)
    assert list(first.depends_on.all()) == []


def test_an_approval_asked_for_from_the_drawer_answers_the_fragment_and_a_refusal_is_a_422(client, owner, board):
    from agents.models import Approval

    task = make_task(board, "Publish the post")
    client.force_login(owner)
    url = reverse("console:task_approval", args=[board.pk, task.pk])
    body = client.get(reverse("console:task", args=[board.pk, task.pk]), **HX).content.decode()
    assert re.search(rf'<form[^>]*hx-post="{re.escape(url)}"[^>]*hx-target="#task-drawer-body"', body)

    refused = client.post(url, {"action_type": "  ", "reasoning": "Ready.", "confidence": "80"}, **HX)
    assert refused.status_code == 422
    refused_body = refused.content.decode()
    assert "<html" not in refused_body and "HX-Trigger" not in refused
    assert _alert(refused_body).startswith("Not saved: What needs approving: ")
    assert not Approval.objects.exists()

    response = client.post(url, {"action_type": "mark_done", "reasoning": "Ready.", "confidence": "80"}, **HX)
    assert response.status_code == 200
    assert response["HX-Trigger"] == "mc-task-changed"
    body = response.content.decode()
    assert "Approval requested. It waits in the approvals queue." in body
    assert '<span class="badge pending">Awaiting approval</span>' in body
    approval = Approval.objects.get()
    assert approval.requested_by_user == owner and list(approval.task_links.values_list("task_id", flat=True)) == [
        task.pk]


def test_the_task_page_without_htmx_still_posts_comments_and_relations_as_pages(client, owner, board):
    first = make_task(board, "Write the draft")
    task = make_task(board, "Publish the post")
    client.force_login(owner)
    page = client.get(reverse("console:task", args=[board.pk, task.pk])).content.decode()
    assert "hx-post" not in page and 'id="id_depends_on_0"' in page and "<select multiple" not in page
    response = client.post(reverse("console:task_comment", args=[board.pk, task.pk]), {"message": "Done soon."})
    assert response.status_code == 302
    assert response["Location"] == reverse("console:task", args=[board.pk, task.pk]) + "#comments"
    response = client.post(reverse("console:task_relations", args=[board.pk, task.pk]), {"depends_on": [str(first.pk)]})
    assert response.status_code == 302 and list(task.depends_on.all()) == [first]


def test_the_drawer_costs_a_number_of_queries_that_does_not_grow_with_the_task(client, owner, org, board):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from agents import rules
    from agents.models import Tag

    task = make_task(board, "Publish the post")
    client.force_login(owner)
    url = reverse("console:task", args=[board.pk, task.pk])
    client.get(url, **HX)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url, **HX).status_code == 200
        return len(queries.captured_queries)

    small = count()
    others = [make_task(board, f"Step {n}") for n in range(12)]
    tags = [Tag.objects.create(organization=org, name=f"Tag {n}", slug=f"tag-{n}") for n in range(6)]
    rules.update_task(owner, task, {"depends_on_task_ids": [str(t.pk) for t in others[:5]],
                                    "tag_ids": [str(t.pk) for t in tags[:3]]})
    for n in range(5):
        rules.add_comment(owner, task, f"Note {n}")
    assert count() == small
    # Session, user, board, task; its comments, dependencies, dependents, approvals, tags; the
    # board's custom fields and agents (twice: the list, the assignee menu); the picker's tasks
    # and tags; the board's change stamp (the drawer is live, agents.live). The history is not
    # read: the drawer links to the full page for it.
    assert small <= 15, small
