"""Agent routes where agents reach each other: nudges, SOUL.md, retiring a worker, and the
main agent's messages to leads and the leads' questions for people
(``agents.rules.coordination`` decides; messages go out through the outbox)."""

from __future__ import annotations

from uuid import UUID

from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from agents.agent_api.base import BOARD_ROLES, LEAD, MAIN, AgentAPIView, agent_input
from agents.agent_api.openapi import agent_operation, routing_example
from agents.rules import coordination
from agents.serializers import (
    AskUserResultSerializer,
    AskUserSerializer,
    BroadcastResultSerializer,
    LeadBroadcastSerializer,
    LeadMessageResultSerializer,
    LeadMessageSerializer,
    NudgeSerializer,
    QueuedMessageSerializer,
    SoulWriteSerializer,
)
from missioncontrol.api.schema import error_responses, ok_response

AUTH_ERRORS = (401, 429)


class NudgeView(AgentAPIView):
    roles = {"POST": (LEAD,)}

    @agent_operation(
        "agent_nudge_agent", (LEAD,),
        summary="Nudge an agent of your board: a short message that makes it look at its work now",
        description="Queues `message` for the agent (on its gateway, in its main session) and answers 202 with the "
                    "message id; the worker delivers it within seconds, in order with the agent's other messages, "
                    "and retries while the gateway is away. 409 agent_not_on_gateway for an agent run by hand: "
                    "write a task comment or board chat instead.",
        intent="nudge_agent",
        when_to_use=["A worker has not moved its task for a long time.",
                     "You changed the plan and a worker must look at it before its next heartbeat."],
        when_not_to_use=["To give new work: assign a task (agent_update_task), which tells the worker itself.",
                         "To answer a question on a task: comment on it."],
        prerequisites=["You lead the board.", "The agent is on this board and on a gateway."],
        side_effects=["Queues a message to the agent and writes agent.nudged."],
        negative_guidance=["Do not nudge on every heartbeat: once per stalled task is enough.",
                           "Do not put secrets or tokens in the message."],
        routing_policy=["Use after a task stalled; the work itself stays in tasks and comments.",
                        "For a question to people, use agent_ask_user instead."],
        routing_examples=[routing_example("a worker's task has not moved in hours", "board_lead", "agent_nudge_agent"),
                          routing_example("give the worker a new task", "board_lead", "agent_update_task")],
        request=NudgeSerializer,
        responses={202: QueuedMessageSerializer, **error_responses(*AUTH_ERRORS, 403, 404, 409, 422)},
    )
    def post(self, request: Request, board_id: UUID, agent_id: UUID) -> Response:
        board = self.get_board_for_agent(board_id)
        queued = coordination.nudge(self.agent, board, agent_id, agent_input(NudgeSerializer, request))
        return Response({"ok": True, "message_id": queued.pk}, status=status.HTTP_202_ACCEPTED)


class SoulView(AgentAPIView):
    roles = {"GET": BOARD_ROLES, "PUT": (LEAD,)}

    @agent_operation(
        "agent_read_soul", BOARD_ROLES,
        summary="Read an agent's SOUL.md (who it is and how it works), as its workspace holds it",
        description="Answers the file's text as a JSON string. For an agent on a gateway it is read from the "
                    "workspace there (the agent may have edited it); for one not provisioned yet, the file "
                    "Mission Control will write. The lead reads any agent of its board, a worker only its own. "
                    "502 gateway_error when the gateway cannot be reached (try again later).",
        intent="read_agent_soul",
        when_to_use=["Before rewriting a worker's SOUL.md, to start from what it holds.",
                     "A worker checking the working agreement its lead gave it."],
        when_not_to_use=["Reading the board's rules: get the board.",
                         "Reading your own workspace files from disk: read them there."],
        prerequisites=["You lead the board, or the agent is you."],
        side_effects=["None: read only (one file read on the gateway)."],
        negative_guidance=["Do not poll it: it changes only when the lead rewrites it."],
        routing_policy=["Read it, then agent_write_soul with the whole new text.",
                        "Workers read only their own."],
        routing_examples=[routing_example("see how a worker was told to work", "board_lead", "agent_read_soul"),
                          routing_example("change how a worker works", "board_lead", "agent_write_soul")],
        responses={200: {"type": "string"}, **error_responses(*AUTH_ERRORS, 403, 404, 502)},
    )
    def get(self, request: Request, board_id: UUID, agent_id: UUID) -> Response:
        board = self.get_board_for_agent(board_id)
        return Response(coordination.read_soul(self.agent, board, agent_id))

    @agent_operation(
        "agent_write_soul", (LEAD,),
        summary="Rewrite an agent's SOUL.md: its working agreement, in its workspace at once",
        description="Replaces the whole file with `content` (Markdown, taken as it is): in the agent's workspace "
                    "on its gateway right away, and in Mission Control's record, which later provisioning writes "
                    "again. `reason` and `source_url` go into the activity log. 502 gateway_error when the "
                    "gateway cannot be reached; nothing is changed then.",
        intent="write_agent_soul",
        when_to_use=["A worker needs a different working style, scope or standards for this board.",
                     "You added a worker and want to give it its role in detail."],
        when_not_to_use=["Giving it a task: create or assign a task.",
                         "A one-off remark: nudge or comment."],
        prerequisites=["You lead the board; the agent is on it."],
        side_effects=["Rewrites SOUL.md in the agent's workspace and stores it as its soul_template.",
                      "Writes agent.soul_updated."],
        negative_guidance=["Send the whole file, not a diff: it replaces what was there.",
                           "Never put tokens or passwords in it."],
        routing_policy=["Read it first with agent_read_soul.", "Tell the worker with agent_nudge_agent if it "
                        "must re-read it now."],
        routing_examples=[routing_example("give a worker stricter review standards", "board_lead",
                                          "agent_write_soul"),
                          routing_example("see the current text first", "board_lead", "agent_read_soul")],
        request=SoulWriteSerializer,
        responses={200: ok_response("Rewritten."), **error_responses(*AUTH_ERRORS, 403, 404, 422, 502)},
    )
    def put(self, request: Request, board_id: UUID, agent_id: UUID) -> Response:
        board = self.get_board_for_agent(board_id)
        coordination.write_soul(self.agent, board, agent_id, agent_input(SoulWriteSerializer, request))
        return Response({"ok": True})


class BoardAgentView(AgentAPIView):
    roles = {"DELETE": (LEAD,)}

    @agent_operation(
        "agent_retire_worker", (LEAD,),
        summary="Retire a worker of your board: removed here and from its gateway",
        description="Deletes the worker; its tasks go back to unassigned and its history stays. The worker "
                    "removes it from its gateway in the background. An agent already gone answers ok too. "
                    "Leads and the main agent cannot be retired this way (403).",
        intent="retire_worker",
        when_to_use=["The board has more workers than its work needs.", "A worker is broken beyond a nudge."],
        when_not_to_use=["Pausing the board: write /pause in board chat.",
                         "Moving work elsewhere: reassign its tasks first."],
        prerequisites=["You lead the board; the agent is a worker on it."],
        side_effects=["Deletes the agent and its token; its tasks become unassigned; writes agent.retired.",
                      "Removes the agent and its session from its gateway."],
        negative_guidance=["Do not retire a worker holding work in progress without reassigning it.",
                           "It cannot be undone: a new worker has a new token and an empty memory."],
        routing_policy=["Reassign its tasks with agent_update_task first.",
                        "To add one back later, use agent_create_worker."],
        routing_examples=[routing_example("the board has an idle extra worker", "board_lead",
                                          "agent_retire_worker"),
                          routing_example("add a worker with other skills", "board_lead", "agent_create_worker")],
        responses={200: ok_response("Retired, or already gone."), **error_responses(*AUTH_ERRORS, 403, 404)},
    )
    def delete(self, request: Request, board_id: UUID, agent_id: UUID) -> Response:
        board = self.get_board_for_agent(board_id)
        coordination.retire_worker(self.agent, board, agent_id)
        return Response({"ok": True})


class AskUserView(AgentAPIView):
    roles = {"POST": (LEAD,)}

    @agent_operation(
        "agent_ask_user", (LEAD,),
        summary="Ask the people a question through your gateway's main agent",
        description="Queues the question for the main agent of the board's gateway, which reaches the people on "
                    "their channels (or in board chat) and writes their answer to your board as a memory note "
                    "with `reply_tags` (default gateway_main, user_reply). Answers 202 with the main agent; 409 "
                    "no_main_agent when the gateway has none.",
        intent="ask_user",
        when_to_use=["A decision only a person can make blocks the board (scope, priorities, access).",
                     "You need information no agent has."],
        when_not_to_use=["Approving a task or action: request an approval.",
                         "A question for another agent: comment on the task or write in board chat."],
        prerequisites=["You lead the board.", "The board's gateway has a main agent."],
        side_effects=["Queues a message to the main agent; writes gateway.ask_user."],
        negative_guidance=["Ask one clear question with the context needed; do not ask again before the answer "
                           "note arrives.", "Never include secrets."],
        routing_policy=["Then read board memory (agent_list_board_memory) on each heartbeat for the answer.",
                        "Formal sign-off goes to agent_create_approval instead."],
        routing_examples=[routing_example("need the user's choice between two designs", "board_lead",
                                          "agent_ask_user"),
                          routing_example("need sign-off before a deploy", "board_lead_or_worker",
                                          "agent_create_approval")],
        request=AskUserSerializer,
        responses={202: AskUserResultSerializer, **error_responses(*AUTH_ERRORS, 403, 404, 409, 422)},
    )
    def post(self, request: Request, board_id: UUID) -> Response:
        board = self.get_board_for_agent(board_id)
        main, queued = coordination.ask_user(self.agent, board, agent_input(AskUserSerializer, request))
        return Response({"ok": True, "board_id": board.pk, "main_agent_id": main.pk, "main_agent_name": main.name,
                         "message_id": queued.pk}, status=status.HTTP_202_ACCEPTED)


class LeadMessageView(AgentAPIView):
    roles = {"POST": (MAIN,)}

    @agent_operation(
        "agent_message_lead", (MAIN,),
        summary="Main agent: ask a board's lead a question, or hand it work (a lead is created if none)",
        description="Queues `content` for the lead of the board (kind question or handoff); when the board has "
                    "no lead, one named 'Lead Agent' is created and provisioned first (lead_created true). The "
                    "lead answers with a board memory note tagged `reply_tags` (default gateway_main, "
                    "lead_reply); read it with the board's memory. Answers 202.",
        intent="message_board_lead",
        when_to_use=["A person asked you something that a board's team must answer or do.",
                     "Handing a request from a channel to the right board."],
        when_not_to_use=["The same message to every lead: use agent_broadcast_to_leads.",
                         "Writing a person's answer to a lead's question: write board memory."],
        prerequisites=["You are your gateway's main agent; the board is in your organization."],
        side_effects=["Queues a message to the lead; writes gateway.lead_message.",
                      "May create and provision the board's lead."],
        negative_guidance=["Do not reply in OpenClaw chat to a lead: answers go through board memory.",
                           "Do not send the same hand-off twice; read memory for the answer."],
        routing_policy=["Then poll the board's memory (agent_list_board_memory) for the reply note.",
                        "For all boards at once, use agent_broadcast_to_leads."],
        routing_examples=[routing_example("a person asks the docs board for a status", "agent_main",
                                          "agent_message_lead"),
                          routing_example("tell every team about a freeze", "agent_main",
                                          "agent_broadcast_to_leads")],
        request=LeadMessageSerializer,
        responses={202: LeadMessageResultSerializer, **error_responses(*AUTH_ERRORS, 403, 404, 409, 422)},
    )
    def post(self, request: Request, board_id: UUID) -> Response:
        board = self.get_board_for_agent(board_id)
        sent = coordination.message_lead(self.agent, board, agent_input(LeadMessageSerializer, request))
        return Response({"ok": True, "board_id": board.pk, "lead_agent_id": sent.lead.pk,
                         "lead_agent_name": sent.lead.name, "lead_created": sent.lead_created,
                         "message_id": sent.message.pk}, status=status.HTTP_202_ACCEPTED)


class LeadBroadcastView(AgentAPIView):
    roles = {"POST": (MAIN,)}

    @agent_operation(
        "agent_broadcast_to_leads", (MAIN,),
        summary="Main agent: send the same question or hand-off to every lead of your organization",
        description="Does what agent_message_lead does for each board of your organization (or only "
                    "`board_ids`), creating missing leads. Answers `{ok, sent, failed, results}`; each result "
                    "says for one board whether its lead got the message and, if not, why.",
        intent="broadcast_to_leads",
        when_to_use=["A person's announcement or question concerns every team.",
                     "Collecting a status from all boards at once."],
        when_not_to_use=["Only one board is concerned: use agent_message_lead."],
        prerequisites=["You are your gateway's main agent."],
        side_effects=["Queues one message per lead; may create and provision missing leads; writes "
                      "gateway.lead_message per board."],
        negative_guidance=["Do not broadcast what concerns one board.",
                           "Read each board's memory for the answers; do not broadcast again to remind."],
        routing_policy=["Narrow it with board_ids when only some boards are concerned.",
                        "For one board, agent_message_lead."],
        routing_examples=[routing_example("announce a code freeze to all teams", "agent_main",
                                          "agent_broadcast_to_leads"),
                          routing_example("ask only the docs board", "agent_main", "agent_message_lead")],
        request=LeadBroadcastSerializer,
        responses={202: BroadcastResultSerializer, **error_responses(*AUTH_ERRORS, 403, 422)},
    )
    def post(self, request: Request) -> Response:
        data = agent_input(LeadBroadcastSerializer, request)
        results = coordination.broadcast_to_leads(self.agent, data)
        sent = sum(1 for result in results if result["ok"])
        return Response({"ok": True, "sent": sent, "failed": len(results) - sent, "results": results},
                        status=status.HTTP_202_ACCEPTED)

