"""``manage.py seed_demo``: a small demo organization so a newcomer's first screen is not empty."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from agents import activity, rules
from agents.identity import default_organization, local_operator
from agents.models import Agent, Board, Gateway, Organization, Tag, Task, User

DEMO_GATEWAY = "Demo gateway"
LAUNCH_SLUG = "website-launch"
RESEARCH_SLUG = "customer-research"


@dataclass
class SeedResult:
    created: bool
    reason: str = ""
    boards: int = 0
    tasks: int = 0


class Command(BaseCommand):
    help = ("Create a demo organization: two boards, a gateway with its main agent, a lead and two "
            "workers, tasks in every status, an approval, comments, memory and activity. Safe to run "
            "twice; --if-empty does nothing when any board exists.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--if-empty", action="store_true",
                            help="Do nothing when the database already has a board.")

    def handle(self, *args: Any, **options: Any) -> None:
        result = seed_demo(if_empty=options["if_empty"])
        if result.created:
            self.stdout.write(f"Demo created: {result.boards} boards, {result.tasks} tasks.")
        else:
            self.stdout.write(f"Demo not created: {result.reason}.")


def seed_demo(*, if_empty: bool = False) -> SeedResult:
    if if_empty and Board.objects.exists():
        return SeedResult(False, "boards already exist")
    with transaction.atomic():
        org = default_organization()
        if Board.objects.filter(organization=org, slug=LAUNCH_SLUG).exists():
            return SeedResult(False, "the demo is already there")
        operator = local_operator()
        _seed(org, operator)
    return SeedResult(True, boards=2, tasks=Task.objects.filter(board__organization=org).count())


def _seed(org: Organization, operator: User) -> None:
    gateway = Gateway.objects.create(organization=org, name=DEMO_GATEWAY, url="ws://127.0.0.1:18789",
                                     workspace_root="~/.openclaw/workspaces")
    activity.record("gateway.created", actor=operator, organization=org, message=f"Created {gateway.name}")
    launch = _board(org, gateway, operator, "Website launch", LAUNCH_SLUG,
                    "Ship the new marketing site by the end of the month.", require_review_before_done=True)
    research = _board(org, gateway, operator, "Customer research", RESEARCH_SLUG,
                      "Learn why trial users do not convert.", require_approval_for_done=False)
    _agent(operator, org, gateway, None, "Atlas")  # the gateway's main agent
    lead = _agent(operator, org, gateway, launch, "Nova", lead=True)
    ada = _agent(operator, org, gateway, launch, "Ada")
    linus = _agent(operator, org, gateway, launch, "Linus")
    for name, color in (("frontend", "3b82f6"), ("copy", "f59e0b"), ("interviews", "10b981")):
        Tag.objects.create(organization=org, name=name, slug=name, color=color)
    _launch_work(operator, launch, lead, ada, linus)
    _research_work(operator, research)
    rules.create_memory(operator, launch, {"content": "Launch date is fixed: no new scope after Friday.",
                                           "tags": ["decision"]})
    rules.create_memory(ada, launch, {"content": "Hero copy draft is up for review.", "tags": ["chat"]})


def _board(org: Organization, gateway: Gateway, operator: User, name: str, slug: str, objective: str,
           **flags: bool) -> Board:
    board = Board.objects.create(organization=org, gateway=gateway, name=name, slug=slug, objective=objective,
                                 description=objective, **flags)
    activity.record("board.created", actor=operator, board=board, message=f"Created {name}")
    return board


def _agent(operator: User, org: Organization, gateway: Gateway, board: Board | None, name: str,
           lead: bool = False) -> Agent:
    agent = Agent.objects.create(organization=org, gateway=gateway, board=board, name=name, is_board_lead=lead)
    activity.record("agent.created", actor=operator, agent=agent, board=board, message=f"Created {name}")
    return agent


def _task(lead: Agent, board: Board, title: str, **fields: Any) -> Task:
    return rules.create_task(lead, board, {"title": title, **fields})


def _launch_work(operator: User, board: Board, lead: Agent, ada: Agent, linus: Agent) -> None:
    frontend = Tag.objects.get(organization=board.organization, slug="frontend")
    copy = Tag.objects.get(organization=board.organization, slug="copy")
    _task(lead, board, "Set up analytics", priority="low")
    hero = _task(lead, board, "Write the hero copy", priority="high", tag_ids=[copy.pk])
    pages = _task(lead, board, "Build the pricing page", priority="urgent", tag_ids=[frontend.pk])
    _task(lead, board, "Publish the launch post", depends_on_task_ids=[hero.pk, pages.pk])
    done = _task(lead, board, "Pick a domain name", priority="medium")

    rules.update_task(linus, pages, {"status": "in_progress"}, comment="Starting with the plan table.")
    rules.update_task(ada, hero, {"status": "in_progress"})
    rules.update_task(ada, hero, {"status": "review"}, comment="Two variants: short and playful.")
    rules.update_task(ada, done, {"status": "in_progress"})
    rules.update_task(ada, done, {"status": "review"}, comment="missioncontrol.dev is free.")
    approval = rules.request_approval(lead, board, {
        "action_type": "mark_done", "task_id": done.pk, "confidence": 92,
        "rubric_scores": {"fit": 5, "cost": 4}, "lead_reasoning": "Short, memorable and available."})
    rules.resolve_approval(operator, approval, "approved")
    rules.update_task(lead, done, {"status": "done"})
    rules.request_approval(lead, board, {
        "action_type": "mark_done", "task_id": hero.pk, "confidence": 70,
        "payload": {"reason": "Copy reads well; legal has not seen it yet."}})
    rules.add_comment(operator, pages, "Please keep the enterprise column.")


def _research_work(operator: User, board: Board) -> None:
    interviews = Tag.objects.get(organization=board.organization, slug="interviews")
    for title, status in (("List churned trial accounts", "done"), ("Interview five users", "in_progress"),
                          ("Summarize findings", "inbox")):
        rules.create_task(operator, board, {"title": title, "status": status, "tag_ids": [interviews.pk]})
