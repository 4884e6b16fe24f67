"""Gateways in the console: the OpenClaw runtimes that host agents. Their tokens go in, never out."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods

from agents import access, activity
from agents.console.common import page, paginate, validation_text
from agents.models import Gateway, Organization
from agents.serializers import GatewayWriteSerializer


class GatewayForm(forms.Form):
    organization = forms.ModelChoiceField(queryset=Organization.objects.none(), empty_label=None)
    name = forms.CharField(max_length=200)
    url = forms.CharField(max_length=500, label="Address", help_text="ws:// or wss:// address of the gateway.")
    token = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False),
                            help_text="The gateway's own token. Stored for the server's use; never shown again.")
    workspace_root = forms.CharField(required=False, max_length=500, label="Workspace root",
                                     help_text="Where the gateway keeps agent workspaces (optional).")
    allow_insecure_tls = forms.BooleanField(required=False, label="Accept a self-signed certificate",
                                            help_text="Only for a gateway on your own network.")

    def __init__(self, *args: Any, organizations: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations
        if len(organizations) == 1:
            self.fields["organization"].initial = organizations[0]
            self.fields["organization"].widget = forms.HiddenInput()


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def gateways(request: HttpRequest) -> HttpResponse:
    admin_orgs = access.admin_organizations(request.user)
    form = GatewayForm(request.POST or None, organizations=admin_orgs) if admin_orgs.exists() else None
    status = 200
    if request.method == "POST":
        if form is None:
            return page(request, "console/forbidden.html", "gateways",
                        {"reason": "Only an owner or admin of an organization may register a gateway."}, status=403)
        if form.is_valid():
            data = {name: form.cleaned_data[name] for name in ("name", "url", "token", "workspace_root",
                                                               "allow_insecure_tls")}
            serializer = GatewayWriteSerializer(data=data)
            if serializer.is_valid():
                org = form.cleaned_data["organization"]
                with transaction.atomic():
                    gateway = Gateway.objects.create(organization=org, **serializer.validated_data)
                    activity.record("gateway.created", actor=request.user, organization=org,
                                    message=f"Gateway {gateway.name} registered",
                                    data={"gateway_id": str(gateway.pk)})
                messages.success(request, f"Gateway “{gateway.name}” registered. Boards and main agents can use it now.")
                return redirect("console:gateways")
            form.add_error(None, validation_text(serializer.errors))
        status = 422
    listing = (access.visible_gateways(request.user).select_related("organization")
               .annotate(board_count=Count("boards", distinct=True), agent_count=Count("agents", distinct=True))
               .order_by("name"))
    return page(request, "agents/gateways.html", "gateways",
                {"page_obj": paginate(request, listing), "form": form}, status=status)
