"""Organizations and people in the console: the organization switcher, an organization's
members, roles and board access, invitations by link, leaving and handing over ownership,
the page that accepts an invitation, and the person's profile.

Changes go through ``agents.rules.people``, as the API's do.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods, require_POST

from agents import access, queries, rules
from agents.console import workspace
from agents.console.common import forbidden, page, refusal_text
from agents.console.forms import (
    BoardReachForm,
    InvitationForm,
    MemberRoleForm,
    OrganizationForm,
    ProfileForm,
    SignUpForm,
    TransferOwnershipForm,
    reach_initial,
)
from agents.http import ConsoleRequest
from agents.models import Board, Invitation, Membership, Organization
from agents.refusals import RuleViolation
from agents.rules.people import active_organization
from ops import throttle
from ops.client_ip import client_ip

NAV = "organization"
# Sign-ups through an invitation count against the sign-in limit of the address.
LOGIN_SCOPE = "console_login"


def _member(org: Organization, membership_id: Any) -> Membership:
    """A member of ``org``, or the console's 404 page."""
    try:
        return access.member_of(org, membership_id)
    except RuleViolation as exc:
        raise Http404(refusal_text(exc)) from exc


def _invitation_of(org: Organization, invitation_id: Any) -> Invitation:
    try:
        return access.invitation_of(org, invitation_id)
    except RuleViolation as exc:
        raise Http404(refusal_text(exc)) from exc


@login_required
def organization_home(request: ConsoleRequest) -> HttpResponse:
    """The organization the person works in, or the page to create one."""
    org = active_organization(request.user)
    if org is None:
        return redirect("console:organizations")
    return redirect("console:organization", org.pk)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def organizations(request: ConsoleRequest) -> HttpResponse:
    form = OrganizationForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                org = rules.create_organization(request.user, {"name": form.cleaned_data["name"]})
            except RuleViolation as exc:
                form.add_refusal(exc)
            else:
                messages.success(request, f"Organization “{org.name}” created; you own it.")
                return redirect("console:organization", org.pk)
        status = 422
    listing = access.organizations_with_role(request.user).order_by("name", "id")
    return page(request, "agents/organizations.html", NAV, {"organizations": listing, "form": form}, status=status)


def _back_after_switch(request: HttpRequest, org: Organization | None) -> str:
    """The page the switcher was used on, when it is one of this site's (never another
    site's, whatever ``next`` says); another organization's page gives way to the chosen one's."""
    chosen = reverse("console:organization", args=[org.pk]) if org is not None else reverse("console:dashboard")
    candidate = request.POST.get("next", "")
    if not candidate or not url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()},
                                                            require_https=request.is_secure()):
        return chosen
    try:
        match = resolve(urlsplit(candidate).path)
    except Resolver404:
        return reverse("console:dashboard")
    if match.view_name == "console:organization" and org is not None:
        return chosen
    return candidate


@login_required
@require_POST
def organization_switch(request: ConsoleRequest) -> HttpResponse:
    """The navigation's switcher: the chosen organization is the one the console's lists
    show; *All organizations* (an empty choice) shows every one of the person's again."""
    if not request.POST.get("organization"):
        rules.update_profile(request.user, {"active_organization_id": None})
        messages.success(request, "The lists show all your organizations.")
        return redirect(_back_after_switch(request, None))
    org = access.get_organization_for(request.user, request.POST.get("organization"))
    rules.update_profile(request.user, {"active_organization_id": org.pk})
    workspace.forget(request)
    messages.success(request, f"You are working in “{org.name}”.")
    return redirect(_back_after_switch(request, org))


def _organization_page(request: ConsoleRequest, org: Organization, *, status: int = 200,
                       invite_form: InvitationForm | None = None, rename_form: OrganizationForm | None = None,
                       new_link: str = "") -> HttpResponse:
    is_admin = org.caller_role in access.ADMIN_ROLES  # type: ignore[attr-defined]  # annotated by get_organization_for
    is_owner = org.caller_role == Membership.Role.OWNER  # type: ignore[attr-defined]
    boards = Board.objects.filter(organization=org).order_by("name", "id")
    members = list(queries.member_queryset(org.pk))
    board_names = {board.pk: board.name for board in boards}
    for member in members:
        member.grant_names = [(board_names.get(grant.board_id, "?"), grant.can_write)  # type: ignore[attr-defined]
                              for grant in member.board_access.all()]
    invitations = list(Invitation.objects.filter(organization=org).order_by("-created_at")[:50]) if is_admin else []
    if is_admin and invite_form is None:
        invite_form = InvitationForm(boards=boards)
    if is_admin and rename_form is None:
        rename_form = OrganizationForm(initial={"name": org.name})
    return page(request, "agents/organization.html", NAV, {
        "org": org, "members": members, "invitations": invitations, "is_admin": is_admin, "is_owner": is_owner,
        "invite_form": invite_form, "rename_form": rename_form, "new_link": new_link, "auth_mode": settings.AUTH_MODE,
        "me": next((m for m in members if m.user_id == request.user.pk), None),
    }, status=status)


@login_required
def organization_detail(request: ConsoleRequest, organization_id: Any) -> HttpResponse:
    return _organization_page(request, access.get_organization_for(request.user, organization_id))


@login_required
@require_POST
def organization_rename(request: ConsoleRequest, organization_id: Any) -> HttpResponse:
    org = access.get_organization_for(request.user, organization_id)
    form = OrganizationForm(request.POST)
    if form.is_valid():
        try:
            rules.update_organization(request.user, org, {"name": form.cleaned_data["name"]})
        except RuleViolation as exc:
            if exc.status_code == 403:
                return forbidden(request, refusal_text(exc), NAV)
            form.add_refusal(exc)
        else:
            messages.success(request, "Organization renamed.")
            return redirect("console:organization", org.pk)
    return _organization_page(request, org, rename_form=form, status=422)


@login_required
@require_POST
def invitation_create(request: ConsoleRequest, organization_id: Any) -> HttpResponse:
    org = access.get_organization_for(request.user, organization_id)
    if org.caller_role not in access.ADMIN_ROLES:  # type: ignore[attr-defined]
        return forbidden(request, "Only an owner or admin of the organization may invite people.", NAV)
    form = InvitationForm(request.POST, boards=Board.objects.filter(organization=org))
    if form.is_valid():
        try:
            _, token = rules.create_invitation(request.user, org, form.invitation_data())
        except RuleViolation as exc:
            if exc.status_code == 403:
                return forbidden(request, refusal_text(exc), NAV)
            form.add_refusal(exc)
        else:
            # Rendered, not redirected: the link exists only in this answer.
            link = request.build_absolute_uri(reverse("console:invitation", args=[token]))
            return _organization_page(request, org, new_link=link)
    return _organization_page(request, org, invite_form=form, status=422)


def _refused_or_done(request: HttpRequest, org: Organization, action: Any, done: str) -> HttpResponse:
    try:
        action()
    except RuleViolation as exc:
        if exc.status_code in (403, 404):
            return forbidden(request, refusal_text(exc), NAV, status=exc.status_code)
        messages.error(request, refusal_text(exc))
    else:
        messages.success(request, done)
    return redirect("console:organization", org.pk)


@login_required
@require_POST
def invitation_revoke(request: ConsoleRequest, organization_id: Any, invitation_id: Any) -> HttpResponse:
    org = access.get_organization_for(request.user, organization_id)
    if org.caller_role not in access.ADMIN_ROLES:  # type: ignore[attr-defined]
        return forbidden(request, "Only an owner or admin of the organization may withdraw an invitation.", NAV)
    invitation = _invitation_of(org, invitation_id)
    return _refused_or_done(request, org, lambda: rules.revoke_invitation(request.user, invitation),
                            "Invitation withdrawn; its link no longer works.")


@login_required
@require_POST
def member_role(request: ConsoleRequest, organization_id: Any, membership_id: Any) -> HttpResponse:
    org = access.get_organization_for(request.user, organization_id)
    member = _member(org, membership_id)
    form = MemberRoleForm(request.POST)
    role = form.cleaned_data["role"] if form.is_valid() else request.POST.get("role")
    return _refused_or_done(request, org, lambda: rules.change_member_role(request.user, member, role),
                            f"{member.user.get_username()} is now {role}.")


@login_required
@require_POST
def member_remove(request: ConsoleRequest, organization_id: Any, membership_id: Any) -> HttpResponse:
    org = access.get_organization_for(request.user, organization_id)
    member = _member(org, membership_id)
    return _refused_or_done(request, org, lambda: rules.remove_member(request.user, member),
                            f"{member.user.get_username()} was removed from the organization.")


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def member_access(request: ConsoleRequest, organization_id: Any, membership_id: Any) -> HttpResponse:
    org = access.get_organization_for(request.user, organization_id)
    if org.caller_role not in access.ADMIN_ROLES:  # type: ignore[attr-defined]
        return forbidden(request, "Only an owner or admin of the organization may change board access.", NAV)
    member = _member(org, membership_id)
    boards = Board.objects.filter(organization=org).order_by("name", "id")
    grants = dict(member.board_access.values_list("board_id", "can_write"))
    form = BoardReachForm(request.POST or None, boards=boards,
                          initial=reach_initial(member.all_boards_read, member.all_boards_write, grants))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                rules.set_board_access(request.user, member, form.reach_data())
            except RuleViolation as exc:
                if exc.status_code == 403:
                    return forbidden(request, refusal_text(exc), NAV)
                form.add_refusal(exc)
            else:
                messages.success(request, f"Board access of {member.user.get_username()} saved.")
                return redirect("console:organization", org.pk)
        status = 422
    return page(request, "agents/member_access.html", NAV, {"org": org, "member": member, "form": form},
                status=status)


@login_required
@require_POST
def organization_leave(request: ConsoleRequest, organization_id: Any) -> HttpResponse:
    org = access.get_organization_for(request.user, organization_id)
    try:
        rules.leave_organization(request.user, org)
    except RuleViolation as exc:
        messages.error(request, refusal_text(exc))
        return redirect("console:organization", org.pk)
    messages.success(request, f"You left “{org.name}”.")
    return redirect("console:organizations")


@login_required
@require_POST
def organization_transfer(request: ConsoleRequest, organization_id: Any) -> HttpResponse:
    org = access.get_organization_for(request.user, organization_id)
    form = TransferOwnershipForm(request.POST)
    target = _member(org, form.cleaned_data["membership"] if form.is_valid() else None)
    return _refused_or_done(request, org, lambda: rules.transfer_ownership(request.user, org, target),
                            f"{target.user.get_username()} now owns the organization; you are an admin.")


def _invitation_page(request: HttpRequest, token: str, *, invitation: Invitation | None = None,
                     error: str = "", form: SignUpForm | None = None, status: int = 200) -> HttpResponse:
    return render(request, "agents/invitation.html", {
        "token": token, "invitation": invitation, "error": error, "auth_mode": settings.AUTH_MODE,
        "form": form if form is not None else SignUpForm(),
        "signin_url": reverse("console:login") + "?next=" + reverse("console:invitation", args=[token]),
    }, status=status)


@never_cache
@csrf_protect
@require_http_methods(["GET", "HEAD", "POST"])
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    """The page an invitation link opens: accept as the person signed in, or (local mode)
    sign up with a username and password of one's own. Clerk users sign in with Clerk
    and come back here."""
    try:
        found = rules.find_invitation(token)
    except RuleViolation as exc:
        return _invitation_page(request, token, error=refusal_text(exc), status=exc.status_code)
    if request.method != "POST":
        return _invitation_page(request, token, invitation=found)
    user = request.user
    if user.is_authenticated:
        try:
            membership = rules.accept_invitation(user, token)
        except RuleViolation as exc:
            return _invitation_page(request, token, invitation=found, error=refusal_text(exc),
                                    status=exc.status_code)
        messages.success(request, f"Welcome to “{found.organization.name}”.")
        return redirect("console:organization", membership.organization_id)
    limit = throttle.hit(LOGIN_SCOPE, client_ip(request))
    form = SignUpForm(request.POST)
    if not limit.allowed:
        response = _invitation_page(request, token, invitation=found, form=form, status=429,
                                    error=f"Too many sign-in attempts from your address. Try again in "
                                          f"{limit.retry_after} seconds.")
        response["Retry-After"] = str(limit.retry_after)
        return response
    if form.is_valid():
        try:
            new_user = rules.sign_up_with_invitation(token, form.sign_up_data())
        except RuleViolation as exc:
            if exc.field is None:
                return _invitation_page(request, token, invitation=found, form=form, error=refusal_text(exc),
                                        status=exc.status_code)
            form.add_refusal(exc)
        else:
            request.session.flush()
            login(request, new_user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome to “{found.organization.name}”, {new_user.get_username()}.")
            return redirect("console:organization", found.organization_id)
    return _invitation_page(request, token, invitation=found, form=form, status=422)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def profile(request: ConsoleRequest) -> HttpResponse:
    user = request.user
    form = ProfileForm(request.POST or None, initial={"first_name": user.first_name, "last_name": user.last_name,
                                                       "timezone": user.timezone})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                rules.update_profile(user, dict(form.cleaned_data))
            except RuleViolation as exc:
                form.add_refusal(exc)
            else:
                messages.success(request, "Profile saved.")
                return redirect("console:profile")
        status = 422
    # The zone this page was rendered in: the saved one (the middleware activated it) or UTC.
    return page(request, "agents/profile.html", "profile", {
        "form": form, "shown_zone": timezone.get_current_timezone_name(), "now": timezone.localtime(),
    }, status=status)
