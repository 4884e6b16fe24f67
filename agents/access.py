"""Who can see and change what, by organization.

People reach the objects of the organizations they are members of; anything else is
404 (its existence is not revealed). Members work on the boards: tasks, comments, board
memory, approvals and group memory (``agents.rules``), on every board of the organization
unless their membership limits them to some (``Membership.all_boards_read`` /
``all_boards_write`` and one ``BoardAccess`` row per board granted): a board they may not
read is 404, one they may only read is 403 ``board_read_only`` for changes. A board
group's memory speaks for all its boards, so a limited member reads it only when they
read every board of the group and writes it only when they work on every one (403
``board_group_memory_restricted`` / ``board_group_memory_read_only``). They see the
agents of their boards only, not the organization's main agents. Owners and
admins also create and change boards, board groups, gateways, agents, tags and custom
fields (403 ``admin_required`` for a member who tries). Board agents reach their own
board; the main agent reaches the boards of its organization.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from agents.models import (
    ActivityEvent,
    Agent,
    Board,
    BoardAccess,
    BoardGroup,
    CustomFieldDefinition,
    Gateway,
    Invitation,
    Membership,
    Organization,
    Tag,
    User,
)
from agents.refusals import RuleViolation
from missioncontrol.lookups import first_or_none, get_or_404

ADMIN_ROLES = (Membership.Role.OWNER, Membership.Role.ADMIN)


def memberships(user: User) -> QuerySet[Membership]:
    if not getattr(user, "is_authenticated", False):
        return Membership.objects.none()
    return Membership.objects.filter(user=user).select_related("organization")


def organizations(user: User) -> QuerySet[Organization]:
    if not getattr(user, "is_authenticated", False):
        return Organization.objects.none()
    return Organization.objects.filter(memberships__user_id=user.pk).distinct()


def organizations_with_role(user: User) -> QuerySet[Organization]:
    """The user's organizations, each with ``caller_role`` (one row per organization: a
    person has one membership in each)."""
    if not getattr(user, "is_authenticated", False):
        return Organization.objects.none()
    return Organization.objects.filter(memberships__user_id=user.pk).annotate(caller_role=F("memberships__role"))


def get_organization_for(user: User, organization_id: Any) -> Organization:
    """An organization of the user's, with ``caller_role``; any other is 404."""
    return get_or_404(organizations_with_role(user), organization_id)


def member_of(org: Organization, membership_id: Any) -> Membership:
    """A membership of ``org`` (404 ``member_not_found`` otherwise), its user loaded."""
    membership = first_or_none(Membership.objects.filter(organization=org).select_related("user"), membership_id)
    if membership is None:
        raise RuleViolation(404, "member_not_found", "No such member.")
    return membership


def invitation_of(org: Organization, invitation_id: Any) -> Invitation:
    invitation = first_or_none(Invitation.objects.filter(organization=org), invitation_id)
    if invitation is None:
        raise RuleViolation(404, "invitation_not_found", "No such invitation.")
    return invitation


def admin_organizations(user: User) -> QuerySet[Organization]:
    if not getattr(user, "is_authenticated", False):
        return Organization.objects.none()
    return Organization.objects.filter(memberships__user_id=user.pk, memberships__role__in=ADMIN_ROLES).distinct()


def _org_id(org: Organization | uuid.UUID | str) -> Any:
    return getattr(org, "pk", org)


def role_in(user: User, org: Organization | uuid.UUID | str) -> str | None:
    """The user's role in ``org``, or None when not a member."""
    if not getattr(user, "is_authenticated", False):
        return None
    return Membership.objects.filter(user=user, organization_id=_org_id(org)).values_list("role", flat=True).first()


def is_admin(user: User, org: Organization | uuid.UUID | str) -> bool:
    return role_in(user, org) in ADMIN_ROLES


def require_admin(user: User, org: Organization | uuid.UUID | str) -> None:
    """403 unless the user is an owner or admin of ``org`` (callers check visibility first)."""
    if not is_admin(user, org):
        raise RuleViolation(403, "admin_required",
                            "Only an owner or admin of the organization may do this.")


# The objects that belong to an organization directly.
type Owned = Board | Gateway | Agent | Tag | CustomFieldDefinition | BoardGroup


def _visible[M: (Board, Gateway, Agent, Tag, CustomFieldDefinition, BoardGroup)](model: type[M],
                                                                                 user: User) -> QuerySet[M]:
    if not getattr(user, "is_authenticated", False):
        return model._default_manager.none()
    return model._default_manager.filter(organization__memberships__user_id=user.pk)


def _whole_organizations(user: User) -> QuerySet[Membership, Any]:
    """The ids of the organizations where ``user`` reaches every board (owner, admin, or a
    member granted all boards)."""
    return Membership.objects.filter(user_id=user.pk).filter(
        Q(role__in=ADMIN_ROLES) | Q(all_boards_read=True) | Q(all_boards_write=True)).values("organization_id")


def _granted_boards(user: User) -> QuerySet[BoardAccess, Any]:
    return BoardAccess.objects.filter(membership__user_id=user.pk).values("board_id")


def visible_boards(user: User) -> QuerySet[Board]:
    """The boards ``user`` may read: all boards of the organizations where they are an owner,
    an admin or a member reaching every board, and the boards granted to them one by one."""
    if not getattr(user, "is_authenticated", False):
        return Board.objects.none()
    return Board.objects.filter(Q(organization_id__in=_whole_organizations(user)) | Q(pk__in=_granted_boards(user)))


def visible_activity(user: User) -> QuerySet[ActivityEvent]:
    """The events of the user's organizations they may read: everything but the events of
    boards a member limited to some boards was not granted (a deleted board's history
    stays with those who reached every board)."""
    if not getattr(user, "is_authenticated", False):
        return ActivityEvent.objects.none()
    mine = Membership.objects.filter(user_id=user.pk).values("organization_id")
    return ActivityEvent.objects.filter(organization_id__in=mine).filter(
        Q(board_id__isnull=True) | Q(organization_id__in=_whole_organizations(user))
        | Q(board_id__in=_granted_boards(user)))


def activity_of_visible_boards(user: User) -> QuerySet[ActivityEvent]:
    """What the dashboard counts for ``user``: every event of the organizations where they
    reach every board, elsewhere only the events of the boards granted to them (not the
    organization-wide ones, such as the main agents' heartbeats: those agents are not theirs)."""
    if not getattr(user, "is_authenticated", False):
        return ActivityEvent.objects.none()
    return ActivityEvent.objects.filter(Q(organization_id__in=_whole_organizations(user))
                                        | Q(board_id__in=_granted_boards(user)))


def board_access_of(user: User, board: Board) -> str | None:
    """``write``, ``read`` or None: what ``user`` may do on ``board`` as a person."""
    if not getattr(user, "is_authenticated", False):
        return None
    row = (Membership.objects.filter(user_id=user.pk, organization_id=board.organization_id)
           .values("pk", "role", "all_boards_read", "all_boards_write").first())
    if row is None:
        return None
    if row["role"] in ADMIN_ROLES or row["all_boards_write"]:
        return "write"
    grant = BoardAccess.objects.filter(membership_id=row["pk"], board_id=board.pk).values_list(
        "can_write", flat=True).first()
    if grant is not None:
        return "write" if grant else "read"
    return "read" if row["all_boards_read"] else None


def group_standing(user: User, group: BoardGroup) -> tuple[str | None, str | None]:
    """The role of ``user`` in the organization of ``group`` and what they may do with the
    group's memory (see ``group_memory_access_of``), in one query."""
    if not getattr(user, "is_authenticated", False):
        return None, None
    in_group = Q(board_access__board__group_id=group.pk)
    group_boards = (Board.objects.filter(group_id=group.pk).order_by().values("group_id")
                    .annotate(n=Count("pk")).values("n"))
    row = (Membership.objects.filter(user_id=user.pk, organization_id=group.organization_id)
           .annotate(granted=Count("board_access", filter=in_group),
                     writable=Count("board_access", filter=in_group & Q(board_access__can_write=True)),
                     boards=Coalesce(Subquery(group_boards), 0))
           .values("role", "all_boards_read", "all_boards_write", "granted", "writable", "boards").first())
    if row is None:
        return None, None
    role, boards = row["role"], row["boards"]
    if role in ADMIN_ROLES or row["all_boards_write"] or (boards and row["writable"] == boards):
        return role, "write"
    if row["all_boards_read"] or (boards and row["granted"] == boards):
        return role, "read"
    return role, None


def group_memory_access_of(user: User, group: BoardGroup) -> str | None:
    """``write``, ``read`` or None: what ``user`` may do with the memory and chat of ``group``.

    The memory is shared by every board of the group and read by all their agents, so it
    takes reaching every board: reading each for ``read``, working on each for ``write``.
    A group without boards keeps what its former boards wrote, so it goes by the whole
    organization, like the history of a deleted board."""
    return group_standing(user, group)[1]


GROUP_MEMORY_RESTRICTED = ("This group's memory is shared by all its boards, and you may not read every one of "
                           "them; ask an owner or admin for access to all the group's boards.")
GROUP_MEMORY_READ_ONLY = ("You may read this group's memory but not write to it: that takes working on every board "
                          "of the group; ask an owner or admin for write access to them all.")


def check_group_memory(user: User, group: BoardGroup, *, write: bool = False) -> None:
    """403 unless ``user`` may read (``write``: write) the memory of ``group``, which they see."""
    reach = group_memory_access_of(user, group)
    if reach is None:
        raise RuleViolation(403, "board_group_memory_restricted", GROUP_MEMORY_RESTRICTED)
    if write and reach != "write":
        raise RuleViolation(403, "board_group_memory_read_only", GROUP_MEMORY_READ_ONLY)


def visible_gateways(user: User) -> QuerySet[Gateway]:
    return _visible(Gateway, user)


def visible_agents(user: User) -> QuerySet[Agent]:
    """The agents of the boards ``user`` may read, and the main agents (no board) of the
    organizations where they reach every board: a main agent works on all of them."""
    if not getattr(user, "is_authenticated", False):
        return Agent.objects.none()
    return Agent.objects.filter(Q(organization_id__in=_whole_organizations(user))
                                | Q(board_id__in=_granted_boards(user)))


def visible_tags(user: User) -> QuerySet[Tag]:
    return _visible(Tag, user)


def visible_custom_fields(user: User) -> QuerySet[CustomFieldDefinition]:
    return _visible(CustomFieldDefinition, user)


def visible_groups(user: User) -> QuerySet[BoardGroup]:
    return _visible(BoardGroup, user)


def _get_for[M: (Board, Gateway, Agent, Tag, CustomFieldDefinition, BoardGroup)](
        queryset: QuerySet[M], user: User, object_id: Any, admin: bool) -> M:
    obj = get_or_404(queryset, object_id)
    if admin:
        require_admin(user, obj.organization_id)
    return obj


def get_board_for(user: User, board_id: Any, *, admin: bool = False) -> Board:
    """The board if the user may see it (404 otherwise); ``admin=True`` also needs admin (403)."""
    return _get_for(visible_boards(user).select_related("organization", "gateway", "group"), user, board_id, admin)


def get_gateway_for(user: User, gateway_id: Any, *, admin: bool = False) -> Gateway:
    return _get_for(visible_gateways(user), user, gateway_id, admin)


def get_agent_for(user: User, agent_id: Any, *, admin: bool = False) -> Agent:
    return _get_for(visible_agents(user).select_related("board", "gateway"), user, agent_id, admin)


def get_tag_for(user: User, tag_id: Any, *, admin: bool = False) -> Tag:
    return _get_for(visible_tags(user), user, tag_id, admin)


def get_custom_field_for(user: User, field_id: Any, *, admin: bool = False) -> CustomFieldDefinition:
    return _get_for(visible_custom_fields(user), user, field_id, admin)


def get_group_for(user: User, group_id: Any, *, admin: bool = False) -> BoardGroup:
    return _get_for(visible_groups(user).select_related("organization"), user, group_id, admin)


def boards_for_agent(agent: Agent) -> QuerySet[Board]:
    """A board agent's own board; for the main agent, the boards of its organization."""
    if agent.board_id is not None:
        return Board.objects.filter(pk=agent.board_id)
    return Board.objects.filter(organization_id=agent.organization_id)


def agent_can_reach(agent: Agent, board: Board) -> bool:
    if agent.board_id is not None:
        return agent.board_id == board.pk
    return agent.organization_id == board.organization_id


def board_out_of_reach() -> RuleViolation:
    return RuleViolation(403, "board_out_of_reach",
                         "This board is outside your reach: board agents work on their own board, "
                         "the main agent on the boards of its organization.")


def get_board_for_agent(agent: Agent, board_id: Any) -> Board:
    """The board, when it exists (404 ``board_not_found``) and ``agent`` may reach it (403
    ``board_out_of_reach``). Unlike people, agents learn that a board exists: they are told
    board ids by people and webhooks, and a plain 404 would send them looking elsewhere."""
    board = first_or_none(Board.objects.select_related("organization", "gateway"), board_id)
    if board is None:
        raise RuleViolation(404, "board_not_found", "No such board.")
    if not agent_can_reach(agent, board):
        raise board_out_of_reach()
    return board


def activity_for_agent(agent: Agent, board_id: uuid.UUID | None = None) -> QuerySet[ActivityEvent]:
    """The events an agent may read, as far as its reach goes: a board agent its board's,
    the main agent its organization's. ``board_id`` narrows them to one board; a board the
    agent cannot reach is 403 (a deleted board of its organization keeps its history)."""
    if agent.board_id is not None:
        if board_id is not None and board_id != agent.board_id:
            raise board_out_of_reach()
        return ActivityEvent.objects.filter(board_id=agent.board_id)
    events = ActivityEvent.objects.filter(organization_id=agent.organization_id)
    if board_id is None:
        return events
    if Board.objects.filter(pk=board_id).exclude(organization_id=agent.organization_id).exists():
        raise board_out_of_reach()
    return events.filter(board_id=board_id)


def organization_for_create(user: User, organization_id: uuid.UUID | None) -> Organization:
    """The organization a new object goes into: the one named, or the caller's only one.

    Not a member: 404. Several organizations and none named: 422. The admin role is
    checked by the rule that creates the object."""
    if organization_id is not None:
        org = organizations(user).filter(pk=organization_id).first()
        if org is None:
            raise RuleViolation(404, "organization_not_found", "No such organization.")
        return org
    orgs = list(organizations(user)[:2])
    if not orgs:
        raise RuleViolation(403, "no_organization", "You are not a member of any organization.")
    if len(orgs) > 1:
        raise RuleViolation(422, "organization_required", "You belong to several organizations: name one.",
                            field="organization_id")
    return orgs[0]
