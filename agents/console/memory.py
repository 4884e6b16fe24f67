"""A board's memory and chat in the console: what the board's agents read on every heartbeat."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from agents import access, live, rules
from agents.console.common import page, paginate, stamped_fragment, stamped_live
from agents.console.forms import MemoryForm
from agents.console.notes import present
from agents.http import ConsoleRequest
from agents.models import Agent, BoardMemory
from agents.refusals import RuleViolation


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def board_memory(request: ConsoleRequest, board_id: Any) -> HttpResponse:
    board = access.get_board_for(request.user, board_id)
    form = MemoryForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            tags = ["chat"] if form.cleaned_data["is_chat"] else []
            try:
                rules.create_memory(request.user, board, {"content": form.cleaned_data["content"], "tags": tags,
                                                          "source": "console"})
            except RuleViolation as exc:
                form.add_refusal(exc)
            else:
                messages.success(request, "Posted. The board's agents read it on their next heartbeat.")
                return redirect("console:board_memory", board_id=board.pk)
        status = 422
    context = {**_notes_context(request, board), "form": form,
               **stamped_live(request, "memory", [live.board_scope(board.pk)])}
    return page(request, "agents/board_memory.html", "boards", context, status=status)


@login_required
def board_memory_live(request: ConsoleRequest, board_id: Any) -> HttpResponse:
    """The notes and chat of a board as they come in (each one writes an event of the board)."""
    board = access.get_board_for(request.user, board_id)
    return stamped_fragment(request, "memory", [live.board_scope(board.pk)],
                            lambda: render(request, "agents/board_memory.html#memory_notes",
                                           _notes_context(request, board)))


def _notes_context(request: ConsoleRequest, board: Any) -> dict[str, Any]:
    notes = BoardMemory.objects.filter(board=board).select_related("author_user", "author_agent")
    if request.GET.get("chat") == "1":
        notes = notes.filter(is_chat=True)
    page_obj = paginate(request, notes.order_by("-created_at"))
    agents = list(Agent.objects.filter(board=board).order_by("name"))
    return {"board": board, "page_obj": page_obj, "board_agents": agents,
            "notes": present(page_obj.object_list, request.user, agents),
            "chat_only": request.GET.get("chat") == "1"}


