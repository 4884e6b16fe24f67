"""The rules of the work domain: every write, as plain functions.

The user API, the agent API and the console all call these; views only translate HTTP
(or a form) to calls and back, and serializers and forms only check types. Every refusal
is a :class:`RuleViolation` with an HTTP status, a stable ``code`` and a sentence; every
change writes one activity event with its actor (a ``User`` or an ``Agent``).

One module per noun: ``tasks`` (and the ``gates`` every status change passes),
``comments``, ``approvals``, ``memory``, ``roster`` (agents), ``boards``, ``gateways``,
``tags``, ``fields`` (custom fields and their values on tasks), ``groups`` (board groups and their memory),
``people`` (organizations, members, invitations, profiles), ``coordination`` (agents asking agents), ``messages`` (what is pushed to them). ``actors`` says who is acting; ``inputs`` reads client values.
"""

from __future__ import annotations

from agents.queries import blocked_by_map
from agents.refusals import RuleViolation
from agents.rules.actors import Actor, actor_role
from agents.rules.approvals import request_approval, resolve_approval
from agents.rules.boards import create_board, delete_board, update_board
from agents.rules.comments import add_comment
from agents.rules.fields import (
    create_custom_field,
    custom_field_value,
    delete_custom_field,
    set_board_custom_fields,
    update_custom_field,
)
from agents.rules.gateways import (
    create_gateway,
    delete_gateway,
    request_check,
    request_sync,
    update_gateway,
)
from agents.rules.groups import (
    apply_heartbeat,
    create_group,
    create_group_memory,
    delete_group,
    set_heartbeat,
    update_group,
)
from agents.rules.inputs import priority_from_word
from agents.rules.memory import create_memory
from agents.rules.messages import resend_message
from agents.rules.people import (
    accept_invitation,
    change_member_role,
    create_invitation,
    create_organization,
    find_invitation,
    leave_organization,
    remove_member,
    revoke_invitation,
    set_board_access,
    sign_up_with_invitation,
    transfer_ownership,
    update_organization,
    update_profile,
)
from agents.rules.roster import (
    add_agent,
    check_board_has_room,
    create_agent,
    create_worker,
    delete_agent,
    retry_provisioning,
    rotate_token,
    save_agent,
    update_agent,
)
from agents.rules.tags import create_tag, delete_tag, update_tag
from agents.rules.tasks import create_task, delete_task, move_task_within_column, update_task

__all__ = [
    "accept_invitation", "change_member_role", "create_invitation", "create_organization", "find_invitation",
    "leave_organization", "remove_member", "revoke_invitation", "set_board_access", "sign_up_with_invitation",
    "transfer_ownership", "update_organization", "update_profile",
    "Actor", "RuleViolation", "actor_role", "add_agent", "apply_heartbeat", "create_group", "create_group_memory",
    "delete_group", "set_heartbeat", "update_group", "add_comment", "blocked_by_map", "check_board_has_room",
    "create_agent", "create_board", "create_custom_field", "custom_field_value", "create_gateway", "create_memory", "create_tag", "create_task", "create_worker",
    "delete_agent", "delete_board", "delete_custom_field", "delete_gateway", "delete_tag", "delete_task",
    "priority_from_word", "request_approval", "resend_message", "request_check", "request_sync", "resolve_approval", "retry_provisioning", "rotate_token",
    "save_agent", "set_board_custom_fields", "update_agent", "update_board", "update_custom_field", "update_gateway", "update_tag",
    "update_task", "move_task_within_column",
]
