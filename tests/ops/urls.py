"""A test-only URL configuration: tiny views that exercise the operational middleware.

Used with ``@pytest.mark.urls("tests.ops.urls")`` and by the gunicorn started in
``tests/ops/servers.py`` (through ``tests.ops.server_settings``).
"""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ops.body_limit import body_over_limit, too_large_response
from ops.throttle import ScopedIpThrottle


@csrf_exempt
def echo(request: HttpRequest, **kwargs: object) -> JsonResponse:
    body = request.body
    return JsonResponse({"length": len(body), "sha256": hashlib.sha256(body).hexdigest(),
                         "client_ip": request.client_ip, "is_secure": request.is_secure()})


@csrf_exempt
def read_form(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"fields": len(request.POST)})


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("secret internals in the traceback")


def sleep(request: HttpRequest) -> JsonResponse:
    time.sleep(int(request.GET.get("ms", "0")) / 1000)
    return JsonResponse({"ok": True})


def queries(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        for _ in range(int(request.GET.get("n", "1"))):
            # Counting in a recursive query takes measurable time on every database.
            cursor.execute("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000) "
                           "SELECT count(*) FROM c")
    return JsonResponse({"ok": True})


@require_GET
def plain_get_only(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


def csrf_protected(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


def console_page(request: HttpRequest) -> HttpResponse:
    return HttpResponse("<html><body>console</body></html>")


class OpenView(APIView):
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        return Response({"ok": True})


class DrfBoom(APIView):
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        raise RuntimeError("secret internals in the traceback")


class DrfBody(APIView):
    permission_classes = [AllowAny]

    def post(self, request: Request) -> Response:
        return Response({"length": len(request.body)})


class ThrottledView(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [ScopedIpThrottle]
    throttle_scope = "agent_auth"

    def get(self, request: Request) -> Response:
        return Response({"ok": True})


class ScopeOnlyView(APIView):
    """Names a scope and nothing else: the default throttle class applies it."""

    permission_classes = [AllowAny]
    throttle_scope = "agent_auth"

    def get(self, request: Request) -> Response:
        return Response({"ok": True})


class IngestLikeView(APIView):
    """Same path shape and scope as the webhook ingest route, before the real one exists."""

    permission_classes = [AllowAny]
    throttle_classes = [ScopedIpThrottle]
    throttle_scope = "webhook_ingest"

    def post(self, request: Request, board_id: object, webhook_id: object) -> Response:
        if body_over_limit(request):
            return too_large_response(settings.WEBHOOK_MAX_PAYLOAD_BYTES)
        return Response({"length": len(request.body)}, status=202)


urlpatterns = [
    path("api/v1/echo", echo),
    path("api/v1/form", read_form),
    path("api/v1/boom", boom),
    path("api/v1/sleep", sleep),
    path("api/v1/queries", queries),
    path("api/v1/open", OpenView.as_view()),
    path("api/v1/plain-get-only", plain_get_only),
    path("api/v1/csrf-protected", csrf_protected),
    path("api/v1/drf-boom", DrfBoom.as_view()),
    path("api/v1/drf-body", DrfBody.as_view()),
    path("api/v1/throttled", ThrottledView.as_view()),
    path("api/v1/scope-only", ScopeOnlyView.as_view()),
    path("api/v1/boards/<uuid:board_id>/webhooks/<uuid:webhook_id>", IngestLikeView.as_view()),
    path("api/v1/boards/<uuid:board_id>/webhooks/<uuid:webhook_id>/echo", echo),
    path("console/echo", echo),
    path("console/page", console_page),
    path("", include("ops.urls")),
]

handler400 = "missioncontrol.api.errors.bad_request"
handler403 = "missioncontrol.api.errors.permission_denied"
handler404 = "missioncontrol.api.errors.page_not_found"
handler500 = "missioncontrol.api.errors.server_error"
