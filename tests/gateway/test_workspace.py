"""The workspace files Mission Control writes for an agent: their content, and that every
command they tell the agent to run works against our server exactly as written."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from agents import tokens
from agents.gateway import workspace
from agents.models import Approval, CustomFieldDefinition, Task
from tests.conftest import make_agent, make_task, make_user

pytestmark = pytest.mark.django_db

NEEDS_TOOLS = pytest.mark.skipif(shutil.which("curl") is None or shutil.which("jq") is None,
                                 reason="needs curl and jq (Debian: apt-get install curl jq)")
CODE_BLOCK = re.compile(r"```bash\n(.*?)```", re.S)


def files_of(agent, token="mc_0123456789abcdef_" + "x" * 43, base_url="http://mc.test"):
    return {f.name: f.content for f in workspace.render_workspace(agent, token, base_url=base_url)}


def test_a_worker_gets_the_common_files_and_a_lead_also_bootstrap(lead, worker, main_agent):
    assert set(files_of(worker)) == set(workspace.COMMON_FILES)
    assert set(files_of(main_agent)) == set(workspace.COMMON_FILES)
    assert set(files_of(lead)) == {*workspace.COMMON_FILES, "BOOTSTRAP.md"}


def test_agents_md_alone_carries_the_token_the_heartbeat_and_the_work(worker, board):
    text = files_of(worker, token="mc_00000000000000aa_secretsecretsecretsecret")["AGENTS.md"]
    assert "MC_AGENT_TOKEN=mc_00000000000000aa_secretsecretsecretsecret" in text
    assert "/api/v1/agent/heartbeat" in text and f"/api/v1/agent/boards/{board.pk}/tasks" in text
    assert "## Every heartbeat" in text and "## Doing the work" in text
    assert "None" not in text and "{{" not in text and "{%" not in text


def test_the_board_s_rules_and_objective_are_in_the_agent_s_words(worker, board):
    board.objective, board.require_review_before_done = "Ship the new site by Friday.", True
    board.save()
    text = files_of(worker)["AGENTS.md"]
    assert "Ship the new site by Friday." in text
    assert "a task reaches done only from review" in text
    assert "a task is done only after a person approved it" in text


def test_the_token_is_read_back_from_our_files_and_from_the_earlier_formats(worker):
    token = "mc_1111111111111111_" + "y" * 43
    for name in ("AGENTS.md", "TOOLS.md"):
        assert workspace.read_token(files_of(worker, token=token)[name]) == token
    assert workspace.read_token("- `AUTH_TOKEN=old-style-token`\n") == "old-style-token"
    assert workspace.read_token("AUTH_TOKEN=plain\nBASE_URL=x\n") == "plain"
    assert workspace.read_token("no token here") is None


def test_identity_and_soul_written_by_a_person_are_used_as_they_are(board):
    agent = make_agent("Scribe", board=board, identity_template="I am {{ not a template }}.",
                       soul_template="Careful and kind. {% never evaluated %}",
                       identity_profile={"role": "Editor", "emoji": ":pen:", "verbosity": "low"})
    files = files_of(agent)
    assert files["IDENTITY.md"] == "I am {{ not a template }}.\n"
    assert files["SOUL.md"] == "Careful and kind. {% never evaluated %}\n"
    default_identity = files_of(make_agent("Plain", board=board, identity_profile={"role": "Editor",
                                                                                    "verbosity": "low"}))["IDENTITY.md"]
    assert "- Role: Editor" in default_identity and "- Verbosity: low" in default_identity


def test_a_grouped_board_s_agents_are_told_the_group_s_routes_and_others_are_not(worker, board, org):
    from agents.models import BoardGroup

    assert "group-memory" not in files_of(worker)["AGENTS.md"]
    board.group = BoardGroup.objects.create(organization=org, name="Release train", slug="release-train")
    board.save()
    worker.refresh_from_db()
    files = files_of(worker)
    for name in ("AGENTS.md", "HEARTBEAT.md"):
        assert f"/api/v1/boards/{board.pk}/group-memory?limit=20" in files[name], name
        assert f"/api/v1/boards/{board.pk}/group-snapshot" in files[name], name
    assert 'the group "Release train"' in files["AGENTS.md"]
    assert f"-X POST http://mc.test/api/v1/boards/{board.pk}/group-memory" in files["AGENTS.md"]


def test_user_md_names_the_people_of_the_organization(worker, org):
    make_user("maria", org, "owner", first_name="Maria", last_name="Silva")
    assert "Maria Silva (owner)" in files_of(worker)["USER.md"]


# --- every command, run as written ---------------------------------------------------------


def commands(text: str) -> list[str]:
    return [line.strip() for block in CODE_BLOCK.findall(text) for line in block.splitlines()
            if line.strip().startswith("curl ")]


def run(command: str) -> str:
    result = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"{command}\nexit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def assert_listing(output: str) -> None:
    """The OpenAPI listing the files show: one row per operation, five cells, none empty."""
    rows = [line.split("\t") for line in output.strip().splitlines()]
    assert rows, "the role has no operation"
    for row in rows:
        assert len(row) == 5 and all(cell.strip() and cell != "-" for cell in row), row


@NEEDS_TOOLS
@pytest.mark.django_db(transaction=True)
def test_every_command_in_a_worker_s_files_works(live_server, board, lead):
    from agents.models import BoardGroup, BoardGroupMemory

    # In a group, so the group's routes are among the commands.
    board.group = BoardGroup.objects.create(organization=board.organization, name="Train", slug="train")
    board.save()
    worker = make_agent("Worker", board=board)
    task = make_task(board, "Write the notes")
    token = tokens.mint_token(worker)
    files = files_of(worker, token=token, base_url=live_server.url)
    ran = 0
    for name in ("AGENTS.md", "HEARTBEAT.md", "TOOLS.md"):
        for command in commands(files[name]):
            output = run(command.replace("<TASK_ID>", str(task.pk)))
            if "openapi.json" in command:
                assert_listing(output)
            ran += 1
    assert ran >= 13
    task.refresh_from_db()
    assert task.status == Task.Status.REVIEW and task.comments.filter(author_agent=worker).count() >= 2
    assert BoardGroupMemory.objects.filter(author_agent=worker, is_chat=True).exists()
    worker.refresh_from_db()
    assert worker.last_seen_at is not None


@NEEDS_TOOLS
@pytest.mark.django_db(transaction=True)
def test_every_command_in_a_lead_s_files_works(live_server, board, worker, owner):
    lead = make_agent("Lead", board=board, lead=True)
    token = tokens.mint_token(lead)
    to_finish = make_task(board, "Finished work", status=Task.Status.REVIEW, assigned_agent=lead,
                          review_requested_by=worker)
    to_send_back = make_task(board, "Half done", status=Task.Status.REVIEW, assigned_agent=lead,
                             review_requested_by=worker)
    release = CustomFieldDefinition.objects.create(organization=board.organization, field_key="release",
                                                   label="Release")
    release.boards.add(board)
    files = files_of(lead, token=token, base_url=live_server.url)
    ran = 0
    for name in ("AGENTS.md", "HEARTBEAT.md", "TOOLS.md", "BOOTSTRAP.md"):
        for command in commands(files[name]):
            if '"status": "done"' in command:
                # A person approves between the lead's request and its move to done.
                Approval.objects.filter(board=board, status="pending").update(status="approved")
                from agents.models import ApprovalTask
                ApprovalTask.objects.update(is_pending=False)
            target = to_send_back if '"status": "inbox"' in command else to_finish
            command = command.replace("<FIELD_KEY>", "release").replace("<VALUE>", "2026.12")
            output = run(command.replace("<TASK_ID>", str(target.pk)))
            if "openapi.json" in command:
                assert_listing(output)
            ran += 1
    assert ran >= 14
    to_finish.refresh_from_db()
    to_send_back.refresh_from_db()
    assert to_finish.status == Task.Status.DONE and to_finish.custom_field_values == {"release": "2026.12"}
    assert to_send_back.status == Task.Status.INBOX and to_send_back.assigned_agent_id == worker.pk
    assert Task.objects.filter(board=board, title="Short title", created_by_agent=lead).exists()


@NEEDS_TOOLS
@pytest.mark.django_db(transaction=True)
def test_every_command_in_a_main_agent_s_files_works(live_server, main_agent, board):
    token = tokens.mint_token(main_agent)
    files = files_of(main_agent, token=token, base_url=live_server.url)
    ran = 0
    for name in ("AGENTS.md", "HEARTBEAT.md", "TOOLS.md"):
        for command in commands(files[name]):
            output = run(command)
            if "openapi.json" in command:
                assert_listing(output)
            ran += 1
    assert ran >= 5


@NEEDS_TOOLS
@pytest.mark.parametrize("role", ["lead", "worker", "main"])
def test_each_role_s_operation_listing_compiles_and_has_no_empty_cell(client, role, tmp_path):
    from django.conf import settings

    document = tmp_path / "openapi.json"
    document.write_bytes(client.get("/openapi.json").content)
    text = (settings.BASE_DIR / "templates" / "workspace" / "_operations.md").read_text()
    [template_command] = commands(text)
    jq_part = template_command.split("| ", 1)[1].replace("{{ role_tag }}", workspace.ROLE_TAGS[role])
    assert_listing(run(f"cat {document} | {jq_part}"))
